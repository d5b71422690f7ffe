package zoo

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"nas/ops"
)

// Spec describes one network of the zoo.
type Spec struct {
	// Name is the network's name on the command line, such as "mobilenet_v2".
	Name string
	// Source names the reference implementation whose counts the network reproduces.
	Source string
	// Input is the per-sample input shape the reference implementation is priced at.
	Input ops.Shape
	// Classes is the reference implementation's number of classes.
	Classes int
	// Build returns the network's root layer for inputs of shape in and the given
	// number of classes. It does not check that the input survives the network's
	// strides; the package's Build function does.
	Build func(in ops.Shape, classes int) (ops.Layer, error)
}

// imagenet is the input shape of the ImageNet networks.
var imagenet = ops.Shape{C: 3, H: 224, W: 224}

// registry lists the zoo in the order of the table.
var registry = []Spec{
	{"mobilenet_v1", srcMobileNetV1, imagenet, 1000, mobileNetV1},
	{"mobilenet_v2", srcMobileNetV2, imagenet, 1000, mobileNetV2},
	{"shufflenet_v1_g3", srcShuffleNetV1, imagenet, 1000, shuffleNetV1(3)},
	{"shufflenet_v1_g8", srcShuffleNetV1, imagenet, 1000, shuffleNetV1(8)},
	{"shufflenet_v2", srcShuffleNetV2, imagenet, 1000, shuffleNetV2},
	{"squeezenet1_0", srcSqueezeNet, imagenet, 1000, squeezeNet10},
	{"squeezenet1_1", srcSqueezeNet, imagenet, 1000, squeezeNet11},
	{"mixnet_s", srcMixNet, imagenet, 1000, mixNet(mixNetS, 16)},
	{"mixnet_m", srcMixNet, imagenet, 1000, mixNet(mixNetM, 24)},
	{"xception", srcXception, ops.Shape{C: 3, H: 299, W: 299}, 1000, xception},
	{"googlenet", srcGoogLeNet, imagenet, 1000, googLeNet},
	{"resnet50", srcResNet, imagenet, 1000, resNet50(1, 64)},
	{"resnext50_32x4d", srcResNet, imagenet, 1000, resNet50(32, 4)},
	{"igcv3", srcIGCV3, imagenet, 1000, igcv3},
	{"oct_resnet50", srcOctResNet, imagenet, 1000, octResNet50},
	{"bl_resnet50", srcBLResNet, imagenet, 1000, blResNet50},
	{"condensenet74_c4", srcCondenseNet, imagenet, 1000, condenseNet74(4)},
	{"condensenet74_c8", srcCondenseNet, imagenet, 1000, condenseNet74(8)},
	{"reference_net", srcReferenceNet, ops.Shape{C: 1, H: 28, W: 28}, 10, referenceNet},
}

// List returns the zoo's networks in a fixed order.
func List() []Spec {
	return append([]Spec(nil), registry...)
}

// Names returns the zoo's network names, sorted.
func Names() []string {
	names := make([]string, len(registry))
	for i, s := range registry {
		names[i] = s.Name
	}
	sort.Strings(names)
	return names
}

// ErrUnknown is returned, wrapped, by Lookup and Build for a name the zoo lacks.
var ErrUnknown = errors.New("unknown network")

// ErrInputTooSmall is returned, wrapped, by Build when the input does not survive the
// network's strides and pools.
var ErrInputTooSmall = errors.New("input too small")

// Lookup returns the network called name, or an error listing the known names.
func Lookup(name string) (Spec, error) {
	for _, s := range registry {
		if s.Name == name {
			return s, nil
		}
	}
	return Spec{}, fmt.Errorf("zoo: %w %q (known: %s)", ErrUnknown, name, strings.Join(Names(), ", "))
}

