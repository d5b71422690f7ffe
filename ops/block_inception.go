package ops

import "fmt"

// InceptionConfig describes GoogLeNet's Inception module by its six widths, named as
// torchvision's models/googlenet.py names them.
type InceptionConfig struct {
	// In is the number of input channels.
	In int
	// Ch1x1 is the width of the 1x1 branch.
	Ch1x1 int
	// Ch3x3Red and Ch3x3 are the widths of the 1x1 reduction and the 3x3 of branch 2.
	Ch3x3Red, Ch3x3 int
	// Ch5x5Red and Ch5x5 are the widths of branch 3's 1x1 reduction and of its
	// second convolution, which is 3x3 as in torchvision (the paper has 5x5).
	Ch5x5Red, Ch5x5 int
	// PoolProj is the width of the 1x1 projection after branch 4's max pool.
	PoolProj int
}

// inceptionBNEps is the batch norm epsilon of torchvision's BasicConv2d.
const inceptionBNEps = 0.001

// basicConv2d is torchvision googlenet.py's BasicConv2d: a k x k convolution with
// "same" padding and no bias, batch norm with eps 0.001, and ReLU.
func basicConv2d(in, out, k int) (*Sequential, error) {
	s, err := convBN(ConvConfig{In: in, Out: out, KH: k, KW: k, PadH: k / 2, PadW: k / 2}, ActReLU)
	if err != nil {
		return nil, err
	}
	s.Layers[1].(*BatchNorm2D).Eps = inceptionBNEps
	return s, nil
}

// NewInception returns GoogLeNet's Inception module (Szegedy et al. 2015) as
// torchvision's models/googlenet.py builds it: four branches concatenated along the
// channels, a 1x1 BasicConv2d; 1x1 then 3x3; 1x1 then 3x3 (torchvision's known
// deviation from the paper's 5x5, kept so that networks match torchvision's counts);
// and a 3x3 stride-1 max pool (padding 1, ceil mode) then a 1x1. Each BasicConv2d is
// a convolution without bias, batch norm (eps 0.001) and ReLU.
func NewInception(c InceptionConfig) (*Block, error) {
	if c.In <= 0 || c.Ch1x1 <= 0 || c.Ch3x3Red <= 0 || c.Ch3x3 <= 0 || c.Ch5x5Red <= 0 || c.Ch5x5 <= 0 || c.PoolProj <= 0 {
		return nil, fmt.Errorf("inception: channels %+v must be positive", c)
	}
	var convs [6]*Sequential
	for i, io := range [6][3]int{
		{c.In, c.Ch1x1, 1}, {c.In, c.Ch3x3Red, 1}, {c.Ch3x3Red, c.Ch3x3, 3},
		{c.In, c.Ch5x5Red, 1}, {c.Ch5x5Red, c.Ch5x5, 3}, {c.In, c.PoolProj, 1},
	} {
		s, err := basicConv2d(io[0], io[1], io[2])
		if err != nil {
			return nil, fmt.Errorf("inception: %w", err)
		}
		convs[i] = s
	}
	pool, err := NewMaxPool2D(PoolConfig{K: 3, Stride: 1, Pad: 1, CeilMode: true})
	if err != nil {
		return nil, fmt.Errorf("inception: %w", err)
	}
	body := &Branches{Layers: []Layer{
		convs[0],
		Seq(convs[1], convs[2]),
		Seq(convs[3], convs[4]),
		Seq(pool, convs[5]),
	}}
	return &Block{
		Kind: "inception",
		Settings: fmt.Sprintf("%d-> 1x1:%d 3x3:%d>%d 5x5:%d>%d pool:%d", c.In, c.Ch1x1, c.Ch3x3Red, c.Ch3x3,
			c.Ch5x5Red, c.Ch5x5, c.PoolProj),
		Body: body,
	}, nil
}
