package space

import (
	"fmt"
	"math/bits"

	"nas/ops"
)

// BuildOptions say at which shape and size a genome is built. The zero value builds
// the deployment network at the space's target shape.
type BuildOptions struct {
	// Input is the input shape; zero means the space's target shape.
	Input ops.Shape
	// Classes is the number of outputs; 0 means the space's classes.
	Classes int
	// ProxyWidth further scales every channel count (the proxy width multiplier);
	// 0 means 1. The grouping genes are kept, and channel counts are re-rounded so
	// that every group count still divides them.
	ProxyWidth float64
}

// plan is the channel and stride layout a genome decodes to at some width.
type plan struct {
	stem    int
	stages  []stagePlan
	head    int
	strides []int // the stride of the stem and of each stage's first block
}

type stagePlan struct {
	Stage
	in, out int
}

// inGroups is the group count a stage's first block needs its input channels to
// be divisible by.
func inGroups(st Stage) int {
	switch st.Family {
	case InvertedResidual, IGC, ShuffleV1:
		return st.Groups
	}
	return 1
}

// outMultiple is what a stage's output channels must be a multiple of.
func outMultiple(st Stage) int {
	switch st.Family {
	case InvertedResidual, IGC:
		return st.Groups
	case ShuffleV1:
		return 4 * st.Groups // the bottleneck, out/4, is grouped too
	case ShuffleV2, Fire:
		return 2 // two halves
	case ScaleAgg:
		// A bottleneck of out/4 channels, split evenly over the scales.
		return 4 * len(st.Kernels)
	}
	return 1
}

// inNeeds is what the input channels of stage i must be a multiple of: its first
// block's groups and, when the stage keeps its width (a stride-1 ShuffleNet stage,
// whose output is its input), what its output needs too.
func (s *Space) inNeeds(g Genome, i int) int {
	if i >= len(g.Stages) {
		return 1
	}
	st := g.Stages[i]
	d := inGroups(st)
	if (st.Family == ShuffleV1 || st.Family == ShuffleV2) && s.cfg.Skeleton[i].Stride == 1 {
		d = lcm(d, lcm(outMultiple(st), s.inNeeds(g, i+1)))
	}
	return d
}

// layout computes the channels of every stage for genome g at width multiplier w.
func (s *Space) layout(g Genome, w float64) plan {
	p := plan{}
	p.stem = makeDivisible(float64(s.cfg.Stem)*w, lcm(8, s.inNeeds(g, 0)))
	in := p.stem
	for i, st := range g.Stages {
		sk := s.cfg.Skeleton[i]
		d := lcm(outMultiple(st), s.inNeeds(g, i+1))
		out := makeDivisible(float64(sk.Channels)*w*st.Width, d)
		switch {
		case (st.Family == ShuffleV1 || st.Family == ShuffleV2) && sk.Stride == 1:
			out = in // a stride-1 unit keeps its width
		case st.Family == ShuffleV1 && out <= in:
			// A stride-2 unit concatenates its input to a main branch of out - in channels.
			out = (in/d + 1) * d
		}
		p.stages = append(p.stages, stagePlan{Stage: st, in: in, out: out})
		in = out
	}
	p.head = makeDivisible(float64(s.cfg.Head)*max(1, w), 8)
	return p
}

// strides returns the stride of the stem and of each stage of g for an input of
// height h: as in the skeleton at the target shape; for a smaller input, the first
// log2(target/h) stride-2 downsamplings become stride 1, so that the later stages
// see feature maps of the target's sizes (the proxy derivation). ShuffleNet stages
// keep their stride: their downsampling unit has a form of its own (a concatenation
// with a pooled or convolved input) that a stride-1 unit does not have, so the next
// downsampling that can become stride 1 does instead.
func (s *Space) strides(in ops.Shape, g Genome) []int {
	st := []int{2}
	for _, sk := range s.cfg.Skeleton {
		st = append(st, sk.Stride)
	}
	ratio := s.cfg.Target.H / max(1, in.H)
	drop := 0
	if ratio > 1 {
		drop = bits.Len(uint(ratio)) - 1
	}
	for i := range st {
		if drop == 0 {
			break
		}
		if i > 0 && (g.Stages[i-1].Family == ShuffleV1 || g.Stages[i-1].Family == ShuffleV2) {
			continue
		}
		if st[i] == 2 {
			st[i] = 1
			drop--
		}
	}
	return st
}

