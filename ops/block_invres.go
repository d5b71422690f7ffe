package ops

import (
	"fmt"
	"math"
	"strings"
)

// InvertedResidualConfig describes an inverted residual block (MobileNetV2's
// bottleneck, MBConv), generalized to the grouped and mixed-kernel forms of the
// reference network and MixNet.
type InvertedResidualConfig struct {
	// In and Out are the block's input and output channels.
	In, Out int
	// Mid is the number of expanded channels. If Mid is 0 it is round(In*Expand),
	// rounding half to even as Python's round does (torchvision's
	// int(round(inp * expand_ratio))).
	Mid int
	// Expand is the expansion ratio used when Mid is 0; 0 means 1.
	Expand float64
	// Stride is the depthwise stride, 1 or 2; 0 means 1.
	Stride int
	// Dilation is the depthwise dilation; 0 means 1.
	Dilation int
	// Kernels are the depthwise kernel sizes, mixed as in MixConv when there are
	// several; empty means [3].
	Kernels []int
	// Groups groups both 1x1 convolutions; 0 means 1. ExpandGroups and ProjectGroups,
	// when not 0, override it for one of them (MixNet's "a1.1" and "p1.1" split the
	// expansion and the projection into two groups independently).
	Groups, ExpandGroups, ProjectGroups int
	// Shuffle adds a channel shuffle over the expansion's groups after its activation
	// when it has more than one group, as the reference network does. Without an
	// expansion there is no shuffle.
	Shuffle bool
	// KeepExpand keeps the expansion 1x1 even when Mid == In, as timm's
	// InvertedResidual does. By default it is left out then, as in torchvision's
	// MobileNetV2 when the expansion ratio is 1.
	KeepExpand bool
	// Act is the activation after the expansion's and the depthwise convolution's
	// batch norms: ActReLU6 for MobileNetV2 and the reference network, ActReLU or
	// ActSwish for MixNet. ActNone makes the block linear.
	Act Act
	// SE is the number of reduced channels of a squeeze-and-excitation after the
	// depthwise stage; 0 means none unless SERatio is set.
	SE int
	// SERatio sets SE to max(1, int(In*SERatio)) when SE is 0: MixNet computes the
	// reduced channels from the block's input channels (the TF mixnet_builder's
	// num_reduced_filters).
	SERatio float64
	// SEAct is the activation inside the squeeze-and-excitation; ActNone means Act,
	// as in timm's SqueezeExcite which takes the block's act_layer.
	SEAct Act
	// SEGate is the squeeze-and-excitation's gate; ActNone means ActSigmoid.
	SEGate Act
	// NoSkip leaves out the residual connection, which is otherwise added when
	// Stride is 1 and In == Out.
	NoSkip bool
}

