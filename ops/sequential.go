package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Sequential applies its layers one after another.
type Sequential struct {
	Layers []Layer
}

var (
	_ Layer     = (*Sequential)(nil)
	_ Container = (*Sequential)(nil)
)

// Seq returns a Sequential of the given layers.
func Seq(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Children implements Container.
func (s *Sequential) Children() []Layer { return s.Layers }

// OutShape implements Layer.
func (s *Sequential) OutShape(in Shape) (Shape, error) {
	for i, l := range s.Layers {
		out, err := l.OutShape(in)
		if err != nil {
			return Shape{}, fmt.Errorf("layer %d: %w", i, err)
		}
		in = out
	}
	return in, nil
}

// Cost implements Layer.
func (s *Sequential) Cost(in Shape) Cost {
	var c Cost
	for _, l := range s.Layers {
		c = c.Add(l.Cost(in))
		in, _ = l.OutShape(in)
	}
	return c
}

// Forward implements Layer.
func (s *Sequential) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	for i, l := range s.Layers {
		y, err := l.Forward(x)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		x = y
	}
	return x, nil
}

// Backward implements Layer.
func (s *Sequential) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dx, err := s.Layers[i].Backward(dy)
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		dy = dx
	}
	return dy, nil
}