// Build decodes g into a network at the options' shape. g is made canonical first;
// the budget is not applied (see Repair).
func (s *Space) Build(g Genome, o BuildOptions) (*ops.Network, error) {
	return s.build(g, o, true)
}

// build is Build; quantize false leaves the convolutions that the stages' bit widths
// would make DSConv as float convolutions, which cost the same MACs and parameters
// (ops.DSConv.Cost counts the equivalent convolution's MACs and the float shadow
// weights) and take a third of the memory to build.
func (s *Space) build(g Genome, o BuildOptions, quantize bool) (*ops.Network, error) {
	if o.Input == (ops.Shape{}) {
		o.Input = s.cfg.Target
	}
	if o.Classes == 0 {
		o.Classes = s.cfg.Classes
	}
	if o.ProxyWidth == 0 {
		o.ProxyWidth = 1
	}
	if o.ProxyWidth < 0 {
		return nil, fmt.Errorf("proxy width %v: must be positive", o.ProxyWidth)
	}
	g = s.canonical(g)
	p := s.layout(g, g.WidthMult*o.ProxyWidth)
	strides := s.strides(o.Input, g)
	var layers []ops.Layer
	stem, err := convBNAct(o.Input.C, p.stem, 3, strides[0], 1)
	if err != nil {
		return nil, fmt.Errorf("stem: %w", err)
	}
	layers = append(layers, stem)
	shape, err := stem.OutShape(o.Input)
	if err != nil {
		return nil, fmt.Errorf("stem: input %v: %w", o.Input, err)
	}
	for i, st := range p.stages {
		for j := 0; j < st.Depth; j++ {
			in, stride := st.out, 1
			if j == 0 {
				in, stride = st.in, strides[i+1]
			}
			bst := st.Stage
			if !quantize {
				bst.Bits = 0
			}
			b, err := buildBlock(bst, in, st.out, stride, shape)
			if err != nil {
				return nil, fmt.Errorf("stage %d block %d (%s): %w", i+1, j+1, st.Family, err)
			}
			if shape, err = b.OutShape(shape); err != nil {
				return nil, fmt.Errorf("stage %d block %d (%s): %w", i+1, j+1, st.Family, err)
			}
			layers = append(layers, b)
		}
	}
	head, err := convBNAct(p.stages[len(p.stages)-1].out, p.head, 1, 1, 1)
	if err != nil {
		return nil, fmt.Errorf("head: %w", err)
	}
	fc, err := ops.NewLinear(p.head, o.Classes, true)
	if err != nil {
		return nil, fmt.Errorf("classifier: %w", err)
	}
	layers = append(layers, head, ops.NewGlobalAvgPool(), fc)
	return ops.NewNetwork(ops.Seq(layers...), o.Input)
}

// Cost returns the MACs and parameters of g's deployment network at the target shape:
// a learned group convolution at its converted cost, a dynamic one at its expected
// cost plus its saliency heads; DSConv weights cost what float ones do (see
// StorageBits for what their bit width saves).
func (s *Space) Cost(g Genome) (ops.Cost, error) {
	n, err := s.build(g, BuildOptions{}, false)
	if err != nil {
		return ops.Cost{}, err
	}
	return n.Cost(), nil
}

// convBNAct is a convolution without bias, batch norm and ReLU6, MobileNetV2's
// stem and head.
func convBNAct(in, out, k, stride, groups int) (ops.Layer, error) {
	c, err := ops.Conv(in, out, k, stride, groups, false)
	if err != nil {
		return nil, err
	}
	return ops.Seq(c, ops.NewBatchNorm2D(out), ops.NewReLU6()), nil
}
