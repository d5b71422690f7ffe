package zoo

import "nas/ops"

const (
	srcShuffleNetV1 = "megvii-model/ShuffleNet-Series ShuffleNetV1/network.py and blocks.py, " +
		"model size 1.0x (Zhang et al. 2018)"
	srcShuffleNetV2 = "torchvision 0.14 models/shufflenetv2.py shufflenet_v2_x1_0() (Ma et al. 2018)"
)

// shuffleNetV1 returns ShuffleNet V1 1.0x with g groups as megvii-model/ShuffleNet-Series
// ShuffleNetV1/network.py builds it: a 3x3 stride-2 conv-BN-ReLU to 24 channels, a 3x3
// stride-2 max pool, stages of 4, 8 and 4 units (widths 240/480/960 for g = 3,
// 384/768/1536 for g = 8, the first unit of each at stride 2, the very first with an
// ungrouped 1x1), global average pooling (megvii's AvgPool2d(7) at 224) and a linear
// classifier without bias.
func shuffleNetV1(g int) func(ops.Shape, int) (ops.Layer, error) {
	widths := map[int][3]int{3: {240, 480, 960}, 8: {384, 768, 1536}}[g]
	return func(in ops.Shape, classes int) (ops.Layer, error) {
		var b builder
		b.add(convBN(in.C, 24, 3, 2, 1, 1, ops.ActReLU))
		b.add(maxPool(3, 2, 1, false))
		c := 24
		for stage, n := range []int{4, 8, 4} {
			for i := range n {
				stride := 1
				if i == 0 {
					stride = 2
				}
				b.add(ops.NewShuffleV1(ops.ShuffleV1Config{In: c, Out: widths[stage], Groups: g,
					Stride: stride, UngroupedFirst: stage == 0 && i == 0}))
				c = widths[stage]
			}
		}
		b.add(classifier(c, classes, false))
		return b.seq()
	}
}

// shuffleNetV2 is torchvision's shufflenet_v2_x1_0(): a 3x3 stride-2 conv-BN-ReLU to 24
// channels, a 3x3 stride-2 max pool, stages of 4, 8 and 4 units of widths 116, 232
// and 464 (the first of each at stride 2), a 1x1 conv-BN-ReLU to 1024, global average
// pooling and an FC layer with bias.
func shuffleNetV2(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	b.add(convBN(in.C, 24, 3, 2, 1, 1, ops.ActReLU))
	b.add(maxPool(3, 2, 1, false))
	c := 24
	for stage, n := range []int{4, 8, 4} {
		out := []int{116, 232, 464}[stage]
		for i := range n {
			stride := 1
			if i == 0 {
				stride = 2
			}
			b.add(ops.NewShuffleV2(ops.ShuffleV2Config{In: c, Out: out, Stride: stride}))
			c = out
		}
	}
	b.add(convBN(c, 1024, 1, 1, 0, 1, ops.ActReLU))
	b.add(classifier(1024, classes, true))
	return b.seq()
}
