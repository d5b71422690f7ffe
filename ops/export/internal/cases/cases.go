// Package cases builds the small networks of the learned and dynamic grouping
// operators (issue 8) that the export tests and ops/export/testdata/exportgen share:
// each operator at shapes that take its every path (dropout, condensed masks, a
// head dropping no channel, a DSConv block size that does not divide its channels,
// ScaleNet's bilinear resizing and non-square maps), and Trained, which puts a
// network into the state a trained one is in.
package cases

import (
	"fmt"
	"math/rand/v2"

	"nas/ops"
	"nas/ops/zoo"
)

// Case is one network to export, named for the export's directory.
type Case struct {
	Name string
	Net  *ops.Network
}

// builder collects layers and the first error, so that a network reads as a list.
type builder struct {
	layers []ops.Layer
	err    error
}

func (b *builder) add(l ops.Layer, err error) {
	if b.err == nil && err != nil {
		b.err = err
	}
	b.layers = append(b.layers, l)
}

func (b *builder) conv(in, out, k, stride, groups int) {
	c, err := ops.Conv(in, out, k, stride, groups, false)
	b.add(c, err)
	b.add(ops.NewBatchNorm2D(out), nil)
	b.add(ops.NewReLU(), nil)
}

func (b *builder) head(in, classes int) {
	b.add(ops.NewGlobalAvgPool(), nil)
	fc, err := ops.NewLinear(in, classes, true)
	b.add(fc, err)
}

func (b *builder) network(name string, in ops.Shape) (Case, error) {
	if b.err != nil {
		return Case{}, fmt.Errorf("%s: %w", name, b.err)
	}
	net, err := ops.NewNetwork(ops.Seq(b.layers...), in)
	if err != nil {
		return Case{}, fmt.Errorf("%s: %w", name, err)
	}
	return Case{name, net}, nil
}

// Grouping returns the small networks, untrained (see Trained). rng draws the
// dropout masks of the learned group convolutions.
func Grouping(rng *rand.Rand) ([]Case, error) {
	var cs []Case
	add := func(c Case, err error) error {
		if err != nil {
			return err
		}
		cs = append(cs, c)
		return nil
	}
	// CondenseNet's layer: learned group convolutions with dropout, G = C = 4, and
	// with G = 2 < C = 4, as in _DenseLayer.
	var b builder
	b.conv(3, 16, 3, 1, 1)
	b.add(ops.NewLearnedGroupConv(ops.LearnedGroupConfig{In: 16, Out: 32, Groups: 4, Dropout: 0.1}, rng))
	b.add(ops.NewLearnedGroupConv(ops.LearnedGroupConfig{In: 32, Out: 16, Groups: 2, Condense: 4}, rng))
	b.head(16, 10)
	if err := add(b.network("lgc_small", ops.Shape{C: 3, H: 8, W: 8})); err != nil {
		return nil, err
	}
	// Dynamic group convolutions: 3x3 at stride 2 (DGC-ResNet's), 1x1 with a narrow
	// generator, and one keeping every channel (no TopK).
	b = builder{}
	b.conv(3, 16, 3, 1, 1)
	b.add(ops.NewDynamicGroupConv(ops.DGCConfig{In: 16, Out: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1,
		Heads: 4, Keep: 0.45}))
	b.add(ops.NewBatchNorm2D(32), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewDynamicGroupConv(ops.DGCConfig{In: 32, Out: 32, KH: 1, KW: 1, Heads: 2, Keep: 0.5, SqueezeRate: 4}))
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewDynamicGroupConv(ops.DGCConfig{In: 32, Out: 16, KH: 3, KW: 3, PadH: 1, PadW: 1, Heads: 2, Keep: 1}))
	b.head(16, 10)
	if err := add(b.network("dgc_small", ops.Shape{C: 3, H: 10, W: 10})); err != nil {
		return nil, err
	}
	// DSConv: without a channel shift (a plain convolution) and with one, grouped,
	// at stride 2, with a block size of 3 that does not divide the 4 channels of a
	// group.
	b = builder{}
	b.add(ops.NewDSConv(ops.DSConvConfig{ConvConfig: ops.ConvConfig{In: 3, Out: 8, KH: 3, KW: 3, PadH: 1, PadW: 1, Bias: true},
		Bits: 4, BlockSize: 2}))
	b.add(ops.NewBatchNorm2D(8), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewDSConv(ops.DSConvConfig{ConvConfig: ops.ConvConfig{In: 8, Out: 16, KH: 3, KW: 3, StrideH: 2, StrideW: 2,
		PadH: 1, PadW: 1, Groups: 2, Bias: true}, Bits: 3, BlockSize: 3, CDS: true}))
	b.add(ops.NewBatchNorm2D(16), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewDSConv(ops.DSConvConfig{ConvConfig: ops.ConvConfig{In: 16, Out: 16, KH: 1, KW: 1}, CDS: true}))
	b.head(16, 10)
	if err := add(b.network("dsconv_small", ops.Shape{C: 3, H: 9, W: 9})); err != nil {
		return nil, err
	}
	// ScaleNet: a scale aggregation at 14x14 (pooling by 4 gives 3x3, resized
	// bilinearly; a dropped branch) and a stride-2 bottleneck after it; then the
	// same on a non-square 13x10 map, whose branches resize one side bilinearly.
	for _, in := range []ops.Shape{{C: 3, H: 14, W: 14}, {C: 3, H: 13, W: 10}} {
		b = builder{}
		b.conv(3, 8, 3, 1, 1)
		b.add(ops.NewScaleAggregation(ops.ScaleAggConfig{In: 8, Out: []int{4, 3, 0, 2}, Side: in.H}))
		b.add(ops.NewScaleBottleneck(ops.ScaleBottleneckConfig{In: 9, Planes: 4, Stride: 2, Out: []int{3, 2, 2, 1},
			Side: in.H / 2}))
		b.head(16, 10)
		if err := add(b.network(fmt.Sprintf("scalenet_small_%dx%d", in.H, in.W), in)); err != nil {
			return nil, err
		}
	}
	// CondenseNet-74's training form at CIFAR's shape.
	net, err := zoo.BuildLearned("condensenet74_c4", zoo.Options{Input: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10})
	if err != nil {
		return nil, err
	}
	cs = append(cs, Case{"condensenet74_c4_learned", net})
	return cs, nil
}

// Trained puts an initialized network into the state of a trained one: every
// scheduled layer at the end of training (learned group convolutions condensed to
// their last stage, by the magnitudes of their weights; dynamic group convolutions
// dropping all they drop), and every DSConv's channel shift drawn from U(0.5, 1.5)
// instead of its initial 1.
func Trained(net *ops.Network, rng *rand.Rand) {
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		if s, ok := l.(ops.Scheduled); ok {
			s.SetProgress(1)
		}
		if d, ok := l.(*ops.DSConv); ok && d.CDS() != nil {
			for i, v := 0, d.CDS().Value.Float32s(); i < len(v); i++ {
				v[i] = float32(0.5 + rng.Float64())
			}
		}
	})
}
