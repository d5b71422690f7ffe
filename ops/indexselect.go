package ops

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// IndexSelect picks input channels by index: output channel i is input channel
// Index[i], as torch.index_select(x, 1, index) does. An index may repeat or leave
// channels out. It is the selection of CondenseNet's converted learned group
// convolution and classifier (ShichenLiu/CondenseNet layers.py CondensingConv,
// CondenseConv and CondenseLinear): a pure selection, with no parameters and no MACs.
type IndexSelect struct {
	index []int

	n       int
	in, out Shape
	ready   bool
	y, dx   buffer
}

var (
	_ Layer     = (*IndexSelect)(nil)
	_ Describer = (*IndexSelect)(nil)
)

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
	return &IndexSelect{index: slices.Clone(index)}, nil
}

// Index returns a copy of the selected channels.
func (l *IndexSelect) Index() []int { return slices.Clone(l.index) }

// Describe implements Describer.
func (l *IndexSelect) Describe() string { return fmt.Sprintf("IndexSelect %d channels", len(l.index)) }

// OutShape implements Layer.
func (l *IndexSelect) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("index select: input shape %v is empty", in)
	}
	for _, i := range l.index {
		if i >= in.C {
			return Shape{}, fmt.Errorf("index select: channel %d of a %d-channel input", i, in.C)
		}
	}
	return Shape{C: len(l.index), H: in.H, W: in.W}, nil
}

// Cost implements Layer: selecting moves data and costs nothing.
func (l *IndexSelect) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *IndexSelect) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	l.n, l.in, l.out, l.ready = n, in, out, true
	y := l.y.get(n, out)
	plane := in.H * in.W
	xs, ys := x.Float32s(), y.Float32s()
	for s := range n {
		src, dst := xs[s*in.Size():(s+1)*in.Size()], ys[s*out.Size():(s+1)*out.Size()]
		for o, i := range l.index {
			copy(dst[o*plane:(o+1)*plane], src[i*plane:(i+1)*plane])
		}
	}
	return y, nil
}

// Backward implements Layer: each output channel's gradient is added to the input
// channel it was selected from.
func (l *IndexSelect) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if !l.ready {
		return nil, fmt.Errorf("index select: backward before forward")
	}
	if err := checkGrad(dy, l.n, l.out); err != nil {
		return nil, fmt.Errorf("index select: %w", err)
	}
	plane := l.in.H * l.in.W
	dx := l.dx.zeroed(l.n, l.in)
	dys, dxs := dy.Float32s(), dx.Float32s()
	for s := range l.n {
		src, dst := dys[s*l.out.Size():(s+1)*l.out.Size()], dxs[s*l.in.Size():(s+1)*l.in.Size()]
		for o, i := range l.index {
			d, g := dst[i*plane:(i+1)*plane], src[o*plane:(o+1)*plane]
			for k := range d {
				d[k] += g[k]
			}
		}
	}
	return dx, nil
}
