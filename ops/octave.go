package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// This file holds the pair-valued layers of octave convolution (Chen et al., "Drop an
// Octave", ICCV 2019): a feature map is a pair, a high-frequency part at full
// resolution and a low-frequency part at half resolution. A Layer has one input and
// one output, so pair layers have their own small interface, and OctaveSeq adapts a
// sequence of them back to a Layer.

// PairLayer is a differentiable operator on octave feature maps: a high-frequency
// tensor h and a low-frequency tensor l at half h's resolution. A nil l (with a zero
// Shape, C == 0) means the low part is absent, as at the input of a first octave
// layer (alpha_in = 0) and at the output of a last one (alpha_out = 0).
//
// The methods mirror Layer's: ForwardPair and BackwardPair follow the same ownership
// rules (the layer owns what it returns, never modifies its arguments, and accumulates
// its parameters' gradients), OutShapes and CostPair work on per-sample shapes.
// Children lists the leaf layers inside (convolutions, batch norms, activations) in a
// fixed order, which names their parameters when an OctaveSeq is walked.
type PairLayer interface {
	ForwardPair(h, l *tensor.Dense) (*tensor.Dense, *tensor.Dense, error)
	BackwardPair(dh, dl *tensor.Dense) (*tensor.Dense, *tensor.Dense, error)
	OutShapes(h, l Shape) (Shape, Shape, error)
	CostPair(h, l Shape) Cost
	Children() []Layer
}

// octSplit returns the low and high channel counts of c channels for ratio alpha as
// the reference implementation (d-li14/octconv.pytorch octconv.py) splits them:
// int(alpha*c) low, the rest high. It rejects ratios outside [0, 1) and splits that
// are not exact, where the reference's batch norm, sized int(c*(1-alpha)), would not
// match the high part.
func octSplit(c int, alpha float64) (low, high int, err error) {
	if alpha < 0 || alpha >= 1 {
		return 0, 0, fmt.Errorf("alpha %g must be in [0, 1)", alpha)
	}
	low = int(alpha * float64(c))
	if float64(low) != alpha*float64(c) {
		return 0, 0, fmt.Errorf("alpha %g does not split %d channels exactly", alpha, c)
	}
	return low, c - low, nil
}

// PairSeq applies its pair layers one after another.
type PairSeq struct {
	Layers []PairLayer
}

var _ PairLayer = (*PairSeq)(nil)

// Children implements PairLayer: the children of each layer, in order.
func (s *PairSeq) Children() []Layer {
	var ls []Layer
	for _, p := range s.Layers {
		ls = append(ls, p.Children()...)
	}
	return ls
}

// OutShapes implements PairLayer.
func (s *PairSeq) OutShapes(h, l Shape) (Shape, Shape, error) {
	for i, p := range s.Layers {
		var err error
		if h, l, err = p.OutShapes(h, l); err != nil {
			return Shape{}, Shape{}, fmt.Errorf("octave layer %d: %w", i, err)
		}
	}
	return h, l, nil
}

// CostPair implements PairLayer.
func (s *PairSeq) CostPair(h, l Shape) Cost {
	var c Cost
	for _, p := range s.Layers {
		c = c.Add(p.CostPair(h, l))
		h, l, _ = p.OutShapes(h, l)
	}
	return c
}

// ForwardPair implements PairLayer.
func (s *PairSeq) ForwardPair(h, l *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	for i, p := range s.Layers {
		var err error
		if h, l, err = p.ForwardPair(h, l); err != nil {
			return nil, nil, fmt.Errorf("octave layer %d: %w", i, err)
		}
	}
	return h, l, nil
}

// BackwardPair implements PairLayer.
func (s *PairSeq) BackwardPair(dh, dl *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		var err error
		if dh, dl, err = s.Layers[i].BackwardPair(dh, dl); err != nil {
			return nil, nil, fmt.Errorf("octave layer %d: %w", i, err)
		}
	}
	return dh, dl, nil
}

// pairShape returns the per-sample shape of t, or the zero Shape for nil.
func pairShape(t *tensor.Dense) (Shape, error) {
	if t == nil {
		return Shape{}, nil
	}
	_, s, err := ShapeOf(t)
	return s, err
}

// OctBN is batch norm and an activation applied to each part of an octave feature
// map, with separate statistics per frequency: octconv.py's bn_h and bn_l (and act in
// Conv_BN_ACT).
type OctBN struct {
	bnH, bnL   *BatchNorm2D
	actH, actL Layer
	high, low  int
}

var _ PairLayer = (*OctBN)(nil)

// NewOctBN returns batch norms over high and low channels (low 0: no low part), each
// followed by act.
func NewOctBN(high, low int, act Act) (*OctBN, error) {
	if high <= 0 || low < 0 {
		return nil, fmt.Errorf("octave bn: channels %d high, %d low", high, low)
	}
	if !act.valid() {
		return nil, fmt.Errorf("octave bn: unknown activation %d", int(act))
	}
	b := &OctBN{bnH: NewBatchNorm2D(high), actH: newAct(act), high: high, low: low}
	if low > 0 {
		b.bnL, b.actL = NewBatchNorm2D(low), newAct(act)
	}
	return b, nil
}

