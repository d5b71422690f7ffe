package ops

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// actParallelMin is the number of values below which an elementwise op runs on one
// goroutine: under it, starting goroutines costs more than the work.
const actParallelMin = 1 << 15

// elementFor runs f over [0, size), split across both cores when size is large enough.
// Elementwise ops write disjoint ranges, so the split does not change results.
func elementFor(size int, f func(lo, hi int)) {
	if size < actParallelMin {
		f(0, size)
		return
	}
	parallelFor(size, func(_, lo, hi int) { f(lo, hi) })
}

// mapUnary applies the kernel k to y and x, split across both cores when they are
// large enough. k is a plain function, and the closure that splits the work is built
// only on the parallel path, so small calls allocate nothing.
func mapUnary(y, x []float32, k func(y, x []float32)) {
	if len(x) < actParallelMin {
		k(y, x)
		return
	}
	parallelFor(len(x), func(_, lo, hi int) { k(y[lo:hi], x[lo:hi]) })
}

// mapBinary is mapUnary for kernels of two inputs, such as dx = f(dy, y).
func mapBinary(z, a, b []float32, k func(z, a, b []float32)) {
	if len(a) < actParallelMin {
		k(z, a, b)
		return
	}
	parallelFor(len(a), func(_, lo, hi int) { k(z[lo:hi], a[lo:hi], b[lo:hi]) })
}

// activation is the state shared by the elementwise activations: the input of the last
// Forward (for ops whose gradient needs it), its shape, and the reused buffers.
type activation struct {
	name  string
	x     *tensor.Dense
	n     int
	in    Shape
	out   buffer
	dx    buffer
	ready bool
}

func (a *activation) outShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("%s: invalid input shape %v", a.name, in)
	}
	return in, nil
}

// forward checks x, records it and returns the input and output value slices.
func (a *activation) forward(x *tensor.Dense) (xd, yd []float32, y *tensor.Dense, err error) {
	n, in, err := ShapeOf(x)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", a.name, err)
	}
	if _, err := a.outShape(in); err != nil {
		return nil, nil, nil, err
	}
	a.x, a.n, a.in, a.ready = x, n, in, true
	y = a.out.get(n, in)
	return x.Float32s(), y.Float32s(), y, nil
}

// fused records the shape of a Forward that a batch norm computed for this
// activation (Sequential's fusion). The activation can go back on its own only if
// its output buffer holds its output, that is if it was the last layer fused.
func (a *activation) fused(n int, in Shape, holdsOutput bool) {
	a.x, a.n, a.in, a.ready = nil, n, in, holdsOutput
}

// backward checks dy and returns its values and the input gradient buffer.
func (a *activation) backward(dy *tensor.Dense) (dyd, dxd []float32, dx *tensor.Dense, err error) {
	if !a.ready {
		return nil, nil, nil, fmt.Errorf("%s: backward before forward", a.name)
	}
	if err := checkGrad(dy, a.n, a.in); err != nil {
		return nil, nil, nil, fmt.Errorf("%s: %w", a.name, err)
	}
	dx = a.dx.get(a.n, a.in)
	return dy.Float32s(), dx.Float32s(), dx, nil
}

// ReLU is max(x, 0) (PyTorch's nn.ReLU). Its gradient at 0 is 0, as in PyTorch.
type ReLU struct{ a activation }

// ReLU6 is min(max(x, 0), 6) (PyTorch's nn.ReLU6, the hardtanh on [0, 6]). Its
// gradient is 1 strictly inside (0, 6) and 0 elsewhere, including at 0 and 6, as in
// PyTorch's hardtanh_backward.
type ReLU6 struct{ a activation }

// HSwish is the hard swish x*relu6(x+3)/6 of MobileNetV3 (Howard et al. 2019),
// PyTorch's nn.Hardswish. Its gradient is 0 below -3, x/3 + 1/2 on [-3, 3) and 1 from
// 3 on. At exactly 3 PyTorch 1.13's hardswish_backward disagrees with itself: its
// vectorized path (every element of a tensor but a short tail) gives 1 and its scalar
// path 3/3 + 1/2; HSwish follows the vectorized path, which is what training sees.
type HSwish struct{ a activation }

// Sigmoid is 1/(1+exp(-x)) (PyTorch's nn.Sigmoid).
type Sigmoid struct{ a activation }

var (
	_ Layer = (*ReLU)(nil)
	_ Layer = (*ReLU6)(nil)
	_ Layer = (*HSwish)(nil)
	_ Layer = (*Sigmoid)(nil)
)

// NewReLU returns a ReLU.
func NewReLU() *ReLU { return &ReLU{activation{name: "relu"}} }

// NewReLU6 returns a ReLU6.
func NewReLU6() *ReLU6 { return &ReLU6{activation{name: "relu6"}} }

// NewHSwish returns a hard swish.
func NewHSwish() *HSwish { return &HSwish{activation{name: "hswish"}} }

// NewSigmoid returns a sigmoid.
func NewSigmoid() *Sigmoid { return &Sigmoid{activation{name: "sigmoid"}} }

// OutShape implements Layer.
func (l *ReLU) OutShape(in Shape) (Shape, error) { return l.a.outShape(in) }

// Cost implements Layer: activations cost nothing.
func (l *ReLU) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *ReLU) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	xd, yd, y, err := l.a.forward(x)
	if err != nil {
		return nil, err
	}
	mapUnary(yd, xd, reluForward)
	return y, nil
}

