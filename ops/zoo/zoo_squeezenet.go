package zoo

import "nas/ops"

const srcSqueezeNet = "torchvision 0.14 models/squeezenet.py squeezenet1_0() and squeezenet1_1() " +
	"(Iandola et al. 2016), ceil-mode max pools"

// fire is one Fire module's widths: squeeze, then the 1x1 and 3x3 expands.
type fire struct{ squeeze, e1, e3 int }

// squeezeNet builds torchvision's SqueezeNet from its stem convolution (with bias and
// ReLU), then Fire modules with a 3x3 stride-2 ceil-mode max pool before the ones
// listed in pools, and torchvision's classifier: a 1x1 convolution with bias to the
// classes, ReLU and global average pooling (its dropout is left out).
func squeezeNet(in ops.Shape, classes, stemOut, stemK int, fires []fire, pools map[int]bool) (ops.Layer, error) {
	var b builder
	b.add(ops.NewConv2D(ops.ConvConfig{In: in.C, Out: stemOut, KH: stemK, KW: stemK, StrideH: 2, StrideW: 2,
		Bias: true}))
	b.add(ops.NewReLU(), nil)
	c := stemOut
	for i, f := range fires {
		if i == 0 || pools[i] {
			b.add(maxPool(3, 2, 0, true))
		}
		b.add(ops.NewFire(ops.FireConfig{In: c, Squeeze: f.squeeze, Expand1x1: f.e1, Expand3x3: f.e3}))
		c = f.e1 + f.e3
	}
	b.add(ops.NewConv2D(ops.ConvConfig{In: c, Out: classes, KH: 1, KW: 1, Bias: true}))
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewGlobalAvgPool(), nil)
	return b.seq()
}

// squeezeNet10 is torchvision's squeezenet1_0(): a 7x7 stride-2 convolution to 96
// channels and eight Fire modules (fire2 to fire9), max pools before fire2, fire5 and fire9.
func squeezeNet10(in ops.Shape, classes int) (ops.Layer, error) {
	return squeezeNet(in, classes, 96, 7, []fire{
		{16, 64, 64}, {16, 64, 64}, {32, 128, 128}, {32, 128, 128},
		{48, 192, 192}, {48, 192, 192}, {64, 256, 256}, {64, 256, 256},
	}, map[int]bool{3: true, 7: true})
}

// squeezeNet11 is torchvision's squeezenet1_1(): a 3x3 stride-2 convolution to 64
// channels and the same eight Fire modules, max pools before fire2, fire4 and fire6.
func squeezeNet11(in ops.Shape, classes int) (ops.Layer, error) {
	return squeezeNet(in, classes, 64, 3, []fire{
		{16, 64, 64}, {16, 64, 64}, {32, 128, 128}, {32, 128, 128},
		{48, 192, 192}, {48, 192, 192}, {64, 256, 256}, {64, 256, 256},
	}, map[int]bool{2: true, 4: true})
}
