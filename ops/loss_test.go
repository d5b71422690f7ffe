package ops

import (
	"math"
	"testing"

	"gorgonia.org/tensor"
)

// TestSoftmaxCrossEntropyMatchesPyTorch compares loss, gradient and the number of
// correct predictions with F.cross_entropy in testdata/gen/gen_layers.py, with label
// smoothing 0, 0.1 and 0.3 and logits scaled to 60 (where a softmax without the max
// subtraction would overflow float32's exp).
func TestSoftmaxCrossEntropyMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "loss_") {
		t.Run(f.name, func(t *testing.T) {
			logits := f.tensor(t, "logits")
			var labels []int
			for _, v := range f.tensor(t, "labels").Float32s() {
				labels = append(labels, int(v))
			}
			for _, fourD := range []bool{false, true} {
				x := logits
				if fourD {
					x = FromSlice(len(labels), Shape{logits.Shape()[1], 1, 1}, logits.Float32s())
				}
				l := &SoftmaxCrossEntropy{LabelSmoothing: f.float(t, "smoothing")}
				before := clone(x)
				loss, err := l.Forward(x, labels)
				if err != nil {
					t.Fatal(err)
				}
				want := float64(f.tensor(t, "loss").Float32s()[0])
				// fixtureTol relative: PyTorch sums the loss in float32, this in float64.
				if math.Abs(loss-want) > fixtureTol*(1+math.Abs(want)) {
					t.Errorf("4d=%v: loss = %v, want %v", fourD, loss, want)
				}
				g, err := l.Backward()
				if err != nil {
					t.Fatal(err)
				}
				if !g.Shape().Eq(x.Shape()) {
					t.Errorf("4d=%v: gradient shape %v, want %v", fourD, g.Shape(), x.Shape())
				}
				assertClose(t, "dlogits", g, f.tensor(t, "dlogits"), fixtureTol)
				if got, want := l.Correct(), f.int(t, "correct"); got != want {
					t.Errorf("4d=%v: Correct() = %d, want %d", fourD, got, want)
				}
				assertClose(t, "logits unchanged", x, before, 0)
			}
		})
	}
}

// TestSoftmaxCrossEntropyValues checks cases computed by hand: uniform logits cost
// log(K) whatever the smoothing, and a confident correct prediction costs about 0
// without smoothing and about eps*(lse - mean logit) with it.
func TestSoftmaxCrossEntropyValues(t *testing.T) {
	tests := []struct {
		logits []float32
		label  int
		eps    float64
		want   float64
	}{
		{[]float32{0, 0, 0, 0}, 2, 0, math.Log(4)},
		{[]float32{3, 3, 3, 3}, 0, 0.1, math.Log(4)},
		// lse = 100 + log(1 + 2e^-100) ~ 100; mean logit 100/3; loss ~ 0.1*(100-100/3).
		{[]float32{100, 0, 0}, 0, 0.1, 0.1 * (100 - 100.0/3)},
		{[]float32{100, 0, 0}, 0, 0, 0},
	}
	for _, tt := range tests {
		l := &SoftmaxCrossEntropy{LabelSmoothing: tt.eps}
		x := FromSlice(1, Shape{len(tt.logits), 1, 1}, tt.logits)
		got, err := l.Forward(x, []int{tt.label})
		if err != nil {
			t.Fatal(err)
		}
		// 1e-9: float64 arithmetic on values of order 100.
		if math.Abs(got-tt.want) > 1e-9 {
			t.Errorf("loss(%v, label %d, eps %v) = %v, want %v", tt.logits, tt.label, tt.eps, got, tt.want)
		}
		g, _ := l.Backward()
		var sum float64
		for _, v := range g.Float32s() {
			sum += float64(v)
		}
		// The softmax and the smoothed target both sum to 1, so the gradient sums to 0.
		if math.Abs(sum) > 1e-6 {
			t.Errorf("gradient of loss(%v, label %d, eps %v) sums to %v, want 0", tt.logits, tt.label, tt.eps, sum)
		}
	}
}

// TestSoftmaxCrossEntropyNonFinite checks that a non-finite logit gives a non-finite
// loss the caller can detect, not an error or a panic.
func TestSoftmaxCrossEntropyNonFinite(t *testing.T) {
	for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		l := &SoftmaxCrossEntropy{}
		x := FromSlice(2, Shape{3, 1, 1}, []float32{1, 2, 3, bad, 0, 1})
		loss, err := l.Forward(x, []int{0, 1})
		if err != nil {
			t.Fatalf("logit %v: %v", bad, err)
		}
		if !math.IsNaN(loss) && !math.IsInf(loss, 0) {
			t.Errorf("logit %v: loss = %v, want NaN or Inf", bad, loss)
		}
	}
}

// TestSoftmaxCrossEntropyErrors checks the rejected inputs.
func TestSoftmaxCrossEntropyErrors(t *testing.T) {
	x := FromSlice(2, Shape{3, 1, 1}, []float32{1, 2, 3, 4, 5, 6})
	tests := []struct {
		name   string
		x      *tensor.Dense
		labels []int
		eps    float64
	}{
		{"label too large", x, []int{0, 3}, 0},
		{"negative label", x, []int{-1, 0}, 0},
		{"too few labels", x, []int{0}, 0},
		{"spatial logits", FromSlice(1, Shape{3, 2, 1}, []float32{1, 2, 3, 4, 5, 6}), []int{0}, 0},
		{"smoothing above 1", x, []int{0, 1}, 1.5},
	}
	for _, tt := range tests {
		l := &SoftmaxCrossEntropy{LabelSmoothing: tt.eps}
		if _, err := l.Forward(tt.x, tt.labels); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if _, err := (&SoftmaxCrossEntropy{}).Backward(); err == nil {
		t.Errorf("Backward before Forward: no error")
	}
}

// TestSoftmaxCrossEntropyNoAllocs checks steps after the first allocate nothing.
func TestSoftmaxCrossEntropyNoAllocs(t *testing.T) {
	x := randTensor(22, 16, Shape{10, 1, 1})
	labels := make([]int, 16)
	for i := range labels {
		labels[i] = i % 10
	}
	l := &SoftmaxCrossEntropy{LabelSmoothing: 0.1}
	run := func() {
		if _, err := l.Forward(x, labels); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Backward(); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if a := testing.AllocsPerRun(10, run); a != 0 {
		t.Errorf("Forward and Backward allocate %v times per step, want 0", a)
	}
}
