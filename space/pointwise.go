package space

import (
	"fmt"

	"nas/ops"
)

// dgcLasso is the weight of DynamicGroupConv's lasso term on the saliencies:
// hellozhuo/dgc main.py's --group-lasso-lambda default, 1e-5. The keep ratio is the
// layer's default, 0.25, the reference's --gate-factor default.
const dgcLasso = 1e-5

// rewriteConvs calls f on every convolution of l that sits in a container whose
// children can be replaced (Sequential, Residual, Block, Branches, SplitApply) and
// puts what f returns in its place. It returns l, or f's result when l itself is a
// convolution. Layers that keep their convolutions private (MixConv's are in a
// SplitApply and so reachable; ScaleAggregation's branches, LearnedGroupConv's and
// DynamicGroupConv's are not) keep them.
func rewriteConvs(l ops.Layer, f func(*ops.Conv2D) (ops.Layer, error)) (ops.Layer, error) {
	var err error
	each := func(ls []ops.Layer) error {
		for i, c := range ls {
			if ls[i], err = rewriteConvs(c, f); err != nil {
				return err
			}
		}
		return nil
	}
	switch l := l.(type) {
	case *ops.Conv2D:
		return f(l)
	case *ops.Sequential:
		return l, each(l.Layers)
	case *ops.Branches:
		return l, each(l.Layers)
	case *ops.SplitApply:
		return l, each(l.Layers)
	case *ops.Block:
		l.Body, err = rewriteConvs(l.Body, f)
		return l, err
	case *ops.Residual:
		if l.Body, err = rewriteConvs(l.Body, f); err != nil {
			return l, err
		}
		if l.Shortcut != nil {
			if l.Shortcut, err = rewriteConvs(l.Shortcut, f); err != nil {
				return l, err
			}
		}
		return l, nil
	}
	return l, nil
}

// groupPointwise replaces the grouped pointwise convolutions of a block of stage st
// (1x1, stride 1, st.Groups groups) by the layers of the stage's grouping mode: a
// LearnedGroupConv with G = C = st.Groups (CondenseNet's G = C, its 1x1 learned
// group convolutions' setting) priced as its converted form, or a DynamicGroupConv
// with st.Groups heads. CondenseNet's learned layer brings its own batch norm and
// ReLU before the convolution (its pre-activation), which the block's do not
// replace. The network a genome decodes to trains the learned layer in its training
// form but deploys it converted, which is what the budget limits
// (ops.LearnedGroupConfig.PriceConverted).
func groupPointwise(l ops.Layer, st Stage) (ops.Layer, error) {
	if st.Grouping == FixedGroups {
		return l, nil
	}
	return rewriteConvs(l, func(c *ops.Conv2D) (ops.Layer, error) {
		cfg := c.Config()
		if cfg.KH != 1 || cfg.KW != 1 || cfg.StrideH != 1 || cfg.StrideW != 1 || cfg.Groups != st.Groups || cfg.Bias {
			return c, nil
		}
		switch st.Grouping {
		case LearnedGroups:
			lg, err := ops.NewLearnedGroupConv(ops.LearnedGroupConfig{In: cfg.In, Out: cfg.Out, Groups: st.Groups,
				Condense: st.Groups, PriceConverted: true}, nil)
			if err != nil {
				return nil, err
			}
			return lg, nil
		case DynamicGroups:
			return ops.NewDynamicGroupConv(ops.DGCConfig{In: cfg.In, Out: cfg.Out, KH: 1, KW: 1, Heads: st.Groups,
				Lasso: dgcLasso})
		}
		return nil, fmt.Errorf("unknown grouping mode %d", int(st.Grouping))
	})
}

// quantizeConvs replaces the convolutions of a block by DSConv convolutions with
// bits-bit weights (bits 0 leaves them float). A convolution with one input channel
// per group, a depthwise one, stays float: DSConv gives each block of input channels
// a 32-bit shift, which for blocks of one channel costs more than the float weight
// it would save.
func quantizeConvs(l ops.Layer, bits int) (ops.Layer, error) {
	if bits == 0 {
		return l, nil
	}
	return rewriteConvs(l, func(c *ops.Conv2D) (ops.Layer, error) {
		cfg := c.Config()
		if cfg.In/cfg.Groups < 2 {
			return c, nil
		}
		return ops.NewDSConv(ops.DSConvConfig{ConvConfig: cfg, Bits: bits})
	})
}

// storageBits returns the bits the deployed form of l stores for its parameters:
// ops.WeightBits, except that a learned group convolution stores its converted
// form's parameters, as 32-bit floats.
func storageBits(l ops.Layer) int64 {
	switch l := l.(type) {
	case *ops.LearnedGroupConv:
		if l.Config().PriceConverted {
			return 32 * l.PrunedCost(ops.Shape{C: l.Config().In, H: 1, W: 1}).Params
		}
	case ops.CompactStorage:
		return l.StorageBits()
	}
	var bits int64
	if p, ok := l.(ops.Parameterized); ok {
		for _, q := range p.Params() {
			bits += 32 * int64(q.Size())
		}
	}
	if c, ok := l.(ops.Container); ok {
		for _, ch := range c.Children() {
			if ch != nil {
				bits += storageBits(ch)
			}
		}
	}
	return bits
}

// StorageBits returns the bits that the parameters of g's deployment network take
// to store: 32 per float value, DSConv's b bits per weight plus its 32-bit shifts
// (ops.DSConv.StorageBits), and a learned group convolution's converted form. Batch
// norms' running statistics are not counted, as in ops.WeightBits. MACs do not
// depend on the bit width.
func (s *Space) StorageBits(g Genome) (int64, error) {
	n, err := s.Build(g, BuildOptions{})
	if err != nil {
		return 0, err
	}
	return storageBits(n.Root()), nil
}
