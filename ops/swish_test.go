package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSwishHSigmoidMatchPyTorch compares outputs and input gradients with F.silu and
// F.hardsigmoid in testdata/gen/gen_blocks_a.py, on random values plus -3 and 3
// exactly and just beside them, where the hard sigmoid changes form, and +-20, where
// swish saturates.
func TestSwishHSigmoidMatchPyTorch(t *testing.T) {
	mks := map[string]func() Layer{
		"swish":    func() Layer { return NewSwish() },
		"hsigmoid": func() Layer { return NewHSigmoid() },
	}
	seen := map[string]bool{}
	for _, f := range loadFixtures(t, "block_act_") {
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

// TestHSigmoidBoundaries checks PyTorch's choice at -3 and 3 exactly, which a
// tolerance could hide: hardsigmoid_backward passes dy/6 only strictly inside (-3, 3).
func TestHSigmoidBoundaries(t *testing.T) {
	tests := []struct {
		x, y, dx float32
	}{
		{-3, 0, 0},
		{3, 1, 0},
		{0, 0.5, 1.0 / 6},
		{-4, 0, 0},
		{4, 1, 0},
	}
	for _, tt := range tests {
		l := NewHSigmoid()
		x, dy := New(1, Shape{1, 1, 1}), New(1, Shape{1, 1, 1})
		x.Float32s()[0], dy.Float32s()[0] = tt.x, 1
		y, dx := runLayer(t, l, x, dy)
		if got := y.Float32s()[0]; got != tt.y {
			t.Errorf("hsigmoid(%v) = %v, want %v", tt.x, got, tt.y)
		}
		if got := dx.Float32s()[0]; got != tt.dx {
			t.Errorf("hsigmoid'(%v) = %v, want %v", tt.x, got, tt.dx)
		}
	}
}

// TestSwishKernels checks the AVX-512 swish kernels against their Go twins bit for
// bit, and both against swish and its derivative computed in float64: swish within
// 4e-7 relative (or 1e-37 absolute where it underflows), the gradient within 4e-7 of
// dy*s*(1+|x|). The lengths leave tails of
// every size, the values take in the clamps, zeros, infinities and a NaN.
func TestSwishKernels(t *testing.T) {
	asm := useBNAsm
	defer func() { useBNAsm = asm }()
	rng := rand.New(rand.NewPCG(7, 8))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-30, -1e-30, 1, -1, 20, -20, 86.9, -86.9, 87, -87,
		88, -88, 89, -89, 100, -100, 1e30, -1e30, float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	for _, n := range []int{1, 5, 15, 16, 17, 31, 33, 100, 257} {
		x, dy := make([]float32, n), make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64() * 6)
			if i < len(special) && n > 40 {
				x[i] = special[i]
			}
			dy[i] = float32(rng.NormFloat64())
		}
		run := func(on bool) (y, dx []float32) {
			useBNAsm = on && asm
			y, dx = make([]float32, n), make([]float32, n)
			swishForward(y, x)
			swishBackward(dx, dy, x)
			return y, dx
		}
		y, dx := run(false)
		if asm {
			ya, dxa := run(true)
			for i := range x {
				if math.Float32bits(ya[i]) != math.Float32bits(y[i]) || math.Float32bits(dxa[i]) != math.Float32bits(dx[i]) {
					t.Errorf("n=%d, x=%g: AVX-512 swish %g and gradient %g, Go %g and %g", n, x[i], ya[i], dxa[i], y[i], dx[i])
				}
			}
		}
		for i, v := range x {
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) || math.Abs(float64(v)) > 87 {
				continue // the clamps: checked against the float64 values below only inside them
			}
			xv := float64(v)
			s := 1 / (1 + math.Exp(-xv))
			wy, wdx := xv*s, float64(dy[i])*s*(1+xv*(1-s))
			if d := math.Abs(float64(y[i]) - wy); d > 4e-7*math.Abs(wy)+1e-37 {
				t.Errorf("swish(%g) = %g, want %g", v, y[i], wy)
			}
			// 1-s loses the low bits of s (as in PyTorch's float32 silu_backward), an
			// error that x then multiplies.
			if d := math.Abs(float64(dx[i]) - wdx); d > 4e-7*math.Abs(float64(dy[i]))*s*(1+math.Abs(xv))+1e-37 {
				t.Errorf("swish'(%g)*%g = %g, want %g", v, dy[i], dx[i], wdx)
			}
		}
	}
}
