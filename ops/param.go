package ops

import "gorgonia.org/tensor"

// Param is a trainable tensor and its gradient, which Backward accumulates into.
type Param struct {
	// Name is the parameter's name within its layer, such as "weight" or "bias".
	Name string
	// Path is the parameter's full name in a network, set by Params.
	Path  string
	Value *tensor.Dense
	Grad  *tensor.Dense
}

func newParam(name string, shape ...int) *Param {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return &Param{
		Name:  name,
		Value: tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n))),
		Grad:  tensor.New(tensor.WithShape(shape...), tensor.WithBacking(make([]float32, n))),
	}
}

// Size returns the number of values in the parameter.
func (p *Param) Size() int { return p.Value.Shape().TotalSize() }
