package zoo

import (
	"errors"
	"fmt"
	"math"
	"slices"
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
	// number of classes, at width 1 without proxy strides. It does not check that
	// the input survives the network's strides; the package's Build function does.
	Build func(in ops.Shape, classes int) (ops.Layer, error)
	// Widths reports whether BuildWith accepts an Options.Width other than 1.
	Widths bool
	// ProxyStrides is the largest Options.ProxyStrides BuildWith accepts: the number
	// of the network's stride-2 downsamplings, or 0 if the network does not support
	// proxy strides.
	ProxyStrides int

	// scaled builds the network at a width multiplier, taking the strides of its
	// downsamplings from a strider; nil for a network that supports neither.
	scaled scaledBuild
}

// scaledBuild builds a network for inputs of shape in, classes outputs and width
// multiplier w, asking d for the stride of each downsampling in the order the
// network applies them.
type scaledBuild func(in ops.Shape, classes int, w float64, d *strider) (ops.Layer, error)

// imagenet is the input shape of the ImageNet networks.
var imagenet = ops.Shape{C: 3, H: 224, W: 224}

// fixed is the Spec of a network built at its published width only.
func fixed(name, source string, in ops.Shape, classes int, build func(ops.Shape, int) (ops.Layer, error)) Spec {
	return Spec{Name: name, Source: source, Input: in, Classes: classes, Build: build}
}

// scalable is the Spec of a network that BuildWith can build at any width and with
// up to downsamplings proxy strides.
func scalable(name, source string, in ops.Shape, classes, downsamplings int, build scaledBuild) Spec {
	return Spec{Name: name, Source: source, Input: in, Classes: classes, Widths: true, ProxyStrides: downsamplings,
		scaled: build,
		Build: func(in ops.Shape, classes int) (ops.Layer, error) {
			return build(in, classes, 1, &strider{})
		}}
}

// registry lists the zoo: the fixed-grouping networks in the order of the zoo issue's
// table, then the learned and dynamic grouping networks, each list kept beside its
// builders.
var registry = slices.Concat(fixedGrouping, learnedGrouping, dgcNetworks, scaleNetworks)

