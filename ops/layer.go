package ops

import "gorgonia.org/tensor"

// Layer is a differentiable operator from one NCHW float32 tensor to another.
//
// Forward computes the output for x. Backward takes the gradient of the loss with
// respect to the output of the last Forward and returns the gradient with respect to
// its input, adding the gradients of the layer's parameters into their Grad tensors.
// Implementations must not modify x or dy, and own the tensors they return (see the
// package documentation).
//
// OutShape reports the per-sample output shape for a per-sample input shape, or an
// error if the layer cannot take that input. Cost reports the MACs and parameters of
// one sample at an input shape that OutShape accepts; it is computed from shapes alone.
type Layer interface {
	Forward(x *tensor.Dense) (*tensor.Dense, error)
	Backward(dy *tensor.Dense) (*tensor.Dense, error)
	OutShape(in Shape) (Shape, error)
	Cost(in Shape) Cost
}

// Parameterized is implemented by leaf layers that hold trainable parameters.
// Containers do not implement it; Params walks them instead.
type Parameterized interface {
	Params() []*Param
}

// ModeSetter is implemented by layers whose behaviour differs between training and
// evaluation, such as batch norm and dropout. Layers start in training mode.
type ModeSetter interface {
	SetTraining(training bool)
}

// Container is implemented by layers built from other layers. Children lists them
// in a fixed order, which names their parameters (see Params).
type Container interface {
	Children() []Layer
}

// Walk calls fn for l and then, depth first, for every layer inside it. The path
// names each layer by the child indices that lead to it, joined by dots ("" for l).
func Walk(l Layer, fn func(path string, l Layer)) {
	walk("", l, fn)
}

func walk(path string, l Layer, fn func(string, Layer)) {
	fn(path, l)
	c, ok := l.(Container)
	if !ok {
		return
	}
	for i, ch := range c.Children() {
		if ch == nil {
			continue
		}
		walk(joinPath(path, itoa(i)), ch, fn)
	}
}

// Params returns the parameters of l and of every layer inside it, named by their
// path in the layer tree followed by the parameter's own name ("2.0.weight").
func Params(l Layer) []*Param {
	var ps []*Param
	Walk(l, func(path string, l Layer) {
		p, ok := l.(Parameterized)
		if !ok {
			return
		}
		for _, q := range p.Params() {
			q.Path = joinPath(path, q.Name)
			ps = append(ps, q)
		}
	})
	return ps
}

// SetTraining switches every layer inside l that has a mode to training or evaluation.
func SetTraining(l Layer, training bool) {
	Walk(l, func(_ string, l Layer) {
		if m, ok := l.(ModeSetter); ok {
			m.SetTraining(training)
		}
	})
}

// ZeroGrad sets the gradients of every parameter inside l to zero.
func ZeroGrad(l Layer) {
	for _, p := range Params(l) {
		clear(p.Grad.Float32s())
	}
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}
