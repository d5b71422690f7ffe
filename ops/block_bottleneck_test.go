package ops

import (
	"fmt"
	"slices"
	"testing"
)

// loadBlockState copies a gen_blocks_b.py fixture's parameters ("param.NNN", stored in
// the order ops.Params lists the Go block's) and batch norms' running statistics
// ("bn_mean.NNN", in Walk order) into l, checking that each tensor's shape matches.
func loadBlockState(t *testing.T, f *fixture, l Layer) {
	t.Helper()
	names, _ := f.config["param_names"].([]any)
	ps := Params(l)
	if len(ps) != len(names) {
		t.Fatalf("%s: block has %d parameters, fixture %d (%v)", f.name, len(ps), len(names), names)
	}
	for i, p := range ps {
		src := f.tensor(t, fmt.Sprintf("param.%03d", i))
		if !slices.Equal(p.Value.Shape(), src.Shape()) {
			t.Fatalf("%s: parameter %d %q has shape %v, PyTorch's %v has %v", f.name, i, p.Path, p.Value.Shape(), names[i], src.Shape())
		}
		copyInto(t, p.Value, src)
	}
	var bns []*BatchNorm2D
	Walk(l, func(_ string, l Layer) {
		if b, ok := l.(*BatchNorm2D); ok {
			bns = append(bns, b)
		}
	})
	if len(bns) != f.int(t, "bns") {
		t.Fatalf("%s: block has %d batch norms, fixture %d", f.name, len(bns), f.int(t, "bns"))
	}
	for i, b := range bns {
		copy(b.RunningMean(), f.tensor(t, fmt.Sprintf("bn_mean.%03d", i)).Float32s())
		copy(b.RunningVar(), f.tensor(t, fmt.Sprintf("bn_var.%03d", i)).Float32s())
	}
}

// checkBlockFixture builds the block with mk, loads the fixture's state, and compares
// a training step (output, input gradient, every parameter gradient), the evaluation
// output after that step (which also checks the running-statistics update), and the
// cost with PyTorch's forward-hook count; then it checks the layer contract.
//
// The tolerance is fixtureTol: these blocks chain up to a dozen ops over a few hundred
// terms each, and training-mode batch norm over 2 samples of a few pixels divides by
// batch standard deviations near 1 (the inputs are standard normal), so rounding
// differences stay at float32 ulp scale, as in the single-op fixtures.
func checkBlockFixture(t *testing.T, f *fixture, mk func() Layer) {
	t.Helper()
	build := func() Layer {
		l := mk()
		loadBlockState(t, f, l)
		return l
	}
	l := build()
	x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
	y, dx := runLayer(t, l, x, dy)
	assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
	assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
	names, _ := f.config["param_names"].([]any)
	for i, p := range Params(l) {
		assertClose(t, fmt.Sprintf("grad of %s (%v)", p.Path, names[i]), p.Grad, f.tensor(t, fmt.Sprintf("grad.%03d", i)), fixtureTol)
	}
	SetTraining(l, false)
	ye, err := l.Forward(x)
	if err != nil {
		t.Fatalf("eval forward: %v", err)
	}
	assertClose(t, "y_eval", ye, f.tensor(t, "y_eval"), fixtureTol)

	_, in, _ := ShapeOf(x)
	c := l.Cost(in)
	if c.MACs != int64(f.int(t, "macs")) || c.Params != int64(f.int(t, "params")) {
		t.Errorf("Cost(%v) = %+v, want MACs %d params %d (PyTorch count)", in, c, f.int(t, "macs"), f.int(t, "params"))
	}
	var n int64
	for _, p := range Params(l) {
		n += int64(p.Size())
	}
	if n != c.Params {
		t.Errorf("parameter tensors hold %d values, Cost says %d", n, c.Params)
	}
	checkLayerContract(t, build, x, dy)
}

// mustBlock returns a function that passes on a block constructor's result, failing
// the test if the constructor failed: mustBlock(t)(NewFire(cfg)).
func mustBlock(t *testing.T) func(*Block, error) Layer {
	return func(b *Block, err error) Layer {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

// TestBottleneckMatchesPyTorch compares torchvision's Bottleneck (ResNet and ResNeXt)
// and BasicBlock, re-implemented in testdata/gen/gen_blocks_b.py.
func TestBottleneckMatchesPyTorch(t *testing.T) {
	for _, prefix := range []string{"block_bottleneck_", "block_resnext_"} {
		for _, f := range loadFixtures(t, prefix) {
			t.Run(f.name, func(t *testing.T) {
				checkBlockFixture(t, f, func() Layer {
					return mustBlock(t)(ResNetBottleneck(f.int(t, "in_"), f.int(t, "planes"), f.int(t, "stride"),
						f.int(t, "groups"), f.int(t, "base_width")))
				})
			})
		}
	}
	for _, f := range loadFixtures(t, "block_basic_") {
		t.Run(f.name, func(t *testing.T) {
			checkBlockFixture(t, f, func() Layer {
				return mustBlock(t)(NewBasicBlock(BasicBlockConfig{In: f.int(t, "in_"), Out: f.int(t, "planes"), Stride: f.int(t, "stride")}))
			})
		})
	}
}

// TestBottleneckCost checks blocks of ResNet-50 and ResNeXt-50 against hand counts.
func TestBottleneckCost(t *testing.T) {
	tests := []struct {
		name                      string
		in, planes, stride, g, bw int
		shape                     Shape
		macs, params              int64
	}{
		// ResNet-50 layer1[0] at 56x56: mid 64, out 256, projection shortcut.
		// 3136*(64*64 + 64*64*9 + 64*256 + 64*256) = 3136*73728 = 231,211,008 MACs;
		// 73,728 weights + BN 2*(64+64+256+256) = 75,008 parameters (torchvision).
		{"resnet50_layer1_0", 64, 64, 1, 1, 64, Shape{64, 56, 56}, 231211008, 75008},
		// ResNeXt-50 32x4d layer1[0]: width int(64*4/64)*32 = 128.
		// 3136*(64*128 + 128*(128/32)*9 + 128*256 + 64*256) = 3136*61952 = 194,281,472;
		// 61,952 weights + BN 2*(128+128+256+256) = 63,488 parameters.
		{"resnext50_layer1_0", 64, 64, 1, 32, 4, Shape{64, 56, 56}, 194281472, 63488},
	}
	for _, tt := range tests {
		b, err := ResNetBottleneck(tt.in, tt.planes, tt.stride, tt.g, tt.bw)
		if err != nil {
			t.Fatal(err)
		}
		if c := b.Cost(tt.shape); c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("%s: Cost(%v) = %+v, want MACs %d params %d", tt.name, tt.shape, c, tt.macs, tt.params)
		}
	}
}

// TestBottleneckErrors checks that invalid configurations are rejected.
func TestBottleneckErrors(t *testing.T) {
	for _, c := range []BottleneckConfig{
		{In: 0, Mid: 4, Out: 8},
		{In: 8, Mid: 6, Out: 8, Groups: 4},
		{In: 8, Mid: 4, Out: 8, Stride: 3},
	} {
		if _, err := NewBottleneck(c); err == nil {
			t.Errorf("NewBottleneck(%+v) succeeded, want an error", c)
		}
	}
	if _, err := NewBasicBlock(BasicBlockConfig{In: 4, Out: 4, Stride: 3}); err == nil {
		t.Errorf("NewBasicBlock with stride 3 succeeded, want an error")
	}
}
