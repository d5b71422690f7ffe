package ops

import "fmt"

// FlattenedConfig describes a k x k convolution replaced by one-dimensional filters.
type FlattenedConfig struct {
	// In and Out are the input and output channels.
	In, Out int
	// K is the length of the one-dimensional filters, odd; 0 means 3.
	K int
	// Stride is the stride of the k x k convolution replaced, 1 or 2; 0 means 1. The
	// k x 1 filter strides the height and the 1 x k filter the width, so the output
	// has the k x k convolution's shape.
	Stride int
	// Rectangular selects the Inception-v3 form (Szegedy et al. 2016, Fig. 6; the
	// BasicConv2d pairs of torchvision's inception.py): a k x 1 convolution from In to
	// Mid channels -> BN -> Act, then a 1 x k convolution from Mid to Out -> BN -> Act
	// (or 1 x k first with HorizontalFirst). The default, false, is Jin et al. 2014's
	// flattened layer: lateral 1x1 from In to Out, then vertical k x 1 and horizontal
	// 1 x k filters applied per channel (depthwise), then BN -> Act where the
	// original had its bias and ReLU.
	Rectangular bool
	// Mid is the rectangular form's channels between its two convolutions; 0 means Out.
	Mid int
	// HorizontalFirst puts the 1 x k convolution before the k x 1 in the rectangular
	// form, as Inception-v3's 17x17 branch7x7 does.
	HorizontalFirst bool
	// Act is the activation after each batch norm (ActReLU in both papers).
	Act Act
}

// NewFlattened returns a flattened convolution as a Block: see FlattenedConfig for
// its two forms (Jin et al. 2014, "Flattened convolutional neural networks for
// feedforward acceleration"; Szegedy et al. 2016, "Rethinking the Inception
// architecture"). No convolution has a bias.
func NewFlattened(c FlattenedConfig) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	if c.K == 0 {
		c.K = 3
	}
	if c.Mid == 0 {
		c.Mid = c.Out
	}
	switch {
	case c.In <= 0 || c.Out <= 0 || c.Mid <= 0:
		return nil, fmt.Errorf("flattened: channels %d -> %d -> %d must be positive", c.In, c.Mid, c.Out)
	case c.K < 0 || c.K%2 == 0:
		return nil, fmt.Errorf("flattened: kernel size %d, want positive and odd", c.K)
	case c.Stride > 2:
		return nil, fmt.Errorf("flattened: stride %d, want 1 or 2", c.Stride)
	case !c.Act.valid():
		return nil, fmt.Errorf("flattened: unknown activation %d", int(c.Act))
	}
	p := c.K / 2
	// vertical and horizontal return the k x 1 and 1 x k convolutions from in to out channels.
	vertical := func(in, out, groups int) ConvConfig {
		return ConvConfig{In: in, Out: out, KH: c.K, KW: 1, StrideH: c.Stride, PadH: p, Groups: groups}
	}
	horizontal := func(in, out, groups int) ConvConfig {
		return ConvConfig{In: in, Out: out, KH: 1, KW: c.K, StrideW: c.Stride, PadW: p, Groups: groups}
	}
	if c.Rectangular {
		first, second := vertical(c.In, c.Mid, 1), horizontal(c.Mid, c.Out, 1)
		order := "kx1,1xk"
		if c.HorizontalFirst {
			first, second = horizontal(c.In, c.Mid, 1), vertical(c.Mid, c.Out, 1)
			order = "1xk,kx1"
		}
		body, err := seqOf(
			func() (*Sequential, error) { return convBN(first, c.Act) },
			func() (*Sequential, error) { return convBN(second, c.Act) },
		)
		if err != nil {
			return nil, fmt.Errorf("flattened: %w", err)
		}
		return &Block{Kind: "flattened_rect", Body: body,
			Settings: fmt.Sprintf("%d->%d->%d k%d s%d %s %s", c.In, c.Mid, c.Out, c.K, c.Stride, order, c.Act)}, nil
	}
	lateral, err := NewConv2D(ConvConfig{In: c.In, Out: c.Out, KH: 1, KW: 1})
	if err != nil {
		return nil, fmt.Errorf("flattened: %w", err)
	}
	v, err := NewConv2D(vertical(c.Out, c.Out, c.Out))
	if err != nil {
		return nil, fmt.Errorf("flattened: %w", err)
	}
	h, err := convBN(horizontal(c.Out, c.Out, c.Out), c.Act)
	if err != nil {
		return nil, fmt.Errorf("flattened: %w", err)
	}
	return &Block{Kind: "flattened", Body: Seq(append([]Layer{lateral, v}, h.Layers...)...),
		Settings: fmt.Sprintf("%d->%d k%d s%d %s", c.In, c.Out, c.K, c.Stride, c.Act)}, nil
}
