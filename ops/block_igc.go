package ops

import "fmt"

// IGCConfig describes an interleaved group convolution.
type IGCConfig struct {
	// In and Out are the input and output channels.
	In, Out int
	// K is the primary convolution's kernel size, odd; 0 means 3.
	K int
	// Stride is the primary convolution's stride, 1 or 2; 0 means 1.
	Stride int
	// Primary is L, the number of primary partitions: the groups of the K x K
	// convolution.
	Primary int
	// Secondary is M, the number of secondary partitions: the groups of the 1x1
	// convolution. Out/Primary gives each secondary partition one channel of every
	// primary one, the paper's form; the reference's blocks use In/Primary in a
	// block's first IGC.
	Secondary int
	// Act follows the batch norm: ActReLU in the reference except for a block's
	// second IGC, which has ActNone.
	Act Act
}

// igcBNEps is the batch norm epsilon of hellozting/InterleavedGroupConvolutions'
// MXNet symbols (eps=2e-5).
const igcBNEps = 2e-5

// NewIGC returns an interleaved group convolution (Zhang et al., "Interleaved Group
// Convolutions", ICCV 2017) as hellozting/InterleavedGroupConvolutions
// network/resnet_igc.py's get_igc builds it: the primary group convolution (K x K,
// Primary groups), the permutation Reorder(Primary), the secondary group convolution
// (1x1, Secondary groups), the permutation back Reorder(Secondary), then batch norm and
// Act. Reorder(b) (src/reorder-inl.h) views the channels as (b, C/b) and transposes,
// which is ChannelShuffle(b). Neither convolution has a bias.
func NewIGC(c IGCConfig) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	if c.K == 0 {
		c.K = 3
	}
	switch {
	case c.In <= 0 || c.Out <= 0 || c.Primary <= 0 || c.Secondary <= 0:
		return nil, fmt.Errorf("igc: channels %d -> %d and partitions L=%d M=%d must be positive", c.In, c.Out, c.Primary, c.Secondary)
	case c.K < 0 || c.K%2 == 0:
		return nil, fmt.Errorf("igc: kernel size %d, want positive and odd", c.K)
	case c.Stride > 2:
		return nil, fmt.Errorf("igc: stride %d, want 1 or 2", c.Stride)
	case !c.Act.valid():
		return nil, fmt.Errorf("igc: unknown activation %d", int(c.Act))
	}
	p, err := NewConv2D(ConvConfig{In: c.In, Out: c.Out, KH: c.K, KW: c.K, StrideH: c.Stride, StrideW: c.Stride,
		PadH: c.K / 2, PadW: c.K / 2, Groups: c.Primary})
	if err != nil {
		return nil, fmt.Errorf("igc: primary: %w", err)
	}
	s, err := NewConv2D(ConvConfig{In: c.Out, Out: c.Out, KH: 1, KW: 1, Groups: c.Secondary})
	if err != nil {
		return nil, fmt.Errorf("igc: secondary: %w", err)
	}
	p1, err := NewChannelShuffle(c.Primary)
	if err != nil {
		return nil, fmt.Errorf("igc: %w", err)
	}
	p2, err := NewChannelShuffle(c.Secondary)
	if err != nil {
		return nil, fmt.Errorf("igc: %w", err)
	}
	if c.Out%c.Secondary != 0 {
		return nil, fmt.Errorf("igc: %d secondary partitions do not divide %d channels", c.Secondary, c.Out)
	}
	bn := NewBatchNorm2D(c.Out)
	bn.Eps = igcBNEps
	body := Seq(p, p1, s, p2, bn)
	if a := newAct(c.Act); a != nil {
		body.Layers = append(body.Layers, a)
	}
	return &Block{
		Kind:     "igc",
		Settings: fmt.Sprintf("%d->%d k%d s%d L%d M%d %s", c.In, c.Out, c.K, c.Stride, c.Primary, c.Secondary, c.Act),
		Body:     body,
	}, nil
}

// IGCV1Config describes an IGCV1 residual block.
type IGCV1Config struct {
	// In and Out are the input and output channels; when they differ the block
	// downsamples with stride 2, as the reference's get_two and get_zero decide.
	In, Out int
	// Primary is L, the number of primary partitions of both IGCs and the groups of
	// the projection shortcut.
	Primary int
}

// NewIGCV1 returns the residual block of IGCNets as resnet_igc.py's get_fusion builds
// it: two 3x3 IGCs (the first with stride 2 when In != Out and Secondary In/L, the
// second with Secondary Out/L and no ReLU), plus the identity or, when the width
// changes, a 1x1 stride-2 group convolution (L groups) + BN, then ReLU.
func NewIGCV1(c IGCV1Config) (*Block, error) {
	if c.In <= 0 || c.Out <= 0 || c.Primary <= 0 || c.In%c.Primary != 0 || c.Out%c.Primary != 0 {
		return nil, fmt.Errorf("igcv1: %d primary partitions do not divide channels %d -> %d", c.Primary, c.In, c.Out)
	}
	stride := 1
	if c.In != c.Out {
		stride = 2
	}
	a, err := NewIGC(IGCConfig{In: c.In, Out: c.Out, Stride: stride, Primary: c.Primary, Secondary: c.In / c.Primary, Act: ActReLU})
	if err != nil {
		return nil, fmt.Errorf("igcv1: %w", err)
	}
	b, err := NewIGC(IGCConfig{In: c.Out, Out: c.Out, Primary: c.Primary, Secondary: c.Out / c.Primary})
	if err != nil {
		return nil, fmt.Errorf("igcv1: %w", err)
	}
	r := &Residual{Body: Seq(a, b), Post: NewReLU()}
	if c.In != c.Out {
		s, err := convBN(ConvConfig{In: c.In, Out: c.Out, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Groups: c.Primary}, ActNone)
		if err != nil {
			return nil, fmt.Errorf("igcv1: shortcut: %w", err)
		}
		s.Layers[1].(*BatchNorm2D).Eps = igcBNEps
		r.Shortcut = s
	}
	return &Block{Kind: "igcv1", Settings: fmt.Sprintf("%d->%d L%d", c.In, c.Out, c.Primary), Body: r}, nil
}

