package ops

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"nas/ops/internal/gemm"
)

// Linear is a fully connected layer y = x*W^T + b (PyTorch's nn.Linear) with weight W
// of shape (out, in). It takes (N, in) tensors or the (N, in, 1, 1) tensors global
// pooling produces and returns (N, out, 1, 1).
type Linear struct {
	in, out      int
	weight, bias *Param

	x       *tensor.Dense
	n       int
	y, dx   buffer
	ready   bool
	inShape Shape
}

var (
	_ Layer         = (*Linear)(nil)
	_ Parameterized = (*Linear)(nil)
	_ Initializer   = (*Linear)(nil)
)

// NewLinear returns a linear layer from in to out features with zero weights; Init
// draws PyTorch's default.
func NewLinear(in, out int, bias bool) (*Linear, error) {
	if in <= 0 || out <= 0 {
		return nil, fmt.Errorf("linear: features %d -> %d must be positive", in, out)
	}
	l := &Linear{in: in, out: out, weight: newParam("weight", out, in)}
	if bias {
		l.bias = newParam("bias", out)
	}
	return l, nil
}

// In returns the number of input features.
func (l *Linear) In() int { return l.in }

// Out returns the number of output features.
func (l *Linear) Out() int { return l.out }

// Weight returns the weight parameter, of shape (out, in).
func (l *Linear) Weight() *Param { return l.weight }

// Bias returns the bias parameter, or nil if the layer has none.
func (l *Linear) Bias() *Param { return l.bias }

// Params implements Parameterized.
func (l *Linear) Params() []*Param {
	if l.bias != nil {
		return []*Param{l.weight, l.bias}
	}
	return []*Param{l.weight}
}

// Init draws weight and bias from U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default
// (kaiming_uniform_ with a = sqrt(5) for the weight, the same bound for the bias).
func (l *Linear) Init(rng *rand.Rand) {
	b := kaimingBound(l.in)
	uniform(l.weight.Value.Float32s(), b, rng)
	if l.bias != nil {
		uniform(l.bias.Value.Float32s(), b, rng)
	}
}

// OutShape implements Layer.
func (l *Linear) OutShape(in Shape) (Shape, error) {
	if in != (Shape{l.in, 1, 1}) {
		return Shape{}, fmt.Errorf("linear: input %v, want %d features (1x1x%d)", in, l.in, l.in)
	}
	return Shape{l.out, 1, 1}, nil
}

// Cost implements Layer: in*out MACs, in*out weights and out biases if present.
func (l *Linear) Cost(Shape) Cost {
	p := int64(l.in) * int64(l.out)
	if l.bias != nil {
		p += int64(l.out)
	}
	return Cost{MACs: int64(l.in) * int64(l.out), Params: p}
}

// linearParallelMin is the number of MACs below which the linear layer runs on one
// goroutine.
const linearParallelMin = 1 << 16

// Forward implements Layer.
func (l *Linear) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	l.x, l.n, l.inShape, l.ready = x, n, in, true
	y := l.y.get(n, out)
	xd, yd := x.Float32s(), y.Float32s()
	// The closures are built only on the parallel path, so small calls do not allocate.
	if n*l.in*l.out < linearParallelMin {
		l.forwardRows(0, n, xd, yd)
	} else {
		parallelFor(n, func(_, lo, hi int) { l.forwardRows(lo, hi, xd, yd) })
	}
	return y, nil
}

// forwardRows computes the outputs of samples [lo, hi).
func (l *Linear) forwardRows(lo, hi int, xd, yd []float32) {
	if lo == hi {
		return
	}
	ys := yd[lo*l.out : hi*l.out]
	beta := float32(0)
	if l.bias != nil {
		bd := l.bias.Value.Float32s()
		for i := 0; i < hi-lo; i++ {
			copy(ys[i*l.out:(i+1)*l.out], bd)
		}
		beta = 1
	}
	gemm.Sgemm(false, true, hi-lo, l.out, l.in, 1, xd[lo*l.in:], l.in, l.weight.Value.Float32s(), l.in, beta, ys, l.out)
}

// Backward implements Layer.
func (l *Linear) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if !l.ready {
		return nil, fmt.Errorf("linear: backward before forward")
	}
	n := l.n
	if err := checkGrad(dy, n, Shape{l.out, 1, 1}); err != nil {
		return nil, fmt.Errorf("linear: %w", err)
	}
	dx := l.dx.get(n, l.inShape)
	dyd, dxd := dy.Float32s(), dx.Float32s()
	if n*l.in*l.out < linearParallelMin {
		l.inputGradRows(0, n, dyd, dxd)
		l.paramGradRows(0, l.out, dyd)
	} else {
		parallelFor(n, func(_, lo, hi int) { l.inputGradRows(lo, hi, dyd, dxd) })
		parallelFor(l.out, func(_, lo, hi int) { l.paramGradRows(lo, hi, dyd) })
	}
	return dx, nil
}

// inputGradRows computes dx = dy*W for samples [lo, hi).
func (l *Linear) inputGradRows(lo, hi int, dyd, dxd []float32) {
	if lo < hi {
		gemm.Sgemm(false, false, hi-lo, l.in, l.out, 1, dyd[lo*l.out:], l.out, l.weight.Value.Float32s(), l.in, 0, dxd[lo*l.in:], l.in)
	}
}

// paramGradRows adds dW += dy^T*x and db += the batch sum of dy for output features
// [lo, hi), so that each gradient value is summed by one goroutine in a fixed order.
func (l *Linear) paramGradRows(lo, hi int, dyd []float32) {
	if lo == hi {
		return
	}
	gw := l.weight.Grad.Float32s()
	gemm.Sgemm(true, false, hi-lo, l.in, l.n, 1, dyd[lo:], l.out, l.x.Float32s(), l.in, 1, gw[lo*l.in:], l.in)
	if l.bias != nil {
		gb := l.bias.Grad.Float32s()
		for o := lo; o < hi; o++ {
			var s float32
			for i := 0; i < l.n; i++ {
				s += dyd[i*l.out+o]
			}
			gb[o] += s
		}
	}
}
