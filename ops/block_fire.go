package ops

import "fmt"

// FireConfig describes SqueezeNet's Fire module.
type FireConfig struct {
	// In is the number of input channels.
	In int
	// Squeeze is the width of the 1x1 squeeze convolution.
	Squeeze int
	// Expand1x1 and Expand3x3 are the widths of the two expand convolutions, whose
	// outputs are concatenated in that order.
	Expand1x1, Expand3x3 int
}

// NewFire returns SqueezeNet's Fire module (Iandola et al. 2016) as torchvision's
// models/squeezenet.py builds it: a 1x1 squeeze convolution with bias and ReLU, then
// two expand branches on its output, a 1x1 and a 3x3 (padding 1) convolution, each
// with bias and ReLU, concatenated along the channels. There is no batch norm.
func NewFire(c FireConfig) (*Block, error) {
	if c.In <= 0 || c.Squeeze <= 0 || c.Expand1x1 <= 0 || c.Expand3x3 <= 0 {
		return nil, fmt.Errorf("fire: channels %+v must be positive", c)
	}
	sq, err := Conv(c.In, c.Squeeze, 1, 1, 1, true)
	if err != nil {
		return nil, fmt.Errorf("fire: %w", err)
	}
	e1, err := Conv(c.Squeeze, c.Expand1x1, 1, 1, 1, true)
	if err != nil {
		return nil, fmt.Errorf("fire: %w", err)
	}
	e3, err := Conv(c.Squeeze, c.Expand3x3, 3, 1, 1, true)
	if err != nil {
		return nil, fmt.Errorf("fire: %w", err)
	}
	body := Seq(sq, NewReLU(), &Branches{Layers: []Layer{Seq(e1, NewReLU()), Seq(e3, NewReLU())}})
	return &Block{
		Kind:     "fire",
		Settings: fmt.Sprintf("%d->s%d e%d+%d", c.In, c.Squeeze, c.Expand1x1, c.Expand3x3),
		Body:     body,
	}, nil
}
