package space

import (
	"fmt"
	"slices"

	"nas/ops"
)

// buildBlock returns one block of stage st from in to out channels at the given
// stride, for an input of spatial size at: its family's block, with its grouped
// pointwise convolutions in the stage's grouping mode and its convolutions at the
// stage's bit width.
func buildBlock(st Stage, in, out, stride int, at ops.Shape) (ops.Layer, error) {
	b, err := familyBlock(st, in, out, stride, at)
	if err != nil {
		return nil, err
	}
	if b, err = groupPointwise(b, st); err != nil {
		return nil, fmt.Errorf("%s grouping: %w", st.Grouping, err)
	}
	if b, err = quantizeConvs(b, st.Bits); err != nil {
		return nil, fmt.Errorf("%d-bit weights: %w", st.Bits, err)
	}
	return b, nil
}

// familyBlock returns one block of stage st's family.
func familyBlock(st Stage, in, out, stride int, at ops.Shape) (ops.Layer, error) {
	switch st.Family {
	case InvertedResidual, IGC:
		return invertedResidual(st, in, out, stride, at)
	case ShuffleV1:
		return ops.NewShuffleV1(ops.ShuffleV1Config{In: in, Out: out, Groups: st.Groups, Stride: stride, K: st.Kernels[0]})
	case ShuffleV2:
		return ops.NewShuffleV2(ops.ShuffleV2Config{In: in, Out: out, Stride: stride})
	case Fire:
		// Batch-normalised, like every other family here: without batch norm a
		// stack of plain Fire modules at proxy width stayed at chance (a quarter of
		// the candidates evaluated at 4096 MNIST images had accuracy near 0.1, and
		// each of them learned once its Fire stages were replaced).
		half := out / 2
		fire, err := ops.NewFire(ops.FireConfig{In: in, Squeeze: max(2, half/st.Expand), Expand1x1: half, Expand3x3: half,
			BatchNorm: true})
		if err != nil || stride == 1 {
			return fire, err
		}
		// SqueezeNet downsamples with a 3x3 stride-2 max pool (ceil mode) before a Fire.
		pool, err := ops.NewMaxPool2D(ops.PoolConfig{K: 3, Stride: 2, CeilMode: true})
		if err != nil {
			return nil, err
		}
		return ops.Seq(pool, fire), nil
	case Flattened:
		return ops.NewFlattened(ops.FlattenedConfig{In: in, Out: out, K: st.Kernels[0], Stride: stride, Act: ops.ActReLU6})
	case ScaleAgg:
		return scaleBlock(st, in, out, stride, at)
	}
	return nil, fmt.Errorf("unknown block family %d", int(st.Family))
}

// octaveFits reports whether a spatial convolution at stride over an input of
// size at can run a share of its channels at half resolution and upsample them
// back to exactly its output size.
func octaveFits(at ops.Shape, stride int) bool {
	m := 2 * stride
	return at.H%m == 0 && at.W%m == 0 && at.H >= m && at.W >= m
}

