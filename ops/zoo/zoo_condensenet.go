package zoo

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"nas/ops"
)

const srcCondenseNet = "ShichenLiu/CondenseNet models/condensenet_converted.py and layers.py, " +
	"CondenseNet-74 (stages 4-6-8-10-8, growth 8-16-32-64-128, bottleneck 4, C = G) " +
	"(Huang et al. 2018)"

// condenseLayer is condensenet_converted.py's _DenseLayer in converted form: the
// input passed through, concatenated with CondenseConv (index-select of all in
// channels -> BN -> ReLU -> 1x1 conv to 4*growth with g groups -> channel shuffle over
// g) followed by Conv (BN -> ReLU -> 3x3 conv to growth with g groups). The selection
// is the identity here: conversion fills it from a trained model's learned masks.
func condenseLayer(in, growth, g int) (ops.Layer, error) {
	var b builder
	b.add(NewIndexSelect(identityIndex(in)))
	b.add(ops.NewBatchNorm2D(in), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewConv2D(ops.ConvConfig{In: in, Out: 4 * growth, KH: 1, KW: 1, Groups: g}))
	b.add(ops.NewChannelShuffle(g))
	b.add(ops.NewBatchNorm2D(4*growth), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewConv2D(ops.ConvConfig{In: 4 * growth, Out: growth, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: g}))
	body, err := b.seq()
	if err != nil {
		return nil, err
	}
	return &ops.Block{Kind: "condense", Settings: blockSettings(in, in+growth, 1),
		Body: &ops.Branches{Layers: []ops.Layer{nil, body}}}, nil
}

// condenseNet74 returns CondenseNet-74 with C = G = g in converted form: a 3x3
// stride-2 convolution to 16 channels, five dense blocks of 4, 6, 8, 10 and 8 layers
// (growth 8, 16, 32, 64, 128) with 2x2 average pools between them, BN -> ReLU, global
// average pooling (the reference's AvgPool2d(7) at 224) and CondenseLinear: an
// index-select of half the 2064 features and an FC layer with bias. Conversion keeps
// the features with the largest classifier weights; an untrained network here keeps
// every second one, half of each dense layer's, so that every layer reaches the
// classifier.
func condenseNet74(g int) func(ops.Shape, int) (ops.Layer, error) {
	return func(in ops.Shape, classes int) (ops.Layer, error) {
		var b builder
		c := condenseNet74Body(&b, in, 2, func(c, growth int) (ops.Layer, error) { return condenseLayer(c, growth, g) })
		b.add(NewIndexSelect(evenIndex(c / 2)))
		b.add(ops.NewLinear(c/2, classes, true))
		return b.seq()
	}
}

// learnedGrouping lists the networks whose grouping is learned during training. Their
// Build is the converted (inference) form, which the reference counts describe;
// BuildLearned builds the training form.
var learnedGrouping = []Spec{
	fixed("condensenet74_c4", srcCondenseNet, imagenet, 1000, condenseNet74(4)),
	fixed("condensenet74_c8", srcCondenseNet, imagenet, 1000, condenseNet74(8)),
}

// learnedProxyStrides is the number of proxy strides the training forms accept: the
// stem's stride, which the reference itself sets to 1 for 32x32 CIFAR images
// (models/condensenet.py: init_stride 1 for cifar10 and cifar100, 2 for ImageNet).
// The 2x2 average pools stay.
const learnedProxyStrides = 1

// learnedBuilders are the training forms of the networks with learned grouping, by
// name.
var learnedBuilders = map[string]scaledBuild{
	"condensenet74_c4": condenseNet74Learned(4),
	"condensenet74_c8": condenseNet74Learned(8),
}

// LearnedSpec returns the Spec of the training form of the network called name, if
// it has one: a network whose grouping is learned during training and fixed by
// Convert afterwards. Its Build builds the training form, and ProxyStrides is the
// number of proxy strides BuildLearned accepts. The reference counts and Build of
// the zoo describe the converted form.
func LearnedSpec(name string) (Spec, bool) {
	build, ok := learnedBuilders[name]
	if !ok {
		return Spec{}, false
	}
	s, err := Lookup(name)
	if err != nil {
		return Spec{}, false
	}
	s.ProxyStrides, s.Widths, s.scaled = learnedProxyStrides, false, build
	s.Build = func(in ops.Shape, classes int) (ops.Layer, error) { return build(in, classes, 1, &strider{}) }
	return s, true
}

