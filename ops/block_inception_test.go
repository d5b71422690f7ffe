package ops

import "testing"

// TestInceptionMatchesPyTorch compares torchvision's Inception (with its 3x3 in
// branch 3), re-implemented in testdata/gen/gen_blocks_b.py.
func TestInceptionMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_inception") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				return mustBlock(t)(NewInception(InceptionConfig{In: f.int(t, "in_"), Ch1x1: f.int(t, "ch1"),
					Ch3x3Red: f.int(t, "ch3red"), Ch3x3: f.int(t, "ch3"), Ch5x5Red: f.int(t, "ch5red"),
					Ch5x5: f.int(t, "ch5"), PoolProj: f.int(t, "pool")}))
			})
		})
	}
}

// TestInceptionCost checks GoogLeNet's inception3a (192 -> 64, 96>128, 16>32, pool 32
// at 28x28) against a hand count: 784*(192*64 + 192*96 + 96*128*9 + 192*16 + 16*32*9 +
// 192*32) = 784*155136 = 121,626,624 MACs; 155,136 weights plus batch norm
// 2*(64+96+128+16+32+32) = 736, so 155,872 parameters (torchvision's inception3a).
func TestInceptionCost(t *testing.T) {
	b, err := NewInception(InceptionConfig{In: 192, Ch1x1: 64, Ch3x3Red: 96, Ch3x3: 128, Ch5x5Red: 16, Ch5x5: 32, PoolProj: 32})
	if err != nil {
		t.Fatal(err)
	}
	in := Shape{192, 28, 28}
	if c := b.Cost(in); c.MACs != 121626624 || c.Params != 155872 {
		t.Errorf("Cost(%v) = %+v, want MACs 121626624 params 155872", in, c)
	}
	if out, err := b.OutShape(in); err != nil || out != (Shape{256, 28, 28}) {
		t.Errorf("OutShape(%v) = %v, %v, want 28x28x256", in, out, err)
	}
	if _, err := NewInception(InceptionConfig{In: 192, Ch1x1: 64}); err == nil {
		t.Errorf("NewInception with zero widths succeeded, want an error")
	}
}
