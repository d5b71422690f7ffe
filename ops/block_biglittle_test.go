package ops

import "testing"

// TestBigLittleMatchesPyTorch compares the Big-Little module and stem with
// IBM/BigLittleNet's bLModule and bLResNet stem, re-implemented in
// testdata/gen/gen_blocks_b.py.
func TestBigLittleMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_biglittle") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				if f.name == "block_biglittle_stem" {
					return mustBlock(t)(NewBigLittleStem(BigLittleStemConfig{C: f.int(t, "c"), Alpha: f.int(t, "alpha")}))
				}
				return mustBlock(t)(NewBigLittle(BigLittleConfig{In: f.int(t, "in_"), Out: f.int(t, "out"),
					Blocks: f.int(t, "blocks"), Alpha: f.int(t, "alpha"), Beta: f.int(t, "beta"), Stride: f.int(t, "stride")}))
			})
		})
	}
}

// TestBigLittleResNet50Cost checks bL-ResNet-50 (alpha 2, beta 4) from its first ReLU
// (112x112x64) through layer4 against the forward-hook count of the reference's
// structure in gen_blocks_b.py. With the 7x7 stem convolution (118,013,952 MACs, 9,536
// parameters) and the classifier (2,048,000 MACs, 2,049,000 parameters) that is 2.86G
// MACs and 26.7M parameters, the 2.85 GFLOPs and 26.69M the paper's Table 2 lists.
func TestBigLittleResNet50Cost(t *testing.T) {
	f := loadFixtures(t, "block_count_bl_resnet50_body")[0]
	m := mustBlock(t)
	layers := []Layer{
		m(NewBigLittleStem(BigLittleStemConfig{C: 64, Alpha: 2})),
		m(NewBigLittle(BigLittleConfig{In: 64, Out: 256, Blocks: 3, Alpha: 2, Beta: 4, Stride: 2})),
		m(NewBigLittle(BigLittleConfig{In: 256, Out: 512, Blocks: 4, Alpha: 2, Beta: 4, Stride: 2})),
		m(NewBigLittle(BigLittleConfig{In: 512, Out: 1024, Blocks: 6, Alpha: 2, Beta: 4, Stride: 1})),
	}
	// layer4 is bLResNet._make_layer: three plain Big-Little bottlenecks, stride 2.
	l4, err := blLayer(1024, 2048, 3, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	s := Seq(append(layers, l4...)...)
	in := Shape{64, 112, 112}
	if out, err := s.OutShape(in); err != nil || out != (Shape{2048, 7, 7}) {
		t.Errorf("OutShape(%v) = %v, %v, want 7x7x2048", in, out, err)
	}
	c := s.Cost(in)
	if c.MACs != int64(f.int(t, "macs")) || c.Params != int64(f.int(t, "params")) {
		t.Errorf("Cost(%v) = %+v, want MACs %d params %d", in, c, f.int(t, "macs"), f.int(t, "params"))
	}
}

// TestBigLittleCost checks a small module by hand: In 8, Out 16, Blocks 2, Alpha 2,
// Beta 4, Stride 1 at 8x8. Big: one bottleneck 8->4->16 with stride 2 and an avg-pool
// + 1x1 shortcut: 64*8*4 (1x1 at 8x8) + 16*4*4*9 + 16*4*16 + 16*8*16 (at 4x4) = 2048 +
// 2304 + 1024 + 2048 = 7,424 MACs, 32+144+64+128 = 368 weights. Little: one bottleneck
// 8->2->8 at 8x8, identity shortcut: 64*(8*2 + 2*2*9 + 2*8) = 64*68 = 4,352 MACs, 68
// weights; little_e 64*8*16 = 8,192 MACs, 128 weights. Fusion 16->4->16 at 8x8,
// identity shortcut: 64*(16*4 + 4*4*9 + 4*16) = 64*272 = 17,408 MACs, 272 weights.
// Total 37,376 MACs; 836 weights plus batch norms 2*((4+4+16+16) + (2+2+8) + 16 +
// (4+4+16)) = 2*92 = 184: 1,020 parameters.
func TestBigLittleCost(t *testing.T) {
	b, err := NewBigLittle(BigLittleConfig{In: 8, Out: 16, Blocks: 2, Alpha: 2, Beta: 4, Stride: 1})
	if err != nil {
		t.Fatal(err)
	}
	in := Shape{8, 8, 8}
	if c := b.Cost(in); c.MACs != 37376 || c.Params != 1020 {
		t.Errorf("Cost(%v) = %+v, want MACs 37376 params 1020", in, c)
	}
	if _, err := b.OutShape(Shape{8, 7, 7}); err == nil {
		t.Errorf("OutShape of an odd input succeeded, want an error (the branches' sizes differ)")
	}
	for _, c := range []BigLittleConfig{
		{In: 8, Out: 16, Blocks: 1},
		{In: 8, Out: 16, Blocks: 3, Alpha: 8},
		{In: 8, Out: 16, Blocks: 3, Stride: 3},
		{In: 0, Out: 16, Blocks: 3},
	} {
		if _, err := NewBigLittle(c); err == nil {
			t.Errorf("NewBigLittle(%+v) succeeded, want an error", c)
		}
	}
}
