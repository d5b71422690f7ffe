package zoo

import (
	"fmt"
	"strconv"
	"strings"

	"nas/ops"
)

const srcMixNet = "timm mixnet_s / mixnet_m (huggingface/pytorch-image-models timm/models/efficientnet.py " +
	"_gen_mixnet_s, _gen_mixnet_m, _efficientnet_builder.py, _efficientnet_blocks.py, " +
	"layers/mixed_conv2d.py), a port of tensorflow/tpu models/official/mnasnet/mixnet (Tan and Le 2019)"

// mixNetS and mixNetM are timm's arch_def of MixNet-S and MixNet-M, stage by stage, in
// its block-string notation (timm/models/efficientnet.py _gen_mixnet_s and
// _gen_mixnet_m; _efficientnet_builder.py _decode_block_str): ir = inverted residual,
// ds = depthwise-separable; r repeats, k depthwise kernels (mixed when several), a and
// p the splits of the expansion and projection 1x1s, s stride, e expansion ratio, c
// output channels, se squeeze-excite ratio of the input channels, nsw swish (else
// the network's ReLU).
var (
	mixNetS = [][]string{
		{"ds_r1_k3_s1_e1_c16"},
		{"ir_r1_k3_a1.1_p1.1_s2_e6_c24", "ir_r1_k3_a1.1_p1.1_s1_e3_c24"},
		{"ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"},
		{"ir_r1_k3.5.7_p1.1_s2_e6_c80_se0.25_nsw", "ir_r2_k3.5_p1.1_s1_e6_c80_se0.25_nsw"},
		{"ir_r1_k3.5.7_a1.1_p1.1_s1_e6_c120_se0.5_nsw", "ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"},
		{"ir_r1_k3.5.7.9.11_s2_e6_c200_se0.5_nsw", "ir_r2_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"},
	}
	mixNetM = [][]string{
		{"ds_r1_k3_s1_e1_c24"},
		{"ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c32", "ir_r1_k3_a1.1_p1.1_s1_e3_c32"},
		{"ir_r1_k3.5.7.9_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"},
		{"ir_r1_k3.5.7_s2_e6_c80_se0.25_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e6_c80_se0.25_nsw"},
		{"ir_r1_k3_s1_e6_c120_se0.5_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"},
		{"ir_r1_k3.5.7.9_s2_e6_c200_se0.5_nsw", "ir_r3_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"},
	}
)

// mixNetFeatures is the width of MixNet's last 1x1 convolution (num_features=1536).
const mixNetFeatures = 1536

// mixBlock is one decoded block string.
type mixBlock struct {
	kind           string // "ir" or "ds"
	repeat, stride int
	kernels        []int
	expandSplits   int // timm's exp_kernel_size [1]*n: n parts, a grouped 1x1
	projectSplits  int // timm's pw_kernel_size [1]*n
	expand         float64
	out            int
	se             float64
	act            ops.Act
}

// parseMixBlock decodes timm's block strings as _decode_block_str does, for the
// options MixNet uses.
func parseMixBlock(s string) (mixBlock, error) {
	parts := strings.Split(s, "_")
	b := mixBlock{kind: parts[0], expandSplits: 1, projectSplits: 1, expand: 1, act: ops.ActReLU}
	if b.kind != "ir" && b.kind != "ds" {
		return b, fmt.Errorf("mixnet block %q: unknown kind %q", s, b.kind)
	}
	ints := func(v string) ([]int, error) {
		var ks []int
		for _, f := range strings.Split(v, ".") {
			k, err := strconv.Atoi(f)
			if err != nil {
				return nil, err
			}
			ks = append(ks, k)
		}
		return ks, nil
	}
	for _, op := range parts[1:] {
		var err error
		switch {
		case op == "nsw":
			b.act = ops.ActSwish
		case strings.HasPrefix(op, "se"):
			b.se, err = strconv.ParseFloat(op[2:], 64)
		case op[0] == 'k':
			b.kernels, err = ints(op[1:])
		case op[0] == 'a' || op[0] == 'p':
			var ks []int
			if ks, err = ints(op[1:]); err == nil {
				for _, k := range ks {
					if k != 1 {
						err = fmt.Errorf("kernel %d, want 1x1 splits", k)
					}
				}
				if op[0] == 'a' {
					b.expandSplits = len(ks)
				} else {
					b.projectSplits = len(ks)
				}
			}
		case op[0] == 'e':
			b.expand, err = strconv.ParseFloat(op[1:], 64)
		case op[0] == 'r':
			b.repeat, err = strconv.Atoi(op[1:])
		case op[0] == 's':
			b.stride, err = strconv.Atoi(op[1:])
		case op[0] == 'c':
			b.out, err = strconv.Atoi(op[1:])
		default:
			err = fmt.Errorf("unknown option")
		}
		if err != nil {
			return b, fmt.Errorf("mixnet block %q: option %q: %w", s, op, err)
		}
	}
	return b, nil
}

// mixNet returns MixNet as timm's EfficientNet class assembles it from an arch_def:
// a 3x3 stride-2 conv-BN-ReLU stem of the given width, the blocks, a 1x1 conv-BN-ReLU
// to 1536, global average pooling and an FC layer with bias (timm's dropout is left
// out). Padding is symmetric (timm's mixnet_s/mixnet_m, not the "same"-padded tf_
// ports).
//
// An "ir" block is ops.InvertedResidual: timm's InvertedResidual with MixedConv2d, the
// expansion and projection split into a (p) parts, which for MixNet's even channel
// counts are grouped 1x1 convolutions; squeeze-excite reduces to int(in*se) channels
// (timm: round(mid*se/exp), the same here) with the block's activation. A "ds" block
// is timm's DepthwiseSeparableConv: depthwise -> BN -> act -> 1x1 -> BN, plus the
// input when the shape is kept, which is InvertedResidual without expansion.
func mixNet(arch [][]string, stem int) func(ops.Shape, int) (ops.Layer, error) {
	return func(in ops.Shape, classes int) (ops.Layer, error) {
		var b builder
		b.add(convBN(in.C, stem, 3, 2, 1, 1, ops.ActReLU))
		c := stem
		for _, stage := range arch {
			for _, s := range stage {
				mb, err := parseMixBlock(s)
				if err != nil {
					return nil, err
				}
				for i := range mb.repeat {
					stride := 1
					if i == 0 {
						stride = mb.stride
					}
					cfg := ops.InvertedResidualConfig{In: c, Out: mb.out, Expand: mb.expand, Stride: stride,
						Kernels: mb.kernels, ExpandGroups: mb.expandSplits, ProjectGroups: mb.projectSplits,
						Act: mb.act, SERatio: mb.se}
					if mb.kind == "ir" {
						// timm keeps the expansion even at ratio 1; MixNet never has one.
						cfg.KeepExpand = true
					}
					b.add(ops.NewInvertedResidual(cfg))
					c = mb.out
				}
			}
		}
		b.add(convBN(c, mixNetFeatures, 1, 1, 0, 1, ops.ActReLU))
		b.add(classifier(mixNetFeatures, classes, true))
		return b.seq()
	}
}
