package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// ChannelShuffle is ShuffleNet's channel shuffle (Zhang et al. 2018): it views the C
// channels as (groups, C/groups), transposes to (C/groups, groups) and flattens, so
// output channel j*groups + i is input channel i*(C/groups) + j. After a grouped
// convolution it lets the next grouped convolution see channels of every group.
type ChannelShuffle struct {
	groups int

	n       int
	in      Shape
	ready   bool
	out, dx buffer
}

var _ Layer = (*ChannelShuffle)(nil)

// NewChannelShuffle returns a shuffle over the given number of groups.
func NewChannelShuffle(groups int) (*ChannelShuffle, error) {
	if groups <= 0 {
		return nil, fmt.Errorf("shuffle: %d groups must be positive", groups)
	}
	return &ChannelShuffle{groups: groups}, nil
}

// Groups returns the number of groups.
func (l *ChannelShuffle) Groups() int { return l.groups }

// OutShape implements Layer.
func (l *ChannelShuffle) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("shuffle: invalid input shape %v", in)
	}
	if in.C%l.groups != 0 {
		return Shape{}, fmt.Errorf("shuffle: %d groups do not divide %d channels", l.groups, in.C)
	}
	return in, nil
}

// Cost implements Layer: a shuffle only moves data.
func (l *ChannelShuffle) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *ChannelShuffle) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, _, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	l.n, l.in, l.ready = n, in, true
	y := l.out.get(n, in)
	permuteChannels(y.Float32s(), x.Float32s(), n, in, l.groups, false)
	return y, nil
}

// Backward implements Layer: the inverse permutation of the gradient.
func (l *ChannelShuffle) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if !l.ready {
		return nil, fmt.Errorf("shuffle: backward before forward")
	}
	if err := checkGrad(dy, l.n, l.in); err != nil {
		return nil, fmt.Errorf("shuffle: %w", err)
	}
	dx := l.dx.get(l.n, l.in)
	permuteChannels(dx.Float32s(), dy.Float32s(), l.n, l.in, l.groups, true)
	return dx, nil
}

// permuteChannels copies src to dst with the shuffle's channel permutation, or its
// inverse when inverse is set, one H*W plane at a time.
func permuteChannels(dst, src []float32, n int, s Shape, groups int, inverse bool) {
	if n*s.Size() < actParallelMin {
		permuteSamples(dst, src, 0, n, s, groups, inverse)
		return
	}
	parallelFor(n, func(_, lo, hi int) { permuteSamples(dst, src, lo, hi, s, groups, inverse) })
}

// permuteSamples is permuteChannels on samples [lo, hi).
func permuteSamples(dst, src []float32, lo, hi int, s Shape, groups int, inverse bool) {
	hw := s.H * s.W
	per := s.C / groups
	for i := lo; i < hi; i++ {
		base := i * s.C
		for g := 0; g < groups; g++ {
			for j := 0; j < per; j++ {
				from, to := g*per+j, j*groups+g
				if inverse {
					from, to = to, from
				}
				copy(dst[(base+to)*hw:(base+to+1)*hw], src[(base+from)*hw:(base+from+1)*hw])
			}
		}
	}
}
