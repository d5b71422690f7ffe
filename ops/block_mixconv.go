package ops

import (
	"fmt"
	"strings"
)

// NewMixConv returns MixConv (Tan and Le 2019, "MixConv: Mixed Depthwise Convolutional
// Kernels") over c channels as a Block: the channels are split into len(kernels)
// parts with EvenSplits (MixNet's _split_channels: equal parts, the remainder to the
// first), each part gets a depthwise convolution of its kernel size with "same"
// padding dilation*(k-1)/2, stride and dilation, and the results are concatenated.
// This is timm's MixedConv2d with depthwise=True. A single kernel gives a plain
// depthwise convolution. Stride is 1 or 2 (0 means 1), dilation at least 1 (0 means
// 1), and kernel sizes are odd.
func NewMixConv(c int, kernels []int, stride, dilation int) (*Block, error) {
	l, err := mixConv(c, kernels, stride, dilation)
	if err != nil {
		return nil, err
	}
	return &Block{Kind: "mixconv", Settings: fmt.Sprintf("c%d k%s s%d", c, kernelList(kernels), max(stride, 1)), Body: l}, nil
}

// mixConv builds MixConv's layer: a depthwise Conv2D for one kernel, a SplitApply of
// depthwise convolutions for several.
func mixConv(c int, kernels []int, stride, dilation int) (Layer, error) {
	stride, dilation = max(stride, 1), max(dilation, 1)
	switch {
	case c <= 0:
		return nil, fmt.Errorf("mixconv: %d channels must be positive", c)
	case len(kernels) == 0:
		return nil, fmt.Errorf("mixconv: no kernel sizes")
	case len(kernels) > c:
		return nil, fmt.Errorf("mixconv: %d kernel sizes for %d channels", len(kernels), c)
	case stride > 2:
		return nil, fmt.Errorf("mixconv: stride %d, want 1 or 2", stride)
	}
	splits := EvenSplits(c, len(kernels))
	layers := make([]Layer, len(kernels))
	for i, k := range kernels {
		if k <= 0 || k%2 == 0 {
			return nil, fmt.Errorf("mixconv: kernel size %d, want a positive odd size", k)
		}
		pad := dilation * (k - 1) / 2
		conv, err := NewConv2D(ConvConfig{In: splits[i], Out: splits[i], KH: k, KW: k,
			StrideH: stride, StrideW: stride, PadH: pad, PadW: pad,
			DilH: dilation, DilW: dilation, Groups: splits[i]})
		if err != nil {
			return nil, fmt.Errorf("mixconv: %w", err)
		}
		layers[i] = conv
	}
	if len(layers) == 1 {
		return layers[0], nil
	}
	return NewSplitApply(splits, layers)
}

// kernelList formats kernel sizes as "3,5,7".
func kernelList(ks []int) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = fmt.Sprint(k)
	}
	return strings.Join(s, ",")
}
