package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Sequential applies its layers one after another.
//
// A batch norm followed by a ReLU or ReLU6, a channel shuffle, or both, runs as one
// fused pass (see bnFuse): the result is that of the layers run one by one, within
// float32 rounding, and the parameters, paths and mode switches are those of the
// separate layers. The fused layers' own output buffers are not all written then;
// Backward of the Sequential is the way back through them.
type Sequential struct {
	Layers []Layer

	runs []seqRun // how the last Forward grouped the layers, for Backward
}

// seqRun is a run of layers that Forward executed together: one layer, or a batch
// norm and the layers fused into it.
type seqRun struct {
	start, count int
	fuse         bnFuse
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

// fusion returns how many layers from i run as one pass (1 when none is fused) and
// what the batch norm at i fuses.
func (s *Sequential) fusion(i int) (int, bnFuse) {
	f := bnFuse{groups: 1}
	if _, ok := s.Layers[i].(*BatchNorm2D); !ok {
		return 1, f
	}
	k := 1
	if i+k < len(s.Layers) {
		switch s.Layers[i+k].(type) {
		case *ReLU:
			f.act, k = ActReLU, k+1
		case *ReLU6:
			f.act, k = ActReLU6, k+1
		}
	}
	if i+k < len(s.Layers) {
		if sh, ok := s.Layers[i+k].(*ChannelShuffle); ok {
			f.groups, k = sh.groups, k+1
		}
	}
	return k, f
}

// Forward implements Layer.
func (s *Sequential) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	s.runs = s.runs[:0]
	for i := 0; i < len(s.Layers); {
		k, f := s.fusion(i)
		var y *tensor.Dense
		var err error
		if k > 1 {
			y, err = s.forwardFused(i, k, f, x)
		} else {
			y, err = s.Layers[i].Forward(x)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		s.runs = append(s.runs, seqRun{start: i, count: k, fuse: f})
		x = y
		i += k
	}
	return x, nil
}

// forwardFused runs layers i..i+k-1, a batch norm and what fuses into it, as one
// pass writing into the last layer's output buffer, and leaves the fused layers in
// the state their own Backward expects where that state exists: a shuffle can
// always go back, an activation only if it is last (it needs its output).
func (s *Sequential) forwardFused(i, k int, f bnFuse, x *tensor.Dense) (*tensor.Dense, error) {
	n, in, err := ShapeOf(x)
	if err != nil {
		return nil, err
	}
	for j := 1; j < k; j++ {
		if _, err := s.Layers[i+j].OutShape(in); err != nil {
			return nil, fmt.Errorf("fused layer %d: %w", i+j, err)
		}
	}
	var out *buffer
	switch l := s.Layers[i+k-1].(type) {
	case *ReLU:
		out = &l.a.out
	case *ReLU6:
		out = &l.a.out
	case *ChannelShuffle:
		out = &l.out
	}
	y, err := s.Layers[i].(*BatchNorm2D).forwardFused(x, f, out)
	if err != nil {
		return nil, err
	}
	for j := 1; j < k; j++ {
		switch l := s.Layers[i+j].(type) {
		case *ReLU:
			l.a.fused(n, in, j == k-1)
		case *ReLU6:
			l.a.fused(n, in, j == k-1)
		case *ChannelShuffle:
			l.n, l.in, l.ready = n, in, true
		}
	}
	return y, nil
}

// Backward implements Layer.
func (s *Sequential) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if len(s.runs) == 0 {
		// No Forward yet: the layers report it.
		for i := len(s.Layers) - 1; i >= 0; i-- {
			dx, err := s.Layers[i].Backward(dy)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			dy = dx
		}
		return dy, nil
	}
	for r := len(s.runs) - 1; r >= 0; r-- {
		run := s.runs[r]
		if run.start+run.count > len(s.Layers) {
			return nil, fmt.Errorf("layer %d: layers changed since forward", run.start)
		}
		var dx *tensor.Dense
		var err error
		if bn, ok := s.Layers[run.start].(*BatchNorm2D); ok && run.count > 1 {
			dx, err = bn.backwardFused(dy, run.fuse)
		} else {
			dx, err = s.Layers[run.start].Backward(dy)
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", run.start, err)
		}
		dy = dx
	}
	return dy, nil
}
