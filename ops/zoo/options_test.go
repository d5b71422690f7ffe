package zoo

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"nas/ops"
)

// mnist is the search's MNIST proxy input: 224/28 = 8, so three proxy strides.
var mnist = ops.Shape{C: 1, H: 28, W: 28}

// scalableNames returns the networks whose Spec supports widths and proxy strides.
func scalableNames(t *testing.T) []string {
	t.Helper()
	var names []string
	for _, s := range List() {
		// A network that scales in width also takes proxy strides; the converse need
		// not hold (dgc_resnet18 takes proxy strides at its published width only).
		if s.Widths && s.ProxyStrides == 0 {
			t.Errorf("spec %q: Widths but no ProxyStrides", s.Name)
		}
		if s.Widths {
			names = append(names, s.Name)
		}
	}
	// The baselines (mobilenet_v2, shufflenet_v2) and the two other networks
	// the task scales.
	if want := []string{"mobilenet_v1", "mobilenet_v2", "shufflenet_v2", "reference_net"}; !slices.Equal(names, want) {
		t.Errorf("networks with widths and proxy strides %v, want %v", names, want)
	}
	return names
}

// TestWidthOneIsBuild checks that BuildWith at width 1 (written or left 0) without
// proxy strides prices every network exactly as Build does, and that the zero
// Options build the network at its reference input.
func TestWidthOneIsBuild(t *testing.T) {
	for _, s := range List() {
		want, err := Build(s.Name, s.Input, s.Classes)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range []Options{{}, {Input: s.Input, Classes: s.Classes, Width: 1}} {
			n, err := BuildWith(s.Name, o)
			if err != nil {
				t.Errorf("BuildWith(%q, %+v): %v", s.Name, o, err)
				continue
			}
			if n.Cost() != want.Cost() || n.Input() != s.Input {
				t.Errorf("BuildWith(%q, %+v) = %+v at %v, Build = %+v at %v", s.Name, o, n.Cost(), n.Input(), want.Cost(), s.Input)
			}
		}
	}
}

// convKinds returns the network's convolutions as the layer table describes them
// (kernel, groups, "dw"), without their strides: the structure the proxy derivation
// keeps (as space's TestProxyKeepsGrouping compares them).
func convKinds(n *ops.Network) []string {
	var ks []string
	for _, l := range n.Layers() {
		if f := strings.Fields(l.Kind); len(f) >= 2 && f[0] == "Conv2D" {
			f[1], _, _ = strings.Cut(f[1], "/")
			ks = append(ks, strings.Join(f, " "))
		}
	}
	return ks
}

// lastMap returns the shape of the feature map that the network's global average
// pooling reduces.
func lastMap(t *testing.T, n *ops.Network) ops.Shape {
	t.Helper()
	for _, l := range n.Layers() {
		if l.Kind == "GlobalAvgPool" {
			return l.In
		}
	}
	t.Fatal("no GlobalAvgPool in the layer table")
	return ops.Shape{}
}

