package ops

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestActivationsMatchPyTorch compares outputs and input gradients with F.relu,
// F.relu6, F.hardswish and torch.sigmoid in testdata/gen/gen_layers.py, on random
// values plus the points where each function changes form (0, 6, -3 and 3 exactly
// and just beside them).
func TestActivationsMatchPyTorch(t *testing.T) {
	mks := map[string]func() Layer{
		"relu":    func() Layer { return NewReLU() },
		"relu6":   func() Layer { return NewReLU6() },
		"hswish":  func() Layer { return NewHSwish() },
		"sigmoid": func() Layer { return NewSigmoid() },
	}
	seen := map[string]bool{}
	for _, f := range loadFixtures(t, "act_") {
		t.Run(f.name, func(t *testing.T) {
			op := f.str(t, "op")
			mk, ok := mks[op]
			if !ok {
				t.Fatalf("fixture for unknown op %q", op)
			}
			seen[op] = true
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			y, dx := runLayer(t, mk(), x, dy)
			assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
			checkLayerContract(t, mk, x, dy)
		})
	}
	for op := range mks {
		if !seen[op] {
			t.Errorf("no fixture for %s", op)
		}
	}
}

// TestHSwishBoundaries checks PyTorch's one-sided choices at -3 and 3 exactly, which
// a tolerance could hide: hswish's gradient is x/3+1/2 on [-3, 3), so -0.5 at -3, and
// 1 at 3, as PyTorch 1.13's vectorized hardswish_backward computes (a PyTorch run on
// torch.full((64,), 3.0) gives 1; only its scalar tail gives 1.5). ReLU6's gradient is
// 0 at both 0 and 6 (hardtanh_backward), ReLU's 0 at 0 (threshold_backward).
func TestHSwishBoundaries(t *testing.T) {
	tests := []struct {
		l      Layer
		x      float32
		y, dx  float32
		detail string
	}{
		{NewHSwish(), -3, 0, -0.5, "hswish at -3"},
		{NewHSwish(), 3, 3, 1, "hswish at 3"},
		{NewHSwish(), 2.999, 2.999 * 5.999 / 6, 2.999/3 + 0.5, "hswish just below 3"},
		{NewHSwish(), -3.5, 0, 0, "hswish below -3"},
		{NewHSwish(), 3.5, 3.5, 1, "hswish above 3"},
		{NewHSwish(), 0, 0, 0.5, "hswish at 0"},
		{NewReLU6(), 0, 0, 0, "relu6 at 0"},
		{NewReLU6(), 6, 6, 0, "relu6 at 6"},
		{NewReLU6(), 7, 6, 0, "relu6 above 6"},
		{NewReLU6(), 2, 2, 1, "relu6 inside"},
		{NewReLU(), 0, 0, 0, "relu at 0"},
		{NewReLU(), -1, 0, 0, "relu below 0"},
		{NewReLU(), 7, 7, 1, "relu above 0"},
		{NewSigmoid(), 0, 0.5, 0.25, "sigmoid at 0"},
	}
	for _, tt := range tests {
		x := FromSlice(1, Shape{1, 1, 1}, []float32{tt.x})
		dy := FromSlice(1, Shape{1, 1, 1}, []float32{1})
		y, dx := runLayer(t, tt.l, x, dy)
		if got := y.Float32s()[0]; got != tt.y {
			t.Errorf("%s: y(%v) = %v, want %v", tt.detail, tt.x, got, tt.y)
		}
		if got := dx.Float32s()[0]; got != tt.dx {
			t.Errorf("%s: dy/dx(%v) = %v, want %v", tt.detail, tt.x, got, tt.dx)
		}
	}
}

