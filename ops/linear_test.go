package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"testing"

	"gorgonia.org/tensor"
)

// TestLinearMatchesPyTorch compares outputs and all gradients with nn.Linear in
// testdata/gen/gen_layers.py, for 2-d inputs and the same values as (N, in, 1, 1).
func TestLinearMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "linear_") {
		for _, fourD := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/4d=%v", f.name, fourD), func(t *testing.T) {
				fin, fout, bias := f.int(t, "fin"), f.int(t, "fout"), f.int(t, "bias") == 1
				mk := func() Layer {
					l, err := NewLinear(fin, fout, bias)
					if err != nil {
						t.Fatal(err)
					}
					copyInto(t, l.Weight().Value, f.tensor(t, "weight"))
					if bias {
						copyInto(t, l.Bias().Value, f.tensor(t, "bias"))
					}
					return l
				}
				x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
				n := x.Shape()[0]
				dy4 := FromSlice(n, Shape{fout, 1, 1}, dy.Float32s())
				if fourD {
					x = FromSlice(n, Shape{fin, 1, 1}, x.Float32s())
				}
				l := mk().(*Linear)
				y, dx := runLayer(t, l, x, dy4)
				if got := y.Shape(); !got.Eq(tensor.Shape{n, fout, 1, 1}) {
					t.Errorf("output shape %v, want (%d, %d, 1, 1)", got, n, fout)
				}
				assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
				assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
				assertClose(t, "dweight", l.Weight().Grad, f.tensor(t, "dweight"), fixtureTol)
				if bias {
					assertClose(t, "dbias", l.Bias().Grad, f.tensor(t, "dbias"), fixtureTol)
				}
				checkLayerContract(t, mk, x, dy4)
			})
		}
	}
}

// TestLinearLarge checks a batch big enough to be split over cores against the
// definition computed here in float64.
func TestLinearLarge(t *testing.T) {
	const n, fin, fout = 64, 96, 40 // 245,760 MACs > linearParallelMin
	l, err := NewLinear(fin, fout, true)
	if err != nil {
		t.Fatal(err)
	}
	l.Init(rand.New(rand.NewPCG(1, 2)))
	x, dy := randTensor(10, n, Shape{fin, 1, 1}), randTensor(11, n, Shape{fout, 1, 1})
	y, dx := runLayer(t, l, x, dy)
	w, b := l.Weight().Value.Float32s(), l.Bias().Value.Float32s()
	wantY, wantDx := New(n, Shape{fout, 1, 1}), New(n, Shape{fin, 1, 1})
	wantDw := tensor.New(tensor.WithShape(fout, fin), tensor.WithBacking(make([]float32, fout*fin)))
	xd, dyd := x.Float32s(), dy.Float32s()
	for i := 0; i < n; i++ {
		for o := 0; o < fout; o++ {
			s := float64(b[o])
			for k := 0; k < fin; k++ {
				s += float64(xd[i*fin+k]) * float64(w[o*fin+k])
			}
			wantY.Float32s()[i*fout+o] = float32(s)
		}
		for k := 0; k < fin; k++ {
			var s float64
			for o := 0; o < fout; o++ {
				s += float64(dyd[i*fout+o]) * float64(w[o*fin+k])
			}
			wantDx.Float32s()[i*fin+k] = float32(s)
		}
	}
	for o := 0; o < fout; o++ {
		for k := 0; k < fin; k++ {
			var s float64
			for i := 0; i < n; i++ {
				s += float64(dyd[i*fout+o]) * float64(xd[i*fin+k])
			}
			wantDw.Float32s()[o*fin+k] = float32(s)
		}
	}
	assertClose(t, "y", y, wantY, fixtureTol)
	assertClose(t, "dx", dx, wantDx, fixtureTol)
	assertClose(t, "dweight", l.Weight().Grad, wantDw, fixtureTol)
}

