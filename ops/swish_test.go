package ops

import "testing"

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
