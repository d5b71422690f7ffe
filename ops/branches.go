package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Branches applies each of its layers to the same input and concatenates their
// outputs along the channels, as in Inception modules and Fire's expand layer.
// A nil branch passes the input through.
type Branches struct {
	Layers []Layer

	x     *tensor.Dense
	n     int
	in    Shape
	outs  []*tensor.Dense
	out   buffer
	parts []buffer
	dx    buffer
}

var (
	_ Layer     = (*Branches)(nil)
	_ Container = (*Branches)(nil)
)

// Children implements Container.
func (b *Branches) Children() []Layer { return b.Layers }

func (b *Branches) shapes(in Shape) ([]Shape, error) {
	ss := make([]Shape, len(b.Layers))
	for i, l := range b.Layers {
		if l == nil {
			ss[i] = in
			continue
		}
		s, err := l.OutShape(in)
		if err != nil {
			return nil, fmt.Errorf("branch %d: %w", i, err)
		}
		ss[i] = s
	}
	return ss, nil
}

// OutShape implements Layer.
func (b *Branches) OutShape(in Shape) (Shape, error) {
	ss, err := b.shapes(in)
	if err != nil {
		return Shape{}, err
	}
	return concatShape(ss)
}

// Cost implements Layer.
func (b *Branches) Cost(in Shape) Cost {
	var c Cost
	for _, l := range b.Layers {
		if l != nil {
			c = c.Add(l.Cost(in))
		}
	}
	return c
}

// Forward implements Layer.
func (b *Branches) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(b, x)
	if err != nil {
		return nil, err
	}
	b.x, b.n, b.in = x, n, in
	b.outs = b.outs[:0]
	for i, l := range b.Layers {
		y := x
		if l != nil {
			if y, err = l.Forward(x); err != nil {
				return nil, fmt.Errorf("branch %d: %w", i, err)
			}
		}
		b.outs = append(b.outs, y)
	}
	y := b.out.get(n, out)
	concatChannels(y, b.outs)
	return y, nil
}

// Backward implements Layer.
func (b *Branches) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	ss, _ := b.shapes(b.in)
	for len(b.parts) < len(ss) {
		b.parts = append(b.parts, buffer{})
	}
	parts := make([]*tensor.Dense, len(ss))
	for i, s := range ss {
		parts[i] = b.parts[i].get(b.n, s)
	}
	splitChannels(dy, parts)
	dx := b.dx.zeroed(b.n, b.in)
	for i, l := range b.Layers {
		g := parts[i]
		if l != nil {
			var err error
			if g, err = l.Backward(parts[i]); err != nil {
				return nil, fmt.Errorf("branch %d: %w", i, err)
			}
		}
		addInto(dx.Float32s(), g.Float32s())
	}
	return dx, nil
}
