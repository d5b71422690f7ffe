package zoo

import "nas/ops"

const (
	srcMobileNetV1 = "MobileNetV1 1.0 (Howard et al. 2017, Table 1, the second-to-last depthwise at " +
		"stride 1 as in tensorflow/models research/slim/nets/mobilenet_v1.py _CONV_DEFS); BN after " +
		"every convolution; FC with bias; width multiplier alpha as Keras applications mobilenet.py"
	srcMobileNetV2 = "torchvision 0.14 models/mobilenetv2.py mobilenet_v2(width_mult) (Sandler et al. 2018)"
)

// mobileNetV1 is MobileNetV1 (Howard et al. 2017, "MobileNets", Table 1) at width
// multiplier alpha = w: a 3x3 stride-2 convolution to 32 channels, 13
// depthwise-separable convolutions (each depthwise -> BN -> ReLU -> pointwise -> BN ->
// ReLU) and an FC layer with bias after global average pooling. Table 1 lists the
// last depthwise as stride 2 on a 7x7 input; every implementation (tensorflow/models
// slim mobilenet_v1.py _CONV_DEFS, the paper's own 569M Mult-Adds) runs it at stride
// 1. Every convolution's output channels c become int(c*alpha), as Keras
// applications' mobilenet.py computes them (the paper's section 3.3), so the five
// published alphas 1, 0.75, 0.5 and 0.25 give whole multiples of 8.
func mobileNetV1(in ops.Shape, classes int, w float64, d *strider) (ops.Layer, error) {
	width := func(c int) int { return int(float64(c) * w) }
	var b builder
	c := width(32)
	b.add(convBN(in.C, c, 3, d.next(2), 1, 1, ops.ActReLU))
	for _, l := range []struct{ out, stride int }{
		{64, 1}, {128, 2}, {128, 1}, {256, 2}, {256, 1}, {512, 2},
		{512, 1}, {512, 1}, {512, 1}, {512, 1}, {512, 1}, {1024, 2}, {1024, 1},
	} {
		out := width(l.out)
		b.add(ops.NewDWSep(ops.DWSepConfig{In: c, Out: out, Stride: d.next(l.stride), Act: ops.ActReLU}))
		c = out
	}
	b.add(classifier(c, classes, true))
	return b.seq()
}

// mobileNetV2 is torchvision's mobilenet_v2(width_mult=w) (torchvision
// models/mobilenetv2.py; Sandler et al. 2018, Table 2): a 3x3 stride-2 conv-BN-ReLU6 to
// 32 channels, 17 inverted residual blocks (t, c, n, s from the paper's Table 2), a
// 1x1 conv-BN-ReLU6 to 1280, global average pooling and an FC layer with bias
// (torchvision's dropout before it is left out, see the package documentation).
// As in torchvision, the stem's and every block's channels c become
// _make_divisible(c*w, 8) and the last convolution's
// _make_divisible(1280*max(1, w), 8): it is not narrowed below width 1.
func mobileNetV2(in ops.Shape, classes int, w float64, d *strider) (ops.Layer, error) {
	var b builder
	c := makeDivisible(32*w, 8)
	b.add(convBN(in.C, c, 3, d.next(2), 1, 1, ops.ActReLU6))
	for _, s := range []struct{ t, c, n, s int }{
		{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2}, {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1},
	} {
		out := makeDivisible(float64(s.c)*w, 8)
		for i := range s.n {
			stride := 1
			if i == 0 {
				stride = d.next(s.s)
			}
			b.add(ops.NewInvertedResidual(ops.InvertedResidualConfig{In: c, Out: out, Expand: float64(s.t),
				Stride: stride, Act: ops.ActReLU6}))
			c = out
		}
	}
	last := makeDivisible(1280*max(1, w), 8)
	b.add(convBN(c, last, 1, 1, 0, 1, ops.ActReLU6))
	b.add(classifier(last, classes, true))
	return b.seq()
}