// Backward implements Layer. It uses the layer's own output: y > 0 exactly where x > 0.
func (l *ReLU) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	yd := l.a.out.t.Float32s()
	mapBinary(dxd, dyd, yd, reluBackward)
	return dx, nil
}

// OutShape implements Layer.
func (l *ReLU6) OutShape(in Shape) (Shape, error) { return l.a.outShape(in) }

// Cost implements Layer: activations cost nothing.
func (l *ReLU6) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *ReLU6) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	xd, yd, y, err := l.a.forward(x)
	if err != nil {
		return nil, err
	}
	mapUnary(yd, xd, relu6Forward)
	return y, nil
}

// Backward implements Layer. It uses the layer's own output: 0 < y < 6 exactly where
// 0 < x < 6.
func (l *ReLU6) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	yd := l.a.out.t.Float32s()
	mapBinary(dxd, dyd, yd, relu6Backward)
	return dx, nil
}

// OutShape implements Layer.
func (l *HSwish) OutShape(in Shape) (Shape, error) { return l.a.outShape(in) }

// Cost implements Layer: activations cost nothing.
func (l *HSwish) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *HSwish) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	xd, yd, y, err := l.a.forward(x)
	if err != nil {
		return nil, err
	}
	mapUnary(yd, xd, hswishForward)
	return y, nil
}

// Backward implements Layer.
func (l *HSwish) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	xd := l.a.x.Float32s()
	mapBinary(dxd, dyd, xd, hswishBackward)
	return dx, nil
}

// OutShape implements Layer.
func (l *Sigmoid) OutShape(in Shape) (Shape, error) { return l.a.outShape(in) }

// Cost implements Layer: activations cost nothing.
func (l *Sigmoid) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *Sigmoid) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	xd, yd, y, err := l.a.forward(x)
	if err != nil {
		return nil, err
	}
	mapUnary(yd, xd, sigmoidForward)
	return y, nil
}

// Backward implements Layer: dy * y * (1 - y), from the layer's own output.
func (l *Sigmoid) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dyd, dxd, dx, err := l.a.backward(dy)
	if err != nil {
		return nil, err
	}
	yd := l.a.out.t.Float32s()
	mapBinary(dxd, dyd, yd, sigmoidBackward)
	return dx, nil
}

// The kernels below work on equal-length slices; dy is the output gradient, y the
// layer's output and x its input. They avoid data-dependent branches, which on
// activations of random sign mispredict about half the time: the builtin min and max
// compile to branch-free code (and keep NaN, so divergence stays visible), and the
// gradient masks compare float bit patterns as integers, which order non-negative
// floats like their values.

// f32Six is the bit pattern of float32(6).
const f32Six = 0x40c00000

// f32Inf is the bit pattern of float32(+Inf).
const f32Inf = 0x7f800000

// noBound is the clamp bound that does not apply (see bnFuse.bounds).
var noBound = float32(math.NaN())

func reluForward(y, x []float32) {
	if useBNAsm {
		clampRow(y, x, 0, noBound)
		return
	}
	x = x[:len(y)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

// reluBackward passes dy where y > 0: y's bits minus 1 are below those of +Inf
// exactly for 0 < y <= +Inf (negative values and NaN have larger patterns).
func reluBackward(dx, dy, y []float32) {
	if useBNAsm {
		maskGradRow(dx, dy, y, 0, noBound)
		return
	}
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, g := range dy {
		var m uint32
		if math.Float32bits(y[i])-1 < f32Inf {
			m = ^uint32(0)
		}
		dx[i] = math.Float32frombits(math.Float32bits(g) & m)
	}
}

func relu6Forward(y, x []float32) {
	if useBNAsm {
		clampRow(y, x, 0, 6)
		return
	}
	x = x[:len(y)]
	for i, v := range x {
		y[i] = min(max(v, 0), 6)
	}
}

// relu6Backward passes dy where 0 < y < 6, tested on the bit patterns as in
// reluBackward.
func relu6Backward(dx, dy, y []float32) {
	if useBNAsm {
		maskGradRow(dx, dy, y, 0, 6)
		return
	}
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, g := range dy {
		var m uint32
		if math.Float32bits(y[i])-1 < f32Six-1 {
			m = ^uint32(0)
		}
		dx[i] = math.Float32frombits(math.Float32bits(g) & m)
	}
}

// hswishForward is PyTorch's hardswish kernel: x * min(max(x + 3, 0), 6) / 6.
func hswishForward(y, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] = v * min(max(v+3, 0), 6) / 6
	}
}

// hswishBackward is dy * (x/3 + 1/2) on [-3, 3), dy from 3 on and 0 below -3, with
// the three cases selected by masks.
func hswishBackward(dx, dy, x []float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i, g := range dy {
		v := x[i]
		var lo, hi uint32
		if v >= -3 {
			lo = ^uint32(0)
		}
		if v >= 3 {
			hi = ^uint32(0)
		}
		mid := math.Float32bits(g*(v/3+0.5)) &^ hi
		dx[i] = math.Float32frombits((mid | math.Float32bits(g)&hi) & lo)
	}
}

func sigmoidForward(y, x []float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] = float32(1 / (1 + math.Exp(-float64(v))))
	}
}

func sigmoidBackward(dx, dy, y []float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	for i, g := range dy {
		dx[i] = g * (1 - y[i]) * y[i]
	}
}
