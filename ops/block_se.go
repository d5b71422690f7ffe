package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// SqueezeExcite is squeeze-and-excitation (Hu et al. 2018) in the form of the
// EfficientNet/MixNet family (timm's efficientnet_blocks.SqueezeExcite): Gate maps the
// input to one weight per sample and channel, of shape (C, 1, 1), and the output is
// the input with each channel multiplied by its weight. Two paths meet in the
// multiply, which is why it is a layer of its own rather than a Sequential.
type SqueezeExcite struct {
	// Gate computes the channel weights: global average pool, 1x1 conv with bias to
	// the reduced channels, activation, 1x1 conv with bias back, sigmoid.
	Gate Layer

	x   *tensor.Dense
	s   *tensor.Dense
	n   int
	in  Shape
	out buffer
	ds  buffer
	dx  buffer

	// The passes over the planes, made once so that a parallel pass allocates no
	// closure, and what they write (y forward, dx backward) and read besides x and s.
	scalePass, dotPass, gradPass    func(chunk, lo, hi int)
	passOut, passDY, passDG, passDS []float32
}

// planes runs f over the n*C planes, split over the workers when the tensor is as
// large as an elementwise op's parallel pass; every plane is computed alone, so the
// split changes no result.
func (l *SqueezeExcite) planes(f func(chunk, lo, hi int)) {
	units := l.n * l.in.C
	if units*l.in.H*l.in.W < actParallelMin {
		f(0, 0, units)
		return
	}
	parallelFor(units, f)
}

// scale writes y = x * s over planes [lo, hi).
func (l *SqueezeExcite) scale(_, lo, hi int) {
	hw := l.in.H * l.in.W
	xd, sd := l.x.Float32s(), l.s.Float32s()
	for p := lo; p < hi; p++ {
		w := sd[p]
		ys, xs := l.passOut[p*hw:(p+1)*hw], xd[p*hw:(p+1)*hw]
		for i, v := range xs {
			ys[i] = v * w
		}
	}
}

// dot writes ds = sum over the plane of dy*x for planes [lo, hi).
func (l *SqueezeExcite) dot(_, lo, hi int) {
	hw := l.in.H * l.in.W
	xd := l.x.Float32s()
	for p := lo; p < hi; p++ {
		var sum float32
		xs := xd[p*hw : (p+1)*hw]
		for i, g := range l.passDY[p*hw : (p+1)*hw] {
			sum += g * xs[i]
		}
		l.passDS[p] = sum
	}
}

// grad writes dx = dy*s + dg over planes [lo, hi), dg the gate's input gradient.
func (l *SqueezeExcite) grad(_, lo, hi int) {
	hw := l.in.H * l.in.W
	sd := l.s.Float32s()
	for p := lo; p < hi; p++ {
		w := sd[p]
		gs, dgs := l.passDY[p*hw:(p+1)*hw], l.passDG[p*hw:(p+1)*hw]
		dxs := l.passOut[p*hw : (p+1)*hw]
		for i, g := range gs {
			dxs[i] = g*w + dgs[i]
		}
	}
}

var (
	_ Layer     = (*SqueezeExcite)(nil)
	_ Container = (*SqueezeExcite)(nil)
)

// NewSqueezeExcite returns squeeze-and-excitation over c channels as a Block: global
// average pool, 1x1 convolution with bias from c to reduced channels, act, 1x1
// convolution with bias back to c, gate (ActSigmoid, or ActHSigmoid as in
// MobileNetV3), and a channel-wise multiply with the input. Its MACs are the two 1x1
// convolutions at 1x1 spatial size, c*reduced + reduced*c, as timm and the MixNet
// paper count them; its parameters include both biases.
func NewSqueezeExcite(c, reduced int, act, gate Act) (*Block, error) {
	se, err := newSqueezeExcite(c, reduced, act, gate)
	if err != nil {
		return nil, err
	}
	return &Block{Kind: "squeeze_excite", Settings: fmt.Sprintf("%d->%d %s %s", c, reduced, act, gate), Body: se}, nil
}