// TestActivationsLarge runs a tensor big enough to be split over cores and checks it
// against the scalar definitions.
func TestActivationsLarge(t *testing.T) {
	s := Shape{16, 32, 32}
	x, dy := randTensor(4, 4, s), randTensor(5, 4, s) // 65536 values > actParallelMin
	for i := range x.Float32s() {
		x.Float32s()[i] *= 4
	}
	relu6 := func(v float32) float32 { return min(max(v, 0), 6) }
	tests := []struct {
		name  string
		l     Layer
		f, df func(v float32) float32
	}{
		{"relu", NewReLU(), func(v float32) float32 { return max(v, 0) }, func(v float32) float32 {
			if v > 0 {
				return 1
			}
			return 0
		}},
		{"relu6", NewReLU6(), relu6, func(v float32) float32 {
			if v > 0 && v < 6 {
				return 1
			}
			return 0
		}},
		{"hswish", NewHSwish(), func(v float32) float32 { return v * relu6(v+3) / 6 }, func(v float32) float32 {
			switch {
			case v < -3:
				return 0
			case v >= 3:
				return 1
			}
			return v/3 + 0.5
		}},
		{"sigmoid", NewSigmoid(), func(v float32) float32 { return float32(1 / (1 + math.Exp(-float64(v)))) },
			func(v float32) float32 {
				s := float32(1 / (1 + math.Exp(-float64(v))))
				return s * (1 - s)
			}},
	}
	for _, tt := range tests {
		y, dx := runLayer(t, tt.l, x, dy)
		for i, v := range x.Float32s() {
			if got, want := y.Float32s()[i], tt.f(v); got != want {
				t.Fatalf("%s(%v) = %v, want %v", tt.name, v, got, want)
			}
			// 1e-6: the layer may multiply dy by the derivative in another order.
			if got, want := dx.Float32s()[i], dy.Float32s()[i]*tt.df(v); math.Abs(float64(got-want)) > 1e-6 {
				t.Fatalf("%s'(%v)*%v = %v, want %v", tt.name, v, dy.Float32s()[i], got, want)
			}
		}
	}
}

// TestActivationsCostAndErrors checks that activations cost nothing and reject bad input.
func TestActivationsCostAndErrors(t *testing.T) {
	for _, l := range []Layer{NewReLU(), NewReLU6(), NewHSwish(), NewSigmoid()} {
		if c := l.Cost(Shape{8, 4, 4}); c != (Cost{}) {
			t.Errorf("%T.Cost = %+v, want zero", l, c)
		}
		if s, err := l.OutShape(Shape{8, 4, 4}); err != nil || s != (Shape{8, 4, 4}) {
			t.Errorf("%T.OutShape(8x4x4) = %v, %v; want the same shape", l, s, err)
		}
		if _, err := l.OutShape(Shape{0, 4, 4}); err == nil {
			t.Errorf("%T.OutShape(zero channels): no error", l)
		}
		if _, err := l.Backward(New(1, Shape{8, 4, 4})); err == nil {
			t.Errorf("%T: Backward before Forward: no error", l)
		}
		if _, err := l.Forward(New(2, Shape{8, 4, 4})); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Backward(New(2, Shape{8, 4, 2})); err == nil {
			t.Errorf("%T: Backward with a gradient of another shape: no error", l)
		}
	}
}

// TestActivationsNoAllocs checks steps after the first allocate nothing.
func TestActivationsNoAllocs(t *testing.T) {
	s := Shape{8, 4, 4}
	x, dy := randTensor(14, 4, s), randTensor(15, 4, s)
	for _, l := range []Layer{NewReLU(), NewReLU6(), NewHSwish(), NewSigmoid()} {
		checkNoAllocs(t, l, x, dy)
	}
}

// BenchmarkActivations times forward and backward at batch 128 on two of
// reference_net.py's activation shapes, reporting values processed per second.
func BenchmarkActivations(b *testing.B) {
	for _, s := range []Shape{{64, 28, 28}, {384, 4, 4}} {
		for _, mk := range []func() Layer{
			func() Layer { return NewReLU() }, func() Layer { return NewReLU6() },
			func() Layer { return NewHSwish() }, func() Layer { return NewSigmoid() },
		} {
			l := mk()
			name := strings.TrimPrefix(fmt.Sprintf("%T", l), "*ops.") + "/" + s.String()
			b.Run(name, func(b *testing.B) {
				const n = 128
				x, dy := randTensor(1, n, s), randTensor(2, n, s)
				for i, v := range x.Float32s() {
					x.Float32s()[i] = 4 * v
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := l.Forward(x); err != nil {
						b.Fatal(err)
					}
					if _, err := l.Backward(dy); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*s.Size())*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
			})
		}
	}
}
