package zoo

import "nas/ops"

const srcReferenceNet = "shared/bench/reference_net.py Net (28x28x1, 10 classes)"

// referenceNet is the benchmark's reference network (shared/bench/reference_net.py
// Net) at width w: a 3x3 conv-BN-ReLU6 stem to 16 channels, six inverted residual
// blocks with expansion 4 (grouped 1x1s followed by a channel shuffle where g > 1,
// MixConv depthwise kernels 3/5 and 3/5/7), a 1x1 conv-BN-ReLU6 head to 256, global
// average pooling and an FC layer with bias. reference_net.py has no width
// multiplier; here every channel count c, the head's included, becomes
// makeDivisible(c*w, d) (torchvision's _make_divisible), d being the least common
// multiple of 8 and the groups of the blocks that produce and read the channels, so
// that every group count still divides them (at width 1 all are unchanged).
func referenceNet(in ops.Shape, classes int, w float64, d *strider) (ops.Layer, error) {
	blocks := []struct {
		out, stride, groups int
		kernels             []int
	}{
		{24, 2, 1, []int{3}}, {24, 1, 4, []int{3}},
		{48, 2, 1, []int{3, 5}}, {48, 1, 4, []int{3, 5, 7}},
		{96, 2, 1, []int{3}}, {96, 1, 8, []int{3}},
	}
	var b builder
	c := makeDivisible(16*w, lcm(8, blocks[0].groups))
	b.add(convBN(in.C, c, 3, 1, 1, 1, ops.ActReLU6))
	for i, blk := range blocks {
		div := lcm(8, blk.groups)
		if i+1 < len(blocks) {
			div = lcm(div, blocks[i+1].groups)
		}
		out := makeDivisible(float64(blk.out)*w, div)
		b.add(ops.NewInvertedResidual(ops.InvertedResidualConfig{In: c, Out: out, Expand: 4,
			Stride: d.next(blk.stride), Kernels: blk.kernels, Groups: blk.groups, Shuffle: true, Act: ops.ActReLU6}))
		c = out
	}
	head := makeDivisible(256*w, 8)
	b.add(convBN(c, head, 1, 1, 0, 1, ops.ActReLU6))
	b.add(classifier(head, classes, true))
	return b.seq()
}
