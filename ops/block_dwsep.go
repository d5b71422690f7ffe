package ops

import "fmt"

// DWSepConfig describes a depthwise-separable convolution: a depthwise k x k
// convolution followed by a pointwise 1x1 convolution.
type DWSepConfig struct {
	// In and Out are the input and output channels.
	In, Out int
	// K is the depthwise kernel size; 0 means 3.
	K int
	// Stride is the depthwise stride, 1 or 2; 0 means 1.
	Stride int
	// Dilation is the depthwise dilation; 0 means 1.
	Dilation int
	// PWGroups groups the pointwise convolution; 0 means 1.
	PWGroups int
	// Act is the activation: after both batch norms in MobileNet's form (ActReLU for
	// MobileNetV1), before the depthwise convolution in Xception's form (ActReLU in
	// most of Xception, ActNone where the paper's block starts without one).
	Act Act
	// Xception selects the separable convolution of Xception (Chollet 2017; Keras's
	// SeparableConv2D as the Xception application uses it): [Act] -> depthwise ->
	// pointwise -> BN, with no batch norm or activation between the two convolutions.
	// The default, false, is MobileNetV1's (Howard et al. 2017, Fig. 3):
	// depthwise -> BN -> Act -> pointwise -> BN -> Act.
	Xception bool
}

// NewDWSep returns a depthwise-separable convolution as a Block. Neither convolution
// has a bias: batch norm follows.
func NewDWSep(c DWSepConfig) (*Block, error) {
	c.Stride, c.Dilation, c.PWGroups = max(c.Stride, 1), max(c.Dilation, 1), max(c.PWGroups, 1)
	if c.K == 0 {
		c.K = 3
	}
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("dwsep: channels %d -> %d must be positive", c.In, c.Out)
	case c.K < 0 || c.K%2 == 0:
		return nil, fmt.Errorf("dwsep: kernel size %d, want positive and odd", c.K)
	case c.Stride > 2:
		return nil, fmt.Errorf("dwsep: stride %d, want 1 or 2", c.Stride)
	case c.In%c.PWGroups != 0 || c.Out%c.PWGroups != 0:
		return nil, fmt.Errorf("dwsep: %d pointwise groups do not divide channels %d -> %d", c.PWGroups, c.In, c.Out)
	case !c.Act.valid():
		return nil, fmt.Errorf("dwsep: unknown activation %d", int(c.Act))
	}
	pad := c.Dilation * (c.K - 1) / 2
	dw := ConvConfig{In: c.In, Out: c.In, KH: c.K, KW: c.K, StrideH: c.Stride, StrideW: c.Stride,
		PadH: pad, PadW: pad, DilH: c.Dilation, DilW: c.Dilation, Groups: c.In}
	pw := ConvConfig{In: c.In, Out: c.Out, KH: 1, KW: 1, Groups: c.PWGroups}
	settings := fmt.Sprintf("%d->%d k%d s%d g%d %s", c.In, c.Out, c.K, c.Stride, c.PWGroups, c.Act)
	if c.Xception {
		body := Seq()
		if a := newAct(c.Act); a != nil {
			body.Layers = append(body.Layers, a)
		}
		d, err := NewConv2D(dw)
		if err != nil {
			return nil, fmt.Errorf("dwsep: %w", err)
		}
		p, err := convBN(pw, ActNone)
		if err != nil {
			return nil, fmt.Errorf("dwsep: %w", err)
		}
		body.Layers = append(body.Layers, d, p.Layers[0], p.Layers[1])
		return &Block{Kind: "dwsep_xception", Settings: settings, Body: body}, nil
	}
	d, err := convBN(dw, c.Act)
	if err != nil {
		return nil, fmt.Errorf("dwsep: %w", err)
	}
	p, err := convBN(pw, c.Act)
	if err != nil {
		return nil, fmt.Errorf("dwsep: %w", err)
	}
	return &Block{Kind: "dwsep", Settings: settings, Body: Seq(append(d.Layers, p.Layers...)...)}, nil
}
