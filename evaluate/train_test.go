package evaluate

import (
	"context"
	"math"
	"slices"
	"testing"

	"nas/ops"
)

// smallNet is conv-BN-ReLU, a depthwise-separable pair, global pooling and a linear
// classifier: enough to learn the synthetic patterns.
func smallNet(t *testing.T, in ops.Shape, classes int) *ops.Network {
	t.Helper()
	c1, err := ops.Conv(in.C, 8, 3, 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	dw, _ := ops.Conv(8, 8, 3, 2, 8, false)
	pw, _ := ops.Conv(8, 16, 1, 1, 1, false)
	fc, err := ops.NewLinear(16, classes, true)
	if err != nil {
		t.Fatal(err)
	}
	root := ops.Seq(c1, ops.NewBatchNorm2D(8), ops.NewReLU6(), dw, ops.NewBatchNorm2D(8), ops.NewReLU6(),
		pw, ops.NewBatchNorm2D(16), ops.NewReLU6(), ops.NewGlobalAvgPool(), fc)
	net, err := ops.NewNetwork(root, in)
	if err != nil {
		t.Fatal(err)
	}
	return net
}

func synthetic(t *testing.T) Dataset {
	t.Helper()
	d, err := Open("synthetic", Options{Seed: 3, Synthetic: SyntheticConfig{Train: 1200, Classes: 4, Seed: 5}})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestFitLearnsSynthetic(t *testing.T) {
	d := synthetic(t)
	net := smallNet(t, d.Shape(), d.Classes())
	r := ReferenceRecipe()
	r.Epochs, r.BatchSize = 3, 32
	res, err := Fit(context.Background(), net, d, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged != "" || res.Steps != 3*(1080/32) {
		t.Fatalf("Fit: %+v, want %d steps and no divergence", res, 3*(1080/32))
	}
	acc, err := Evaluate(net, d, Val, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Chance is 1/4; the patterns are strong (noise 0.5), so a working trainer
	// separates them almost perfectly in three epochs.
	if acc.Accuracy < 0.9 || acc.Images != 120 {
		t.Errorf("validation accuracy %.3f on %d images after training, want >= 0.9 on 120", acc.Accuracy, acc.Images)
	}
}

// TestFitIsDeterministic trains twice with one seed and once with another: the
// same seed must give bit-identical weights, another seed different ones.
func TestFitIsDeterministic(t *testing.T) {
	d := synthetic(t)
	r := ReferenceRecipe()
	r.BatchSize = 64
	weights := func(seed uint64) []float32 {
		net := smallNet(t, d.Shape(), d.Classes())
		if _, err := Fit(context.Background(), net, d, r, seed); err != nil {
			t.Fatal(err)
		}
		var w []float32
		for _, p := range net.Params() {
			w = append(w, p.Value.Float32s()...)
		}
		return w
	}
	a, b, c := weights(7), weights(7), weights(8)
	if !slices.Equal(a, b) {
		t.Errorf("two trainings with seed 7 gave different weights")
	}
	if slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave identical weights")
	}
}

func TestFitStopsOnDivergence(t *testing.T) {
	d := synthetic(t)
	net := smallNet(t, d.Shape(), d.Classes())
	r := ReferenceRecipe()
	r.LR, r.Momentum, r.Nesterov, r.BatchSize = 1e30, 0, false, 32
	res, err := Fit(context.Background(), net, d, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged == "" {
		t.Errorf("training with lr 1e30 did not report a divergence: %+v", res)
	}
}

func TestFitErrors(t *testing.T) {
	d := synthetic(t)
	net := smallNet(t, d.Shape(), d.Classes())
	bad := []Recipe{{Epochs: -1}, {LR: math.NaN()}, {Momentum: 1}, {Nesterov: true}, {LabelSmoothing: 1}, {BatchSize: 5000}}
	for _, r := range bad {
		if _, err := Fit(context.Background(), net, d, r, 1); err == nil {
			t.Errorf("Fit with recipe %+v succeeded, want an error", r)
		}
	}
	wrong := smallNet(t, ops.Shape{C: 3, H: 12, W: 12}, 4)
	if _, err := Fit(context.Background(), wrong, d, ReferenceRecipe(), 1); err == nil {
		t.Errorf("Fit of a 3-channel network on 1-channel data succeeded")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Fit(ctx, net, d, ReferenceRecipe(), 1); err == nil {
		t.Errorf("Fit with a cancelled context succeeded")
	}
}

func TestCosineSchedule(t *testing.T) {
	r := Recipe{LR: 0.1}
	tests := []struct {
		s, steps int
		want     float64
	}{
		// LambdaLR(0.5*(1+cos(pi*s/steps))) in reference_net.py: step 0 uses the peak,
		// the middle step half of it.
		{0, 100, 0.1}, {50, 100, 0.05}, {100, 100, 0},
	}
	for _, tt := range tests {
		if got := r.lr(tt.s, tt.steps); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("lr(%d, %d) = %v, want %v", tt.s, tt.steps, got, tt.want)
		}
	}
	w := Recipe{LR: 0.1, WarmupSteps: 10}
	if got := w.lr(4, 100); math.Abs(got-0.05) > 1e-12 {
		t.Errorf("warm-up lr(4) = %v, want 0.05", got)
	}
	if got := w.lr(10, 100); got != 0.1 {
		t.Errorf("first step after warm-up: lr = %v, want the peak 0.1", got)
	}
}