// invertedResidual builds the inverted residual and IGC families: a grouped 1x1
// expansion, a MixConv depthwise stage (with its octave split), a grouped 1x1
// projection, with a channel shuffle after the expansion (Shuffle) or after both
// pointwise convolutions (IGC's permutations), and the residual when the shape
// allows.
func invertedResidual(st Stage, in, out, stride int, at ops.Shape) (ops.Layer, error) {
	mid := in * st.Expand
	// The octave split needs its two parts to hold every kernel size at least once;
	// a block too narrow for that, or at a size that does not halve evenly, runs
	// all its channels at full resolution.
	lo := max(len(st.Kernels), int(st.Alpha*float64(mid)+0.5))
	if st.Alpha == 0 || !octaveFits(at, stride) || mid-lo < len(st.Kernels) {
		cfg := ops.InvertedResidualConfig{In: in, Out: out, Mid: mid, Stride: stride, Kernels: st.Kernels,
			Groups: st.Groups, Shuffle: st.Interleave != NoInterleave && st.Groups > 1, Act: ops.ActReLU6,
			NoSkip: st.Interleave == IGCPermutation}
		b, err := ops.NewInvertedResidual(cfg)
		if err != nil || st.Interleave != IGCPermutation {
			return b, err
		}
		return igcTail(b, in, out, stride, st.Groups)
	}
	// The octave split: Alpha of the expanded channels go through an average pool,
	// the depthwise MixConv at half resolution and a nearest upsampling (Chen et al.
	// 2019's low-frequency group; the pointwise convolutions exchange information
	// between the two resolutions).
	hi := mid - lo
	var layers []ops.Layer
	if mid != in {
		e, err := ops.Conv(in, mid, 1, 1, st.Groups, false)
		if err != nil {
			return nil, err
		}
		layers = append(layers, e, ops.NewBatchNorm2D(mid), ops.NewReLU6())
		if st.Interleave != NoInterleave && st.Groups > 1 {
			sh, err := ops.NewChannelShuffle(st.Groups)
			if err != nil {
				return nil, err
			}
			layers = append(layers, sh)
		}
	}
	high, err := ops.NewMixConv(hi, st.Kernels, stride, 1)
	if err != nil {
		return nil, err
	}
	low, err := ops.NewMixConv(lo, st.Kernels, stride, 1)
	if err != nil {
		return nil, err
	}
	pool, err := ops.NewAvgPool2D(ops.PoolConfig{K: 2})
	if err != nil {
		return nil, err
	}
	split, err := ops.NewSplitApply([]int{hi, lo}, []ops.Layer{high, ops.Seq(pool, low, ops.NewUpsample2x())})
	if err != nil {
		return nil, err
	}
	p, err := ops.Conv(mid, out, 1, 1, st.Groups, false)
	if err != nil {
		return nil, err
	}
	layers = append(layers, split, ops.NewBatchNorm2D(mid), ops.NewReLU6(), p, ops.NewBatchNorm2D(out))
	body := ops.Layer(ops.Seq(layers...))
	if st.Interleave == IGCPermutation {
		return igcTail(body, in, out, stride, st.Groups)
	}
	settings := fmt.Sprintf("e%d g%d k%v s%d octave%g", st.Expand, st.Groups, st.Kernels, stride, st.Alpha)
	if stride == 1 && in == out {
		body = &ops.Residual{Body: body}
	}
	return &ops.Block{Kind: "octave_inverted_residual", Settings: settings, Body: body}, nil
}

// igcTail adds IGCV3's second permutation after the projection, then the residual
// when the shape allows (Sun et al. 2018, IGCV3: permutations after both group
// convolutions).
func igcTail(body ops.Layer, in, out, stride, groups int) (ops.Layer, error) {
	sh, err := ops.NewChannelShuffle(groups)
	if err != nil {
		return nil, err
	}
	var l ops.Layer = ops.Seq(body, sh)
	if stride == 1 && in == out {
		l = &ops.Residual{Body: l}
	}
	return &ops.Block{Kind: "igc", Settings: fmt.Sprintf("g%d s%d", groups, stride), Body: l}, nil
}

// scaleScales are the pooling factors that the kernel sizes 3, 5, 7 and 9 select for
// a scale aggregation block: Eli-YiLi/ScaleNet pytorch/scalenet.py SABlock's scales
// [None, 2, 4, 7], in the order of KernelSizes, both growing the receptive field.
var scaleScales = []int{1, 2, 4, 7}

// scaleBlock builds ScaleNet's bottleneck (ops.NewScaleBottleneck) from in to out
// channels: a bottleneck of out/4 channels (ScaleNet's and ResNet's expansion of 4),
// and a scale aggregation layer of Expand times as many channels split evenly over
// the scales st.Kernels selects. The reference allocates each scale's channels from
// a trained seed network's batch-norm scales (ops.AllocateScaleChannels); a search
// cannot train a seed per candidate, so it starts from the even split, as MixConv
// splits its kernels. layout makes out a multiple of 4 times the scales, so every
// scale gets the same number of channels.
func scaleBlock(st Stage, in, out, stride int, at ops.Shape) (ops.Layer, error) {
	planes := out / 4
	per := planes * st.Expand / len(st.Kernels)
	widths := make([]int, len(KernelSizes))
	for i, k := range KernelSizes {
		if slices.Contains(st.Kernels, k) {
			widths[i] = per
		}
	}
	side := max(1, at.H/stride)
	return ops.NewScaleBottleneck(ops.ScaleBottleneckConfig{In: in, Planes: planes, Stride: stride, Out: widths,
		Scales: scaleScales, Side: side})
}
