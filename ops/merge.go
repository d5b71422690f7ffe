package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// This file holds the multi-input and multi-output operators that graph-shaped
// blocks (octave convolution, Big-Little Net) wire by hand: Add, Concat and Split.
// They are not Layers, which have one input and one output, but they follow the
// same contract: they never modify their arguments, they own the tensors and the
// slices they return until their next call of the same method, they reuse that
// memory across steps, and an instance keeps the state of its last Forward for
// Backward. They cost nothing under the package's cost convention.

// Add sums tensors of the same shape element by element. The gradient of each input
// is the output gradient.
type Add struct {
	n     int
	s     Shape
	k     int // number of inputs of the last Forward
	out   buffer
	grads []buffer
	gs    []*tensor.Dense
}

// Describe names the op.
func (a *Add) Describe() string { return "Add" }

// OutShape returns the shape of the sum of inputs of the given shapes, or an error
// unless there is at least one and all are equal.
func (a *Add) OutShape(ins ...Shape) (Shape, error) {
	if len(ins) == 0 {
		return Shape{}, fmt.Errorf("add: no inputs")
	}
	if err := sameShapes("add", ins...); err != nil {
		return Shape{}, err
	}
	return ins[0], nil
}

// Cost returns zero: additions are not counted (see the package documentation).
func (a *Add) Cost(...Shape) Cost { return Cost{} }

// Forward returns the element-wise sum of xs, which must have the same shape.
func (a *Add) Forward(xs ...*tensor.Dense) (*tensor.Dense, error) {
	n, s, err := sameBatchShapes("add", xs)
	if err != nil {
		return nil, err
	}
	for i, x := range xs {
		if _, si, _ := ShapeOf(x); si != s {
			return nil, fmt.Errorf("add: input %d has shape %v, input 0 %v", i, si, s)
		}
	}
	a.n, a.s, a.k = n, s, len(xs)
	y := a.out.get(n, s)
	yd := y.Float32s()
	copy(yd, xs[0].Float32s())
	for _, x := range xs[1:] {
		addInto(yd, x.Float32s())
	}
	return y, nil
}

// Backward returns the gradients of the inputs of the last Forward: one copy of dy
// per input, so that callers may pass them on to layers or accumulate into them.
func (a *Add) Backward(dy *tensor.Dense) ([]*tensor.Dense, error) {
	if a.k == 0 {
		return nil, fmt.Errorf("add: backward before forward")
	}
	if err := checkGrad(dy, a.n, a.s); err != nil {
		return nil, fmt.Errorf("add: %w", err)
	}
	for len(a.grads) < a.k {
		a.grads = append(a.grads, buffer{})
	}
	a.gs = a.gs[:0]
	for i := 0; i < a.k; i++ {
		g := a.grads[i].get(a.n, a.s)
		copy(g.Float32s(), dy.Float32s())
		a.gs = append(a.gs, g)
	}
	return a.gs, nil
}

// Concat concatenates tensors along the channels, in argument order. Backward
// splits the output gradient back into the inputs' channel ranges.
type Concat struct {
	n      int
	ins    []Shape // the per-sample shapes of the inputs of the last Forward
	outS   Shape
	out    buffer
	grads  []buffer
	gs     []*tensor.Dense
	called bool
}

// Describe names the op.
func (c *Concat) Describe() string { return "Concat" }

// OutShape returns the shape of the concatenation of inputs of the given shapes, or
// an error unless there is at least one and their heights and widths agree.
func (c *Concat) OutShape(ins ...Shape) (Shape, error) { return concatShape(ins) }

// Cost returns zero: copies are not counted (see the package documentation).
func (c *Concat) Cost(...Shape) Cost { return Cost{} }

// Forward returns xs concatenated along the channels.
func (c *Concat) Forward(xs ...*tensor.Dense) (*tensor.Dense, error) {
	n, _, err := sameBatchShapes("concat", xs)
	if err != nil {
		return nil, err
	}
	c.ins = c.ins[:0]
	for _, x := range xs {
		_, s, _ := ShapeOf(x)
		c.ins = append(c.ins, s)
	}
	out, err := concatShape(c.ins)
	if err != nil {
		return nil, err
	}
	c.n, c.outS, c.called = n, out, true
	y := c.out.get(n, out)
	concatChannels(y, xs)
	return y, nil
}

// Backward returns the gradients of the inputs of the last Forward: dy's channel
// ranges, in input order.
func (c *Concat) Backward(dy *tensor.Dense) ([]*tensor.Dense, error) {
	if !c.called {
		return nil, fmt.Errorf("concat: backward before forward")
	}
	if err := checkGrad(dy, c.n, c.outS); err != nil {
		return nil, fmt.Errorf("concat: %w", err)
	}
	for len(c.grads) < len(c.ins) {
		c.grads = append(c.grads, buffer{})
	}
	c.gs = c.gs[:0]
	for i, s := range c.ins {
		c.gs = append(c.gs, c.grads[i].get(c.n, s))
	}
	splitChannels(dy, c.gs)
	return c.gs, nil
}

