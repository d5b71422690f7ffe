package ops

import "testing"

// TestShuffleV1MatchesPyTorch compares megvii's ShuffleV1Block, re-implemented in
// testdata/gen/gen_blocks_a.py: stage 2's first unit (stride 2, ungrouped first 1x1,
// g = 3), a stride-1 unit with g = 3, a stride-2 unit with g = 2 and one with g = 1
// (no shuffle).
func TestShuffleV1MatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_shufflev1_") {
		t.Run(f.name, func(t *testing.T) {
			cfg := ShuffleV1Config{In: f.int(t, "cin"), Out: f.int(t, "cout"), Groups: f.int(t, "groups"),
				Stride: f.int(t, "stride"), UngroupedFirst: f.int(t, "first_group") == 1}
			checkBlockFixture(t, f, func() Layer {
				b, err := NewShuffleV1(cfg)
				return blockLayer(t, b, err)
			})
		})
	}
}

func TestShuffleV1Cost(t *testing.T) {
	tests := []struct {
		cfg          ShuffleV1Config
		in           Shape
		macs, params int64
	}{
		// ShuffleNet 1x (g = 3) stage 2, a stride-1 unit of 240 channels at 28x28 with
		// bottleneck 60: 784*60*(240/3) = 3,763,200 + 784*60*9 = 423,360 +
		// 784*240*(60/3) = 3,763,200 MACs; weights 4,800 + 540 + 4,800, batch norms
		// 120 + 120 + 480.
		{ShuffleV1Config{In: 240, Out: 240, Groups: 3}, Shape{240, 28, 28}, 7949760, 10860},
		// Its first unit: 24 -> 240 at 56x56, stride 2, ungrouped first 1x1 to 60,
		// main branch 240-24 = 216: 3136*60*24 = 4,515,840 + 784*60*9 = 423,360 +
		// 784*216*20 = 3,386,880 MACs; weights 1,440 + 540 + 4,320, batch norms
		// 120 + 120 + 432.
		{ShuffleV1Config{In: 24, Out: 240, Groups: 3, Stride: 2, UngroupedFirst: true}, Shape{24, 56, 56}, 8326080, 6972},
	}
	for _, tt := range tests {
		b, err := NewShuffleV1(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		checkCost(t, blockName("ShuffleV1", tt.cfg), b, tt.in, tt.macs, tt.params)
	}
}

func TestShuffleV1Errors(t *testing.T) {
	bad := []ShuffleV1Config{
		{In: 24, Out: 24, Groups: 0},
		{In: 24, Out: 48, Groups: 3},
		{In: 24, Out: 24, Groups: 5},
		{In: 24, Out: 24, Groups: 3, Stride: 3},
		{In: 24, Out: 24, Groups: 3, Stride: 2},
		{In: 24, Out: 24, Groups: 3, K: 2},
		{In: 8, Out: 24, Groups: 3, Stride: 2},
	}
	for _, c := range bad {
		if _, err := NewShuffleV1(c); err == nil {
			t.Errorf("NewShuffleV1(%+v) succeeded, want an error", c)
		}
	}
}
