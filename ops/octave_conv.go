package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// OctConvConfig describes an octave convolution.
type OctConvConfig struct {
	// In and Out are the total input and output channels, both frequencies together.
	In, Out int
	// K is the square kernel size, odd; the padding is (K-1)/2.
	K int
	// Stride is 1 or 2; 0 means 1. Stride 2 average-pools the inputs 2x2 first.
	Stride int
	// AlphaIn and AlphaOut are the low-frequency fractions of the input and output
	// channels, in [0, 1): 0 for AlphaIn is the first layer's form (one input tensor),
	// 0 for AlphaOut the last layer's (one output tensor).
	AlphaIn, AlphaOut float64
	// Groups groups each of the four path convolutions; 0 means 1. Every path's
	// channels must be divisible by it; equal to the channels per part, it is the
	// octave depthwise convolution.
	Groups int
}

// OctConv is the octave convolution of Chen et al., "Drop an Octave" (ICCV 2019), as
// d-li14/octconv.pytorch octconv.py computes it:
//
//	Y_h = conv_hh(X_h) + upsample(conv_lh(X_l))
//	Y_l = conv_ll(X_l) + conv_hl(avgpool2x2(X_h))
//
// with nearest x2 upsampling. At stride 2 both inputs are first average-pooled 2x2
// and the low-to-high path is not upsampled (the pooled high part has the low part's
// resolution). Paths whose input or output part is absent are left out. MACs count
// each path's convolution at its own resolution; pooling and upsampling are free.
type OctConv struct {
	cfg                      OctConvConfig
	lowIn, highIn            int
	lowOut, highOut          int
	ll, lh, hl, hh           *Conv2D
	poolH, poolHL, poolL     *AvgPool2D
	up                       *Upsample2x
	addH, addL, addGH, addGL Add
	hasL                     bool
}

var _ PairLayer = (*OctConv)(nil)

// NewOctConv returns an octave convolution with zero weights; Init draws PyTorch's
// default for each path.
func NewOctConv(c OctConvConfig) (*OctConv, error) {
	c.Stride, c.Groups = max(c.Stride, 1), max(c.Groups, 1)
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("octconv: channels %d -> %d must be positive", c.In, c.Out)
	case c.K <= 0 || c.K%2 == 0:
		return nil, fmt.Errorf("octconv: kernel size %d, want positive and odd", c.K)
	case c.Stride > 2:
		return nil, fmt.Errorf("octconv: stride %d, want 1 or 2", c.Stride)
	}
	o := &OctConv{cfg: c}
	var err error
	if o.lowIn, o.highIn, err = octSplit(c.In, c.AlphaIn); err != nil {
		return nil, fmt.Errorf("octconv: input: %w", err)
	}
	if o.lowOut, o.highOut, err = octSplit(c.Out, c.AlphaOut); err != nil {
		return nil, fmt.Errorf("octconv: output: %w", err)
	}
	conv := func(in, out int) (*Conv2D, error) {
		if in == 0 || out == 0 {
			return nil, nil
		}
		l, err := Conv(in, out, c.K, 1, c.Groups, false)
		if err != nil {
			return nil, fmt.Errorf("octconv: %d -> %d path: %w", in, out, err)
		}
		return l, nil
	}
	if o.ll, err = conv(o.lowIn, o.lowOut); err != nil {
		return nil, err
	}
	if o.lh, err = conv(o.lowIn, o.highOut); err != nil {
		return nil, err
	}
	if o.hl, err = conv(o.highIn, o.lowOut); err != nil {
		return nil, err
	}
	if o.hh, err = conv(o.highIn, o.highOut); err != nil {
		return nil, err
	}
	pool := func() *AvgPool2D {
		p, err := NewAvgPool2D(PoolConfig{K: 2, Stride: 2})
		if err != nil {
			panic(err) // a constant, valid configuration
		}
		return p
	}
	o.poolH, o.poolHL, o.poolL, o.up = pool(), pool(), pool(), NewUpsample2x()
	return o, nil
}

// Config returns the configuration with defaults filled in.
func (o *OctConv) Config() OctConvConfig { return o.cfg }

// Splits returns the low and high channel counts of the input and of the output.
func (o *OctConv) Splits() (lowIn, highIn, lowOut, highOut int) {
	return o.lowIn, o.highIn, o.lowOut, o.highOut
}

// Children implements PairLayer: the path convolutions that exist, in the reference's
// order conv_l2l, conv_l2h, conv_h2l, conv_h2h.
func (o *OctConv) Children() []Layer {
	var ls []Layer
	for _, c := range []*Conv2D{o.ll, o.lh, o.hl, o.hh} {
		if c != nil {
			ls = append(ls, c)
		}
	}
	return ls
}

// shapes returns the inputs of the four paths and the two outputs.
func (o *OctConv) shapes(h, l Shape) (hin, lin Shape, oh, ol Shape, err error) {
	if h.C != o.highIn || l.C != o.lowIn {
		return hin, lin, oh, ol, fmt.Errorf("octconv: input %v + %v, want %d high and %d low channels", h, l, o.highIn, o.lowIn)
	}
	hin, lin = h, l
	if o.cfg.Stride == 2 {
		if hin, err = o.poolH.OutShape(h); err != nil {
			return
		}
		if l.C > 0 {
			if lin, err = o.poolL.OutShape(l); err != nil {
				return
			}
		}
	}
	if oh, err = o.hh.OutShape(hin); err != nil {
		return
	}
	if o.hl != nil {
		var p Shape
		if p, err = o.poolHL.OutShape(hin); err != nil {
			return
		}
		if ol, err = o.hl.OutShape(p); err != nil {
			return
		}
	}
	if l.C > 0 {
		var s Shape
		if s, err = o.lh.OutShape(l); err != nil {
			return
		}
		if o.cfg.Stride == 1 {
			s, _ = o.up.OutShape(s)
		}
		if s != oh {
			err = fmt.Errorf("octconv: low-to-high path gives %v, high-to-high %v: the low part must have half the high part's even size", s, oh)
			return
		}
		if o.ll != nil {
			if s, err = o.ll.OutShape(lin); err != nil {
				return
			}
			if s != ol {
				err = fmt.Errorf("octconv: low-to-low path gives %v, high-to-low %v", s, ol)
				return
			}
		}
	}
	return
}

