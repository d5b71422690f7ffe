package ops

import "testing"

// TestFireMatchesPyTorch compares torchvision's Fire and its batch-normalised variant,
// re-implemented in testdata/gen/gen_blocks_b.py (Fire, FireBN).
func TestFireMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_fire") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				return mustBlock(t)(NewFire(FireConfig{In: f.int(t, "in_"), Squeeze: f.int(t, "squeeze"),
					Expand1x1: f.int(t, "e1"), Expand3x3: f.int(t, "e3"), BatchNorm: f.name == "block_fire_bn"}))
			})
		})
	}
}

// TestFireCost checks SqueezeNet 1.0's fire2 (96 -> squeeze 16 -> 64+64 at 55x55)
// against a hand count: 55*55*(96*16 + 16*64 + 16*64*9) = 3025*11776 = 35,622,400
// MACs; (96*16+16) + (16*64+64) + (16*64*9+64) = 11,920 parameters, torchvision's
// count for features.3.
func TestFireCost(t *testing.T) {
	b, err := NewFire(FireConfig{In: 96, Squeeze: 16, Expand1x1: 64, Expand3x3: 64})
	if err != nil {
		t.Fatal(err)
	}
	in := Shape{96, 55, 55}
	if c := b.Cost(in); c.MACs != 35622400 || c.Params != 11920 {
		t.Errorf("Cost(%v) = %+v, want MACs 35622400 params 11920", in, c)
	}
	if out, err := b.OutShape(in); err != nil || out != (Shape{128, 55, 55}) {
		t.Errorf("OutShape(%v) = %v, %v, want 55x55x128", in, out, err)
	}
	if _, err := NewFire(FireConfig{In: 96, Squeeze: 0, Expand1x1: 64, Expand3x3: 64}); err == nil {
		t.Errorf("NewFire with a zero squeeze width succeeded, want an error")
	}
}
