package zoo

import "nas/ops"

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
		stages, growth := []int{4, 6, 8, 10, 8}, []int{8, 16, 32, 64, 128}
		var b builder
		c := 2 * growth[0]
		b.add(ops.NewConv2D(ops.ConvConfig{In: in.C, Out: c, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}))
		for i, n := range stages {
			for range n {
				b.add(condenseLayer(c, growth[i], g))
				c += growth[i]
			}
			if i != len(stages)-1 {
				b.add(avgPool(2, 2, 0))
			}
		}
		b.add(ops.NewBatchNorm2D(c), nil)
		b.add(ops.NewReLU(), nil)
		b.add(ops.NewGlobalAvgPool(), nil)
		b.add(NewIndexSelect(evenIndex(c / 2)))
		b.add(ops.NewLinear(c/2, classes, true))
		return b.seq()
	}
}

// learnedGrouping lists the networks whose grouping is learned during training.
var learnedGrouping []Spec
