package evaluate

import (
	"bytes"
	"compress/gzip"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"nas/ops"
)

// writeIDX writes an unsigned-byte IDX file of the given dimensions, gzipped if gz.
func writeIDX(t testing.TB, path string, dims []int, data []uint8, gz bool) {
	t.Helper()
	raw := encodeIDX(dims, data)
	if gz {
		raw = gzipBytes(t, raw)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

func gzipBytes(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	z := gzip.NewWriter(&b)
	if _, err := z.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// writeIDXSplit writes the images and labels files of split s (Train or Test) of an
// MNIST-format dataset of h x w images into dir, under MNIST's file names.
func writeIDXSplit(t testing.TB, dir string, s Split, h, w int, pix, labels []uint8, gz bool) {
	t.Helper()
	ext := ""
	if gz {
		ext = ".gz"
	}
	names := idxNames[s]
	writeIDX(t, filepath.Join(dir, names[0][0]+ext), []int{len(labels), h, w}, pix, gz)
	writeIDX(t, filepath.Join(dir, names[1][0]+ext), []int{len(labels)}, labels, gz)
}

// randImages returns n random h x w images with labels i % classes.
func randImages(rng *rand.Rand, n, size, classes int) (pix, labels []uint8) {
	pix, labels = make([]uint8, n*size), make([]uint8, n)
	for i := range pix {
		pix[i] = uint8(rng.IntN(256))
	}
	for i := range labels {
		labels[i] = uint8(i % classes)
	}
	return pix, labels
}

func TestSplitText(t *testing.T) {
	for _, s := range []Split{Train, Val, Test} {
		text, err := s.MarshalText()
		if err != nil {
			t.Fatalf("%v.MarshalText: %v", s, err)
		}
		if string(text) != s.String() {
			t.Errorf("%v.MarshalText() = %q, want %q", s, text, s.String())
		}
		var got Split
		if err := got.UnmarshalText(text); err != nil || got != s {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v, nil", text, got, err, s)
		}
	}
	var s Split
	if err := s.UnmarshalText([]byte("validation")); err == nil {
		t.Errorf("UnmarshalText(%q) succeeded, want an error", "validation")
	}
	if got, want := Split(7).String(), "Split(7)"; got != want {
		t.Errorf("Split(7).String() = %q, want %q", got, want)
	}
	if _, err := Split(-1).MarshalText(); err == nil {
		t.Errorf("Split(-1).MarshalText() succeeded, want an error")
	}
}

func TestOpenErrors(t *testing.T) {
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"imagenet", Options{}, `unknown dataset "imagenet"`},
		{"idx", Options{}, "no data directory"},
		{"cifar10", Options{}, "no data directory"},
		{"idx", Options{DataDir: empty}, "no train-images-idx3-ubyte[.gz] or train-images.idx3-ubyte[.gz] in " + empty},
		{"mnist", Options{DataDir: empty}, "no train-images-idx3-ubyte"},
		{"fashion-mnist", Options{DataDir: empty}, "no train-images-idx3-ubyte"},
		{"cifar10", Options{DataDir: empty}, filepath.Join(empty, "data_batch_1.bin")},
		// The synthetic training set has 1000 images by default.
		{"synthetic", Options{ValSize: 1000}, "validation size 1000 leaves no training images out of 1000"},
		{"synthetic", Options{TrainLimit: 901}, "training-set size 901 exceeds the 900 training images left after holding out 100"},
		{"synthetic", Options{Synthetic: SyntheticConfig{Classes: 1}}, "synthetic classes 1"},
	} {
		_, err := Open(tc.name, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%q, %+v) error = %v, want one containing %q", tc.name, tc.opts, err, tc.want)
		}
	}
}

