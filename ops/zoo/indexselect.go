package zoo

import (
	"fmt"

	"gorgonia.org/tensor"

	"nas/ops"
)

// IndexSelect picks input channels by index: output channel i is input channel
// Index[i], as torch.index_select(x, 1, index) does. An index may repeat or leave
// channels out. It is CondenseNet's converted learned group convolution's selection
// (ShichenLiu/CondenseNet layers.py CondenseConv and CondenseLinear): a pure
// selection, with no parameters and no MACs.
type IndexSelect struct {
	index []int

	n       int
	in, out ops.Shape
	ready   bool
	y, dx   *tensor.Dense
}

var _ ops.Layer = (*IndexSelect)(nil)

// NewIndexSelect returns the selection of the given channels; it keeps its own copy
// of index. Every index must be non-negative; OutShape checks them against the input.
func NewIndexSelect(index []int) (*IndexSelect, error) {
	if len(index) == 0 {
		return nil, fmt.Errorf("index select: no channels selected")
	}
	for _, i := range index {
		if i < 0 {
			return nil, fmt.Errorf("index select: negative channel %d", i)
		}
	}
	return &IndexSelect{index: append([]int(nil), index...)}, nil
}

// identityIndex returns 0, 1, ..., n-1.
func identityIndex(n int) []int {
	ix := make([]int, n)
	for i := range ix {
		ix[i] = i
	}
	return ix
}

// Index returns a copy of the selected channels.
func (l *IndexSelect) Index() []int { return append([]int(nil), l.index...) }

// Describe implements ops.Describer.
func (l *IndexSelect) Describe() string { return fmt.Sprintf("IndexSelect %d channels", len(l.index)) }

// OutShape implements ops.Layer.
func (l *IndexSelect) OutShape(in ops.Shape) (ops.Shape, error) {
	if in.C <= 0 || in.H <= 0 || in.W <= 0 {
		return ops.Shape{}, fmt.Errorf("index select: input shape %v is empty", in)
	}
	for _, i := range l.index {
		if i >= in.C {
			return ops.Shape{}, fmt.Errorf("index select: channel %d of a %d-channel input", i, in.C)
		}
	}
	return ops.Shape{C: len(l.index), H: in.H, W: in.W}, nil
}

// Cost implements ops.Layer: selecting moves data and costs nothing.
func (l *IndexSelect) Cost(ops.Shape) ops.Cost { return ops.Cost{} }

// Forward implements ops.Layer.
func (l *IndexSelect) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, err := ops.ShapeOf(x)
	if err != nil {
		return nil, fmt.Errorf("index select: %w", err)
	}
	out, err := l.OutShape(in)
	if err != nil {
		return nil, err
	}
	if l.y == nil || l.n != n || l.in != in {
		l.y, l.dx = ops.New(n, out), ops.New(n, in)
	}
	l.n, l.in, l.out, l.ready = n, in, out, true
	plane := in.H * in.W
	xs, ys := x.Float32s(), l.y.Float32s()
	for s := range n {
		src, dst := xs[s*in.Size():(s+1)*in.Size()], ys[s*out.Size():(s+1)*out.Size()]
		for o, i := range l.index {
			copy(dst[o*plane:(o+1)*plane], src[i*plane:(i+1)*plane])
		}
	}
	return l.y, nil
}

// Backward implements ops.Layer: each output channel's gradient is added to the input
// channel it was selected from.
func (l *IndexSelect) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if !l.ready {
		return nil, fmt.Errorf("index select: backward before forward")
	}
	n, s, err := ops.ShapeOf(dy)
	if err != nil {
		return nil, fmt.Errorf("index select: %w", err)
	}
	if n != l.n || s != l.out {
		return nil, fmt.Errorf("index select: gradient of shape %d x %v for an output of %d x %v", n, s, l.n, l.out)
	}
	plane := l.in.H * l.in.W
	dys, dxs := dy.Float32s(), l.dx.Float32s()
	clear(dxs)
	for s := range n {
		src, dst := dys[s*l.out.Size():(s+1)*l.out.Size()], dxs[s*l.in.Size():(s+1)*l.in.Size()]
		for o, i := range l.index {
			d, g := dst[i*plane:(i+1)*plane], src[o*plane:(o+1)*plane]
			for k := range d {
				d[k] += g[k]
			}
		}
	}
	return l.dx, nil
}

// evenIndex returns 0, 2, ..., 2(n-1).
func evenIndex(n int) []int {
	ix := make([]int, n)
	for i := range ix {
		ix[i] = 2 * i
	}
	return ix
}
