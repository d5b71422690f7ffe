package ops

import "testing"

// TestFlattenedMatchesPyTorch compares Jin et al.'s lateral-vertical-horizontal
// flattened layer and Inception-v3's k x 1 / 1 x k pair (both orders), re-implemented
// in testdata/gen/gen_blocks_a.py, at stride 1 and 2.
func TestFlattenedMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_flattened_") {
		t.Run(f.name, func(t *testing.T) {
			cfg := FlattenedConfig{In: f.int(t, "cin"), Out: f.int(t, "cout"), K: f.int(t, "k"), Stride: f.int(t, "stride"),
				Rectangular: f.int(t, "rect") == 1, Mid: f.int(t, "mid"), HorizontalFirst: f.int(t, "hfirst") == 1,
				Act: fixtureAct(t, f, "act")}
			checkBlockFixture(t, f, func() Layer {
				b, err := NewFlattened(cfg)
				return blockLayer(t, b, err)
			})
		})
	}
}

func TestFlattenedCost(t *testing.T) {
	tests := []struct {
		cfg          FlattenedConfig
		in           Shape
		macs, params int64
	}{
		// A flattened 3x3, 64 -> 64 at 32x32: lateral 1024*64*64 = 4,194,304, vertical
		// and horizontal 1024*64*3 = 196,608 each; weights 4,096 + 192 + 192, one batch
		// norm 128.
		{FlattenedConfig{In: 64, Out: 64, Act: ActReLU}, Shape{64, 32, 32}, 4587520, 4608},
		// Inception-v3's 17x17 branch7x7 pair with c7 = 128: 1x7 128 -> 128, 7x1
		// 128 -> 192: 289*128*128*7 = 33,144,832 + 289*192*128*7 = 49,717,248 MACs;
		// weights 114,688 + 172,032, batch norms 256 + 384.
		{FlattenedConfig{In: 128, Mid: 128, Out: 192, K: 7, Rectangular: true, HorizontalFirst: true, Act: ActReLU},
			Shape{128, 17, 17}, 82862080, 287360},
	}
	for _, tt := range tests {
		b, err := NewFlattened(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkCost(t, blockName("Flattened", tt.cfg), b, tt.in, tt.macs, tt.params)
		out, err := b.OutShape(tt.in)
		if err != nil || out != (Shape{tt.cfg.Out, tt.in.H, tt.in.W}) {
			t.Errorf("%s.OutShape(%v) = %v, %v; want %dx%dx%d", blockName("Flattened", tt.cfg), tt.in, out, err, tt.in.H, tt.in.W, tt.cfg.Out)
		}
	}
}

func TestFlattenedErrors(t *testing.T) {
	bad := []FlattenedConfig{
		{In: 0, Out: 8},
		{In: 8, Out: 8, K: 4},
		{In: 8, Out: 8, Stride: 3},
		{In: 8, Out: 8, Act: Act(9)},
	}
	for _, c := range bad {
		if _, err := NewFlattened(c); err == nil {
			t.Errorf("NewFlattened(%+v) succeeded, want an error", c)
		}
	}
}
