package ops

import "fmt"

// BigLittleConfig describes a stage of Big-Little Net (bLModule).
type BigLittleConfig struct {
	// In and Out are the input and output channels.
	In, Out int
	// Blocks is the stage's depth as bLResNet's layers list gives it (3, 4, 6 in
	// bL-ResNet-50): the big branch has Blocks-1 bottlenecks, the little branch
	// max(1, Blocks/Beta - 1), and a fusion bottleneck follows. At least 2.
	Blocks int
	// Alpha divides the little branch's width: Out/Alpha channels. 0 means 2.
	Alpha int
	// Beta divides the little branch's depth, as above. 0 means 4.
	Beta int
	// Stride is the fusion bottleneck's stride, 1 or 2; 0 means 1.
	Stride int
}

// blLayer is blresnet.py's bLModule._make_layer: n Big-Little bottlenecks (inner width
// planes/4, average-pool shortcut) from in to planes channels, the first with the
// stride. When n > 1 the last one omits its final ReLU unless lastReLU; a single block
// always keeps it, as in the reference.
func blLayer(in, planes, n, stride int, lastReLU bool) ([]Layer, error) {
	var ls []Layer
	for i := 0; i < n; i++ {
		c := BottleneckConfig{In: planes, Mid: planes / 4, Out: planes, AvgDown: true}
		if i == 0 {
			c.In, c.Stride = in, stride
		}
		c.NoLastReLU = n > 1 && i == n-1 && !lastReLU
		b, err := NewBottleneck(c)
		if err != nil {
			return nil, err
		}
		ls = append(ls, b)
	}
	return ls, nil
}

// NewBigLittle returns a Big-Little Net module (Chen et al., "Big-Little Net", ICLR
// 2019) as IBM/BigLittleNet models/blresnet.py's bLModule computes it: a big branch of
// Blocks-1 bottlenecks whose first has stride 2 (half resolution, the last without its
// final ReLU), a little branch at full resolution of max(1, Blocks/Beta-1) bottlenecks
// of width Out/Alpha followed by a 1x1 conv + BN back to Out channels, the big branch
// upsampled x2 (nearest) and added, ReLU, and a fusion bottleneck with the module's
// stride. The bottlenecks are the reference's: inner width planes/4 and an
// average-pool shortcut (see BottleneckConfig.AvgDown). The input's height and width
// must be even, so that the upsampled big branch matches the little one (the
// reference interpolates to the little branch's size, the same for even sizes).
func NewBigLittle(c BigLittleConfig) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	if c.Alpha == 0 {
		c.Alpha = 2
	}
	if c.Beta == 0 {
		c.Beta = 4
	}
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("big-little: channels %d -> %d must be positive", c.In, c.Out)
	case c.Blocks < 2:
		return nil, fmt.Errorf("big-little: %d blocks, want at least 2", c.Blocks)
	case c.Alpha < 0 || c.Beta < 0:
		return nil, fmt.Errorf("big-little: alpha %d and beta %d must be positive", c.Alpha, c.Beta)
	case c.Out/c.Alpha < 4:
		return nil, fmt.Errorf("big-little: little branch of %d/%d channels is narrower than a bottleneck's 4", c.Out, c.Alpha)
	case c.Stride > 2:
		return nil, fmt.Errorf("big-little: stride %d, want 1 or 2", c.Stride)
	}
	little := c.Out / c.Alpha
	big, err := blLayer(c.In, c.Out, c.Blocks-1, 2, false)
	if err != nil {
		return nil, fmt.Errorf("big-little: big branch: %w", err)
	}
	lit, err := blLayer(c.In, little, max(1, c.Blocks/c.Beta-1), 1, true)
	if err != nil {
		return nil, fmt.Errorf("big-little: little branch: %w", err)
	}
	e, err := convBN(ConvConfig{In: little, Out: c.Out, KH: 1, KW: 1}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("big-little: %w", err)
	}
	fusion, err := blLayer(c.Out, c.Out, 1, c.Stride, true)
	if err != nil {
		return nil, fmt.Errorf("big-little: fusion: %w", err)
	}
	merge := &Residual{
		Body:     Seq(append(big, NewUpsample2x())...),
		Shortcut: Seq(append(lit, e.Layers...)...),
		Post:     NewReLU(),
	}
	return &Block{
		Kind: "big_little",
		Settings: fmt.Sprintf("%d->%d blocks%d alpha%d beta%d s%d", c.In, c.Out, c.Blocks,
			c.Alpha, c.Beta, c.Stride),
		Body: Seq(merge, fusion[0]),
	}, nil
}

// BigLittleStemConfig describes the Big-Little stem between bL-ResNet's first
// convolution and its first module.
type BigLittleStemConfig struct {
	// C is the number of channels in and out (64 in bL-ResNet).
	C int
	// Alpha divides the little branch's width; 0 means 2.
	Alpha int
}

// NewBigLittleStem returns the layers blresnet.py's bLResNet runs between bn1's ReLU
// and layer1: a big branch (3x3 stride-2 conv + BN) and a little branch (3x3 conv to
// C/Alpha + BN + ReLU, 3x3 stride-2 conv + BN + ReLU, 1x1 conv back to C + BN), added,
// ReLU, then a 1x1 conv + BN + ReLU (bl_init). It halves the resolution.
func NewBigLittleStem(c BigLittleStemConfig) (*Block, error) {
	if c.Alpha == 0 {
		c.Alpha = 2
	}
	if c.C <= 0 || c.Alpha < 0 || c.C/c.Alpha == 0 {
		return nil, fmt.Errorf("big-little stem: %d channels with alpha %d", c.C, c.Alpha)
	}
	l := c.C / c.Alpha
	var parts [5]*Sequential
	for i, s := range []struct {
		in, out, k, stride int
		act                Act
	}{
		{c.C, c.C, 3, 2, ActNone},
		{c.C, l, 3, 1, ActReLU},
		{l, l, 3, 2, ActReLU},
		{l, c.C, 1, 1, ActNone},
		{c.C, c.C, 1, 1, ActReLU},
	} {
		p, err := convBN(ConvConfig{In: s.in, Out: s.out, KH: s.k, KW: s.k, StrideH: s.stride, StrideW: s.stride,
			PadH: s.k / 2, PadW: s.k / 2}, s.act)
		if err != nil {
			return nil, fmt.Errorf("big-little stem: %w", err)
		}
		parts[i] = p
	}
	little := Seq(append(append(parts[1].Layers, parts[2].Layers...), parts[3].Layers...)...)
	return &Block{
		Kind:     "big_little_stem",
		Settings: fmt.Sprintf("%d alpha%d", c.C, c.Alpha),
		Body:     Seq(&Residual{Body: parts[0], Shortcut: little, Post: NewReLU()}, parts[4]),
	}, nil
}
