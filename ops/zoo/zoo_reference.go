package zoo

import "nas/ops"

const srcReferenceNet = "shared/bench/reference_net.py Net (28x28x1, 10 classes)"

// referenceNet is the benchmark's reference network (shared/bench/reference_net.py
// Net): a 3x3 conv-BN-ReLU6 stem to 16 channels, six inverted residual blocks with
// expansion 4 (grouped 1x1s followed by a channel shuffle where g > 1, MixConv
// depthwise kernels 3/5 and 3/5/7), a 1x1 conv-BN-ReLU6 head to 256, global average
// pooling and an FC layer with bias.
func referenceNet(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	b.add(convBN(in.C, 16, 3, 1, 1, 1, ops.ActReLU6))
	c := 16
	for _, blk := range []struct {
		out, stride, groups int
		kernels             []int
	}{
		{24, 2, 1, []int{3}}, {24, 1, 4, []int{3}},
		{48, 2, 1, []int{3, 5}}, {48, 1, 4, []int{3, 5, 7}},
		{96, 2, 1, []int{3}}, {96, 1, 8, []int{3}},
	} {
		b.add(ops.NewInvertedResidual(ops.InvertedResidualConfig{In: c, Out: blk.out, Expand: 4,
			Stride: blk.stride, Kernels: blk.kernels, Groups: blk.groups, Shuffle: true, Act: ops.ActReLU6}))
		c = blk.out
	}
	b.add(convBN(c, 256, 1, 1, 0, 1, ops.ActReLU6))
	b.add(classifier(256, classes, true))
	return b.seq()
}
