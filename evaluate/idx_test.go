package evaluate

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestDecodeIDX(t *testing.T) {
	data := []uint8{1, 2, 3, 4, 5, 6}
	raw := encodeIDX([]int{3, 2}, data)
	for _, tc := range []struct {
		name string
		in   []byte
	}{{"raw", raw}, {"gzip", gzipBytes(t, raw)}} {
		got, err := decodeIDX(bytes.NewReader(tc.in))
		if err != nil {
			t.Fatalf("decodeIDX(%s): %v", tc.name, err)
		}
		if !slices.Equal(got.dims, []int{3, 2}) || !slices.Equal(got.data, data) {
			t.Errorf("decodeIDX(%s) = %v, %v; want [3 2], %v", tc.name, got.dims, got.data, data)
		}
	}
}

func TestDecodeIDXErrors(t *testing.T) {
	good := encodeIDX([]int{2, 3}, []uint8{1, 2, 3, 4, 5, 6})
	gz := gzipBytes(t, good)
	badCRC := slices.Clone(gz)
	badCRC[len(badCRC)-8] ^= 0xff // the CRC-32 is the trailer's first 4 bytes (RFC 1952)
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "truncated header"},
		{"short header", good[:3], "truncated header"},
		{"short dims", good[:9], "truncated header"},
		{"bad magic", append([]byte{1, 0}, good[2:]...), "bad magic number 0x01000802"},
		{"float data", append([]byte{0, 0, 0x0d}, good[3:]...), "unsupported IDX data type 0x0d"},
		{"no dims", []byte{0, 0, 8, 0}, "0 dimensions"},
		{"too many dims", []byte{0, 0, 8, 5}, "5 dimensions"},
		{"huge dims", encodeIDX([]int{1 << 20, 1 << 20}, nil), "declare more than"},
		// 2^32-1 squared overflows an int64.
		{"overflowing dims", encodeIDX([]int{1<<32 - 1, 1<<32 - 1}, nil), "declare more than"},
		{"truncated data", good[:len(good)-1], "truncated data: 5 of the 6 bytes of dimensions [2 3]"},
		{"trailing data", append(slices.Clone(good), 0), "trailing data after the 6 bytes"},
		{"bad gzip header", append(slices.Clone(gzipMagic), 0, 0, 0), "bad gzip header"},
		{"truncated gzip", gz[:len(gz)-12], "file ends early"},
		{"bad gzip checksum", badCRC, "checksum"},
	} {
		_, err := decodeIDX(bytes.NewReader(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("decodeIDX(%s) = %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// FuzzDecodeIDX checks that decodeIDX returns an error or a file that encodes back
// to the same data, never panics, and never allocates much beyond its input. The
// seed corpus is in testdata/fuzz/FuzzDecodeIDX.
func FuzzDecodeIDX(f *testing.F) {
	f.Add(encodeIDX([]int{2, 2, 2}, []uint8{0, 1, 2, 3, 4, 5, 6, 7}))
	f.Add(gzipBytes(f, encodeIDX([]int{3}, []uint8{9, 8, 7})))
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := decodeIDX(bytes.NewReader(in))
		if err != nil {
			return
		}
		again, err := decodeIDX(bytes.NewReader(encodeIDX(got.dims, got.data)))
		if err != nil {
			t.Fatalf("decodeIDX(encodeIDX(%v, ...)): %v", got.dims, err)
		}
		if !slices.Equal(again.dims, got.dims) || !bytes.Equal(again.data, got.data) {
			t.Fatalf("decodeIDX(encodeIDX(%v, ...)) = %v, ...: round trip changed the file", got.dims, again.dims)
		}
	})
}

// TestIDXDataset opens a 3-class dataset of 5x7 images and checks the shape, the
// classes, the counts and the samples, gzipped or not.
func TestIDXDataset(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	const h, w, classes = 5, 7, 3
	trainPix, trainLabels := randImages(rng, 30, h*w, classes)
	testPix, testLabels := randImages(rng, 9, h*w, classes)
	for _, gz := range []bool{false, true} {
		dir := t.TempDir()
		writeIDXSplit(t, dir, Train, h, w, trainPix, trainLabels, gz)
		writeIDXSplit(t, dir, Test, h, w, testPix, testLabels, gz)
		d, err := Open("idx", Options{DataDir: dir, ValSize: 6})
		if err != nil {
			t.Fatal(err)
		}
		if d.Name() != "idx" || d.Shape().C != 1 || d.Shape().H != h || d.Shape().W != w || d.Classes() != classes {
			t.Errorf("gzip %v: Open(idx) = %s %v with %d classes, want idx %dx%dx1 with %d", gz, d.Name(), d.Shape(), d.Classes(), h, w, classes)
		}
		ntrain, _ := d.Len(Train)
		nval, _ := d.Len(Val)
		ntest, err := d.Len(Test)
		if ntrain != 24 || nval != 6 || ntest != 9 || err != nil {
			t.Errorf("gzip %v: Len = %d, %d, %d, %v; want 24, 6, 9, nil", gz, ntrain, nval, ntest, err)
		}
		// The test samples in order: compare the normalised bytes with the file's.
		x, y := make([]float32, 9*h*w), make([]int, 9)
		if err := d.Batch(Test, []int{0, 1, 2, 3, 4, 5, 6, 7, 8}, x, y, nil); err != nil {
			t.Fatal(err)
		}
		mean, std := d.Normalization()
		for i, v := range testPix {
			if want := (float32(v)/255 - mean[0]) / std[0]; x[i] != want {
				t.Fatalf("gzip %v: test x[%d] = %v, want %v", gz, i, x[i], want)
			}
		}
		for i, l := range testLabels {
			if y[i] != int(l) {
				t.Errorf("gzip %v: test label %d = %d, want %d", gz, i, y[i], l)
			}
		}
	}
}

// TestIDXFileErrors checks that broken or mismatched files give errors naming the
// file, at Open for the training files and at first use for the test files.
func TestIDXFileErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	pix, labels := randImages(rng, 10, 4, 2)
	badLabels := slices.Clone(labels)
	badLabels[3] = 2
	for _, tc := range []struct {
		name   string
		setup  func(dir string)
		file   string // the file the error must name
		want   string
		atOpen bool
	}{
		{"count mismatch", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, true)
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), []int{9}, labels[:9], true)
		}, "train-labels-idx1-ubyte.gz", "has 10 images but", true},
		{"images not 3-d", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, true)
			writeIDX(t, filepath.Join(dir, "train-images-idx3-ubyte.gz"), []int{10, 4}, pix, true)
		}, "train-images-idx3-ubyte.gz", "dimensions [10 4], want 3", true},
		{"labels not 1-d", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, true)
			writeIDX(t, filepath.Join(dir, "train-labels-idx1-ubyte.gz"), []int{10, 1}, labels, true)
		}, "train-labels-idx1-ubyte.gz", "dimensions [10 1], want 1", true},
		{"one class", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, make([]uint8, 10), true)
		}, "train-labels-idx1-ubyte.gz", "want at least 2 classes", true},
		{"truncated gzip", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, true)
			p := filepath.Join(dir, "train-images-idx3-ubyte.gz")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b[:len(b)-20], 0o644); err != nil {
				t.Fatal(err)
			}
		}, "train-images-idx3-ubyte.gz", "file ends early", true},
		{"test label out of range", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, false)
			writeIDXSplit(t, dir, Test, 2, 2, pix, badLabels, false)
		}, "t10k-labels-idx1-ubyte", "label 2 of sample 3 out of range [0, 2)", false},
		{"test shape mismatch", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, false)
			writeIDXSplit(t, dir, Test, 1, 4, pix, labels, false)
		}, "t10k-images-idx3-ubyte", "images are 1x4x1 but the training images are 2x2x1", false},
		{"test missing", func(dir string) {
			writeIDXSplit(t, dir, Train, 2, 2, pix, labels, false)
		}, "", "no t10k-images-idx3-ubyte", false},
	} {
		dir := t.TempDir()
		tc.setup(dir)
		want := tc.want
		d, err := Open("idx", Options{DataDir: dir, ValSize: 2})
		if tc.atOpen {
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) {
				t.Errorf("%s: Open(idx) = %v, want an error naming %s and containing %q", tc.name, err, tc.file, want)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: Open(idx) = %v, want success: the test set is read on first use", tc.name, err)
		}
		_, errLen := d.Len(Test)
		errBatch := d.Batch(Test, []int{0}, make([]float32, 4), make([]int, 1), nil)
		for _, err := range []error{errLen, errBatch} {
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), filepath.Join(dir, tc.file)) {
				t.Errorf("%s: Len/Batch(Test) = %v, want an error naming %s and containing %q", tc.name, err, tc.file, want)
			}
		}
	}
}

// TestIDXDottedNames checks that the dotted file names some archive tools produce
// are found too.
func TestIDXDottedNames(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(3, 3))
	pix, labels := randImages(rng, 4, 1, 2)
	writeIDX(t, filepath.Join(dir, "train-images.idx3-ubyte"), []int{4, 1, 1}, pix, false)
	writeIDX(t, filepath.Join(dir, "train-labels.idx1-ubyte"), []int{4}, labels, false)
	d, err := Open("idx", Options{DataDir: dir, ValSize: NoValidation})
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := d.Len(Train); n != 4 {
		t.Errorf("Len(Train) = %d, want 4", n)
	}
}
