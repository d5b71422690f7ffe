package ops

import "testing"

// TestSqueezeExciteMatchesPyTorch compares timm's SqueezeExcite, re-implemented in
// testdata/gen/gen_blocks_a.py, with ReLU, swish and no activation inside and sigmoid
// and hard-sigmoid gates, including a 1x1 input.
func TestSqueezeExciteMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_se_") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				b, err := NewSqueezeExcite(f.int(t, "cin"), f.int(t, "reduced"), fixtureAct(t, f, "act"), fixtureAct(t, f, "gate"))
				return mustBlock(t)(b, err)
			})
		})
	}
}

func TestSqueezeExciteCost(t *testing.T) {
	// 96 channels reduced to 24 at 14x14 (MixNet-s's 40-channel stage has
	// SE 240 -> 20): the two 1x1 convolutions run at 1x1, 96*24 + 24*96 = 4,608 MACs
	// whatever the spatial size; parameters 96*24+24 + 24*96+96 = 4,728.
	b, err := NewSqueezeExcite(96, 24, ActSwish, ActSigmoid)
	if err != nil {
		t.Fatal(err)
	}
	checkCost(t, "SqueezeExcite(96, 24)", b, Shape{96, 14, 14}, 4608, 4728)
}

func TestSqueezeExciteErrors(t *testing.T) {
	tests := []struct {
		c, r      int
		act, gate Act
	}{
		{0, 4, ActReLU, ActSigmoid},
		{8, 0, ActReLU, ActSigmoid},
		{8, 2, ActReLU, ActReLU},
		{8, 2, ActReLU, ActNone},
		{8, 2, Act(-1), ActSigmoid},
	}
	for _, tt := range tests {
		if _, err := NewSqueezeExcite(tt.c, tt.r, tt.act, tt.gate); err == nil {
			t.Errorf("NewSqueezeExcite(%d, %d, %v, %v) succeeded, want an error", tt.c, tt.r, tt.act, tt.gate)
		}
	}
	b, _ := NewSqueezeExcite(8, 2, ActReLU, ActSigmoid)
	if _, err := b.OutShape(Shape{6, 3, 3}); err == nil {
		t.Errorf("8-channel squeeze-excite accepted 6 channels")
	}
	if _, err := b.Backward(New(1, Shape{8, 3, 3})); err == nil {
		t.Errorf("backward before forward succeeded")
	}
}