// TestLinearInit checks PyTorch's default bounds: every value within 1/sqrt(in), and
// the draws spread over the range.
func TestLinearInit(t *testing.T) {
	l, err := NewLinear(256, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	l.Init(rand.New(rand.NewPCG(3, 4)))
	bound := float32(1 / math.Sqrt(256))
	for _, p := range l.Params() {
		lo, hi := float32(0), float32(0)
		for _, v := range p.Value.Float32s() {
			if v < -bound || v > bound {
				t.Fatalf("%s value %v outside [-%v, %v]", p.Name, v, bound, bound)
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		// With 10 or more uniform draws the extremes pass half the bound unless
		// the draws are not spread (probability 2*0.75^10 < 0.06 for the bias; the
		// seed is fixed).
		if lo > -bound/2 || hi < bound/2 {
			t.Errorf("%s values in [%v, %v], want spread over [-%v, %v]", p.Name, lo, hi, bound, bound)
		}
	}
}

// TestLinearCostAndErrors checks the cost convention and the rejected inputs.
func TestLinearCostAndErrors(t *testing.T) {
	tests := []struct {
		in, out      int
		bias         bool
		macs, params int64
	}{
		// reference_net.py's classifier: 256*10 MACs, 2560 weights + 10 biases.
		{256, 10, true, 2560, 2570},
		// MobileNetV1's classifier: 1024*1000 MACs (paper Table 2 counts it in full).
		{1024, 1000, false, 1024000, 1024000},
	}
	for _, tt := range tests {
		l, err := NewLinear(tt.in, tt.out, tt.bias)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Cost(Shape{tt.in, 1, 1}); got != (Cost{tt.macs, tt.params}) {
			t.Errorf("Linear(%d, %d, %v).Cost = %+v, want MACs %d params %d", tt.in, tt.out, tt.bias, got, tt.macs, tt.params)
		}
		var n int64
		for _, p := range l.Params() {
			n += int64(p.Size())
		}
		if n != tt.params {
			t.Errorf("Linear(%d, %d, %v): parameter tensors hold %d values, want %d", tt.in, tt.out, tt.bias, n, tt.params)
		}
	}
	for _, c := range [][2]int{{0, 3}, {3, 0}, {-1, 2}} {
		if _, err := NewLinear(c[0], c[1], true); err == nil {
			t.Errorf("NewLinear(%d, %d): no error", c[0], c[1])
		}
	}
	l, _ := NewLinear(8, 3, true)
	for _, s := range []Shape{{7, 1, 1}, {8, 2, 1}, {2, 2, 2}} {
		if _, err := l.OutShape(s); err == nil {
			t.Errorf("Linear(8, 3).OutShape(%v): no error", s)
		}
	}
	if _, err := l.Backward(New(1, Shape{3, 1, 1})); err == nil {
		t.Errorf("Backward before Forward: no error")
	}
}

// ExampleLinear trains a linear layer with SGD on one sample: each step moves its
// output toward the target, so the loss falls.
func ExampleLinear() {
	l, _ := NewLinear(2, 1, true)
	copy(l.Weight().Value.Float32s(), []float32{0.5, -0.5})
	x := FromSlice(1, Shape{2, 1, 1}, []float32{1, 2})
	const target = 1
	opt := &SGD{LR: 0.1}
	for step := 0; step < 3; step++ {
		y, _ := l.Forward(x)
		diff := y.Float32s()[0] - target // loss = diff^2/2, so dL/dy = diff
		fmt.Printf("step %d: y = %.3f, loss = %.4f\n", step, y.Float32s()[0], diff*diff/2)
		ZeroGrad(l)
		l.Backward(FromSlice(1, Shape{1, 1, 1}, []float32{diff}))
		opt.Step(l.Params())
	}
	// Output:
	// step 0: y = -0.500, loss = 1.1250
	// step 1: y = 0.400, loss = 0.1800
	// step 2: y = 0.760, loss = 0.0288
}

// raceEnabled reports whether the test binary was built with -race.
func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// TestLinearNoAllocs checks steps after the first allocate nothing. Under the race
// detector sync.Pool drops items on purpose, so gemm's packing buffers are then
// reallocated and the count means nothing; the plain test run checks it.
func TestLinearNoAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items)")
	}
	l, err := NewLinear(16, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	checkNoAllocs(t, l, randTensor(20, 8, Shape{16, 1, 1}), randTensor(21, 8, Shape{10, 1, 1}))
}