// TestProxyKeepsStructure builds each scalable network at its target shape and at a
// proxy input with ProxyStridesFor(target, proxy) proxy strides: the proxy has the
// target's convolutions (kernels, groups, depthwise) in the same order, and its last
// feature map has the target's size, where without proxy strides it is much smaller.
func TestProxyKeepsStructure(t *testing.T) {
	for _, c := range []struct {
		name           string
		proxy          ops.Shape
		strides        int // ProxyStridesFor(the spec's input, proxy)
		last, noProxy  int // the side of the last feature map with and without proxy strides
		target, sideAt int // the target's side and its last feature map's
	}{
		// 224/32 = 7 at the target. Without proxy strides, 28 halves five times:
		// 14, 7, 4, 2, 1 (padded stride-2 convolutions and pools round up).
		{"mobilenet_v2", mnist, 3, 7, 1, 224, 7},
		{"mobilenet_v1", mnist, 3, 7, 1, 224, 7},
		{"shufflenet_v2", mnist, 3, 7, 1, 224, 7},
		// reference_net's target is 28x28: 28 -> 14 -> 7 -> 4; a 14x14 proxy with one
		// proxy stride reaches 4 too, without it 14 -> 7 -> 4 -> 2.
		{"reference_net", ops.Shape{C: 1, H: 14, W: 14}, 1, 4, 2, 28, 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec, err := Lookup(c.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := ProxyStridesFor(spec.Input, c.proxy); got != c.strides {
				t.Errorf("ProxyStridesFor(%v, %v) = %d, want %d", spec.Input, c.proxy, got, c.strides)
			}
			target, err := BuildWith(c.name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			proxy, err := BuildWith(c.name, Options{Input: c.proxy, Classes: 10, Width: 0.5, ProxyStrides: c.strides})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := BuildWith(c.name, Options{Input: c.proxy, Classes: 10, Width: 0.5})
			if err != nil {
				t.Fatal(err)
			}
			tk, pk := convKinds(target), convKinds(proxy)
			if !slices.Equal(tk, pk) {
				t.Errorf("proxy convolutions differ from the target's:\nproxy  %v\ntarget %v", pk, tk)
			}
			if len(proxy.Layers()) != len(target.Layers()) {
				t.Errorf("proxy has %d layers, the target %d", len(proxy.Layers()), len(target.Layers()))
			}
			if got := lastMap(t, target); got.H != c.sideAt || got.W != c.sideAt || spec.Input.H != c.target {
				t.Errorf("target %v: last feature map %v, want %dx%d", spec.Input, got, c.sideAt, c.sideAt)
			}
			if got := lastMap(t, proxy); got.H != c.last || got.W != c.last {
				t.Errorf("proxy %v with %d proxy strides: last feature map %v, want %dx%d", c.proxy, c.strides, got, c.last, c.last)
			}
			if got := lastMap(t, plain); got.H != c.noProxy || got.W != c.noProxy {
				t.Errorf("proxy %v without proxy strides: last feature map %v, want %dx%d", c.proxy, got, c.noProxy, c.noProxy)
			}
		})
	}
}

// TestProxyNetworksTrain trains every scalable network at width 0.5 on the MNIST
// proxy with its proxy strides (reference_net on 14x14 with one) as TestTrainingSteps
// trains the zoo: every parameter gets a gradient and the loss falls. It covers the
// stride-1 forms of the downsampling units (ShuffleNet V2's two-branch unit).
func TestProxyNetworksTrain(t *testing.T) {
	for _, name := range scalableNames(t) {
		t.Run(name, func(t *testing.T) {
			spec, err := Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			in := mnist
			if spec.Input.H <= mnist.H {
				in = ops.Shape{C: 1, H: 14, W: 14}
			}
			o := Options{Input: in, Classes: 10, Width: 0.5, ProxyStrides: ProxyStridesFor(spec.Input, in)}
			n, err := BuildWith(name, o)
			if err != nil {
				t.Fatal(err)
			}
			trainSteps(t, n, in, 10)
		})
	}
}

// TestCostGrowsWithWidth checks what FitWidth's bisection relies on: the MACs of
// every scalable network never fall as the width grows (0.1 to 2.5 in steps of 0.05,
// ProxyStrides 0, the network's reference input).
func TestCostGrowsWithWidth(t *testing.T) {
	for _, name := range scalableNames(t) {
		var prev int64
		for k := 2; k <= 50; k++ {
			w := float64(k) / 20
			n, err := BuildWith(name, Options{Width: w})
			if err != nil {
				t.Fatalf("BuildWith(%q, width %v): %v", name, w, err)
			}
			if got := n.Cost().MACs; got < prev {
				t.Errorf("%s: %d MACs at width %v, %d at %v", name, got, w, prev, float64(k-1)/20)
			}
			prev = n.Cost().MACs
		}
	}
}

// TestShuffleNetV2Channels checks the published widths against torchvision's
// stages_out_channels and the interpolation rule between and beyond them.
func TestShuffleNetV2Channels(t *testing.T) {
	for _, c := range []struct {
		w    float64
		want [5]int
	}{
		// torchvision models/shufflenetv2.py shufflenet_v2_x0_5, _x1_0, _x1_5, _x2_0.
		{0.5, [5]int{24, 48, 96, 192, 1024}},
		{1.0, [5]int{24, 116, 232, 464, 1024}},
		{1.5, [5]int{24, 176, 352, 704, 1024}},
		{2.0, [5]int{24, 244, 488, 976, 2048}},
		// Halfway from 0.5 to 1: 82 -> 84 (20.5 fours round away from zero), 164, 328.
		{0.75, [5]int{24, 84, 164, 328, 1024}},
		// Halfway from 1.5 to 2: 210 -> 212, 420, 840; the last convolution 1536.
		{1.75, [5]int{24, 212, 420, 840, 1536}},
		// Below 0.5, the 0.5 stages in proportion: 48 * 0.25/0.5 = 24, 48, 96.
		{0.25, [5]int{24, 24, 48, 96, 1024}},
		// At 0.05 the first stage would be 4.8: its floor of 4.
		{0.05, [5]int{24, 4, 8, 20, 1024}},
		// Above 2, the 2.0 widths in proportion: 305 -> 304, 610 -> 612, 1220, 2560.
		{2.5, [5]int{24, 304, 612, 1220, 2560}},
	} {
		if got := shuffleNetV2Channels(c.w); got != c.want {
			t.Errorf("shuffleNetV2Channels(%v) = %v, want %v", c.w, got, c.want)
		}
	}
	prev := shuffleNetV2Channels(0.001)
	for k := 2; k <= 3000; k++ {
		w := float64(k) / 1000
		ch := shuffleNetV2Channels(w)
		for i, c := range ch {
			if c%2 != 0 || c < prev[i] {
				t.Errorf("shuffleNetV2Channels(%v) = %v after %v: want even counts that never fall", w, ch, prev)
				break
			}
		}
		prev = ch
	}
}

// TestMakeDivisible checks makeDivisible against torchvision's _make_divisible
// (torchvision 0.14.1 models/mobilenetv2.py, run with /usr/bin/python3 on these
// values): rounding to the nearest multiple, the floor of one divisor and the 10%
// guard.
func TestMakeDivisible(t *testing.T) {
	for _, c := range []struct {
		v       float64
		divisor int
		want    int
	}{
		{32 * 0.5, 8, 16},
		{24 * 0.75, 8, 24},  // int(18 + 4) // 8 * 8 = 16 < 0.9 * 18: one more divisor
		{320 * 1.4, 8, 448}, // 448 exactly
		{3, 8, 8},           // the floor
		{11.9, 8, 16},       // int(15.9) // 8 * 8 = 8 < 0.9 * 11.9: one more divisor
		{12, 8, 16},         // int(16) // 8 * 8 = 16
		{1280 * 1.4, 8, 1792},
	} {
		if got := makeDivisible(c.v, c.divisor); got != c.want {
			t.Errorf("makeDivisible(%v, %d) = %d, want %d", c.v, c.divisor, got, c.want)
		}
	}
}

// TestFitWidth fits each scalable network into a budget at its target shape: the
// cost at the width found is within the budget, one thousandth more exceeds it, and
// the cost returned is the network's at that width.
func TestFitWidth(t *testing.T) {
	for _, c := range []struct {
		name   string
		budget int64
		o      Options
	}{
		// The 300 MFLOPs budget at ImageNet's 224x224x3 and 1000 classes.
		{"mobilenet_v2", 300_000_000, Options{Input: imagenet, Classes: 1000}},
		{"shufflenet_v2", 300_000_000, Options{Input: imagenet, Classes: 1000}},
		{"mobilenet_v1", 300_000_000, Options{Input: imagenet, Classes: 1000}},
		// mobilenet_v2 at width 1 exactly (torchvision's 300,774,272 MACs): 1 fits.
		{"mobilenet_v2", 300_774_272, Options{Input: imagenet, Classes: 1000}},
		// reference_net's own 4,340,896 MACs, halved.
		{"reference_net", 2_170_448, Options{}},
	} {
		w, cost, err := FitWidth(c.name, c.budget, c.o)
		if err != nil {
			t.Errorf("FitWidth(%q, %d): %v", c.name, c.budget, err)
			continue
		}
		t.Logf("FitWidth(%q, %d) = %v, %d MACs, %d params", c.name, c.budget, w, cost.MACs, cost.Params)
		at := func(w float64) ops.Cost {
			o := c.o
			o.Width = w
			n, err := BuildWith(c.name, o)
			if err != nil {
				t.Fatalf("BuildWith(%q, %+v): %v", c.name, o, err)
			}
			return n.Cost()
		}
		if got := at(w); got != cost || got.MACs > c.budget {
			t.Errorf("FitWidth(%q, %d) = %v, %+v; at %v the network costs %+v", c.name, c.budget, w, cost, w, got)
		}
		// 1e-9: far below a thousandth, far above float64's error in w*1000.
		if k := w * 1000; w < 0.1 || w > 2 || math.Abs(k-math.Round(k)) > 1e-9 {
			t.Errorf("FitWidth(%q, %d) = %v, want thousandths in [0.1, 2]", c.name, c.budget, w)
		}
		if next := math.Round(w*1000+1) / 1000; w < 2 && at(next).MACs <= c.budget {
			t.Errorf("FitWidth(%q, %d) = %v, but %v costs %d MACs, within the budget too", c.name, c.budget, w, next, at(next).MACs)
		}
	}
	if w, _, err := FitWidth("mobilenet_v2", 300_774_272, Options{Input: imagenet, Classes: 1000}); err == nil && w < 1 {
		t.Errorf("FitWidth(mobilenet_v2, its own cost at width 1) = %v, want at least 1", w)
	}
}

// TestBuildWithErrors checks the requests BuildWith and FitWidth refuse.
func TestBuildWithErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		o    Options
		is   error  // the sentinel the error wraps, if any
		msg  string // a part of the message
	}{
		{"resnet50", Options{Width: 0.5}, ErrUnsupported, "widths: mobilenet_v1, mobilenet_v2, shufflenet_v2, reference_net"},
		{"shufflenet_v1_g3", Options{Input: mnist, Classes: 10, ProxyStrides: 3}, ErrUnsupported, "proxy strides: mobilenet_v1"},
		// MobileNetV2 halves its input five times (stem, blocks at 24, 32, 64, 160).
		{"mobilenet_v2", Options{ProxyStrides: 6}, nil, "only 5 stride-2 downsamplings"},
		{"reference_net", Options{ProxyStrides: 4}, nil, "only 3 stride-2 downsamplings"},
		{"mobilenet_v2", Options{Width: -1}, nil, "must be positive"},
		{"mobilenet_v2", Options{Width: math.NaN()}, nil, "must be positive"},
		{"mobilenet_v2", Options{Width: math.Inf(1)}, nil, "finite"},
		{"mobilenet_v2", Options{ProxyStrides: -1}, nil, "must not be negative"},
		{"mobilenet_v2", Options{Classes: -2}, nil, "-2 classes"},
		{"mobilenet_v2", Options{Input: ops.Shape{C: 1, H: 0, W: 28}}, nil, "positive sides"},
		// int(32 * 0.01) = 0 channels.
		{"mobilenet_v1", Options{Width: 0.01}, nil, "mobilenet_v1"},
		{"mobilenet_v4", Options{}, ErrUnknown, "known:"},
	} {
		n, err := BuildWith(c.name, c.o)
		if err == nil {
			t.Errorf("BuildWith(%q, %+v) = %v, want an error", c.name, c.o, n.Cost())
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("BuildWith(%q, %+v) error %q does not wrap %q", c.name, c.o, err, c.is)
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("BuildWith(%q, %+v) error %q, want it to contain %q", c.name, c.o, err, c.msg)
		}
	}
	for _, c := range []struct {
		name   string
		budget int64
		is     error
		msg    string
	}{
		{"resnet50", 300_000_000, ErrUnsupported, "resnet50: fitting a width"},
		{"mobilenet_v2", 0, nil, "must be positive"},
		// mobilenet_v2 at width 0.1 still costs tens of millions of MACs at 224x224.
		{"mobilenet_v2", 1_000_000, nil, "below the cost at width 0.1"},
		{"mobilenet_v4", 300_000_000, ErrUnknown, "unknown network"},
	} {
		w, _, err := FitWidth(c.name, c.budget, Options{Input: imagenet, Classes: 1000})
		if err == nil {
			t.Errorf("FitWidth(%q, %d) = %v, want an error", c.name, c.budget, w)
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("FitWidth(%q, %d) error %q does not wrap %q", c.name, c.budget, err, c.is)
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("FitWidth(%q, %d) error %q, want it to contain %q", c.name, c.budget, err, c.msg)
		}
	}
}

// TestProxyStridesFor checks the proxy derivation's count of stride-1 downsamplings.
func TestProxyStridesFor(t *testing.T) {
	for _, c := range []struct {
		target, in ops.Shape
		want       int
	}{
		{imagenet, mnist, 3},                         // 224/28 = 8
		{imagenet, ops.Shape{C: 3, H: 32, W: 32}, 2}, // 224/32 = 7: floor(log2 7)
		{imagenet, ops.Shape{C: 3, H: 56, W: 56}, 2}, // 4
		{imagenet, imagenet, 0},
		{imagenet, ops.Shape{C: 3, H: 299, W: 299}, 0},
		{mnist, ops.Shape{C: 1, H: 14, W: 14}, 1},
	} {
		if got := ProxyStridesFor(c.target, c.in); got != c.want {
			t.Errorf("ProxyStridesFor(%v, %v) = %d, want %d", c.target, c.in, got, c.want)
		}
	}
}