// Split cuts a tensor's channels into consecutive parts of the given sizes, the
// inverse of Concat. Backward concatenates the parts' gradients.
type Split struct {
	// Sizes are the parts' channel counts, in order; they must be positive and add
	// up to the input's channels.
	Sizes []int

	n     int
	in    Shape
	parts []buffer
	ps    []*tensor.Dense
	outs  []Shape
	dx    buffer
}

// NewSplit returns a Split into parts of the given sizes, checking that they are
// positive.
func NewSplit(sizes ...int) (*Split, error) {
	if len(sizes) == 0 {
		return nil, fmt.Errorf("split: no sizes")
	}
	for _, c := range sizes {
		if c <= 0 {
			return nil, fmt.Errorf("split: sizes %v must be positive", sizes)
		}
	}
	return &Split{Sizes: sizes}, nil
}

// Describe names the op and its sizes, such as "Split [16 16]".
func (s *Split) Describe() string { return fmt.Sprintf("Split %v", s.Sizes) }

// OutShapes returns the shapes of the parts of an input of shape in, or an error
// unless the sizes are positive and add up to its channels.
func (s *Split) OutShapes(in Shape) ([]Shape, error) {
	if err := s.checkShape(in); err != nil {
		return nil, err
	}
	outs := make([]Shape, len(s.Sizes))
	for i, c := range s.Sizes {
		outs[i] = Shape{c, in.H, in.W}
	}
	return outs, nil
}

func (s *Split) checkShape(in Shape) error {
	if len(s.Sizes) == 0 {
		return fmt.Errorf("split: no sizes")
	}
	total := 0
	for _, c := range s.Sizes {
		if c <= 0 {
			return fmt.Errorf("split: sizes %v must be positive", s.Sizes)
		}
		total += c
	}
	if !in.valid() || total != in.C {
		return fmt.Errorf("split: sizes %v do not add up to the %d channels of %v", s.Sizes, in.C, in)
	}
	return nil
}

// Cost returns zero: copies are not counted (see the package documentation).
func (s *Split) Cost(Shape) Cost { return Cost{} }

// Forward returns x's channels cut into parts of sizes Sizes.
func (s *Split) Forward(x *tensor.Dense) ([]*tensor.Dense, error) {
	n, in, err := ShapeOf(x)
	if err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	if err := s.checkShape(in); err != nil {
		return nil, err
	}
	s.n, s.in = n, in
	for len(s.parts) < len(s.Sizes) {
		s.parts = append(s.parts, buffer{})
	}
	s.ps, s.outs = s.ps[:0], s.outs[:0]
	for i, c := range s.Sizes {
		o := Shape{c, in.H, in.W}
		s.outs = append(s.outs, o)
		s.ps = append(s.ps, s.parts[i].get(n, o))
	}
	splitChannels(x, s.ps)
	return s.ps, nil
}

// Backward takes the gradients of the parts of the last Forward, in order, and
// returns the gradient of its input: their concatenation.
func (s *Split) Backward(dys ...*tensor.Dense) (*tensor.Dense, error) {
	if len(s.outs) == 0 {
		return nil, fmt.Errorf("split: backward before forward")
	}
	if len(dys) != len(s.outs) {
		return nil, fmt.Errorf("split: %d gradients for %d parts", len(dys), len(s.outs))
	}
	for i, dy := range dys {
		if err := checkGrad(dy, s.n, s.outs[i]); err != nil {
			return nil, fmt.Errorf("split: part %d: %w", i, err)
		}
	}
	dx := s.dx.get(s.n, s.in)
	concatChannels(dx, dys)
	return dx, nil
}

// sameBatchShapes checks that there is at least one tensor and that all have the
// same batch size, returning it and the first tensor's per-sample shape.
func sameBatchShapes(what string, xs []*tensor.Dense) (int, Shape, error) {
	if len(xs) == 0 {
		return 0, Shape{}, fmt.Errorf("%s: no inputs", what)
	}
	var (
		n  int
		s0 Shape
	)
	for i, x := range xs {
		m, s, err := ShapeOf(x)
		if err != nil {
			return 0, Shape{}, fmt.Errorf("%s: input %d: %w", what, i, err)
		}
		if i == 0 {
			n, s0 = m, s
		} else if m != n {
			return 0, Shape{}, fmt.Errorf("%s: input %d has batch size %d, input 0 %d", what, i, m, n)
		}
	}
	return n, s0, nil
}
