package zoo

import "nas/ops"

const srcDGCResNet18 = "hellozhuo/dgc models/dynamic_resnet.py dyresnet18 and layers.py DynamicMultiHeadConv " +
	"(README's ImageNet command: heads 4, gate factor 0.45, squeeze rate 16, group lasso 1e-5) (Su et al. 2020)"

// dgcResNet18Heads, dgcResNet18Keep, dgcResNet18Squeeze and dgcLasso are the settings
// of hellozhuo/dgc's README command for ResNet-18 on ImageNet (--heads 4
// --gate-factor 0.45 --squeeze-rate 16) and main.py's --group-lasso-lambda default.
const (
	dgcResNet18Heads   = 4
	dgcResNet18Keep    = 0.45
	dgcResNet18Squeeze = 16
	dgcLasso           = 1e-5
)

// dgcUnit is layers.py's DynamicMultiHeadConv: batch norm over the input, ReLU and a
// dynamic group convolution with ResNet-18's settings (k x k, stride, padding pad).
func dgcUnit(in, out, k, stride, pad int) (ops.Layer, error) {
	c, err := ops.NewDynamicGroupConv(ops.DGCConfig{In: in, Out: out, KH: k, KW: k,
		StrideH: stride, StrideW: stride, PadH: pad, PadW: pad,
		Heads: dgcResNet18Heads, Keep: dgcResNet18Keep, SqueezeRate: dgcResNet18Squeeze, Lasso: dgcLasso})
	if err != nil {
		return nil, err
	}
	return ops.Seq(ops.NewBatchNorm2D(in), ops.NewReLU(), c), nil
}

// dgcBasicBlock is dynamic_resnet.py's BasicBlock: two 3x3 DynamicMultiHeadConvs
// (the first at stride), each followed by batch norm (and ReLU after the first), plus
// the input, or a 1x1 DynamicMultiHeadConv at stride and batch norm
// (Norm_after_downsample) when the shape changes, then ReLU.
func dgcBasicBlock(in, planes, stride int) (ops.Layer, error) {
	var b builder
	b.add(dgcUnit(in, planes, 3, stride, 1))
	b.add(ops.NewBatchNorm2D(planes), nil)
	b.add(ops.NewReLU(), nil)
	b.add(dgcUnit(planes, planes, 3, 1, 1))
	b.add(ops.NewBatchNorm2D(planes), nil)
	body, err := b.flat()
	if err != nil {
		return nil, err
	}
	var short ops.Layer
	if stride != 1 || in != planes {
		var s builder
		s.add(dgcUnit(in, planes, 1, stride, 0))
		s.add(ops.NewBatchNorm2D(planes), nil)
		if short, err = s.flat(); err != nil {
			return nil, err
		}
	}
	return &ops.Block{Kind: "dgc_basic", Settings: blockSettings(in, planes, stride),
		Body: &ops.Residual{Body: body, Shortcut: short, Post: ops.NewReLU()}}, nil
}

// dgcResNet18 returns dynamic_resnet.py's dyresnet18: torchvision's ResNet stem (a
// 7x7 stride-2 convolution to 64 channels, batch norm, ReLU, a 3x3 stride-2 max
// pool), four stages of two BasicBlocks of 64, 128, 256 and 512 channels (the first
// of each stage but the first at stride 2) whose every convolution, shortcuts
// included, is dynamic, global average pooling and an FC layer with bias. The width
// multiplier must be 1 (the Spec does not support widths); d gives the strides of
// the five downsamplings: stem, max pool and the first block of stages 2-4.
//
// In evaluation mode the network can overflow or collapse to its classifier's bias,
// as the reference's structure does too: once a saliency generator's linear part
// outweighs fc2's bias, a dynamic group convolution's output grows about as the
// square of its input's scale, and the batch norms between the up to 16 dynamic
// convolutions in a row normalize with fixed running statistics instead of each
// batch's, so a sample's deviation from the running scale is raised to a high
// power. It happens at initialization with running statistics averaged exactly over
// 30 batches, in nas on MNIST and in a PyTorch model of hellozhuo/dgc's dyresnet18
// on random images alike; training mode, which renormalizes every batch, is not
// affected.
func dgcResNet18(in ops.Shape, classes int, _ float64, d *strider) (ops.Layer, error) {
	var b builder
	b.add(convBN(in.C, 64, 7, d.next(2), 3, 1, ops.ActReLU))
	b.add(maxPool(3, d.next(2), 1, false))
	c := 64
	for stage := range 4 {
		planes := 64 << stage
		for i := range 2 {
			stride := 1
			if i == 0 && stage > 0 {
				stride = d.next(2)
			}
			b.add(dgcBasicBlock(c, planes, stride))
			c = planes
		}
	}
	b.add(classifier(c, classes, true))
	return b.seq()
}

// dgcNetworks lists the networks built from dynamic group convolutions (Su et al.
// 2020). dgc_resnet18 takes proxy strides (its five downsamplings) but no width
// multiplier.
var dgcNetworks = []Spec{{
	Name: "dgc_resnet18", Source: srcDGCResNet18, Input: imagenet, Classes: 1000, ProxyStrides: 5,
	scaled: dgcResNet18,
	Build: func(in ops.Shape, classes int) (ops.Layer, error) {
		return dgcResNet18(in, classes, 1, &strider{})
	},
}}