// BuildLearned returns the training form of the network called name (see
// LearnedSpec) as the options say, at width 1: for CondenseNet-74, learned group
// convolutions (ops.LearnedGroupConv) in place of the converted index-select and
// group convolution, and a linear classifier over all features. Training condenses
// it (evaluate.Fit drives the condensation through ops.Scheduled); Convert then
// returns the inference form, which costs what Build's network costs.
func BuildLearned(name string, o Options) (*ops.Network, error) {
	s, ok := LearnedSpec(name)
	if !ok {
		return nil, fmt.Errorf("zoo: %s: %w (learned grouping: %s)", name, ErrUnsupported, strings.Join(learnedNames(), ", "))
	}
	if o.Input == (ops.Shape{}) {
		o.Input = s.Input
	}
	if o.Classes == 0 {
		o.Classes = s.Classes
	}
	switch in := o.Input; {
	case in.C <= 0 || in.H <= 0 || in.W <= 0:
		return nil, fmt.Errorf("zoo: %s: input %v must have positive sides", name, in)
	case o.Classes < 0:
		return nil, fmt.Errorf("zoo: %s: %d classes must be positive", name, o.Classes)
	case o.Width != 0 && o.Width != 1:
		return nil, fmt.Errorf("zoo: %s: width %v: %w for the training form", name, o.Width, ErrUnsupported)
	case o.ProxyStrides < 0 || o.ProxyStrides > s.ProxyStrides:
		return nil, fmt.Errorf("zoo: %s: %d proxy strides, but the training form takes 0 to %d (its stem)",
			name, o.ProxyStrides, s.ProxyStrides)
	}
	root, err := s.scaled(o.Input, o.Classes, 1, &strider{left: o.ProxyStrides})
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", name, err)
	}
	n, err := ops.NewNetwork(root, o.Input)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w for its strides (%v, the reference input is %v): %w",
			name, ErrInputTooSmall, o.Input, s.Input, err)
	}
	return n, nil
}

