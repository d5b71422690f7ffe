package ops

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestInvertedResidualMatchesPyTorch compares, from testdata/gen/gen_blocks_a.py:
// the Block of /work/shared/bench/reference_net.py (copied) in its configurations
// scaled to small channels (MixConv 3/5/7 with 4 groups and shuffle, 3/5 at stride 2,
// stride 2 without residual, 4 groups with shuffle); torchvision's MobileNetV2
// InvertedResidual (t = 1 without expansion, t = 6 at stride 2, t = 3 with residual);
// and timm's InvertedResidual as MixNet builds it (grouped "a1.1"/"p1.1" 1x1s, kernel
// mixes up to 3/5/7/9, squeeze-excite from the input channels, swish or ReLU, and an
// expansion kept at ratio 1).
func TestInvertedResidualMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "block_invres_") {
		t.Run(f.name, func(t *testing.T) {
			cfg := InvertedResidualConfig{
				In: f.int(t, "cin"), Out: f.int(t, "cout"), Mid: f.int(t, "mid"), Stride: f.int(t, "stride"),
				Kernels: fixtureInts(t, f, "kernels"), Groups: f.int(t, "groups"),
				ExpandGroups: f.int(t, "expand_groups"), ProjectGroups: f.int(t, "project_groups"),
				Shuffle: f.int(t, "shuffle") == 1, KeepExpand: f.int(t, "keep_expand") == 1,
				Act: fixtureAct(t, f, "act"), SE: f.int(t, "se"),
			}
			checkBlockFixture(t, f, func() Layer {
				b, err := NewInvertedResidual(cfg)
				return blockLayer(t, b, err)
			})
		})
	}
}

// referenceBlocks are the six blocks of reference_net.py's Net, with their input shapes
// for its 28x28x1 input (the stem keeps 28x28x16).
var referenceBlocks = []struct {
	cfg InvertedResidualConfig
	in  Shape
}{
	{InvertedResidualConfig{In: 16, Out: 24, Expand: 4, Stride: 2}, Shape{16, 28, 28}},
	{InvertedResidualConfig{In: 24, Out: 24, Expand: 4, Groups: 4, Shuffle: true}, Shape{24, 14, 14}},
	{InvertedResidualConfig{In: 24, Out: 48, Expand: 4, Stride: 2, Kernels: []int{3, 5}}, Shape{24, 14, 14}},
	{InvertedResidualConfig{In: 48, Out: 48, Expand: 4, Kernels: []int{3, 5, 7}, Groups: 4, Shuffle: true}, Shape{48, 7, 7}},
	{InvertedResidualConfig{In: 48, Out: 96, Expand: 4, Stride: 2}, Shape{48, 7, 7}},
	{InvertedResidualConfig{In: 96, Out: 96, Expand: 4, Groups: 8, Shuffle: true}, Shape{96, 4, 4}},
}

func TestInvertedResidualCost(t *testing.T) {
	// MobileNetV2's t=6 bottleneck 24 -> 24 at 56x56 (Sandler et al. 2018, Table 2):
	// expansion 3136*144*24 = 10,838,016, depthwise 3136*144*9 = 4,064,256, projection
	// 3136*24*144 = 10,838,016 MACs; weights 3,456 + 1,296 + 3,456, batch norms
	// 2*144 + 2*144 + 2*24.
	b, err := NewInvertedResidual(InvertedResidualConfig{In: 24, Out: 24, Expand: 6, Act: ActReLU6})
	if err != nil {
		t.Fatal(err)
	}
	checkCost(t, "InvertedResidual(24, t6)", b, Shape{24, 56, 56}, 25740288, 8832)
	if _, ok := b.Body.(*Residual); !ok {
		t.Errorf("stride-1 24 -> 24 block is a %T, want a *Residual", b.Body)
	}

	// The reference network's Block(24, 24, 4, 1, g=4) at 14x14: 196*96*(24/4) =
	// 112,896 + 196*96*9 = 169,344 + 196*24*(96/4) = 112,896 MACs; weights 576 + 864 +
	// 576, batch norms 192 + 192 + 48.
	checkCost(t, "reference Block(24, 24, g4)", mustIR(t, referenceBlocks[1].cfg), Shape{24, 14, 14}, 395136, 2448)

	// All six blocks of the reference network: its docstring's totals, 98,266
	// parameters and 4,340,896 MACs, less the stem (28*28*16*9 = 112,896 MACs, 144
	// weights + 32 batch norm), the head (4*4*256*96 = 393,216 MACs, 24,576 weights +
	// 512 batch norm) and the classifier (2,560 MACs, 2,570 parameters):
	// 3,832,224 MACs and 70,432 parameters.
	var total Cost
	for _, rb := range referenceBlocks {
		l := mustIR(t, rb.cfg)
		if _, err := l.OutShape(rb.in); err != nil {
			t.Fatalf("reference block %+v at %v: %v", rb.cfg, rb.in, err)
		}
		total = total.Add(l.Cost(rb.in))
	}
	if total != (Cost{MACs: 3832224, Params: 70432}) {
		t.Errorf("reference network blocks cost %+v, want MACs 3832224 params 70432", total)
	}
}