// OutShapes implements PairLayer.
func (o *OctConv) OutShapes(h, l Shape) (Shape, Shape, error) {
	_, _, oh, ol, err := o.shapes(h, l)
	return oh, ol, err
}

// CostPair implements PairLayer: each path's convolution at its own input.
func (o *OctConv) CostPair(h, l Shape) Cost {
	hin, lin, _, _, err := o.shapes(h, l)
	if err != nil {
		return Cost{}
	}
	c := o.hh.Cost(hin)
	if o.hl != nil {
		p, _ := o.poolHL.OutShape(hin)
		c = c.Add(o.hl.Cost(p))
	}
	if l.C > 0 {
		c = c.Add(o.lh.Cost(l))
		if o.ll != nil {
			c = c.Add(o.ll.Cost(lin))
		}
	}
	return c
}

// ForwardPair implements PairLayer.
func (o *OctConv) ForwardPair(h, l *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	hs, err := pairShape(h)
	if err != nil {
		return nil, nil, err
	}
	ls, err := pairShape(l)
	if err != nil {
		return nil, nil, err
	}
	if _, _, _, _, err := o.shapes(hs, ls); err != nil {
		return nil, nil, err
	}
	o.hasL = l != nil
	s2 := o.cfg.Stride == 2
	hin := h
	if s2 {
		if hin, err = o.poolH.Forward(h); err != nil {
			return nil, nil, err
		}
	}
	yh, err := o.hh.Forward(hin)
	if err != nil {
		return nil, nil, err
	}
	var yl *tensor.Dense
	if o.hl != nil {
		p, err := o.poolHL.Forward(hin)
		if err != nil {
			return nil, nil, err
		}
		if yl, err = o.hl.Forward(p); err != nil {
			return nil, nil, err
		}
	}
	if l == nil {
		return yh, yl, nil
	}
	lh, err := o.lh.Forward(l)
	if err != nil {
		return nil, nil, err
	}
	if !s2 {
		if lh, err = o.up.Forward(lh); err != nil {
			return nil, nil, err
		}
	}
	if yh, err = o.addH.Forward(yh, lh); err != nil {
		return nil, nil, err
	}
	if o.ll == nil {
		return yh, nil, nil
	}
	lin := l
	if s2 {
		if lin, err = o.poolL.Forward(l); err != nil {
			return nil, nil, err
		}
	}
	ll, err := o.ll.Forward(lin)
	if err != nil {
		return nil, nil, err
	}
	if yl, err = o.addL.Forward(yl, ll); err != nil {
		return nil, nil, err
	}
	return yh, yl, nil
}

// BackwardPair implements PairLayer.
func (o *OctConv) BackwardPair(dh, dl *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	if (dl != nil) != (o.hl != nil) {
		return nil, nil, fmt.Errorf("octconv: low gradient present %v, want %v", dl != nil, o.hl != nil)
	}
	s2 := o.cfg.Stride == 2
	gh, err := o.hh.Backward(dh)
	if err != nil {
		return nil, nil, err
	}
	if o.hl != nil {
		g, err := o.hl.Backward(dl)
		if err != nil {
			return nil, nil, err
		}
		if g, err = o.poolHL.Backward(g); err != nil {
			return nil, nil, err
		}
		if gh, err = o.addGH.Forward(gh, g); err != nil {
			return nil, nil, err
		}
	}
	if s2 {
		if gh, err = o.poolH.Backward(gh); err != nil {
			return nil, nil, err
		}
	}
	if !o.hasL {
		return gh, nil, nil
	}
	d := dh
	if !s2 {
		if d, err = o.up.Backward(dh); err != nil {
			return nil, nil, err
		}
	}
	gl, err := o.lh.Backward(d)
	if err != nil {
		return nil, nil, err
	}
	if o.ll == nil {
		return gh, gl, nil
	}
	g, err := o.ll.Backward(dl)
	if err != nil {
		return nil, nil, err
	}
	if s2 {
		if g, err = o.poolL.Backward(g); err != nil {
			return nil, nil, err
		}
	}
	if gl, err = o.addGL.Forward(gl, g); err != nil {
		return nil, nil, err
	}
	return gh, gl, nil
}

// NewOctConvBN returns an octave convolution followed by batch norm and act on each
// part: octconv.py's Conv_BN (ActNone) and Conv_BN_ACT (ActReLU).
func NewOctConvBN(c OctConvConfig, act Act) (*PairSeq, error) {
	conv, err := NewOctConv(c)
	if err != nil {
		return nil, err
	}
	bn, err := NewOctBN(conv.highOut, conv.lowOut, act)
	if err != nil {
		return nil, fmt.Errorf("octconv: %w", err)
	}
	return &PairSeq{Layers: []PairLayer{conv, bn}}, nil
}
