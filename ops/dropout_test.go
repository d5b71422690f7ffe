package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestDropoutStatistics checks inverted dropout: the share of zeros is p, the kept
// values are x/(1-p), so the mean is preserved, and the gradient passes through the
// same mask. PyTorch's generator cannot be reproduced, so this replaces a fixture.
func TestDropoutStatistics(t *testing.T) {
	s := Shape{16, 32, 32}
	const n = 4 // 65536 values
	x := New(n, s)
	for i := range x.Float32s() {
		x.Float32s()[i] = 1 + float32(i%7) // positive, so a zero output means dropped
	}
	dy := randTensor(7, n, s)
	for _, p := range []float64{0.1, 0.2, 0.5, 0.9} {
		l, err := NewDropout(p, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		y, dx := runLayer(t, l, x, dy)
		total := len(x.Float32s())
		dropped := 0
		var sumX, sumY float64
		for i, v := range x.Float32s() {
			got, g := y.Float32s()[i], dx.Float32s()[i]
			sumX += float64(v)
			sumY += float64(got)
			if got == 0 {
				dropped++
				if g != 0 {
					t.Fatalf("p=%v: value %d dropped in forward but its gradient %v passed", p, i, g)
				}
				continue
			}
			scale := float32(1 / (1 - p))
			if got != v*scale || g != dy.Float32s()[i]*scale {
				t.Fatalf("p=%v: kept value %d: y = %v, dx = %v, want %v and %v", p, i, got, g, v*scale, dy.Float32s()[i]*scale)
			}
		}
		// 4 standard deviations of a binomial share over 65536 draws: a false alarm
		// about once in 16,000 runs, and the seed is fixed.
		sd := math.Sqrt(p * (1 - p) / float64(total))
		if share := float64(dropped) / float64(total); math.Abs(share-p) > 4*sd {
			t.Errorf("p=%v: dropped share %v, want within %v of p", p, share, 4*sd)
		}
		// The mean is preserved to within the same relative noise (values are 1..7).
		if r := sumY / sumX; math.Abs(r-1) > 4*sd/(1-p)*2 {
			t.Errorf("p=%v: mean ratio y/x = %v, want 1", p, r)
		}
	}
}

// TestDropoutModesAndSeeds checks evaluation mode and p = 0 are the identity, that the
// same seed gives the same mask and that successive calls draw new masks.
func TestDropoutModesAndSeeds(t *testing.T) {
	s := Shape{4, 8, 8}
	x, dy := randTensor(8, 3, s), randTensor(9, 3, s)
	for _, tt := range []struct {
		name     string
		p        float64
		training bool
	}{{"eval p=0.5", 0.5, false}, {"train p=0", 0, true}} {
		l, err := NewDropout(tt.p, rand.New(rand.NewPCG(3, 4)))
		if err != nil {
			t.Fatal(err)
		}
		l.SetTraining(tt.training)
		y, dx := runLayer(t, l, x, dy)
		if !slices.Equal(y.Float32s(), x.Float32s()) || !slices.Equal(dx.Float32s(), dy.Float32s()) {
			t.Errorf("%s: not the identity", tt.name)
		}
	}
	mk := func() Layer {
		l, err := NewDropout(0.3, rand.New(rand.NewPCG(5, 6)))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	a, b := mk(), mk()
	ya, _ := runLayer(t, a, x, dy)
	yb, _ := runLayer(t, b, x, dy)
	if !slices.Equal(ya.Float32s(), yb.Float32s()) {
		t.Errorf("two layers with the same seed drew different masks")
	}
	ya2, _ := runLayer(t, a, x, dy)
	if slices.Equal(ya.Float32s(), ya2.Float32s()) {
		t.Errorf("a second call drew the same mask")
	}
	// The contract's repeat check does not apply in training (the mask changes), so
	// run it in evaluation mode.
	checkLayerContract(t, func() Layer {
		l := mk().(*Dropout)
		l.SetTraining(false)
		return l
	}, x, dy)
}

// TestDropoutErrors checks the rejected probabilities and the cost.
func TestDropoutErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, p := range []float64{-0.1, 1, 1.5, math.NaN()} {
		if _, err := NewDropout(p, rng); err == nil {
			t.Errorf("NewDropout(%v): no error", p)
		}
	}
	if _, err := NewDropout(0.5, nil); err == nil {
		t.Errorf("NewDropout(0.5, nil): no error")
	}
	l, err := NewDropout(0, nil)
	if err != nil {
		t.Fatalf("NewDropout(0, nil): %v", err)
	}
	if c := l.Cost(Shape{3, 2, 2}); c != (Cost{}) {
		t.Errorf("Dropout.Cost = %+v, want zero", c)
	}
	if _, err := l.Backward(New(1, Shape{3, 2, 2})); err == nil {
		t.Errorf("Backward before Forward: no error")
	}
}

// TestDropoutNoAllocs checks steps after the first allocate nothing.
func TestDropoutNoAllocs(t *testing.T) {
	s := Shape{8, 4, 4}
	l, err := NewDropout(0.2, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	checkNoAllocs(t, l, randTensor(18, 4, s), randTensor(19, 4, s))
}