// Children implements PairLayer: bn_h, bn_l, then the activations.
func (b *OctBN) Children() []Layer {
	ls := []Layer{b.bnH}
	if b.bnL != nil {
		ls = append(ls, b.bnL)
	}
	for _, a := range []Layer{b.actH, b.actL} {
		if a != nil {
			ls = append(ls, a)
		}
	}
	return ls
}

// OutShapes implements PairLayer.
func (b *OctBN) OutShapes(h, l Shape) (Shape, Shape, error) {
	if h.C != b.high || l.C != b.low {
		return Shape{}, Shape{}, fmt.Errorf("octave bn: input %v + %v, want %d high and %d low channels", h, l, b.high, b.low)
	}
	return h, l, nil
}

// CostPair implements PairLayer.
func (b *OctBN) CostPair(h, l Shape) Cost {
	c := b.bnH.Cost(h)
	if b.bnL != nil {
		c = c.Add(b.bnL.Cost(l))
	}
	return c
}

func bnAct(bn *BatchNorm2D, act Layer, x *tensor.Dense) (*tensor.Dense, error) {
	y, err := bn.Forward(x)
	if err != nil || act == nil {
		return y, err
	}
	return act.Forward(y)
}

func bnActBack(bn *BatchNorm2D, act Layer, dy *tensor.Dense) (*tensor.Dense, error) {
	if act != nil {
		var err error
		if dy, err = act.Backward(dy); err != nil {
			return nil, err
		}
	}
	return bn.Backward(dy)
}

// ForwardPair implements PairLayer.
func (b *OctBN) ForwardPair(h, l *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	if (l != nil) != (b.bnL != nil) {
		return nil, nil, fmt.Errorf("octave bn: low part present %v, want %v", l != nil, b.bnL != nil)
	}
	yh, err := bnAct(b.bnH, b.actH, h)
	if err != nil || l == nil {
		return yh, nil, err
	}
	yl, err := bnAct(b.bnL, b.actL, l)
	return yh, yl, err
}

// BackwardPair implements PairLayer.
func (b *OctBN) BackwardPair(dh, dl *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	if (dl != nil) != (b.bnL != nil) {
		return nil, nil, fmt.Errorf("octave bn: low gradient present %v, want %v", dl != nil, b.bnL != nil)
	}
	gh, err := bnActBack(b.bnH, b.actH, dh)
	if err != nil || dl == nil {
		return gh, nil, err
	}
	gl, err := bnActBack(b.bnL, b.actL, dl)
	return gh, gl, err
}

// PairResidual adds the output of Body to the output of Shortcut (the identity when
// nil) on the same input, frequency by frequency, then applies the activation Post to
// each part: the residual connection of the octave ResNet bottleneck.
type PairResidual struct {
	Body, Shortcut PairLayer
	postH, postL   Layer

	addH, addL     Add
	addDH, addDL   Add
	hasInL, hasOut bool
}

var _ PairLayer = (*PairResidual)(nil)

// NewPairResidual returns body + shortcut followed by post on each part.
func NewPairResidual(body, shortcut PairLayer, post Act) (*PairResidual, error) {
	if body == nil {
		return nil, fmt.Errorf("octave residual: no body")
	}
	if !post.valid() {
		return nil, fmt.Errorf("octave residual: unknown activation %d", int(post))
	}
	return &PairResidual{Body: body, Shortcut: shortcut, postH: newAct(post), postL: newAct(post)}, nil
}

// Children implements PairLayer: the body's, the shortcut's, then the activations.
func (r *PairResidual) Children() []Layer {
	ls := append([]Layer(nil), r.Body.Children()...)
	if r.Shortcut != nil {
		ls = append(ls, r.Shortcut.Children()...)
	}
	for _, a := range []Layer{r.postH, r.postL} {
		if a != nil {
			ls = append(ls, a)
		}
	}
	return ls
}

// OutShapes implements PairLayer.
func (r *PairResidual) OutShapes(h, l Shape) (Shape, Shape, error) {
	bh, bl, err := r.Body.OutShapes(h, l)
	if err != nil {
		return Shape{}, Shape{}, fmt.Errorf("octave residual body: %w", err)
	}
	sh, sl := h, l
	if r.Shortcut != nil {
		if sh, sl, err = r.Shortcut.OutShapes(h, l); err != nil {
			return Shape{}, Shape{}, fmt.Errorf("octave residual shortcut: %w", err)
		}
	}
	if bh != sh || bl != sl {
		return Shape{}, Shape{}, fmt.Errorf("octave residual: body gives %v + %v, shortcut %v + %v", bh, bl, sh, sl)
	}
	return bh, bl, nil
}

// CostPair implements PairLayer.
func (r *PairResidual) CostPair(h, l Shape) Cost {
	c := r.Body.CostPair(h, l)
	if r.Shortcut != nil {
		c = c.Add(r.Shortcut.CostPair(h, l))
	}
	return c
}

