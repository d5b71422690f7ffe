package ops

import "fmt"

// OctBottleneckConfig describes the bottleneck block of Octave ResNet.
type OctBottleneckConfig struct {
	// In is the number of input channels, both frequencies together.
	In int
	// Planes sets the widths as in torchvision's Bottleneck: inner width
	// int(Planes*BaseWidth/64)*Groups, output 4*Planes.
	Planes int
	// Stride is the stride of the 3x3 octave convolution and of the shortcut, 1 or 2;
	// 0 means 1.
	Stride int
	// Groups groups the 3x3 octave convolution; 0 means 1.
	Groups int
	// BaseWidth is the width per group; 0 means 64.
	BaseWidth int
	// AlphaIn is the low-frequency fraction of the block's input: 0 for the first
	// block of the network (oct_resnet's layer1), else the network's alpha.
	AlphaIn float64
	// AlphaOut is the low-frequency fraction of the first convolution's output and of
	// everything after it: the network's alpha (0.5 in oct_resnet50), or 0 in the
	// last stage (oct_resnet's layer4, built with alpha_out 0 and output=True).
	AlphaOut float64
}

// NewOctBottleneck returns the bottleneck of Octave ResNet (Chen et al. 2019) as
// d-li14/octconv.pytorch oct_resnet.py builds it: a 1x1 octave conv (AlphaIn ->
// AlphaOut) + BN + ReLU, a 3x3 octave conv (stride, groups; AlphaOut -> AlphaOut) + BN
// + ReLU, a 1x1 octave conv + BN, added frequency by frequency to the shortcut, then
// ReLU on each part. The shortcut is a 1x1 octave conv (AlphaIn -> AlphaOut, stride) +
// BN when the stride, the width or the alphas change (where _make_layer builds a
// downsample), else the identity. Stride 2 pools the inputs 2x2 before the
// convolutions, as OctConv does.
func NewOctBottleneck(c OctBottleneckConfig) (*PairResidual, error) {
	c.Stride, c.Groups = max(c.Stride, 1), max(c.Groups, 1)
	if c.BaseWidth == 0 {
		c.BaseWidth = 64
	}
	if c.In <= 0 || c.Planes <= 0 || c.BaseWidth < 0 {
		return nil, fmt.Errorf("octave bottleneck: channels %d, planes %d, base width %d must be positive", c.In, c.Planes, c.BaseWidth)
	}
	width := c.Planes * c.BaseWidth / 64 * c.Groups
	out := 4 * c.Planes
	a := c.AlphaOut
	body := &PairSeq{}
	for _, s := range []struct {
		cfg OctConvConfig
		act Act
	}{
		{OctConvConfig{In: c.In, Out: width, K: 1, AlphaIn: c.AlphaIn, AlphaOut: a}, ActReLU},
		{OctConvConfig{In: width, Out: width, K: 3, Stride: c.Stride, Groups: c.Groups, AlphaIn: a, AlphaOut: a}, ActReLU},
		{OctConvConfig{In: width, Out: out, K: 1, AlphaIn: a, AlphaOut: a}, ActNone},
	} {
		cb, err := NewOctConvBN(s.cfg, s.act)
		if err != nil {
			return nil, fmt.Errorf("octave bottleneck: %w", err)
		}
		body.Layers = append(body.Layers, cb.Layers...)
	}
	var short PairLayer
	if c.Stride != 1 || c.In != out || c.AlphaIn != c.AlphaOut {
		s, err := NewOctConvBN(OctConvConfig{In: c.In, Out: out, K: 1, Stride: c.Stride, AlphaIn: c.AlphaIn, AlphaOut: a}, ActNone)
		if err != nil {
			return nil, fmt.Errorf("octave bottleneck shortcut: %w", err)
		}
		short = s
	}
	return NewPairResidual(body, short, ActReLU)
}
