package ops

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// TestTimeLayers checks the per-layer times of training steps: one row per run of a
// leaf layer (a convolution, a batch norm with what is fused into it, a residual
// sum, ...), never one for a container whose parts have rows, each with forward and
// backward time, summing to no more than the steps' wall time; and none once timing
// is off.
func TestTimeLayers(t *testing.T) {
	stem, err := Conv(3, 8, 3, 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	block, err := NewInvertedResidual(InvertedResidualConfig{In: 8, Out: 8, Expand: 2, Groups: 2, Shuffle: true, Act: ActReLU6})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := NewLinear(8, 4, true)
	if err != nil {
		t.Fatal(err)
	}
	net, err := NewNetwork(Seq(Seq(stem, NewBatchNorm2D(8), NewReLU6()), block, NewGlobalAvgPool(), fc), Shape{3, 6, 6})
	if err != nil {
		t.Fatal(err)
	}
	net.Init(rand.New(rand.NewPCG(1, 2)))
	x := randTensor(3, 4, Shape{3, 6, 6})
	labels := []int{0, 1, 2, 3}
	loss, opt := &SoftmaxCrossEntropy{}, &SGD{LR: 0.01}
	if _, err := net.Step(x, labels, loss, opt); err != nil {
		t.Fatal(err)
	}
	if got := net.LayerTimes(); got != nil {
		t.Fatalf("LayerTimes before TimeLayers(true) = %v, want nil", got)
	}
	net.TimeLayers(true)
	start := time.Now()
	for range 3 {
		if _, err := net.Step(x, labels, loss, opt); err != nil {
			t.Fatal(err)
		}
	}
	wall := time.Since(start)
	rows := net.LayerTimes()
	var paths []string
	var sum time.Duration
	for _, r := range rows {
		paths = append(paths, r.Path+" "+r.Kind)
		sum += r.Forward + r.Backward
		if r.Kind == "residual sum" {
			// Forward, the block's last batch norm adds the shortcut as it writes.
			if r.Forward != 0 || r.Backward <= 0 {
				t.Errorf("residual sum: forward %v, backward %v, want 0 and positive", r.Forward, r.Backward)
			}
			continue
		}
		if r.Forward <= 0 || r.Backward <= 0 {
			t.Errorf("row %s %s: forward %v, backward %v, want both positive", r.Path, r.Kind, r.Forward, r.Backward)
		}
	}
	// The stem's batch norm and ReLU6 run as one pass; the block's body is a
	// Sequential inside a Residual inside the Block (paths 1.0.0.*); the residual
	// sum first runs in the backward pass, its forward being fused.
	want := []string{
		"0.0 Conv2D 3x3/1",
		"0.1 BatchNorm2D+ReLU6",
		"1.0.0.0 Conv2D 1x1/1 g2",
		"1.0.0.1 BatchNorm2D+ReLU6+ChannelShuffle",
		"1.0.0.4 Conv2D 3x3/1 dw",
		"1.0.0.5 BatchNorm2D+ReLU6",
		"1.0.0.7 Conv2D 1x1/1 g2",
		"1.0.0.8 BatchNorm2D",
		"2 GlobalAvgPool",
		"3 Linear",
		"1.0 residual sum",
	}
	if !slices.Equal(paths, want) {
		t.Errorf("timed runs:\n%q\nwant\n%q", paths, want)
	}
	if sum > wall {
		t.Errorf("layer times sum to %v, more than the steps' %v", sum, wall)
	}
	net.TimeLayers(false)
	if got := net.LayerTimes(); got != nil {
		t.Errorf("LayerTimes after TimeLayers(false) = %v, want nil", got)
	}
}