// ForwardPair implements PairLayer.
func (r *PairResidual) ForwardPair(h, l *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	hs, err := pairShape(h)
	if err != nil {
		return nil, nil, err
	}
	ls, err := pairShape(l)
	if err != nil {
		return nil, nil, err
	}
	if _, _, err := r.OutShapes(hs, ls); err != nil {
		return nil, nil, err
	}
	bh, bl, err := r.Body.ForwardPair(h, l)
	if err != nil {
		return nil, nil, fmt.Errorf("octave residual body: %w", err)
	}
	sh, sl := h, l
	if r.Shortcut != nil {
		if sh, sl, err = r.Shortcut.ForwardPair(h, l); err != nil {
			return nil, nil, fmt.Errorf("octave residual shortcut: %w", err)
		}
	}
	r.hasInL, r.hasOut = l != nil, bl != nil
	yh, err := r.addH.Forward(bh, sh)
	if err != nil {
		return nil, nil, err
	}
	if r.postH != nil {
		if yh, err = r.postH.Forward(yh); err != nil {
			return nil, nil, err
		}
	}
	if bl == nil {
		return yh, nil, nil
	}
	yl, err := r.addL.Forward(bl, sl)
	if err != nil {
		return nil, nil, err
	}
	if r.postL != nil {
		if yl, err = r.postL.Forward(yl); err != nil {
			return nil, nil, err
		}
	}
	return yh, yl, nil
}

// BackwardPair implements PairLayer.
func (r *PairResidual) BackwardPair(dh, dl *tensor.Dense) (*tensor.Dense, *tensor.Dense, error) {
	if (dl != nil) != r.hasOut {
		return nil, nil, fmt.Errorf("octave residual: low gradient present %v, want %v", dl != nil, r.hasOut)
	}
	var err error
	if r.postH != nil {
		if dh, err = r.postH.Backward(dh); err != nil {
			return nil, nil, err
		}
	}
	if dl != nil && r.postL != nil {
		if dl, err = r.postL.Backward(dl); err != nil {
			return nil, nil, err
		}
	}
	bh, bl, err := r.Body.BackwardPair(dh, dl)
	if err != nil {
		return nil, nil, fmt.Errorf("octave residual body: %w", err)
	}
	sh, sl := dh, dl
	if r.Shortcut != nil {
		if sh, sl, err = r.Shortcut.BackwardPair(dh, dl); err != nil {
			return nil, nil, fmt.Errorf("octave residual shortcut: %w", err)
		}
	}
	gh, err := r.addDH.Forward(bh, sh)
	if err != nil {
		return nil, nil, err
	}
	if !r.hasInL {
		return gh, nil, nil
	}
	gl, err := r.addDL.Forward(bl, sl)
	if err != nil {
		return nil, nil, err
	}
	return gh, gl, nil
}

// OctaveSeq adapts a sequence of pair layers to a Layer: it feeds its input as the
// high-frequency part with no low part, so the first layer must take alpha_in = 0,
// and returns the high part of the last layer's output, which must have no low part
// (alpha_out = 0). Its children are the leaf layers inside the pair layers, in order.
type OctaveSeq struct {
	Seq PairSeq
}

var (
	_ Layer     = (*OctaveSeq)(nil)
	_ Container = (*OctaveSeq)(nil)
)

// NewOctaveSeq returns the sequence of the given pair layers as a Layer.
func NewOctaveSeq(layers ...PairLayer) (*OctaveSeq, error) {
	if len(layers) == 0 {
		return nil, fmt.Errorf("octave sequence: no layers")
	}
	return &OctaveSeq{Seq: PairSeq{Layers: layers}}, nil
}

// Children implements Container.
func (o *OctaveSeq) Children() []Layer { return o.Seq.Children() }

// Describe names the sequence for the network's layer table.
func (o *OctaveSeq) Describe() string { return fmt.Sprintf("octave x%d", len(o.Seq.Layers)) }

// OutShape implements Layer.
func (o *OctaveSeq) OutShape(in Shape) (Shape, error) {
	h, l, err := o.Seq.OutShapes(in, Shape{})
	if err != nil {
		return Shape{}, err
	}
	if l.C != 0 {
		return Shape{}, fmt.Errorf("octave sequence: ends with %v low-frequency channels, want alpha_out 0", l)
	}
	return h, nil
}

// Cost implements Layer.
func (o *OctaveSeq) Cost(in Shape) Cost { return o.Seq.CostPair(in, Shape{}) }

// Forward implements Layer.
func (o *OctaveSeq) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	if _, _, _, err := checkInput(o, x); err != nil {
		return nil, err
	}
	h, _, err := o.Seq.ForwardPair(x, nil)
	return h, err
}

// Backward implements Layer.
func (o *OctaveSeq) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dh, dl, err := o.Seq.BackwardPair(dy, nil)
	if err != nil {
		return nil, err
	}
	if dl != nil {
		return nil, fmt.Errorf("octave sequence: first layer returned a low-frequency gradient")
	}
	return dh, nil
}
