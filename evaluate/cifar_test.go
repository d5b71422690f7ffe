package evaluate

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// cifarRecords returns n random CIFAR-10 records (label byte, then 3072 CHW bytes)
// with labels (first+i) % 10, and their pixels and labels.
func cifarRecords(rng *rand.Rand, n, first int) (file, pix, labels []uint8) {
	size := cifarShape.Size()
	pix, labels = make([]uint8, n*size), make([]uint8, n)
	for i := range pix {
		pix[i] = uint8(rng.IntN(256))
	}
	for i := range n {
		labels[i] = uint8((first + i) % 10)
		file = append(file, labels[i])
		file = append(file, pix[i*size:(i+1)*size]...)
	}
	return file, pix, labels
}

// writeCIFAR writes 5 training files of perFile records each and a test file of
// nTest records into dir, and returns the training and test pixels and labels.
func writeCIFAR(t *testing.T, dir string, perFile, nTest int) (trainPix, trainLabels, testPix, testLabels []uint8) {
	t.Helper()
	rng := rand.New(rand.NewPCG(10, 10))
	for i, name := range cifarTrainFiles {
		file, pix, labels := cifarRecords(rng, perFile, i*perFile)
		trainPix, trainLabels = append(trainPix, pix...), append(trainLabels, labels...)
		if err := os.WriteFile(filepath.Join(dir, name), file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, testPix, testLabels := cifarRecords(rng, nTest, 3)
	if err := os.WriteFile(filepath.Join(dir, cifarTestFiles[0]), file, 0o644); err != nil {
		t.Fatal(err)
	}
	return trainPix, trainLabels, testPix, testLabels
}

// TestCIFAR10 reads small generated files, from the directory given and from its
// cifar-10-batches-bin subfolder, and checks counts, labels, pixels and statistics.
func TestCIFAR10(t *testing.T) {
	for _, sub := range []string{"", cifarSubdir} {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
		trainPix, trainLabels, testPix, testLabels := writeCIFAR(t, filepath.Join(dir, sub), 4, 3)
		d, err := Open("cifar10", Options{DataDir: dir, ValSize: NoValidation})
		if err != nil {
			t.Fatalf("Open(cifar10) on files in %q: %v", sub, err)
		}
		if d.Shape() != cifarShape || d.Classes() != 10 {
			t.Errorf("Open(cifar10): shape %v, %d classes; want 32x32x3, 10", d.Shape(), d.Classes())
		}
		ntrain, _ := d.Len(Train)
		ntest, err := d.Len(Test)
		if ntrain != 20 || ntest != 3 || err != nil {
			t.Errorf("Open(cifar10): Len(Train), Len(Test) = %d, %d, %v; want 20, 3, nil", ntrain, ntest, err)
		}
		// Statistics per channel, computed here the plain way.
		mean, std := d.Normalization()
		plane := 32 * 32
		for c := range 3 {
			var sum, ss float64
			for i := range 20 {
				for _, v := range trainPix[i*3*plane+c*plane : i*3*plane+(c+1)*plane] {
					sum += float64(v) / 255
				}
			}
			m := sum / float64(20*plane)
			for i := range 20 {
				for _, v := range trainPix[i*3*plane+c*plane : i*3*plane+(c+1)*plane] {
					ss += (float64(v)/255 - m) * (float64(v)/255 - m)
				}
			}
			s := ss / float64(20*plane)
			// float32 rounding of the results (statistics near 0.5 and 0.29).
			const tol = 1e-6
			if d := float64(mean[c]) - m; d > tol || d < -tol {
				t.Errorf("channel %d mean %v, want %v", c, mean[c], m)
			}
			if d := float64(std[c])*float64(std[c]) - s; d > tol || d < -tol {
				t.Errorf("channel %d std %v, want %v", c, std[c], s)
			}
		}
		for _, tc := range []struct {
			s           Split
			n           int
			pix, labels []uint8
		}{{Train, 20, trainPix, trainLabels}, {Test, 3, testPix, testLabels}} {
			indices := make([]int, tc.n)
			for i := range indices {
				indices[i] = i
			}
			x, y := make([]float32, tc.n*cifarShape.Size()), make([]int, tc.n)
			// A nil rng turns augmentation off, so the training images come as stored.
			if err := d.Batch(tc.s, indices, x, y, nil); err != nil {
				t.Fatal(err)
			}
			for i, v := range tc.pix {
				c := i / plane % 3
				if want := (float32(v)/255 - mean[c]) / std[c]; x[i] != want {
					t.Fatalf("%v x[%d] = %v, want %v", tc.s, i, x[i], want)
				}
			}
			for i, l := range tc.labels {
				if y[i] != int(l) {
					t.Errorf("%v label %d = %d, want %d", tc.s, i, y[i], l)
				}
			}
		}
	}
}

// TestCIFAR10Augmentation checks the random crop and flip against a direct
// implementation: pad the image with 4 zero bytes on each side, cut the 32x32
// window at the drawn top and left, mirror it if the flip was drawn.
func TestCIFAR10Augmentation(t *testing.T) {
	dir := t.TempDir()
	trainPix, _, _, _ := writeCIFAR(t, dir, 2, 1)
	d, err := Open("cifar10", Options{DataDir: dir, ValSize: NoValidation})
	if err != nil {
		t.Fatal(err)
	}
	mean, std := d.Normalization()
	const size, side, padded = 3072, 32, 32 + 2*cropPad
	x, y := make([]float32, size), make([]int, 1)
	seen := map[[3]int]bool{}
	const draws = 400
	for seed := range uint64(draws) {
		sample := int(seed % 10)
		if err := d.Batch(Train, []int{sample}, x, y, rand.New(rand.NewPCG(seed, 0))); err != nil {
			t.Fatal(err)
		}
		// The draws Batch makes, in its documented order.
		rng := rand.New(rand.NewPCG(seed, 0))
		top, left, flip := rng.IntN(2*cropPad+1), rng.IntN(2*cropPad+1), rng.IntN(2) == 1
		seen[[3]int{top, left, map[bool]int{false: 0, true: 1}[flip]}] = true
		img := trainPix[sample*size : (sample+1)*size]
		for c := range 3 {
			pad := make([]uint8, padded*padded)
			for r := range side {
				copy(pad[(r+cropPad)*padded+cropPad:], img[c*1024+r*side:c*1024+(r+1)*side])
			}
			for r := range side {
				for col := range side {
					src := col
					if flip {
						src = side - 1 - col
					}
					v := pad[(r+top)*padded+left+src]
					if got, want := x[c*1024+r*side+col], (float32(v)/255-mean[c])/std[c]; got != want {
						t.Fatalf("seed %d (top %d, left %d, flip %v): x[%d][%d][%d] = %v, want %v", seed, top, left, flip, c, r, col, got, want)
					}
				}
			}
		}
	}
	// 400 draws over 9*9*2 = 162 equally likely outcomes are expected to cover
	// 162*(1-(161/162)^400), about 148; fewer than half would mean that the draws
	// are not uniform.
	if len(seen) < 81 {
		t.Errorf("%d draws covered %d of the 162 crops and flips, want at least 81", draws, len(seen))
	}
	// The test split is never augmented, whatever rng is passed.
	want := make([]float32, size)
	if err := d.Batch(Test, []int{0}, want, y, nil); err != nil {
		t.Fatal(err)
	}
	if err := d.Batch(Test, []int{0}, x, y, rand.New(rand.NewPCG(1, 1))); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(x, want) {
		t.Errorf("Batch(Test) with an rng differs from Batch(Test) without: the test split must not be augmented")
	}
}

func TestCIFAR10Errors(t *testing.T) {
	for _, tc := range []struct {
		name    string
		corrupt func(dir string) error
		file    string
		want    string
	}{
		{"truncated", func(dir string) error {
			p := filepath.Join(dir, "data_batch_3.bin")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(p, b[:len(b)-1], 0o644)
		}, "data_batch_3.bin", "is not a positive whole number of 3073-byte records"},
		{"empty", func(dir string) error {
			return os.WriteFile(filepath.Join(dir, "data_batch_5.bin"), nil, 0o644)
		}, "data_batch_5.bin", "size 0 bytes"},
		{"label out of range", func(dir string) error {
			p := filepath.Join(dir, "data_batch_2.bin")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			b[3073] = 10 // the second record's label
			return os.WriteFile(p, b, 0o644)
		}, "data_batch_2.bin", "label 10 of record 1 out of range [0, 10)"},
		{"missing", func(dir string) error {
			return os.Remove(filepath.Join(dir, "data_batch_4.bin"))
		}, "data_batch_4.bin", "no such file"},
	} {
		dir := t.TempDir()
		writeCIFAR(t, dir, 2, 1)
		if err := tc.corrupt(dir); err != nil {
			t.Fatal(err)
		}
		_, err := Open("cifar10", Options{DataDir: dir})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) {
			t.Errorf("%s: Open(cifar10) = %v, want an error naming %s and containing %q", tc.name, err, tc.file, tc.want)
		}
	}
}
