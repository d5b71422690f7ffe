package ops

import (
	"math"

	"gorgonia.org/tensor"
)

// Swish is x*sigmoid(x) (Ramachandran et al. 2017; PyTorch's nn.SiLU), the activation
// of MixNet and EfficientNet. Its gradient is s*(1 + x*(1-s)) with s = sigmoid(x), as
// in PyTorch's silu_backward.
type Swish struct{ a activation }

// HSigmoid is the hard sigmoid relu6(x+3)/6 of MobileNetV3 (Howard et al. 2019),
// PyTorch's nn.Hardsigmoid, the gate of its squeeze-and-excitation. Its gradient is
// 1/6 strictly inside (-3, 3) and 0 elsewhere, as in PyTorch's hardsigmoid_backward.
type HSigmoid struct{ a activation }

var (
	_ Layer = (*Swish)(nil)
	_ Layer = (*HSigmoid)(nil)
)

// NewSwish returns a swish activation.
func NewSwish() *Swish { return &Swish{activation{name: "swish"}} }

// NewHSigmoid returns a hard sigmoid.
func NewHSigmoid() *HSigmoid { return &HSigmoid{activation{name: "hsigmoid"}} }

// OutShape implements Layer.
func (l *Swish) OutShape(in Shape) (Shape, error) { return l.a.outShape(in) }

// Cost implements Layer: activations cost nothing.
func (l *Swish) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *Swish) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	xd, yd, y, err := l.a.forward(x)
	if err != nil {
		return nil, err
	}
	elementFor(len(xd), func(lo, hi int) {
		ys := yd[lo:hi]
		for i, v := range xd[lo:hi] {
			ys[i] = float32(float64(v) / (1 + math.Exp(-float64(v))))
		}
	})
	return y, nil
}

// Backward implements Layer.
func (l *Swish) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	xd := l.a.x.Float32s()
	elementFor(len(dxd), func(lo, hi int) {
		xs, gs := xd[lo:hi], dyd[lo:hi]
		for i := range dxd[lo:hi] {
			v := float64(xs[i])
			s := 1 / (1 + math.Exp(-v))
			dxd[lo+i] = float32(float64(gs[i]) * s * (1 + v*(1-s)))
		}
	})
	return dx, nil
}

// OutShape implements Layer.
func (l *HSigmoid) OutShape(in Shape) (Shape, error) { return l.a.outShape(in) }

// Cost implements Layer: activations cost nothing.
func (l *HSigmoid) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *HSigmoid) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	xd, yd, y, err := l.a.forward(x)
	if err != nil {
		return nil, err
	}
	elementFor(len(xd), func(lo, hi int) {
		ys := yd[lo:hi]
		for i, v := range xd[lo:hi] {
			r := v + 3
			if r < 0 {
				r = 0
			}
			if r > 6 {
				r = 6
			}
			ys[i] = r / 6
		}
	})
	return y, nil
}

// Backward implements Layer.
func (l *HSigmoid) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	xd := l.a.x.Float32s()
	elementFor(len(dxd), func(lo, hi int) {
		xs, gs := xd[lo:hi], dyd[lo:hi]
		for i := range dxd[lo:hi] {
			g := float32(0)
			if xs[i] > -3 && xs[i] < 3 {
				g = gs[i] / 6
			}
			dxd[lo+i] = g
		}
	})
	return dx, nil
}
