package zoo

import "nas/ops"

// scaleNetworks lists the networks built from ScaleNet's scale aggregation blocks
// (Li et al. 2019).
var scaleNetworks = []Spec{
	fixed("scalenet50", srcScaleNet, imagenet, 1000, scaleNet50),
}

const srcScaleNet = "Eli-YiLi/ScaleNet pytorch/scalenet.py scalenet50(), SABlock, with structures/scalenet50.json " +
	"(Li et al. 2019)"

// scaleNet50Structure is Eli-YiLi/ScaleNet structures/scalenet50.json, the published
// allocation of ScaleNet-50 (testdata/scalenet50.json is a copy): per scale
// aggregation block, in order, the output channels of its scales 1, 2, 4 and 7 (0
// drops a scale) and the feature-map side the block sees at 224x224.
var scaleNet50Structure = [16][5]int{
	{62, 9, 5, 12, 56}, {55, 27, 5, 1, 56}, {59, 26, 0, 3, 56},
	{125, 41, 6, 3, 28}, {90, 39, 9, 37, 28}, {106, 56, 4, 9, 28}, {116, 56, 3, 0, 28},
	{223, 71, 55, 0, 14}, {196, 104, 44, 5, 14}, {195, 98, 52, 4, 14}, {155, 128, 66, 0, 14},
	{134, 129, 86, 0, 14}, {120, 127, 98, 4, 14},
	{237, 354, 106, 0, 7}, {172, 435, 90, 0, 7}, {138, 462, 97, 0, 7},
}

// scaleNet50 returns ScaleNet-50 as Eli-YiLi/ScaleNet pytorch/scalenet.py builds it:
// ResNet-50's stem (7x7 stride-2 conv-BN-ReLU to 64 channels, 3x3 stride-2 max pool
// with padding 1), stages of 3, 4, 6 and 3 SABlocks (ops.NewScaleBottleneck) of 64,
// 128, 256 and 512 planes whose scale aggregation widths are the rows of
// scaleNet50Structure, the first block of stages 2-4 max-pooling by 2, then global
// average pooling and an FC layer with bias.
//
// Each block picks its branch kernels by the side of the feature map it sees, which
// is the structure's side at 224x224. At smaller inputs it is the smaller actual side,
// and pooling windows larger than the map pool all of it (ops.ScaleAggregation,
// ops.NewScaleBottleneck), where the reference would fail: so the network trains at
// MNIST's 28x28 (stages 3 and 4 at 1x1) and CIFAR's 32x32 without proxy strides. It
// has none: package zoo ties proxy strides to width multipliers (Spec), and ScaleNet
// defines no width multiplier.
func scaleNet50(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	b.add(convBN(in.C, 64, 7, 2, 3, 1, ops.ActReLU))
	b.add(maxPool(3, 2, 1, false))
	side := max(((in.H+2*3-7)/2+1+2*1-3)/2+1, 1)
	c, row := 64, 0
	for stage, n := range []int{3, 4, 6, 3} {
		planes := 64 << stage
		for i := range n {
			stride := 1
			if i == 0 && stage > 0 {
				stride = 2
			}
			side = max(side/stride, 1)
			r := scaleNet50Structure[row]
			row++
			b.add(ops.NewScaleBottleneck(ops.ScaleBottleneckConfig{In: c, Planes: planes, Stride: stride,
				Out: r[:4], Side: side}))
			c = 4 * planes
		}
	}
	b.add(classifier(c, classes, true))
	return b.seq()
}
