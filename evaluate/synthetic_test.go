package evaluate

import (
	"math"
	"slices"
	"strings"
	"testing"

	"nas/ops"
)

// TestSyntheticLearnable checks that the synthetic data is learnable: a
// nearest-centroid classifier fitted on the training split must classify the
// validation and test splits well. With the default noise of 0.5 each pixel keeps
// half of its class's pattern, so the classes are far apart.
func TestSyntheticLearnable(t *testing.T) {
	d, err := Open("synthetic", Options{Seed: 9})
	if err != nil {
		t.Fatal(err)
	}
	size, classes := d.Shape().Size(), d.Classes()
	batch := func(s Split) ([]float32, []int) {
		n, err := d.Len(s)
		if err != nil {
			t.Fatal(err)
		}
		indices := make([]int, n)
		for i := range indices {
			indices[i] = i
		}
		x, y := make([]float32, n*size), make([]int, n)
		if err := d.Batch(s, indices, x, y, nil); err != nil {
			t.Fatal(err)
		}
		return x, y
	}
	x, y := batch(Train)
	centroids := make([]float64, classes*size)
	counts := make([]int, classes)
	for i, l := range y {
		counts[l]++
		for p, v := range x[i*size : (i+1)*size] {
			centroids[l*size+p] += float64(v)
		}
	}
	for c, n := range counts {
		if n == 0 {
			t.Fatalf("class %d has no training images", c)
		}
		for p := range size {
			centroids[c*size+p] /= float64(n)
		}
	}
	for _, s := range []Split{Val, Test} {
		x, y := batch(s)
		correct := 0
		for i, l := range y {
			best, bestDist := -1, math.Inf(1)
			for c := range classes {
				var dist float64
				for p, v := range x[i*size : (i+1)*size] {
					dd := float64(v) - centroids[c*size+p]
					dist += dd * dd
				}
				if dist < bestDist {
					best, bestDist = c, dist
				}
			}
			if best == l {
				correct++
			}
		}
		// Chance is 1/4 with the default 4 classes; the margin is wide, so 95%.
		if acc := float64(correct) / float64(len(y)); acc < 0.95 {
			t.Errorf("%v split: nearest-centroid accuracy %.3f, want at least 0.95", s, acc)
		}
	}
}

// TestSyntheticSeed checks that the images depend on SyntheticConfig.Seed and not
// on Options.Seed, which only chooses the split.
func TestSyntheticSeed(t *testing.T) {
	testSet := func(opts Options) []float32 {
		d, err := Open("synthetic", opts)
		if err != nil {
			t.Fatal(err)
		}
		x := make([]float32, 3*d.Shape().Size())
		if err := d.Batch(Test, []int{0, 1, 2}, x, make([]int, 3), nil); err != nil {
			t.Fatal(err)
		}
		return x
	}
	a := testSet(Options{ValSize: NoValidation})
	if b := testSet(Options{ValSize: NoValidation, Seed: 5}); !slices.Equal(a, b) {
		t.Errorf("Options.Seed changed the synthetic images")
	}
	if b := testSet(Options{ValSize: NoValidation, Synthetic: SyntheticConfig{Seed: 5}}); slices.Equal(a, b) {
		t.Errorf("SyntheticConfig.Seed 0 and 5 give the same images")
	}
}

func TestSyntheticConfig(t *testing.T) {
	d, err := Open("synthetic", Options{ValSize: NoValidation, Synthetic: SyntheticConfig{Train: 30, Test: 7, Shape: ops.Shape{C: 3, H: 4, W: 2}, Classes: 5, Noise: 1}})
	if err != nil {
		t.Fatal(err)
	}
	ntrain, _ := d.Len(Train)
	ntest, _ := d.Len(Test)
	if ntrain != 30 || ntest != 7 || d.Shape() != (ops.Shape{C: 3, H: 4, W: 2}) || d.Classes() != 5 || d.Name() != "synthetic" {
		t.Errorf("Open(synthetic, 30/7 images of 4x2x3, 5 classes) = %s with %d/%d images of %v, %d classes", d.Name(), ntrain, ntest, d.Shape(), d.Classes())
	}
	for _, tc := range []struct {
		cfg  SyntheticConfig
		want string
	}{
		{SyntheticConfig{Train: -1}, "synthetic sizes train -1"},
		{SyntheticConfig{Shape: ops.Shape{C: 1, H: 0, W: 3}}, "synthetic shape"},
		{SyntheticConfig{Classes: 257}, "synthetic classes 257"},
		{SyntheticConfig{Noise: 1.5}, "synthetic noise 1.5"},
		{SyntheticConfig{Noise: math.NaN()}, "synthetic noise NaN"},
	} {
		_, err := Open("synthetic", Options{Synthetic: tc.cfg})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(synthetic, %+v) = %v, want an error containing %q", tc.cfg, err, tc.want)
		}
	}
}