// IGCV3Config describes an IGCV3 block.
type IGCV3Config struct {
	// In, Mid and Out are the input, expanded and output channels.
	In, Mid, Out int
	// Stride is the depthwise convolution's stride, 1 or 2; 0 means 1.
	Stride int
	// ExpandGroups groups the expanding 1x1 convolution, and the permutation after it
	// uses as many groups; 0 means 2, the reference's.
	ExpandGroups int
	// ProjectGroups groups the projecting 1x1 convolution, and the permutation after
	// it uses Out/ProjectGroups groups; 0 means 2, the reference's (igcv3_g2g4.py
	// uses 4).
	ProjectGroups int
	// ExpandAct follows the expansion's batch norm. The default, ActNone, is the
	// reference's (homles11/IGCV3 symbols/igcv3.py, if_act=False); ActReLU6 gives the
	// xxradon/IGCV3-pytorch port's block.
	ExpandAct Act
}

// NewIGCV3 returns the block of IGCV3 (Sun et al., "IGCV3: Interleaved Low-Rank Group
// Convolutions", BMVC 2018) as homles11/IGCV3 symbols/igcv3.py's
// inverted_residual_unit builds it: 1x1 group conv to Mid (ExpandGroups groups) + BN
// [+ ExpandAct], permutation(ExpandGroups), depthwise 3x3 (stride) + BN + ReLU6, 1x1
// group conv to Out (ProjectGroups groups) + BN, permutation(Out/ProjectGroups), and
// the identity added when the stride is 1 and In == Out (the reference's ifshortcut,
// which holds exactly for every block but the first of each stage). The permutation is
// the reference's reshape-swapaxes-reshape, ChannelShuffle.
func NewIGCV3(c IGCV3Config) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	if c.ExpandGroups == 0 {
		c.ExpandGroups = 2
	}
	if c.ProjectGroups == 0 {
		c.ProjectGroups = 2
	}
	g1, g2 := c.ExpandGroups, c.ProjectGroups
	switch {
	case c.In <= 0 || c.Mid <= 0 || c.Out <= 0 || g1 < 0 || g2 < 0:
		return nil, fmt.Errorf("igcv3: channels %d -> %d -> %d and groups %d, %d must be positive", c.In, c.Mid, c.Out, g1, g2)
	case c.In%g1 != 0 || c.Mid%g1 != 0 || c.Mid%g2 != 0 || c.Out%g2 != 0:
		return nil, fmt.Errorf("igcv3: groups %d, %d do not divide channels %d -> %d -> %d", g1, g2, c.In, c.Mid, c.Out)
	case c.Stride > 2:
		return nil, fmt.Errorf("igcv3: stride %d, want 1 or 2", c.Stride)
	case !c.ExpandAct.valid():
		return nil, fmt.Errorf("igcv3: unknown activation %d", int(c.ExpandAct))
	}
	exp, err := convBN(ConvConfig{In: c.In, Out: c.Mid, KH: 1, KW: 1, Groups: g1}, c.ExpandAct)
	if err != nil {
		return nil, fmt.Errorf("igcv3: %w", err)
	}
	dw, err := convBN(ConvConfig{In: c.Mid, Out: c.Mid, KH: 3, KW: 3, StrideH: c.Stride, StrideW: c.Stride,
		PadH: 1, PadW: 1, Groups: c.Mid}, ActReLU6)
	if err != nil {
		return nil, fmt.Errorf("igcv3: %w", err)
	}
	proj, err := convBN(ConvConfig{In: c.Mid, Out: c.Out, KH: 1, KW: 1, Groups: g2}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("igcv3: %w", err)
	}
	p1, err := NewChannelShuffle(g1)
	if err != nil {
		return nil, fmt.Errorf("igcv3: %w", err)
	}
	p2, err := NewChannelShuffle(c.Out / g2)
	if err != nil {
		return nil, fmt.Errorf("igcv3: %w", err)
	}
	layers := append(exp.Layers, p1)
	layers = append(layers, dw.Layers...)
	layers = append(layers, proj.Layers...)
	var body Layer = Seq(append(layers, p2)...)
	res := c.Stride == 1 && c.In == c.Out
	if res {
		body = &Residual{Body: body}
	}
	settings := fmt.Sprintf("%d->%d->%d s%d g%d,%d", c.In, c.Mid, c.Out, c.Stride, g1, g2)
	if c.ExpandAct != ActNone {
		settings += " exp-" + c.ExpandAct.String()
	}
	if res {
		settings += " res"
	}
	return &Block{Kind: "igcv3", Settings: settings, Body: body}, nil
}
