package ops

import "testing"

// TestUpsample2xMatchesPyTorch compares with F.interpolate(scale_factor=2,
// mode="nearest") in testdata/gen/gen_pool.py.
func TestUpsample2xMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "upsample_") {
		t.Run(f.name, func(t *testing.T) {
			l := NewUpsample2x()
			checkOutShape(t, l, f)
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			y, dx := runLayer(t, l, x, dy)
			// Forward copies values, so it must be exact.
			assertClose(t, "y", y, f.tensor(t, "y"), 0)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
			checkLayerContract(t, func() Layer { return NewUpsample2x() }, x, dy)
		})
	}
}

// TestUpsample2xParallel checks a shape large enough to split over workers: every
// output value equals its source and every input gradient sums its 2x2 block.
func TestUpsample2xParallel(t *testing.T) {
	in := Shape{8, 16, 16} // 2*8*32*32 = 16,384 outputs, at parallelMinWork
	x := randTensor(5, 2, in)
	l := NewUpsample2x()
	y, err := l.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	out := Shape{8, 32, 32}
	for p := 0; p < 2*in.C; p++ {
		for h := 0; h < out.H; h++ {
			for w := 0; w < out.W; w++ {
				got := y.Float32s()[(p*out.H+h)*out.W+w]
				want := x.Float32s()[(p*in.H+h/2)*in.W+w/2]
				if got != want {
					t.Fatalf("y[%d,%d,%d] = %v, want %v", p, h, w, got, want)
				}
			}
		}
	}
	// With the upsampled input as gradient, each input gradient is 4x its value.
	dx, err := l.Backward(y)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range x.Float32s() {
		if got := dx.Float32s()[i]; got != 4*v {
			t.Fatalf("dx[%d] = %v, want 4*%v", i, got, v)
		}
	}
	if c := l.Cost(in); c != (Cost{}) {
		t.Errorf("Cost(%v) = %+v, want zero", in, c)
	}
	if _, err := l.Backward(x); err == nil {
		t.Errorf("backward accepted a gradient of the input's shape")
	}
}
