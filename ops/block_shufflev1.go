package ops

import "fmt"

// ShuffleV1Config describes a ShuffleNet V1 unit.
type ShuffleV1Config struct {
	// In and Out are the unit's input and output channels. A stride-2 unit
	// concatenates its pooled input to a main branch of Out - In channels.
	In, Out int
	// Groups is the number of groups g of both 1x1 convolutions and of the shuffle.
	Groups int
	// Mid is the bottleneck's channels; 0 means Out/4, as in the paper and
	// megvii's network.py (mid_channels = output_channel // 4).
	Mid int
	// Stride is 1 (residual add) or 2 (concatenation with a 3x3 average pool); 0
	// means 1.
	Stride int
	// K is the depthwise kernel size; 0 means 3.
	K int
	// UngroupedFirst leaves the first 1x1 convolution ungrouped, as the paper does for
	// the first unit of stage 2, whose input has too few channels (megvii's
	// first_group).
	UngroupedFirst bool
}

// NewShuffleV1 returns a ShuffleNet V1 unit (Zhang et al. 2018) as
// megvii-model/ShuffleNet-Series ShuffleNetV1/blocks.py builds it: grouped 1x1
// compress -> BN -> ReLU -> depthwise k x k (stride) -> BN -> channel shuffle ->
// grouped 1x1 expand -> BN; stride 1 adds the input and applies ReLU, stride 2
// concatenates a 3x3 stride-2 average pool of the input (zero padding 1, counted in
// the divisor, PyTorch's default) before the ReLU'd main branch. No convolution has a
// bias.
//
// As in megvii's code the shuffle comes after the depthwise stage (which is
// per-channel, so only the position of its parameters differs from the paper's
// shuffle before it) and reshapes the channels as (C/g, g) before transposing: it is
// ChannelShuffle with C/g groups, the inverse of the paper's g-group shuffle. Either
// sends every group's channels to every group; megvii's is the one whose trained
// weights and fixtures this reproduces.
func NewShuffleV1(c ShuffleV1Config) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	if c.K == 0 {
		c.K = 3
	}
	if c.Mid == 0 {
		c.Mid = c.Out / 4
	}
	main := c.Out
	if c.Stride == 2 {
		main = c.Out - c.In
	}
	g1 := c.Groups
	if c.UngroupedFirst {
		g1 = 1
	}
	switch {
	case c.In <= 0 || main <= 0 || c.Mid <= 0:
		return nil, fmt.Errorf("shufflenet v1: channels %d -> %d (bottleneck %d, main branch %d) must be positive", c.In, c.Out, c.Mid, main)
	case c.Groups <= 0:
		return nil, fmt.Errorf("shufflenet v1: %d groups must be positive", c.Groups)
	case c.Stride > 2:
		return nil, fmt.Errorf("shufflenet v1: stride %d, want 1 or 2", c.Stride)
	case c.K < 0 || c.K%2 == 0:
		return nil, fmt.Errorf("shufflenet v1: kernel size %d, want positive and odd", c.K)
	case c.Stride == 1 && c.In != c.Out:
		return nil, fmt.Errorf("shufflenet v1: a stride-1 unit needs In == Out, got %d -> %d", c.In, c.Out)
	case c.In%g1 != 0 || c.Mid%c.Groups != 0 || main%c.Groups != 0:
		return nil, fmt.Errorf("shufflenet v1: %d groups do not divide channels %d -> %d -> %d", c.Groups, c.In, c.Mid, main)
	}
	compress, err := convBN(ConvConfig{In: c.In, Out: c.Mid, KH: 1, KW: 1, Groups: g1}, ActReLU)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v1: %w", err)
	}
	dw, err := convBN(ConvConfig{In: c.Mid, Out: c.Mid, KH: c.K, KW: c.K, StrideH: c.Stride, StrideW: c.Stride,
		PadH: c.K / 2, PadW: c.K / 2, Groups: c.Mid}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v1: %w", err)
	}
	expand, err := convBN(ConvConfig{In: c.Mid, Out: main, KH: 1, KW: 1, Groups: c.Groups}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v1: %w", err)
	}
	body := Seq(append(compress.Layers, dw.Layers...)...)
	if c.Groups > 1 {
		s, err := NewChannelShuffle(c.Mid / c.Groups)
		if err != nil {
			return nil, fmt.Errorf("shufflenet v1: %w", err)
		}
		body.Layers = append(body.Layers, s)
	}
	body.Layers = append(body.Layers, expand.Layers...)

	settings := fmt.Sprintf("%d->%d->%d s%d g%d", c.In, c.Mid, c.Out, c.Stride, c.Groups)
	if c.UngroupedFirst {
		settings += " ungrouped-first"
	}
	b := &Block{Kind: "shufflenet_v1", Settings: settings}
	if c.Stride == 1 {
		b.Body = &Residual{Body: body, Post: NewReLU()}
		return b, nil
	}
	pool, err := NewAvgPool2D(PoolConfig{K: 3, Stride: 2, Pad: 1})
	if err != nil {
		return nil, fmt.Errorf("shufflenet v1: %w", err)
	}
	body.Layers = append(body.Layers, NewReLU())
	b.Body = &Branches{Layers: []Layer{pool, body}}
	return b, nil
}