// learnedNames returns the names of the networks with a training form, sorted.
func learnedNames() []string {
	names := make([]string, 0, len(learnedBuilders))
	for n := range learnedBuilders {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// condenseLayerLearned is models/condensenet.py's _DenseLayer: the input passed
// through, concatenated with LearnedGroupConv (BN -> ReLU -> masked 1x1 conv to
// 4*growth, G = C = g) followed by Conv (BN -> ReLU -> 3x3 conv to growth with g
// groups).
func condenseLayerLearned(in, growth, g int) (ops.Layer, error) {
	var b builder
	b.add(ops.NewLearnedGroupConv(ops.LearnedGroupConfig{In: in, Out: 4 * growth, Groups: g, Condense: g}, nil))
	b.add(ops.NewBatchNorm2D(4*growth), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewConv2D(ops.ConvConfig{In: 4 * growth, Out: growth, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: g}))
	body, err := b.seq()
	if err != nil {
		return nil, err
	}
	return &ops.Block{Kind: "condense", Settings: blockSettings(in, in+growth, 1),
		Body: &ops.Branches{Layers: []ops.Layer{nil, body}}}, nil
}

// condenseNet74Body adds CondenseNet-74's layers up to its classifier to b: the 3x3
// stem to 16 channels at the given stride, the five dense blocks of 4, 6, 8, 10 and 8
// layers (growth 8, 16, 32, 64, 128) built by layer from their input channels and
// growth, with 2x2 average pools between them, then BN, ReLU and global average
// pooling. It returns the number of features.
func condenseNet74Body(b *builder, in ops.Shape, stemStride int, layer func(c, growth int) (ops.Layer, error)) int {
	stages, growth := []int{4, 6, 8, 10, 8}, []int{8, 16, 32, 64, 128}
	c := 2 * growth[0]
	b.add(ops.NewConv2D(ops.ConvConfig{In: in.C, Out: c, KH: 3, KW: 3, StrideH: stemStride, StrideW: stemStride, PadH: 1, PadW: 1}))
	for i, n := range stages {
		for range n {
			b.add(layer(c, growth[i]))
			c += growth[i]
		}
		if i != len(stages)-1 {
			b.add(avgPool(2, 2, 0))
		}
	}
	b.add(ops.NewBatchNorm2D(c), nil)
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewGlobalAvgPool(), nil)
	return c
}

// condenseNet74Learned returns CondenseNet-74 with C = G = g in training form
// (ShichenLiu/CondenseNet models/condensenet.py CondenseNet with the README's
// ImageNet settings): condenseNet74's layout with _DenseLayer's learned group
// convolutions and a linear classifier over all features. The stem's stride comes
// from the strider (the reference's init_stride).
func condenseNet74Learned(g int) scaledBuild {
	return func(in ops.Shape, classes int, _ float64, d *strider) (ops.Layer, error) {
		var b builder
		c := condenseNet74Body(&b, in, d.next(2), func(c, growth int) (ops.Layer, error) {
			return condenseLayerLearned(c, growth, g)
		})
		b.add(ops.NewLinear(c, classes, true))
		return b.seq()
	}
}

// Convert returns the inference form of a trained network that BuildLearned built,
// as the reference's utils.py convert_model does: every ops.LearnedGroupConv becomes
// its Convert form (index-select, BN, ReLU, group convolution, shuffle; the same
// outputs), and the classifier becomes CondensingLinear: an index-select of the
// half of the features whose weights have the largest L1 norm over the classes, in
// increasing order of that norm, and a linear layer with those weights and the
// bias. Unlike the convolutions' conversion the classifier's changes the logits, as
// in the reference. After full condensation the result costs what Build's network
// of the same name costs.
//
// The converted network shares the layers that conversion leaves as they are with
// net, so net must not be used after Convert.
func Convert(net *ops.Network) (*ops.Network, error) {
	root, ok := net.Root().(*ops.Sequential)
	if !ok || len(root.Layers) == 0 {
		return nil, fmt.Errorf("zoo: convert: root %T is not a network of BuildLearned", net.Root())
	}
	fc, ok := root.Layers[len(root.Layers)-1].(*ops.Linear)
	if !ok {
		return nil, fmt.Errorf("zoo: convert: last layer %T is not a linear classifier", root.Layers[len(root.Layers)-1])
	}
	for _, l := range root.Layers[:len(root.Layers)-1] {
		if err := convertLearned(l); err != nil {
			return nil, fmt.Errorf("zoo: convert: %w", err)
		}
	}
	head, err := condensingLinear(fc)
	if err != nil {
		return nil, fmt.Errorf("zoo: convert: %w", err)
	}
	layers := append(append([]ops.Layer(nil), root.Layers[:len(root.Layers)-1]...), head...)
	out, err := ops.NewNetwork(ops.Seq(layers...), net.Input())
	if err != nil {
		return nil, fmt.Errorf("zoo: convert: %w", err)
	}
	return out, nil
}

// convertLearned replaces, inside l, every LearnedGroupConv that is a layer of a
// Sequential by its converted layers, spliced into the Sequential.
func convertLearned(l ops.Layer) error {
	switch c := l.(type) {
	case *ops.Sequential:
		var layers []ops.Layer
		for _, ch := range c.Layers {
			if lg, ok := ch.(*ops.LearnedGroupConv); ok {
				s, err := lg.Convert()
				if err != nil {
					return err
				}
				layers = append(layers, s.Layers...)
				continue
			}
			if err := convertLearned(ch); err != nil {
				return err
			}
			layers = append(layers, ch)
		}
		c.Layers = layers
	case *ops.LearnedGroupConv:
		return fmt.Errorf("learned group convolution outside a sequence")
	case ops.Container:
		for _, ch := range c.Children() {
			if ch == nil {
				continue
			}
			if err := convertLearned(ch); err != nil {
				return err
			}
		}
	}
	return nil
}

// condensingLinear returns the reference's CondensingLinear(fc, 0.5): the in/2
// features with the largest sum of absolute weights, in increasing order of it
// (ties to the lower index), selected and fed to a linear layer of their weights.
func condensingLinear(fc *ops.Linear) ([]ops.Layer, error) {
	in, out := fc.In(), fc.Out()
	keep := in / 2
	w := fc.Weight().Value.Float32s()
	imp := make([]float64, in)
	for o := 0; o < out; o++ {
		for j, v := range w[o*in : (o+1)*in] {
			imp[j] += math.Abs(float64(v))
		}
	}
	order := identityIndex(in)
	sort.SliceStable(order, func(a, b int) bool { return imp[order[a]] < imp[order[b]] })
	index := order[in-keep:]
	sel, err := NewIndexSelect(index)
	if err != nil {
		return nil, err
	}
	lin, err := ops.NewLinear(keep, out, fc.Bias() != nil)
	if err != nil {
		return nil, err
	}
	lw := lin.Weight().Value.Float32s()
	for o := 0; o < out; o++ {
		for t, j := range index {
			lw[o*keep+t] = w[o*in+j]
		}
	}
	if fc.Bias() != nil {
		copy(lin.Bias().Value.Float32s(), fc.Bias().Value.Float32s())
	}
	return []ops.Layer{sel, lin}, nil
}
