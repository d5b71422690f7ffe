package ops

import "fmt"

// ShuffleV2Config describes a ShuffleNet V2 unit.
type ShuffleV2Config struct {
	// In and Out are the unit's input and output channels; Out is even, and a
	// stride-1 unit has In == Out.
	In, Out int
	// Stride is 1 (channel split) or 2 (downsampling, both branches on the whole
	// input); 0 means 1.
	Stride int
}

// NewShuffleV2 returns a ShuffleNet V2 unit (Ma et al. 2018) as torchvision's
// shufflenetv2.InvertedResidual builds it, with b = Out/2 channels per branch.
// Stride 1 splits the channels in halves, keeps the first and passes the second
// through branch2 = 1x1 -> BN -> ReLU -> depthwise 3x3 -> BN -> 1x1 -> BN -> ReLU.
// Stride 2 applies branch1 = depthwise 3x3 stride 2 -> BN -> 1x1 -> BN -> ReLU and
// branch2 (with a stride-2 depthwise and In input channels) to the whole input. Both
// concatenate the two halves and shuffle the channels over 2 groups. No convolution
// has a bias.
func NewShuffleV2(c ShuffleV2Config) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	b := c.Out / 2
	switch {
	case c.In <= 0 || c.Out <= 0 || c.Out%2 != 0:
		return nil, fmt.Errorf("shufflenet v2: channels %d -> %d must be positive and the output even", c.In, c.Out)
	case c.Stride > 2:
		return nil, fmt.Errorf("shufflenet v2: stride %d, want 1 or 2", c.Stride)
	case c.Stride == 1 && c.In != c.Out:
		return nil, fmt.Errorf("shufflenet v2: a stride-1 unit needs In == Out, got %d -> %d", c.In, c.Out)
	}
	in2 := b
	if c.Stride == 2 {
		in2 = c.In
	}
	branch2, err := seqOf(
		func() (*Sequential, error) { return convBN(ConvConfig{In: in2, Out: b, KH: 1, KW: 1}, ActReLU) },
		func() (*Sequential, error) { return convBN(depthwise3x3(b, c.Stride), ActNone) },
		func() (*Sequential, error) { return convBN(ConvConfig{In: b, Out: b, KH: 1, KW: 1}, ActReLU) },
	)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v2: %w", err)
	}
	shuffle, err := NewChannelShuffle(2)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v2: %w", err)
	}
	blk := &Block{Kind: "shufflenet_v2", Settings: fmt.Sprintf("%d->%d s%d", c.In, c.Out, c.Stride)}
	if c.Stride == 1 {
		split, err := NewSplitApply([]int{b, b}, []Layer{nil, branch2})
		if err != nil {
			return nil, fmt.Errorf("shufflenet v2: %w", err)
		}
		blk.Body = Seq(split, shuffle)
		return blk, nil
	}
	branch1, err := seqOf(
		func() (*Sequential, error) { return convBN(depthwise3x3(c.In, 2), ActNone) },
		func() (*Sequential, error) { return convBN(ConvConfig{In: c.In, Out: b, KH: 1, KW: 1}, ActReLU) },
	)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v2: %w", err)
	}
	blk.Body = Seq(&Branches{Layers: []Layer{branch1, branch2}}, shuffle)
	return blk, nil
}

// depthwise3x3 is the configuration of a 3x3 depthwise convolution with padding 1.
func depthwise3x3(c, stride int) ConvConfig {
	return ConvConfig{In: c, Out: c, KH: 3, KW: 3, StrideH: stride, StrideW: stride, PadH: 1, PadW: 1, Groups: c}
}

// seqOf concatenates the layers of the Sequentials the steps build into one
// Sequential, stopping at the first error.
func seqOf(steps ...func() (*Sequential, error)) (*Sequential, error) {
	s := Seq()
	for _, step := range steps {
		p, err := step()
		if err != nil {
			return nil, err
		}
		s.Layers = append(s.Layers, p.Layers...)
	}
	return s, nil
}