func mustIR(t *testing.T, c InvertedResidualConfig) *Block {
	t.Helper()
	b, err := NewInvertedResidual(c)
	if err != nil {
		t.Fatalf("NewInvertedResidual(%+v): %v", c, err)
	}
	return b
}

// TestInvertedResidualStructure checks the choices the fixtures cannot see from the
// outside: when the expansion is left out, where the shuffle goes and how MixNet's
// squeeze-excite channels are derived.
func TestInvertedResidualStructure(t *testing.T) {
	count := func(b *Block) (convs, shuffles, ses int) {
		Walk(b, func(_ string, l Layer) {
			switch l.(type) {
			case *Conv2D:
				convs++
			case *ChannelShuffle:
				shuffles++
			case *SqueezeExcite:
				ses++
			}
		})
		return
	}
	tests := []struct {
		cfg                      InvertedResidualConfig
		convs, shuffles, ses, se int
	}{
		// MobileNetV2 t=1: no expansion, depthwise and projection only.
		{InvertedResidualConfig{In: 32, Out: 16, Act: ActReLU6}, 2, 0, 0, 0},
		// timm keeps the expansion at ratio 1.
		{InvertedResidualConfig{In: 32, Out: 16, KeepExpand: true}, 3, 0, 0, 0},
		// Shuffle only with grouped expansion.
		{InvertedResidualConfig{In: 24, Out: 24, Expand: 4, Shuffle: true}, 3, 0, 0, 0},
		{InvertedResidualConfig{In: 24, Out: 24, Expand: 4, Groups: 4, Shuffle: true}, 3, 1, 0, 0},
		// MixNet-s's "ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw" from 24 channels: SE of
		// int(24*0.5) = 12 channels; 3 kernels give 3 depthwise convs + 2 SE convs.
		{InvertedResidualConfig{In: 24, Out: 40, Expand: 6, Stride: 2, Kernels: []int{3, 5, 7}, SERatio: 0.5, Act: ActSwish}, 7, 0, 1, 12},
		// A ratio that rounds to zero still keeps one channel (max(1, ...)).
		{InvertedResidualConfig{In: 3, Out: 8, Expand: 2, SERatio: 0.25}, 5, 0, 1, 1},
	}
	for _, tt := range tests {
		b := mustIR(t, tt.cfg)
		convs, shuffles, ses := count(b)
		if convs != tt.convs || shuffles != tt.shuffles || ses != tt.ses {
			t.Errorf("%s: %d convs, %d shuffles, %d SEs; want %d, %d, %d", blockName("InvertedResidual", tt.cfg),
				convs, shuffles, ses, tt.convs, tt.shuffles, tt.ses)
		}
		if tt.se > 0 {
			var got int
			Walk(b, func(_ string, l Layer) {
				if se, ok := l.(*SqueezeExcite); ok {
					got = se.Gate.(*Sequential).Layers[1].(*Conv2D).Config().Out
				}
			})
			if got != tt.se {
				t.Errorf("%s: squeeze-excite to %d channels, want %d", blockName("InvertedResidual", tt.cfg), got, tt.se)
			}
		}
	}
}

func TestInvertedResidualErrors(t *testing.T) {
	bad := []InvertedResidualConfig{
		{In: 0, Out: 8},
		{In: 8, Out: 8, Stride: 3},
		{In: 8, Out: 8, Expand: 3, Groups: 3},
		{In: 8, Out: 6, Expand: 2, ProjectGroups: 4},
		{In: 8, Out: 8, Expand: 2, ExpandGroups: 3},
		{In: 8, Out: 8, Kernels: []int{2}},
		{In: 8, Out: 8, Act: Act(50)},
		{In: 8, Out: 8, SE: -1},
		{In: 8, Out: 8, SE: 2, SEGate: ActReLU},
	}
	for _, c := range bad {
		if _, err := NewInvertedResidual(c); err == nil {
			t.Errorf("NewInvertedResidual(%+v) succeeded, want an error", c)
		}
	}
}

// BenchmarkReferenceBlocks times a training step (forward and backward) of each of
// the reference network's six blocks at batch 32, reporting the forward MACs per
// second as GMAC/s (backward does about twice the forward's work, not counted).
func BenchmarkReferenceBlocks(b *testing.B) {
	const batch = 32
	for i, rb := range referenceBlocks {
		b.Run(fmt.Sprintf("%d_%dx%dx%d_to_%d", i, rb.in.H, rb.in.W, rb.in.C, rb.cfg.Out), func(b *testing.B) {
			l, err := NewInvertedResidual(rb.cfg)
			if err != nil {
				b.Fatal(err)
			}
			Init(l, rand.New(rand.NewPCG(1, 2)))
			out, _ := l.OutShape(rb.in)
			x, dy := randTensor(1, batch, rb.in), randTensor(2, batch, out)
			b.ResetTimer()
			for range b.N {
				if _, err := l.Forward(x); err != nil {
					b.Fatal(err)
				}
				if _, err := l.Backward(dy); err != nil {
					b.Fatal(err)
				}
			}
			macs := float64(l.Cost(rb.in).MACs) * batch * float64(b.N)
			b.ReportMetric(macs/b.Elapsed().Seconds()/1e9, "GMAC/s")
		})
	}
}