func newSqueezeExcite(c, reduced int, act, gate Act) (*SqueezeExcite, error) {
	switch {
	case c <= 0 || reduced <= 0:
		return nil, fmt.Errorf("squeeze-excite: channels %d and reduced channels %d must be positive", c, reduced)
	case !act.valid():
		return nil, fmt.Errorf("squeeze-excite: unknown activation %d", int(act))
	case gate != ActSigmoid && gate != ActHSigmoid:
		return nil, fmt.Errorf("squeeze-excite: gate %v, want sigmoid or hsigmoid", gate)
	}
	reduce, err := Conv(c, reduced, 1, 1, 1, true)
	if err != nil {
		return nil, fmt.Errorf("squeeze-excite: %w", err)
	}
	expand, err := Conv(reduced, c, 1, 1, 1, true)
	if err != nil {
		return nil, fmt.Errorf("squeeze-excite: %w", err)
	}
	g := Seq(NewGlobalAvgPool(), reduce)
	if a := newAct(act); a != nil {
		g.Layers = append(g.Layers, a)
	}
	g.Layers = append(g.Layers, expand, newAct(gate))
	return &SqueezeExcite{Gate: g}, nil
}

// Children implements Container.
func (l *SqueezeExcite) Children() []Layer { return []Layer{l.Gate} }

// OutShape implements Layer.
func (l *SqueezeExcite) OutShape(in Shape) (Shape, error) {
	g, err := l.Gate.OutShape(in)
	if err != nil {
		return Shape{}, fmt.Errorf("squeeze-excite gate: %w", err)
	}
	if g != (Shape{in.C, 1, 1}) {
		return Shape{}, fmt.Errorf("squeeze-excite: gate gives %v for input %v, want %dx1x1", g, in, in.C)
	}
	return in, nil
}

// Cost implements Layer: the gate's cost; the multiply is free like other elementwise ops.
func (l *SqueezeExcite) Cost(in Shape) Cost { return l.Gate.Cost(in) }

// Forward implements Layer.
func (l *SqueezeExcite) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, _, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	s, err := l.Gate.Forward(x)
	if err != nil {
		return nil, fmt.Errorf("squeeze-excite gate: %w", err)
	}
	l.x, l.s, l.n, l.in = x, s, n, in
	y := l.out.get(n, in)
	if l.scalePass == nil {
		l.scalePass, l.dotPass, l.gradPass = l.scale, l.dot, l.grad
	}
	l.passOut = y.Float32s()
	l.planes(l.scalePass)
	l.passOut = nil
	return y, nil
}

// Backward implements Layer: dx = dy*s + the gate's input gradient for
// ds = sum over the plane of dy*x.
func (l *SqueezeExcite) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if l.x == nil {
		return nil, fmt.Errorf("squeeze-excite: backward before forward")
	}
	n, in := l.n, l.in
	if err := checkGrad(dy, n, in); err != nil {
		return nil, fmt.Errorf("squeeze-excite: %w", err)
	}
	ds := l.ds.get(n, Shape{in.C, 1, 1})
	l.passDY, l.passDS = dy.Float32s(), ds.Float32s()
	l.planes(l.dotPass)
	// The gate's buffers are its own, so s stays valid through its Backward.
	dg, err := l.Gate.Backward(ds)
	if err != nil {
		l.passDY, l.passDS = nil, nil
		return nil, fmt.Errorf("squeeze-excite gate: %w", err)
	}
	dx := l.dx.get(n, in)
	l.passOut, l.passDG = dx.Float32s(), dg.Float32s()
	l.planes(l.gradPass)
	l.passOut, l.passDY, l.passDG, l.passDS = nil, nil, nil, nil
	return dx, nil
}
