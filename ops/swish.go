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
	mapUnary(yd, xd, swishForward)
	return y, nil
}

// Backward implements Layer.
func (l *Swish) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	mapBinary(dxd, dyd, l.a.x.Float32s(), swishBackward)
	return dx, nil
}

// The constants of swishExp: its clamp bounds, log2(e), ln(2) in a part exact in
// float32 and the rest, and the coefficients of Cephes' expf polynomial for exp(r)
// on [-ln(2)/2, ln(2)/2], highest degree first.
const (
	swishLo    float32 = -87
	swishHi    float32 = 88
	swishLog2e float32 = 1.44269504088896341
	swishLn2Hi float32 = 0.693359375
	swishLn2Lo float32 = -2.12194440e-4
)

var swishPoly = [6]float32{1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1}

// swishExp returns exp(t) in float32, t clamped to [-87, 88] (where the result is a
// normal float32): t = n*ln(2) + r with n an integer and |r| <= ln(2)/2, exp(r)
// from a degree-7 polynomial (Cephes' expf), and 2^n applied exactly. Each operation
// is the one swishFwdAVX512 and swishBwdAVX512 make, rounded the same way (fma32
// where they fuse), so both give the same bits (TestSwishKernels also holds swish
// within 4e-7 of its float64 value). The clamps keep the instructions' order of
// operands: a NaN becomes -87.
func swishExp(t float32) float32 {
	if !(t > swishLo) {
		t = swishLo
	}
	if !(t < swishHi) {
		t = swishHi
	}
	n := float32(math.RoundToEven(float64(t * swishLog2e)))
	r := fma32(-n, swishLn2Hi, t)
	r = fma32(-n, swishLn2Lo, r)
	p := swishPoly[0]
	for _, c := range swishPoly[1:] {
		p = fma32(p, r, c)
	}
	p = fma32(p, r*r, r) + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// swishForward sets y = x / (1 + exp(-x)) as PyTorch's silu, with exp from swishExp.
func swishForward(y, x []float32) {
	x = x[:len(y)]
	if useBNAsm && len(y) > 0 {
		swishFwdAVX512(&y[0], &x[0], len(y))
		return
	}
	for i, v := range x {
		y[i] = v / (swishExp(0-v) + 1)
	}
}

// swishBackward sets dx = dy*s * (1 + x*(1-s)) with s = 1/(1 + exp(-x)), as
// PyTorch's silu_backward.
func swishBackward(dx, dy, x []float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	if useBNAsm && len(dx) > 0 {
		swishBwdAVX512(&dx[0], &dy[0], &x[0], len(dx))
		return
	}
	for i, v := range x {
		s := 1 / (swishExp(0-v) + 1)
		dx[i] = float32(dy[i]*s) * fma32(v, 1-s, 1)
	}
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
