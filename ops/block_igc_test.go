package ops

import "testing"

// TestIGCMatchesPyTorch compares IGC, IGCV1 and IGCV3 with the reference blocks
// (hellozting/InterleavedGroupConvolutions, homles11/IGCV3) re-implemented in
// testdata/gen/gen_blocks_b.py.
func TestIGCMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_igc") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				m := mustBlock(t)
				switch {
				case f.name == "block_igc":
					return m(NewIGC(IGCConfig{In: f.int(t, "in_"), Out: f.int(t, "out"), K: f.int(t, "k"), Stride: f.int(t, "stride"),
						Primary: f.int(t, "primary"), Secondary: f.int(t, "secondary"), Act: ActReLU}))
				case f.config["mid"] != nil:
					act := ActNone
					if f.int(t, "exp_act") == 1 {
						act = ActReLU6
					}
					return m(NewIGCV3(IGCV3Config{In: f.int(t, "in_"), Mid: f.int(t, "mid"), Out: f.int(t, "out"),
						Stride: f.int(t, "stride"), ExpandAct: act}))
				default:
					return m(NewIGCV1(IGCV1Config{In: f.int(t, "in_"), Out: f.int(t, "out"), Primary: f.int(t, "primary")}))
				}
			})
		})
	}
}

// TestIGCCost checks IGCV1 and IGCV3 blocks against hand counts.
func TestIGCCost(t *testing.T) {
	m := mustBlock(t)
	tests := []struct {
		name         string
		b            Layer
		in           Shape
		macs, params int64
	}{
		// IGC-L2M32 block at 32x32 (CIFAR's first stage, 64 channels): each IGC has a
		// 3x3 primary convolution in 2 groups, 1024*64*32*9 = 18,874,368 MACs, and a 1x1
		// secondary one in 32 groups, 1024*64*2 = 131,072: 38,010,880 for two. Weights
		// 2*(64*32*9 + 64*2) = 37,120, batch norms 2*2*64 = 256: 37,376 parameters.
		{"igcv1_L2M32", m(NewIGCV1(IGCV1Config{In: 64, Out: 64, Primary: 2})), Shape{64, 32, 32}, 38010880, 37376},
		// IGCV3's second stage first block (16 -> 96 -> 24, stride 2, 112x112 in): expand
		// 12544*96*(16/2) = 9,633,792, depthwise 3136*96*9 = 2,709,504, project
		// 3136*24*(96/2) = 3,612,672: 15,955,968 MACs. Weights 768 + 864 + 1,152 = 2,784,
		// batch norms 2*(96+96+24) = 432: 3,216 parameters.
		{"igcv3_16_96_24_s2", m(NewIGCV3(IGCV3Config{In: 16, Mid: 96, Out: 24, Stride: 2})), Shape{16, 112, 112}, 15955968, 3216},
	}
	for _, tt := range tests {
		if c := tt.b.Cost(tt.in); c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("%s: Cost(%v) = %+v, want MACs %d params %d", tt.name, tt.in, c, tt.macs, tt.params)
		}
	}
}

// TestIGCV3Permutations checks that ChannelShuffle(C/g) undoes ChannelShuffle(g) on C
// channels, the "permutation back" of IGC and IGCV3 (homles11/IGCV3 uses groups 2 and
// then num_filter/2).
func TestIGCV3Permutations(t *testing.T) {
	for _, tt := range []struct{ c, g int }{{8, 2}, {12, 3}, {24, 4}} {
		a, err := NewChannelShuffle(tt.g)
		if err != nil {
			t.Fatal(err)
		}
		b, err := NewChannelShuffle(tt.c / tt.g)
		if err != nil {
			t.Fatal(err)
		}
		x := randTensor(7, 2, Shape{tt.c, 2, 3})
		y, err := Seq(a, b).Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, "shuffle then shuffle back", y, x, 0)
	}
}

// TestIGCErrors checks configurations the IGC blocks reject.
func TestIGCErrors(t *testing.T) {
	for _, c := range []IGCConfig{
		{In: 8, Out: 12, Primary: 3, Secondary: 3},
		{In: 8, Out: 12, Primary: 4, Secondary: 5},
		{In: 8, Out: 12, K: 2, Primary: 4, Secondary: 3},
		{In: 8, Out: 12, Stride: 3, Primary: 4, Secondary: 3},
	} {
		if _, err := NewIGC(c); err == nil {
			t.Errorf("NewIGC(%+v) succeeded, want an error", c)
		}
	}
	if _, err := NewIGCV1(IGCV1Config{In: 8, Out: 12, Primary: 8}); err == nil {
		t.Errorf("NewIGCV1 with 8 partitions of 12 channels succeeded, want an error")
	}
	for _, c := range []IGCV3Config{
		{In: 5, Mid: 12, Out: 8},
		{In: 4, Mid: 12, Out: 8, ProjectGroups: 8},
		{In: 4, Mid: 12, Out: 8, Stride: 3},
	} {
		if _, err := NewIGCV3(c); err == nil {
			t.Errorf("NewIGCV3(%+v) succeeded, want an error", c)
		}
	}
}
