package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// SplitApply splits its input's channels into consecutive parts of the given sizes,
// applies Layers[i] to part i (nil passes it through) and concatenates the results.
// It is MixConv's split across kernel sizes and ShuffleNet V2's channel split.
type SplitApply struct {
	Splits []int
	Layers []Layer

	n      int
	in     Shape
	ins    []buffer
	outs   []*tensor.Dense
	out    buffer
	dparts []buffer
	dxs    []*tensor.Dense
	dx     buffer
}

var (
	_ Layer     = (*SplitApply)(nil)
	_ Container = (*SplitApply)(nil)
)

// NewSplitApply checks that there is one layer per split.
func NewSplitApply(splits []int, layers []Layer) (*SplitApply, error) {
	if len(splits) != len(layers) || len(splits) == 0 {
		return nil, fmt.Errorf("split: %d splits for %d layers", len(splits), len(layers))
	}
	for _, s := range splits {
		if s <= 0 {
			return nil, fmt.Errorf("split: sizes %v must be positive", splits)
		}
	}
	return &SplitApply{Splits: splits, Layers: layers}, nil
}

// EvenSplits divides c channels into k parts as MixConv does: equal parts, with the
// remainder added to the first.
func EvenSplits(c, k int) []int {
	s := make([]int, k)
	for i := range s {
		s[i] = c / k
	}
	s[0] += c - k*(c/k)
	return s
}

// Children implements Container.
func (s *SplitApply) Children() []Layer { return s.Layers }

func (s *SplitApply) shapes(in Shape) (ins, outs []Shape, err error) {
	total := 0
	for _, c := range s.Splits {
		total += c
	}
	if total != in.C {
		return nil, nil, fmt.Errorf("split: sizes %v do not add up to %d channels", s.Splits, in.C)
	}
	for i, c := range s.Splits {
		pi := Shape{c, in.H, in.W}
		po := pi
		if s.Layers[i] != nil {
			if po, err = s.Layers[i].OutShape(pi); err != nil {
				return nil, nil, fmt.Errorf("split %d: %w", i, err)
			}
		}
		ins, outs = append(ins, pi), append(outs, po)
	}
	return ins, outs, nil
}

// OutShape implements Layer.
func (s *SplitApply) OutShape(in Shape) (Shape, error) {
	_, outs, err := s.shapes(in)
	if err != nil {
		return Shape{}, err
	}
	return concatShape(outs)
}

// Cost implements Layer.
func (s *SplitApply) Cost(in Shape) Cost {
	var c Cost
	for i, l := range s.Layers {
		if l != nil {
			c = c.Add(l.Cost(Shape{s.Splits[i], in.H, in.W}))
		}
	}
	return c
}

// Forward implements Layer.
func (s *SplitApply) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(s, x)
	if err != nil {
		return nil, err
	}
	s.n, s.in = n, in
	ins, _, _ := s.shapes(in)
	for len(s.ins) < len(ins) {
		s.ins = append(s.ins, buffer{})
	}
	parts := make([]*tensor.Dense, len(ins))
	for i, pi := range ins {
		parts[i] = s.ins[i].get(n, pi)
	}
	splitChannels(x, parts)
	s.outs = s.outs[:0]
	for i, l := range s.Layers {
		y := parts[i]
		if l != nil {
			if y, err = l.Forward(parts[i]); err != nil {
				return nil, fmt.Errorf("split %d: %w", i, err)
			}
		}
		s.outs = append(s.outs, y)
	}
	y := s.out.get(n, out)
	concatChannels(y, s.outs)
	return y, nil
}

// Backward implements Layer.
func (s *SplitApply) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	_, outs, _ := s.shapes(s.in)
	for len(s.dparts) < len(outs) {
		s.dparts = append(s.dparts, buffer{})
	}
	parts := make([]*tensor.Dense, len(outs))
	for i, po := range outs {
		parts[i] = s.dparts[i].get(s.n, po)
	}
	splitChannels(dy, parts)
	s.dxs = s.dxs[:0]
	for i, l := range s.Layers {
		g := parts[i]
		if l != nil {
			var err error
			if g, err = l.Backward(parts[i]); err != nil {
				return nil, fmt.Errorf("split %d: %w", i, err)
			}
		}
		s.dxs = append(s.dxs, g)
	}
	dx := s.dx.get(s.n, s.in)
	concatChannels(dx, s.dxs)
	return dx, nil
}