// NewInvertedResidual returns an inverted residual block (Sandler et al. 2018,
// "MobileNetV2"): expansion 1x1 (grouped) -> BN -> Act -> [channel shuffle] ->
// depthwise (MixConv over Kernels) -> BN -> Act -> [squeeze-and-excitation] ->
// projection 1x1 (grouped) -> BN -> [+ input]. No convolution has a bias. It
// reproduces torchvision's mobilenetv2.InvertedResidual, the Block of
// /work/shared/bench/reference_net.py (grouped 1x1s, shuffle, MixConv) and timm's
// efficientnet_blocks.InvertedResidual with MixedConv2d as MixNet builds it (timm's
// 1x1 MixedConv2d over kernels [1, 1] is a 2-group convolution when the channel
// counts are even, as they are in MixNet).
func NewInvertedResidual(c InvertedResidualConfig) (*Block, error) {
	c.Stride, c.Dilation, c.Groups = max(c.Stride, 1), max(c.Dilation, 1), max(c.Groups, 1)
	if c.ExpandGroups == 0 {
		c.ExpandGroups = c.Groups
	}
	if c.ProjectGroups == 0 {
		c.ProjectGroups = c.Groups
	}
	if c.Mid == 0 {
		e := c.Expand
		if e == 0 {
			e = 1
		}
		c.Mid = int(math.RoundToEven(float64(c.In) * e))
	}
	if len(c.Kernels) == 0 {
		c.Kernels = []int{3}
	}
	if c.SE == 0 && c.SERatio > 0 {
		c.SE = max(1, int(float64(c.In)*c.SERatio))
	}
	if c.SEAct == ActNone {
		c.SEAct = c.Act
	}
	if c.SEGate == ActNone {
		c.SEGate = ActSigmoid
	}
	switch {
	case c.In <= 0 || c.Out <= 0 || c.Mid <= 0:
		return nil, fmt.Errorf("inverted residual: channels %d -> %d -> %d must be positive", c.In, c.Mid, c.Out)
	case c.Stride > 2:
		return nil, fmt.Errorf("inverted residual: stride %d, want 1 or 2", c.Stride)
	case c.ExpandGroups < 0 || c.ProjectGroups < 0:
		return nil, fmt.Errorf("inverted residual: groups %d and %d must be positive", c.ExpandGroups, c.ProjectGroups)
	case c.SE < 0:
		return nil, fmt.Errorf("inverted residual: %d squeeze-excite channels must not be negative", c.SE)
	case !c.Act.valid():
		return nil, fmt.Errorf("inverted residual: unknown activation %d", int(c.Act))
	}
	expand := c.Mid != c.In || c.KeepExpand
	if expand && (c.In%c.ExpandGroups != 0 || c.Mid%c.ExpandGroups != 0) {
		return nil, fmt.Errorf("inverted residual: %d expansion groups do not divide channels %d -> %d", c.ExpandGroups, c.In, c.Mid)
	}
	if c.Mid%c.ProjectGroups != 0 || c.Out%c.ProjectGroups != 0 {
		return nil, fmt.Errorf("inverted residual: %d projection groups do not divide channels %d -> %d", c.ProjectGroups, c.Mid, c.Out)
	}

	body := Seq()
	if expand {
		e, err := convBN(ConvConfig{In: c.In, Out: c.Mid, KH: 1, KW: 1, Groups: c.ExpandGroups}, c.Act)
		if err != nil {
			return nil, fmt.Errorf("inverted residual expansion: %w", err)
		}
		body.Layers = append(body.Layers, e.Layers...)
		if c.Shuffle && c.ExpandGroups > 1 {
			s, err := NewChannelShuffle(c.ExpandGroups)
			if err != nil {
				return nil, fmt.Errorf("inverted residual: %w", err)
			}
			body.Layers = append(body.Layers, s)
		}
	}
	dw, err := mixConv(c.Mid, c.Kernels, c.Stride, c.Dilation)
	if err != nil {
		return nil, fmt.Errorf("inverted residual depthwise: %w", err)
	}
	body.Layers = append(body.Layers, dw, NewBatchNorm2D(c.Mid))
	if a := newAct(c.Act); a != nil {
		body.Layers = append(body.Layers, a)
	}
	if c.SE > 0 {
		se, err := newSqueezeExcite(c.Mid, c.SE, c.SEAct, c.SEGate)
		if err != nil {
			return nil, fmt.Errorf("inverted residual: %w", err)
		}
		body.Layers = append(body.Layers, se)
	}
	p, err := convBN(ConvConfig{In: c.Mid, Out: c.Out, KH: 1, KW: 1, Groups: c.ProjectGroups}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("inverted residual projection: %w", err)
	}
	body.Layers = append(body.Layers, p.Layers...)

	var s strings.Builder
	fmt.Fprintf(&s, "%d->%d->%d k%s s%d", c.In, c.Mid, c.Out, kernelList(c.Kernels), c.Stride)
	if c.ExpandGroups > 1 || c.ProjectGroups > 1 {
		fmt.Fprintf(&s, " g%d/%d", c.ExpandGroups, c.ProjectGroups)
	}
	if c.Shuffle && expand && c.ExpandGroups > 1 {
		s.WriteString(" shuffle")
	}
	if c.SE > 0 {
		fmt.Fprintf(&s, " se%d", c.SE)
	}
	fmt.Fprintf(&s, " %s", c.Act)
	b := &Block{Kind: "inverted_residual", Body: body}
	if c.Stride == 1 && c.In == c.Out && !c.NoSkip {
		b.Body = &Residual{Body: body}
		s.WriteString(" residual")
	}
	b.Settings = s.String()
	return b, nil
}
