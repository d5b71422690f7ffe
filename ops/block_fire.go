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
	// BatchNorm puts a batch norm between each convolution and its ReLU and drops
	// the convolutions' biases, as batch-normalised SqueezeNet variants do; false is
	// torchvision's Fire, which has no batch norm.
	BatchNorm bool
}

// NewFire returns SqueezeNet's Fire module (Iandola et al. 2016) as torchvision's
// models/squeezenet.py builds it: a 1x1 squeeze convolution with bias and ReLU, then
// two expand branches on its output, a 1x1 and a 3x3 (padding 1) convolution, each
// with bias and ReLU, concatenated along the channels. There is no batch norm unless
// c.BatchNorm asks for it.
func NewFire(c FireConfig) (*Block, error) {
	if c.In <= 0 || c.Squeeze <= 0 || c.Expand1x1 <= 0 || c.Expand3x3 <= 0 {
		return nil, fmt.Errorf("fire: channels %+v must be positive", c)
	}
	conv := func(in, out, k int) ([]Layer, error) {
		cv, err := Conv(in, out, k, 1, 1, !c.BatchNorm)
		if err != nil {
			return nil, fmt.Errorf("fire: %w", err)
		}
		if c.BatchNorm {
			return []Layer{cv, NewBatchNorm2D(out), NewReLU()}, nil
		}
		return []Layer{cv, NewReLU()}, nil
	}
	sq, err := conv(c.In, c.Squeeze, 1)
	if err != nil {
		return nil, err
	}
	e1, err := conv(c.Squeeze, c.Expand1x1, 1)
	if err != nil {
		return nil, err
	}
	e3, err := conv(c.Squeeze, c.Expand3x3, 3)
	if err != nil {
		return nil, err
	}
	body := Seq(append(sq, &Branches{Layers: []Layer{Seq(e1...), Seq(e3...)}})...)
	kind := "fire"
	if c.BatchNorm {
		kind = "fire_bn"
	}
	return &Block{
		Kind:     kind,
		Settings: fmt.Sprintf("%d->s%d e%d+%d", c.In, c.Squeeze, c.Expand1x1, c.Expand3x3),
		Body:     body,
	}, nil
}
