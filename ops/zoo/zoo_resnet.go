package zoo

import "nas/ops"

const srcResNet = "torchvision 0.14 models/resnet.py resnet50() and resnext50_32x4d() " +
	"(He et al. 2016; Xie et al. 2017), stride in the 3x3"

// resNetStem is torchvision's ResNet stem: a 7x7 stride-2 conv-BN-ReLU to 64 channels
// and a 3x3 stride-2 max pool (padding 1).
func resNetStem(b *builder, inC int) {
	b.add(convBN(inC, 64, 7, 2, 3, 1, ops.ActReLU))
	b.add(maxPool(3, 2, 1, false))
}

// resNet50 returns torchvision's ResNet-50 layout with groups and width per group
// (1, 64: resnet50; 32, 4: resnext50_32x4d): the stem, stages of 3, 4, 6 and 3
// bottlenecks of 64, 128, 256 and 512 planes (output 4x planes, the first of each
// stage but the first at stride 2, in the 3x3), global average pooling and an FC
// layer with bias.
func resNet50(groups, widthPerGroup int) func(ops.Shape, int) (ops.Layer, error) {
	return func(in ops.Shape, classes int) (ops.Layer, error) {
		var b builder
		resNetStem(&b, in.C)
		c := 64
		for stage, n := range []int{3, 4, 6, 3} {
			planes := 64 << stage
			for i := range n {
				stride := 1
				if i == 0 && stage > 0 {
					stride = 2
				}
				b.add(ops.ResNetBottleneck(c, planes, stride, groups, widthPerGroup))
				c = 4 * planes
			}
		}
		b.add(classifier(c, classes, true))
		return b.seq()
	}
}
