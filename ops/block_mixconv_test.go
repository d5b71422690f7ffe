package ops

import "testing"

// TestMixConvMatchesPyTorch compares timm's MixedConv2d (depthwise), re-implemented in
// testdata/gen/gen_blocks_a.py: kernels 3/5/7 over 13 channels (an uneven split,
// 5+4+4) at stride 2, 3/5 at stride 1, a single dilated kernel and 3/5/7/9 at stride 2.
func TestMixConvMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_mixconv_") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				b, err := NewMixConv(f.int(t, "cin"), fixtureInts(t, f, "kernels"), f.int(t, "stride"), f.int(t, "dilation"))
				return mustBlock(t)(b, err)
			})
		})
	}
}

func TestMixConvCost(t *testing.T) {
	// The reference network's Block(48, 48, 4, 1, ks=(3, 5, 7), g=4) mixes 192
	// channels at 7x7 in three parts of 64: 7*7*64*(3*3 + 5*5 + 7*7) = 49*64*83 =
	// 260,288 MACs and 64*83 = 5,312 weights.
	b, err := NewMixConv(192, []int{3, 5, 7}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	checkCost(t, "MixConv(192, [3 5 7])", b, Shape{192, 7, 7}, 260288, 5312)
	if _, ok := b.Body.(*SplitApply); !ok {
		t.Errorf("MixConv with three kernels is a %T, want *SplitApply", b.Body)
	}
	one, err := NewMixConv(8, []int{5}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := one.Body.(*Conv2D); !ok || c.Config().Groups != 8 || c.Config().PadH != 2 {
		t.Errorf("MixConv with one kernel is %T %+v, want a depthwise 5x5 Conv2D with padding 2", one.Body, one.Body)
	}
}

func TestMixConvErrors(t *testing.T) {
	tests := []struct {
		c        int
		ks       []int
		stride   int
		dilation int
	}{
		{0, []int{3}, 1, 1},
		{8, nil, 1, 1},
		{8, []int{3, 4}, 1, 1},
		{8, []int{3, -1}, 1, 1},
		{8, []int{3}, 3, 1},
		{2, []int{3, 5, 7}, 1, 1},
	}
	for _, tt := range tests {
		if _, err := NewMixConv(tt.c, tt.ks, tt.stride, tt.dilation); err == nil {
			t.Errorf("NewMixConv(%d, %v, %d, %d) succeeded, want an error", tt.c, tt.ks, tt.stride, tt.dilation)
		}
	}
}
