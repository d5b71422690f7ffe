package ops

import "testing"

// TestChannelShuffleMatchesPyTorch compares with the view/transpose/reshape shuffle of
// ShuffleNet written in testdata/gen/gen_layers.py (as in reference_net.py).
func TestChannelShuffleMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "shuffle_") {
		t.Run(f.name, func(t *testing.T) {
			g := f.int(t, "groups")
			mk := func() Layer {
				l, err := NewChannelShuffle(g)
				if err != nil {
					t.Fatal(err)
				}
				return l
			}
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			y, dx := runLayer(t, mk(), x, dy)
			// A permutation is exact: tolerance 0.
			assertClose(t, "y", y, f.tensor(t, "y"), 0)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), 0)
			checkLayerContract(t, mk, x, dy)
		})
	}
}

// TestChannelShuffleOrder checks the permutation on channel indices: with 6 channels
// in 2 groups (0 1 2 | 3 4 5) the output is 0 3 1 4 2 5, ShuffleNet's Figure 1(c).
func TestChannelShuffleOrder(t *testing.T) {
	l, err := NewChannelShuffle(2)
	if err != nil {
		t.Fatal(err)
	}
	y, err := l.Forward(FromSlice(1, Shape{6, 1, 1}, []float32{0, 1, 2, 3, 4, 5}))
	if err != nil {
		t.Fatal(err)
	}
	want := []float32{0, 3, 1, 4, 2, 5}
	for i, v := range y.Float32s() {
		if v != want[i] {
			t.Fatalf("shuffle(0..5, 2 groups) = %v, want %v", y.Float32s(), want)
		}
	}
}

// TestChannelShuffleLarge checks that a batch split over cores is shuffled like one
// done sample by sample, and that Backward inverts Forward.
func TestChannelShuffleLarge(t *testing.T) {
	s := Shape{24, 16, 16}
	x := randTensor(6, 8, s) // 49152 values > actParallelMin
	l, err := NewChannelShuffle(4)
	if err != nil {
		t.Fatal(err)
	}
	y, back := runLayer(t, l, x, x)
	hw := s.H * s.W
	for i := 0; i < 8; i++ {
		for c := 0; c < s.C; c++ {
			from := (c%4)*(s.C/4) + c/4 // output channel j*g+i holds input channel i*(C/g)+j
			for k := 0; k < hw; k++ {
				if got, want := y.Float32s()[(i*s.C+c)*hw+k], x.Float32s()[(i*s.C+from)*hw+k]; got != want {
					t.Fatalf("sample %d channel %d: %v, want input channel %d's %v", i, c, got, from, want)
				}
			}
		}
	}
	// Backward of x through the shuffle applies the inverse permutation to x, so
	// shuffling it again must give x back.
	l2, _ := NewChannelShuffle(4)
	round, err := l2.Forward(back)
	if err != nil {
		t.Fatal(err)
	}
	assertClose(t, "shuffle(unshuffle(x))", round, x, 0)
}

// TestChannelShuffleErrors checks the rejected configurations and inputs.
func TestChannelShuffleErrors(t *testing.T) {
	for _, g := range []int{0, -2} {
		if _, err := NewChannelShuffle(g); err == nil {
			t.Errorf("NewChannelShuffle(%d): no error", g)
		}
	}
	l, err := NewChannelShuffle(3)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []Shape{{8, 4, 4}, {4, 1, 1}, {0, 2, 2}} {
		if _, err := l.OutShape(s); err == nil {
			t.Errorf("ChannelShuffle(3).OutShape(%v): no error", s)
		}
	}
	if _, err := l.Forward(New(1, Shape{8, 2, 2})); err == nil {
		t.Errorf("ChannelShuffle(3).Forward(8 channels): no error")
	}
	if c := l.Cost(Shape{9, 4, 4}); c != (Cost{}) {
		t.Errorf("ChannelShuffle.Cost = %+v, want zero", c)
	}
}

// TestChannelShuffleNoAllocs checks steps after the first allocate nothing.
func TestChannelShuffleNoAllocs(t *testing.T) {
	s := Shape{8, 4, 4}
	l, err := NewChannelShuffle(4)
	if err != nil {
		t.Fatal(err)
	}
	checkNoAllocs(t, l, randTensor(16, 4, s), randTensor(17, 4, s))
}
