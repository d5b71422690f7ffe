package ops

import "testing"

// TestShuffleV2MatchesPyTorch compares torchvision's shufflenetv2.InvertedResidual,
// re-implemented in testdata/gen/gen_blocks_a.py, at stride 1 and at stride 2.
func TestShuffleV2MatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_shufflev2_") {
		t.Run(f.name, func(t *testing.T) {
			cfg := ShuffleV2Config{In: f.int(t, "cin"), Out: f.int(t, "cout"), Stride: f.int(t, "stride")}
			checkBlockFixture(t, f, func() Layer {
				b, err := NewShuffleV2(cfg)
				return blockLayer(t, b, err)
			})
		})
	}
}

func TestShuffleV2Cost(t *testing.T) {
	tests := []struct {
		cfg          ShuffleV2Config
		in           Shape
		macs, params int64
	}{
		// ShuffleNet V2 1x, stage 2's first unit, 24 -> 116 at 56x56, 58 channels per
		// branch. branch1: 784*24*9 = 169,344 + 784*58*24 = 1,091,328; branch2:
		// 3136*58*24 = 4,365,312 + 784*58*9 = 409,248 + 784*58*58 = 2,637,376 MACs.
		// Parameters: branch1 216 + 48 + 1,392 + 116, branch2 1,392 + 116 + 522 + 116 +
		// 3,364 + 116.
		{ShuffleV2Config{In: 24, Out: 116, Stride: 2}, Shape{24, 56, 56}, 8672608, 7398},
		// A stride-1 unit of 116 at 28x28: branch2 on 58 channels, 784*58*58*2 =
		// 5,274,752 + 784*58*9 = 409,248 MACs; 3,364*2 + 522 + 3*116 parameters.
		{ShuffleV2Config{In: 116, Out: 116}, Shape{116, 28, 28}, 5684000, 7598},
	}
	for _, tt := range tests {
		b, err := NewShuffleV2(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkCost(t, blockName("ShuffleV2", tt.cfg), b, tt.in, tt.macs, tt.params)
	}
}

func TestShuffleV2Errors(t *testing.T) {
	bad := []ShuffleV2Config{
		{In: 0, Out: 8},
		{In: 8, Out: 9, Stride: 2},
		{In: 8, Out: 16},
		{In: 8, Out: 8, Stride: 3},
	}
	for _, c := range bad {
		if _, err := NewShuffleV2(c); err == nil {
			t.Errorf("NewShuffleV2(%+v) succeeded, want an error", c)
		}
	}
}