// TestNormalization checks the statistics and the normalised values on two 2x2
// images whose pixels scaled to [0, 1] are 0, 1, 0, 1 and 1, 1, 1, 1: mean 6/8 =
// 0.75, variance 6/8 - 0.75^2 = 0.1875, so 0 becomes -0.75/sqrt(0.1875) = -sqrt(3)
// and 1 becomes 0.25/sqrt(0.1875) = 1/sqrt(3).
func TestNormalization(t *testing.T) {
	dir := t.TempDir()
	writeIDXSplit(t, dir, Train, 2, 2, []uint8{0, 255, 0, 255, 255, 255, 255, 255}, []uint8{0, 1}, true)
	d, err := Open("idx", Options{DataDir: dir, ValSize: NoValidation})
	if err != nil {
		t.Fatal(err)
	}
	// One float32 rounding of each result, a few ulps of float32 at these
	// magnitudes.
	const tol = 1e-6
	mean, std := d.Normalization()
	if len(mean) != 1 || len(std) != 1 || math.Abs(float64(mean[0])-0.75) > tol || math.Abs(float64(std[0])-math.Sqrt(0.1875)) > tol {
		t.Errorf("Normalization() = %v, %v; want [0.75], [%v]", mean, std, math.Sqrt(0.1875))
	}
	mean[0] = 42 // Normalization must return copies.
	if again, _ := d.Normalization(); again[0] != 0.75 {
		t.Errorf("Normalization() after modifying its result = %v, want [0.75]", again)
	}
	x, y := make([]float32, 8), make([]int, 2)
	if err := d.Batch(Train, []int{1, 0}, x, y, nil); err != nil {
		t.Fatal(err)
	}
	lo, hi := -math.Sqrt(3), 1/math.Sqrt(3)
	want := []float64{hi, hi, hi, hi, lo, hi, lo, hi}
	for i := range x {
		if math.Abs(float64(x[i])-want[i]) > tol {
			t.Errorf("Batch(Train, [1 0]) x[%d] = %v, want %v", i, x[i], want[i])
		}
	}
	if !slices.Equal(y, []int{1, 0}) {
		t.Errorf("Batch(Train, [1 0]) labels = %v, want [1 0]", y)
	}
}

// TestSplitSizes checks the sizes of the splits under the hold-out and limit options
// on the synthetic dataset's 1000 training images.
func TestSplitSizes(t *testing.T) {
	for _, tc := range []struct {
		opts           Options
		wantTrain, val int
	}{
		{Options{}, 900, 100}, // DefaultValFraction of 1000
		{Options{ValSize: NoValidation}, 1000, 0},
		{Options{ValSize: 250}, 750, 250},
		{Options{ValSize: 250, TrainLimit: 128}, 128, 250},
		{Options{ValSize: NoValidation, TrainLimit: 1000}, 1000, 0},
	} {
		d, err := Open("synthetic", tc.opts)
		if err != nil {
			t.Fatalf("Open(synthetic, %+v): %v", tc.opts, err)
		}
		ntrain, _ := d.Len(Train)
		nval, _ := d.Len(Val)
		ntest, err := d.Len(Test)
		if ntrain != tc.wantTrain || nval != tc.val || ntest != 200 || err != nil {
			t.Errorf("Open(synthetic, %+v): Len = %d, %d, %d, %v; want %d, %d, 200 (the default), nil",
				tc.opts, ntrain, nval, ntest, err, tc.wantTrain, tc.val)
		}
	}
}

// TestTrainLimitKeepsFileOrder checks that the limit keeps the first images in file
// order: the reference recipe trains on "the first N training images".
func TestTrainLimitKeepsFileOrder(t *testing.T) {
	dir := t.TempDir()
	const n, size = 20, 4
	pix := make([]uint8, n*size)
	labels := make([]uint8, n)
	for i := range n {
		pix[i*size] = uint8(i) // sample i starts with byte i
		labels[i] = uint8(i % 2)
	}
	writeIDXSplit(t, dir, Train, 2, 2, pix, labels, false)
	d, err := Open("idx", Options{DataDir: dir, ValSize: NoValidation, TrainLimit: 7})
	if err != nil {
		t.Fatal(err)
	}
	// Normalisation is affine and increasing, so the order of first pixels shows
	// the order of the samples.
	x, y := make([]float32, 7*size), make([]int, 7)
	if err := d.Batch(Train, []int{0, 1, 2, 3, 4, 5, 6}, x, y, nil); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 7; i++ {
		if !(x[i*size] > x[(i-1)*size]) || y[i] != i%2 {
			t.Errorf("Batch(Train) sample %d: first pixel %v after %v, label %d; want samples 0..6 in order", i, x[i*size], x[(i-1)*size], y[i])
		}
	}
}

