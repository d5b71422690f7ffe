package ops

import "fmt"

// BottleneckConfig describes a ResNet bottleneck block by its widths: 1x1 In->Mid,
// 3x3 Mid->Mid (strided, grouped), 1x1 Mid->Out, each followed by batch norm.
type BottleneckConfig struct {
	// In, Mid and Out are the input, inner and output channels.
	In, Mid, Out int
	// Stride is the stride of the 3x3 convolution, 1 or 2; 0 means 1.
	Stride int
	// Groups groups the 3x3 convolution (ResNeXt's cardinality); 0 means 1.
	Groups int
	// AvgDown selects Big-Little Net's shortcut (IBM/BigLittleNet models/blresnet.py):
	// a 3x3 stride-2 average pool (padding 1, counting the padding) when the stride is
	// 2, then a 1x1 conv + BN when the width changes. The default, false, is
	// torchvision's: a strided 1x1 conv + BN when the stride or the width changes.
	AvgDown bool
	// NoLastReLU leaves out the ReLU after the addition, as Big-Little Net's big
	// branch does in its last block (last_relu=False).
	NoLastReLU bool
}

// NewBottleneck returns a ResNet bottleneck block (He et al. 2016) as torchvision's
// models/resnet.py Bottleneck computes it: 1x1 conv -> BN -> ReLU -> 3x3 conv (stride
// and groups here) -> BN -> ReLU -> 1x1 conv -> BN, plus the shortcut, then ReLU.
// No convolution has a bias. With Groups > 1 it is ResNeXt's block (Xie et al. 2017).
func NewBottleneck(c BottleneckConfig) (*Block, error) {
	c.Stride, c.Groups = max(c.Stride, 1), max(c.Groups, 1)
	switch {
	case c.In <= 0 || c.Mid <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("bottleneck: channels %d -> %d -> %d must be positive", c.In, c.Mid, c.Out)
	case c.Stride > 2:
		return nil, fmt.Errorf("bottleneck: stride %d, want 1 or 2", c.Stride)
	case c.Mid%c.Groups != 0:
		return nil, fmt.Errorf("bottleneck: %d groups do not divide %d inner channels", c.Groups, c.Mid)
	}
	body := Seq()
	for _, cc := range []struct {
		cfg ConvConfig
		act Act
	}{
		{ConvConfig{In: c.In, Out: c.Mid, KH: 1, KW: 1}, ActReLU},
		{ConvConfig{In: c.Mid, Out: c.Mid, KH: 3, KW: 3, StrideH: c.Stride, StrideW: c.Stride, PadH: 1, PadW: 1, Groups: c.Groups}, ActReLU},
		{ConvConfig{In: c.Mid, Out: c.Out, KH: 1, KW: 1}, ActNone},
	} {
		s, err := convBN(cc.cfg, cc.act)
		if err != nil {
			return nil, fmt.Errorf("bottleneck: %w", err)
		}
		body.Layers = append(body.Layers, s.Layers...)
	}
	short, err := resShortcut(c.In, c.Out, c.Stride, c.AvgDown)
	if err != nil {
		return nil, fmt.Errorf("bottleneck: %w", err)
	}
	r := &Residual{Body: body, Shortcut: short}
	if !c.NoLastReLU {
		r.Post = NewReLU()
	}
	settings := fmt.Sprintf("%d->%d->%d s%d g%d", c.In, c.Mid, c.Out, c.Stride, c.Groups)
	if c.AvgDown {
		settings += " avgdown"
	}
	if c.NoLastReLU {
		settings += " no-last-relu"
	}
	return &Block{Kind: "bottleneck", Settings: settings, Body: r}, nil
}

// resShortcut returns a ResNet shortcut from in to out channels at the given stride:
// nil (the identity) when nothing changes, else torchvision's strided 1x1 conv + BN,
// or with avgDown Big-Little Net's average pool and stride-1 1x1 conv + BN.
func resShortcut(in, out, stride int, avgDown bool) (Layer, error) {
	if !avgDown {
		if stride == 1 && in == out {
			return nil, nil
		}
		return convBN(ConvConfig{In: in, Out: out, KH: 1, KW: 1, StrideH: stride, StrideW: stride}, ActNone)
	}
	s := Seq()
	if stride != 1 {
		p, err := NewAvgPool2D(PoolConfig{K: 3, Stride: 2, Pad: 1})
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, p)
	}
	if in != out {
		cb, err := convBN(ConvConfig{In: in, Out: out, KH: 1, KW: 1}, ActNone)
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, cb.Layers...)
	}
	if len(s.Layers) == 0 {
		return nil, nil
	}
	return s, nil
}

// ResNetBottleneck returns torchvision's Bottleneck(inplanes, planes, stride, groups,
// base_width): inner width int(planes*base_width/64)*groups, output planes*4. ResNet-50
// uses groups 1 and base width 64; ResNeXt-50 32x4d uses groups 32 and base width 4.
// A base width of 0 means 64.
func ResNetBottleneck(in, planes, stride, groups, baseWidth int) (*Block, error) {
	if baseWidth == 0 {
		baseWidth = 64
	}
	if planes <= 0 || baseWidth < 0 {
		return nil, fmt.Errorf("bottleneck: planes %d and base width %d must be positive", planes, baseWidth)
	}
	// planes*(base_width/64.) is exact in float64 (a division by a power of two), so
	// integer division truncates to the same value.
	return NewBottleneck(BottleneckConfig{In: in, Mid: planes * baseWidth / 64 * max(groups, 1),
		Out: 4 * planes, Stride: stride, Groups: groups})
}

// BasicBlockConfig describes a ResNet basic block.
type BasicBlockConfig struct {
	// In and Out are the input and output channels.
	In, Out int
	// Stride is the stride of the first 3x3 convolution, 1 or 2; 0 means 1.
	Stride int
}

// NewBasicBlock returns the basic block of ResNet-18/34 (He et al. 2016) as
// torchvision's models/resnet.py BasicBlock computes it: 3x3 conv (stride) -> BN ->
// ReLU -> 3x3 conv -> BN, plus the shortcut (a strided 1x1 conv + BN when the stride
// or width changes), then ReLU.
func NewBasicBlock(c BasicBlockConfig) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("basic block: channels %d -> %d must be positive", c.In, c.Out)
	case c.Stride > 2:
		return nil, fmt.Errorf("basic block: stride %d, want 1 or 2", c.Stride)
	}
	a, err := convBN(ConvConfig{In: c.In, Out: c.Out, KH: 3, KW: 3, StrideH: c.Stride, StrideW: c.Stride, PadH: 1, PadW: 1}, ActReLU)
	if err != nil {
		return nil, fmt.Errorf("basic block: %w", err)
	}
	b, err := convBN(ConvConfig{In: c.Out, Out: c.Out, KH: 3, KW: 3, PadH: 1, PadW: 1}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("basic block: %w", err)
	}
	short, err := resShortcut(c.In, c.Out, c.Stride, false)
	if err != nil {
		return nil, fmt.Errorf("basic block: %w", err)
	}
	return &Block{
		Kind:     "basic",
		Settings: fmt.Sprintf("%d->%d s%d", c.In, c.Out, c.Stride),
		Body:     &Residual{Body: Seq(append(a.Layers, b.Layers...)...), Shortcut: short, Post: NewReLU()},
	}, nil
}