// Build returns the network called name for per-sample inputs of shape in and the
// given number of classes. Its output has shape (classes, 1, 1): one logit per class.
// An input the network's strides reduce to nothing gives an error wrapping
// ErrInputTooSmall.
func Build(name string, in ops.Shape, classes int) (*ops.Network, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if in.C <= 0 || in.H <= 0 || in.W <= 0 {
		return nil, fmt.Errorf("zoo: %s: input %v must have positive sides", name, in)
	}
	if classes <= 0 {
		return nil, fmt.Errorf("zoo: %s: %d classes must be positive", name, classes)
	}
	root, err := s.Build(in, classes)
	if err != nil {
		return nil, fmt.Errorf("zoo: %s: %w", name, err)
	}
	n, err := ops.NewNetwork(root, in)
	if err != nil {
		// The layers are built for in.C channels and the classifier for classes, so
		// the only shape a network can reject is one that its strides, pools or
		// its branches' up- and down-sampling cannot follow.
		return nil, fmt.Errorf("zoo: %s: %w for its strides (%v, the reference input is %v): %w",
			name, ErrInputTooSmall, in, s.Input, err)
	}
	if want := (ops.Shape{C: classes, H: 1, W: 1}); n.OutShape() != want {
		return nil, fmt.Errorf("zoo: %s: output %v at input %v, want %v", name, n.OutShape(), in, want)
	}
	return n, nil
}

// builder collects the layers of a network and the first error of its constructors,
// so that the network files read as the reference implementations do, one layer per
// line, with a single error check at the end.
type builder struct {
	layers []ops.Layer
	err    error
}

// add appends l unless an earlier step failed; a failed step records its error. It
// takes the results of a constructor directly: b.add(ops.NewShuffleV2(cfg)).
func (b *builder) add(l ops.Layer, err error) {
	if b.err != nil {
		return
	}
	if err != nil {
		b.err = err
		return
	}
	b.layers = append(b.layers, l)
}

// seq returns the collected layers as a Sequential, or the first error.
func (b *builder) seq() (*ops.Sequential, error) {
	if b.err != nil {
		return nil, b.err
	}
	return ops.Seq(b.layers...), nil
}

// act returns a fresh activation layer, or nil for ops.ActNone.
func act(a ops.Act) ops.Layer {
	switch a {
	case ops.ActReLU:
		return ops.NewReLU()
	case ops.ActReLU6:
		return ops.NewReLU6()
	case ops.ActSwish:
		return ops.NewSwish()
	case ops.ActHSwish:
		return ops.NewHSwish()
	case ops.ActSigmoid:
		return ops.NewSigmoid()
	case ops.ActHSigmoid:
		return ops.NewHSigmoid()
	}
	return nil
}

// convBN returns a k x k convolution without bias (stride, zero padding pad, groups),
// batch norm over its outputs and the activation a: the conv-BN-act unit of the stems
// and heads, which sit outside the blocks.
func convBN(in, out, k, stride, pad, groups int, a ops.Act) (*ops.Sequential, error) {
	c, err := ops.NewConv2D(ops.ConvConfig{In: in, Out: out, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadH: pad, PadW: pad, Groups: groups})
	if err != nil {
		return nil, err
	}
	s := ops.Seq(c, ops.NewBatchNorm2D(out))
	if l := act(a); l != nil {
		s.Layers = append(s.Layers, l)
	}
	return s, nil
}

// classifier returns global average pooling and a linear layer from in features to
// classes, the head of every network but SqueezeNet.
func classifier(in, classes int, bias bool) (*ops.Sequential, error) {
	l, err := ops.NewLinear(in, classes, bias)
	if err != nil {
		return nil, err
	}
	return ops.Seq(ops.NewGlobalAvgPool(), l), nil
}

// maxPool returns a square max pool.
func maxPool(k, stride, pad int, ceil bool) (ops.Layer, error) {
	return ops.NewMaxPool2D(ops.PoolConfig{K: k, Stride: stride, Pad: pad, CeilMode: ceil})
}

// avgPool returns a square average pool counting the padding, PyTorch's default.
func avgPool(k, stride, pad int) (ops.Layer, error) {
	return ops.NewAvgPool2D(ops.PoolConfig{K: k, Stride: stride, Pad: pad})
}

// blockSettings formats a block's widths and stride for the layer table.
func blockSettings(in, out, stride int) string {
	return fmt.Sprintf("%d->%d s%d", in, out, stride)
}