func TestBatchErrors(t *testing.T) {
	d, err := Open("synthetic", Options{})
	if err != nil {
		t.Fatal(err)
	}
	size := d.Shape().Size()
	for _, tc := range []struct {
		s       Split
		indices []int
		nx, ny  int
		want    string
	}{
		{Train, []int{0, 1}, size, 2, "x has 144 values, want 288"},
		{Train, []int{0, 1}, 2 * size, 1, "labels has 1 elements"},
		{Train, []int{900}, size, 1, "index 900 out of range [0, 900) of the train split"},
		{Val, []int{-1}, size, 1, "index -1 out of range [0, 100) of the val split"},
		{Test, []int{200}, size, 1, "index 200 out of range [0, 200) of the test split"},
		{Split(3), []int{0}, size, 1, "invalid split 3"},
	} {
		err := d.Batch(tc.s, tc.indices, make([]float32, tc.nx), make([]int, tc.ny), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Batch(%v, %v, %d values, %d labels) = %v, want an error containing %q", tc.s, tc.indices, tc.nx, tc.ny, err, tc.want)
		}
	}
	if _, err := d.Len(Split(3)); err == nil {
		t.Errorf("Len(Split(3)) succeeded, want an error")
	}
}

// TestBatchContract checks on the synthetic dataset that Batch gives each split's
// samples with their labels, the same values twice, the same values from a second
// Open, the same values from concurrent goroutines, and does not allocate.
func TestBatchContract(t *testing.T) {
	opts := Options{Seed: 3, Synthetic: SyntheticConfig{Shape: ops.Shape{C: 2, H: 5, W: 6}, Classes: 3}}
	a, err := Open("synthetic", opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Open("synthetic", opts)
	if err != nil {
		t.Fatal(err)
	}
	size := a.Shape().Size()
	for _, s := range []Split{Train, Val, Test} {
		n, err := a.Len(s)
		if err != nil {
			t.Fatal(err)
		}
		indices := make([]int, n)
		for i := range indices {
			indices[i] = n - 1 - i
		}
		xa, ya := make([]float32, n*size), make([]int, n)
		xb, yb := make([]float32, n*size), make([]int, n)
		if err := a.Batch(s, indices, xa, ya, nil); err != nil {
			t.Fatal(err)
		}
		if err := b.Batch(s, indices, xb, yb, nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(xa, xb) || !slices.Equal(ya, yb) {
			t.Errorf("%v split: two Opens with the same options give different batches", s)
		}
		for i, l := range ya {
			if l < 0 || l >= a.Classes() {
				t.Errorf("%v split: label %d of sample %d out of range [0, %d)", s, l, indices[i], a.Classes())
			}
		}
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				x, y := make([]float32, n*size), make([]int, n)
				if err := a.Batch(s, indices, x, y, nil); err != nil {
					t.Error(err)
				}
				if !slices.Equal(x, xa) || !slices.Equal(y, ya) {
					t.Errorf("%v split: a concurrent Batch gives different values", s)
				}
			})
		}
		wg.Wait()
		allocs := testing.AllocsPerRun(10, func() {
			if err := a.Batch(s, indices[:8], xb[:8*size], yb[:8], nil); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%v split: Batch allocates %v times per call, want 0", s, allocs)
		}
	}
}

func TestDatasetNames(t *testing.T) {
	names := DatasetNames()
	if names[0] != "mnist" {
		t.Errorf("DatasetNames()[0] = %q, want the default mnist", names[0])
	}
	names[0] = "changed"
	if DatasetNames()[0] != "mnist" {
		t.Errorf("DatasetNames returns the package's own slice, want a copy")
	}
}

// BenchmarkBatch measures Batch on MNIST-shaped synthetic data at the reference
// recipe's batch size of 128.
func BenchmarkBatch(b *testing.B) {
	for _, tc := range []struct {
		name  string
		shape ops.Shape
	}{{"28x28x1", ops.Shape{C: 1, H: 28, W: 28}}, {"32x32x3", ops.Shape{C: 3, H: 32, W: 32}}} {
		b.Run(tc.name, func(b *testing.B) {
			d, err := Open("synthetic", Options{Synthetic: SyntheticConfig{Train: 2000, Shape: tc.shape}})
			if err != nil {
				b.Fatal(err)
			}
			const batch = 128
			rng := rand.New(rand.NewPCG(1, 2))
			indices := rng.Perm(1800)[:batch]
			x, y := make([]float32, batch*tc.shape.Size()), make([]int, batch)
			for b.Loop() {
				if err := d.Batch(Train, indices, x, y, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "images/s")
		})
	}
}
