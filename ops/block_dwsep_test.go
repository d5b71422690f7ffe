package ops

import "testing"

// TestDWSepMatchesPyTorch compares MobileNetV1's depthwise-separable layer and
// Xception's SeparableConv2d (with and without the ReLU before it), re-implemented in
// testdata/gen/gen_blocks_a.py.
func TestDWSepMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_dwsep_") {
		t.Run(f.name, func(t *testing.T) {
			cfg := DWSepConfig{In: f.int(t, "cin"), Out: f.int(t, "cout"), K: f.int(t, "k"), Stride: f.int(t, "stride"),
				PWGroups: f.int(t, "pw_groups"), Act: fixtureAct(t, f, "act"), Xception: f.int(t, "xception") == 1}
			checkBlockFixture(t, f, func() Layer {
				b, err := NewDWSep(cfg)
				return mustBlock(t)(b, err)
			})
		})
	}
}

func TestDWSepCost(t *testing.T) {
	tests := []struct {
		cfg          DWSepConfig
		in           Shape
		macs, params int64
	}{
		// MobileNetV1's "Conv dw / s1, 3x3x32 dw" and "Conv / s1, 1x1x32x64" at 112x112
		// (Howard et al. 2017, Table 1): 112*112*32*9 = 3,612,672 plus 112*112*64*32 =
		// 25,690,112 MACs; weights 288 + 2,048, batch norms 2*32 + 2*64.
		{DWSepConfig{In: 32, Out: 64, Act: ActReLU}, Shape{32, 112, 112}, 29302784, 2528},
		// Xception's middle flow SeparableConv 728->728 at 19x19: 361*728*9 = 2,365,272
		// plus 361*728*728 = 191,324,224 MACs; weights 6,552 + 529,984, one batch norm 1,456.
		{DWSepConfig{In: 728, Out: 728, Act: ActReLU, Xception: true}, Shape{728, 19, 19}, 193689496, 537992},
	}
	for _, tt := range tests {
		b, err := NewDWSep(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkCost(t, blockName("DWSep", tt.cfg), b, tt.in, tt.macs, tt.params)
	}
}

func TestDWSepErrors(t *testing.T) {
	bad := []DWSepConfig{
		{In: 0, Out: 8},
		{In: 8, Out: 8, K: 4},
		{In: 8, Out: 8, Stride: 3},
		{In: 8, Out: 6, PWGroups: 4},
		{In: 8, Out: 8, Act: Act(77)},
	}
	for _, c := range bad {
		if _, err := NewDWSep(c); err == nil {
			t.Errorf("NewDWSep(%+v) succeeded, want an error", c)
		}
	}
}
