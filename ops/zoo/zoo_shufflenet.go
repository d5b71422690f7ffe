package zoo

import (
	"fmt"
	"math"

	"nas/ops"
)

const (
	srcShuffleNetV1 = "megvii-model/ShuffleNet-Series ShuffleNetV1/network.py and blocks.py, " +
		"model size 1.0x (Zhang et al. 2018)"
	srcShuffleNetV2 = "torchvision 0.14 models/shufflenetv2.py shufflenet_v2_x1_0() (Ma et al. 2018); other widths: shufflenet_v2_x0_5, _x1_5, _x2_0, interpolated between"
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

// shuffleNetV2Widths are torchvision's stages_out_channels for the published widths
// (models/shufflenetv2.py shufflenet_v2_x0_5, _x1_0, _x1_5, _x2_0): the stem, the
// three stages and the last convolution.
var shuffleNetV2Widths = []struct {
	w        float64
	channels [5]int
}{
	{0.5, [5]int{24, 48, 96, 192, 1024}},
	{1.0, [5]int{24, 116, 232, 464, 1024}},
	{1.5, [5]int{24, 176, 352, 704, 1024}},
	{2.0, [5]int{24, 244, 488, 976, 2048}},
}

// shuffleNetV2Channels returns the stem, stage and last-convolution channels of
// ShuffleNet V2 at width w. At the published widths they are torchvision's. The
// published stage widths are not proportional to w (48 at 0.5 against 116 at 1), so
// between two published widths every count is interpolated linearly, which keeps
// the counts continuous in w and non-decreasing (what FitWidth's bisection needs):
// the stages rounded to a multiple of 4 (so that each unit's two halves are even),
// the last convolution to a multiple of 8. Below 0.5 and above 2 the stages scale
// the nearest published width in proportion (at least 4 channels), and so does the
// last convolution above 2; below 0.5 it stays 1024, not narrowed below the
// published widths, as MobileNetV2's last channel is not. The stem is 24 at every
// width, as at every published one.
func shuffleNetV2Channels(w float64) [5]int {
	t := shuffleNetV2Widths
	var lo, hi [5]float64 // the counts at the neighbouring published widths
	var f float64         // how far w lies from lo to hi
	switch last := len(t) - 1; {
	case w <= t[0].w:
		for i, c := range t[0].channels {
			lo[i] = float64(c) * w / t[0].w
		}
		lo[0], lo[4] = float64(t[0].channels[0]), float64(t[0].channels[4])
		hi = lo
	case w >= t[last].w:
		for i, c := range t[last].channels {
			lo[i] = float64(c) * w / t[last].w
		}
		lo[0] = float64(t[last].channels[0])
		hi = lo
	default:
		j := 1
		for t[j].w < w {
			j++
		}
		for i := range lo {
			lo[i], hi[i] = float64(t[j-1].channels[i]), float64(t[j].channels[i])
		}
		f = (w - t[j-1].w) / (t[j].w - t[j-1].w)
	}
	var ch [5]int
	for i := range ch {
		v := lo[i] + f*(hi[i]-lo[i])
		switch i {
		case 0:
			ch[i] = int(math.Round(v))
		case 4:
			ch[i] = max(8, 8*int(math.Round(v/8)))
		default:
			ch[i] = max(4, 4*int(math.Round(v/4)))
		}
	}
	return ch
}

// shuffleNetV2 is torchvision's ShuffleNetV2 (models/shufflenetv2.py; Ma et al. 2018)
// at width w, with the channels of shuffleNetV2Channels (at 1, shufflenet_v2_x1_0()):
// a 3x3 stride-2 conv-BN-ReLU to 24 channels, a 3x3 stride-2 max pool, stages of 4, 8
// and 4 units of widths 116, 232 and 464 (the first of each at stride 2), a 1x1
// conv-BN-ReLU to 1024, global average pooling and an FC layer with bias. A
// downsampling turned to stride 1 by the proxy derivation keeps its form: a stride-1
// max pool, or a stage's first unit with both branches on the whole input at stride
// 1 (shuffleV2Unit).
func shuffleNetV2(in ops.Shape, classes int, w float64, d *strider) (ops.Layer, error) {
	ch := shuffleNetV2Channels(w)
	var b builder
	b.add(convBN(in.C, ch[0], 3, d.next(2), 1, 1, ops.ActReLU))
	b.add(maxPool(3, d.next(2), 1, false))
	c := ch[0]
	for stage, n := range []int{4, 8, 4} {
		out := ch[1+stage]
		for i := range n {
			if i == 0 {
				b.add(shuffleV2Unit(c, out, d.next(2)))
			} else {
				b.add(ops.NewShuffleV2(ops.ShuffleV2Config{In: c, Out: out, Stride: 1}))
			}
			c = out
		}
	}
	b.add(convBN(c, ch[4], 1, 1, 0, 1, ops.ActReLU))
	b.add(classifier(ch[4], classes, true))
	return b.seq()
}

// shuffleV2Unit returns the first unit of a ShuffleNet V2 stage, in -> out channels:
// at stride 2 ops.NewShuffleV2's downsampling unit; at stride 1 (a proxy stride) the
// same unit with its two depthwise convolutions at stride 1, since a stride-1
// ops.ShuffleV2 unit splits its input and cannot change the width. It is
// torchvision's InvertedResidual(in, out, 2) with the depthwise strides set to 1:
// branch1 = depthwise 3x3 -> BN -> 1x1 -> BN -> ReLU and branch2 = 1x1 -> BN -> ReLU
// -> depthwise 3x3 -> BN -> 1x1 -> BN -> ReLU, both on the whole input, out/2
// channels each, concatenated and shuffled over 2 groups.
func shuffleV2Unit(in, out, stride int) (ops.Layer, error) {
	if stride == 2 {
		return ops.NewShuffleV2(ops.ShuffleV2Config{In: in, Out: out, Stride: 2})
	}
	half := out / 2
	var b1, b2 builder
	b1.add(convBN(in, in, 3, 1, 1, in, ops.ActNone))
	b1.add(convBN(in, half, 1, 1, 0, 1, ops.ActReLU))
	b2.add(convBN(in, half, 1, 1, 0, 1, ops.ActReLU))
	b2.add(convBN(half, half, 3, 1, 1, half, ops.ActNone))
	b2.add(convBN(half, half, 1, 1, 0, 1, ops.ActReLU))
	branch1, err := b1.flat()
	if err != nil {
		return nil, fmt.Errorf("shufflenet v2 proxy unit: %w", err)
	}
	branch2, err := b2.flat()
	if err != nil {
		return nil, fmt.Errorf("shufflenet v2 proxy unit: %w", err)
	}
	shuffle, err := ops.NewChannelShuffle(2)
	if err != nil {
		return nil, fmt.Errorf("shufflenet v2 proxy unit: %w", err)
	}
	return &ops.Block{Kind: "shufflenet_v2", Settings: blockSettings(in, out, 1),
		Body: ops.Seq(&ops.Branches{Layers: []ops.Layer{branch1, branch2}}, shuffle)}, nil
}