// fixedGrouping lists the networks whose grouping the designer fixed.
var fixedGrouping = []Spec{
	scalable("mobilenet_v1", srcMobileNetV1, imagenet, 1000, 5, mobileNetV1),
	scalable("mobilenet_v2", srcMobileNetV2, imagenet, 1000, 5, mobileNetV2),
	fixed("shufflenet_v1_g3", srcShuffleNetV1, imagenet, 1000, shuffleNetV1(3)),
	fixed("shufflenet_v1_g8", srcShuffleNetV1, imagenet, 1000, shuffleNetV1(8)),
	scalable("shufflenet_v2", srcShuffleNetV2, imagenet, 1000, 5, shuffleNetV2),
	fixed("squeezenet1_0", srcSqueezeNet, imagenet, 1000, squeezeNet10),
	fixed("squeezenet1_1", srcSqueezeNet, imagenet, 1000, squeezeNet11),
	fixed("mixnet_s", srcMixNet, imagenet, 1000, mixNet(mixNetS, 16)),
	fixed("mixnet_m", srcMixNet, imagenet, 1000, mixNet(mixNetM, 24)),
	fixed("xception", srcXception, ops.Shape{C: 3, H: 299, W: 299}, 1000, xception),
	fixed("googlenet", srcGoogLeNet, imagenet, 1000, googLeNet),
	fixed("resnet50", srcResNet, imagenet, 1000, resNet50(1, 64)),
	fixed("resnext50_32x4d", srcResNet, imagenet, 1000, resNet50(32, 4)),
	fixed("igcv3", srcIGCV3, imagenet, 1000, igcv3),
	fixed("oct_resnet50", srcOctResNet, imagenet, 1000, octResNet50),
	fixed("bl_resnet50", srcBLResNet, imagenet, 1000, blResNet50),
	scalable("reference_net", srcReferenceNet, ops.Shape{C: 1, H: 28, W: 28}, 10, 3, referenceNet),
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

// ErrUnsupported is returned, wrapped, by BuildWith and FitWidth for a width
// multiplier or proxy strides that the network does not support (see Spec.Widths and
// Spec.ProxyStrides).
var ErrUnsupported = errors.New("not supported by this network")

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
// given number of classes, at width 1 and without proxy strides. Its output has shape
// (classes, 1, 1): one logit per class. An input the network's strides reduce to
// nothing gives an error wrapping ErrInputTooSmall.
func Build(name string, in ops.Shape, classes int) (*ops.Network, error) {
	if in.C <= 0 || in.H <= 0 || in.W <= 0 {
		return nil, fmt.Errorf("zoo: %s: input %v must have positive sides", name, in)
	}
	if classes <= 0 {
		return nil, fmt.Errorf("zoo: %s: %d classes must be positive", name, classes)
	}
	return BuildWith(name, Options{Input: in, Classes: classes})
}

// BuildWith returns the network called name as the options say: at an input shape
// and class count, at a width multiplier, and with its first downsamplings at stride
// 1 (the search's proxy derivation). Its output has shape (classes, 1, 1). A width
// other than 1 or proxy strides for a network whose Spec does not support them give
// an error wrapping ErrUnsupported; an input the network's strides reduce to nothing
// gives one wrapping ErrInputTooSmall.
func BuildWith(name string, o Options) (*ops.Network, error) {
	s, err := Lookup(name)
	if err != nil {
		return nil, err
	}
	if o.Input == (ops.Shape{}) {
		o.Input = s.Input
	}
	if o.Classes == 0 {
		o.Classes = s.Classes
	}
	if o.Width == 0 {
		o.Width = 1
	}
	in := o.Input
	switch {
	case in.C <= 0 || in.H <= 0 || in.W <= 0:
		return nil, fmt.Errorf("zoo: %s: input %v must have positive sides", name, in)
	case o.Classes < 0:
		return nil, fmt.Errorf("zoo: %s: %d classes must be positive", name, o.Classes)
	case !(o.Width > 0) || math.IsInf(o.Width, 0):
		return nil, fmt.Errorf("zoo: %s: width %v must be positive and finite", name, o.Width)
	case o.ProxyStrides < 0:
		return nil, fmt.Errorf("zoo: %s: %d proxy strides must not be negative", name, o.ProxyStrides)
	case o.Width != 1 && !s.Widths:
		return nil, fmt.Errorf("zoo: %s: width %v: %w (widths: %s)", name, o.Width, ErrUnsupported, supporting(true))
	case o.ProxyStrides > 0 && s.ProxyStrides == 0:
		return nil, fmt.Errorf("zoo: %s: %d proxy strides: %w (proxy strides: %s)", name, o.ProxyStrides,
			ErrUnsupported, supporting(false))
	case o.ProxyStrides > s.ProxyStrides:
		return nil, fmt.Errorf("zoo: %s: %d proxy strides, but it has only %d stride-2 downsamplings",
			name, o.ProxyStrides, s.ProxyStrides)
	}
	var root ops.Layer
	if s.scaled != nil {
		root, err = s.scaled(in, o.Classes, o.Width, &strider{left: o.ProxyStrides})
	} else {
		root, err = s.Build(in, o.Classes)
	}
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
	if want := (ops.Shape{C: o.Classes, H: 1, W: 1}); n.OutShape() != want {
		return nil, fmt.Errorf("zoo: %s: output %v at input %v, want %v", name, n.OutShape(), in, want)
	}
	return n, nil
}

// supporting lists the networks that support widths (or, if widths is false, proxy
// strides), for error messages.
func supporting(widths bool) string {
	var names []string
	for _, s := range registry {
		if (widths && s.Widths) || (!widths && s.ProxyStrides > 0) {
			names = append(names, s.Name)
		}
	}
	return strings.Join(names, ", ")
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

// flat returns the collected layers as one Sequential, with the layers of collected
// Sequentials (such as convBN's) spliced in, or the first error: the layout of ops's
// own blocks (its seqOf).
func (b *builder) flat() (*ops.Sequential, error) {
	if b.err != nil {
		return nil, b.err
	}
	s := ops.Seq()
	for _, l := range b.layers {
		if q, ok := l.(*ops.Sequential); ok {
			s.Layers = append(s.Layers, q.Layers...)
		} else {
			s.Layers = append(s.Layers, l)
		}
	}
	return s, nil
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
