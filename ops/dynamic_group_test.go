package ops

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

func dgcFromFixture(t *testing.T, f *fixture) DGCConfig {
	k, s, p, d := f.int(t, "k"), f.int(t, "stride"), f.int(t, "pad"), f.int(t, "dil")
	return DGCConfig{
		In: f.int(t, "cin"), Out: f.int(t, "cout"), KH: k, KW: k, StrideH: s, StrideW: s, PadH: p, PadW: p,
		DilH: d, DilW: d, Heads: f.int(t, "heads"), Keep: f.float(t, "keep"), SqueezeRate: f.int(t, "squeeze_rate"),
		Lasso: f.float(t, "lasso"),
	}
}

// TestDynamicGroupConvMatchesPyTorch compares forward values, the input gradient,
// every parameter gradient (with the lasso term where the case has one) and the
// number of channels each head keeps with the re-implementation of hellozhuo/dgc
// layers.py in testdata/gen/gen_dgc.py, on both ways of computing the heads.
func TestDynamicGroupConvMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "dgc_") {
		for _, path := range []dgcPath{dgcGathered, dgcMasked} {
			t.Run(fmt.Sprintf("%s/path%d", f.name, path), func(t *testing.T) {
				testDGCFixture(t, f, path)
			})
		}
	}
}

// testDGCFixture runs one fixture case on the given path.
func testDGCFixture(t *testing.T, f *fixture, path dgcPath) {
	cfg := dgcFromFixture(t, f)
	mk := func() Layer {
		l, err := NewDynamicGroupConv(cfg)
		if err != nil {
			t.Fatal(err)
		}
		l.force = path
		copyInto(t, l.weight.Value, f.tensor(t, "weight"))
		copyInto(t, l.fc1.Value, f.tensor(t, "fc1"))
		copyInto(t, l.fc2.Value, f.tensor(t, "fc2"))
		copyInto(t, l.fc2b.Value, f.tensor(t, "fc2_bias"))
		return l
	}
	l := mk().(*DynamicGroupConv)
	if got, want := cfg.In-l.Kept(), f.int(t, "inactive"); got != want {
		t.Errorf("NewDynamicGroupConv(%+v) drops %d channels, layers.py %d", cfg, got, want)
	}
	x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
	y, dx := runLayer(t, l, x, dy)
	assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
	assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
	assertClose(t, "dweight", l.weight.Grad, f.tensor(t, "dweight"), fixtureTol)
	assertClose(t, "dfc1", l.fc1.Grad, f.tensor(t, "dfc1"), fixtureTol)
	assertClose(t, "dfc2", l.fc2.Grad, f.tensor(t, "dfc2"), fixtureTol)
	assertClose(t, "dfc2_bias", l.fc2b.Grad, f.tensor(t, "dfc2_bias"), fixtureTol)
	want := f.tensor(t, "nkept").Float32s()
	for u, got := range l.nkept {
		if float32(got) != want[u] {
			t.Errorf("sample %d head %d keeps %d channels, PyTorch %v", u/cfg.Heads, u%cfg.Heads, got, want[u])
		}
	}
	checkLayerContract(t, mk, x, dy)
}

// TestDynamicGroupConvKeepAllIsConv checks the layer against Conv2D where the two must
// agree: keeping every channel with all saliencies 1 (zero generator weights, fc2
// bias 1) makes each head a dense convolution with its filters, and the heads'
// outputs interleave (channel j*Heads+h is head h's filter j). The batch of 5 splits
// over the workers, which the fixtures' batches of 1 to 3 exercise less.
func TestDynamicGroupConvKeepAllIsConv(t *testing.T) {
	for _, c := range []DGCConfig{
		{In: 16, Out: 12, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Heads: 3, Keep: 1},
		{In: 8, Out: 8, KH: 1, KW: 1, Heads: 4, Keep: 1},
	} {
		l, err := NewDynamicGroupConv(c)
		if err != nil {
			t.Fatal(err)
		}
		Init(l, rand.New(rand.NewPCG(1, 2)))
		clear(l.fc1.Value.Float32s())
		clear(l.fc2.Value.Float32s())
		conv, err := NewConv2D(ConvConfig{In: c.In, Out: c.Out, KH: c.KH, KW: c.KW, StrideH: c.StrideH, StrideW: c.StrideW,
			PadH: c.PadH, PadW: c.PadW})
		if err != nil {
			t.Fatal(err)
		}
		copyInto(t, conv.Weight().Value, l.weight.Value)
		in := Shape{c.In, 9, 8}
		out, err := l.OutShape(in)
		if err != nil {
			t.Fatal(err)
		}
		x, dy := randTensor(3, 5, in), randTensor(4, 5, out)
		// conv's output channel h*cog+j is the layer's j*Heads+h.
		cog, hw := c.Out/c.Heads, out.H*out.W
		dyConv := New(5, out)
		for s := 0; s < 5; s++ {
			for h := 0; h < c.Heads; h++ {
				for j := 0; j < cog; j++ {
					copy(dyConv.Float32s()[(s*c.Out+h*cog+j)*hw:][:hw], dy.Float32s()[(s*c.Out+j*c.Heads+h)*hw:][:hw])
				}
			}
		}
		y, dx := runLayer(t, l, x, dy)
		yConv, dxConv := runLayer(t, conv, x, dyConv)
		yPerm := New(5, out)
		for s := 0; s < 5; s++ {
			for h := 0; h < c.Heads; h++ {
				for j := 0; j < cog; j++ {
					copy(yPerm.Float32s()[(s*c.Out+j*c.Heads+h)*hw:][:hw], yConv.Float32s()[(s*c.Out+h*cog+j)*hw:][:hw])
				}
			}
		}
		assertClose(t, "y", y, yPerm, fixtureTol)
		assertClose(t, "dx", dx, dxConv, fixtureTol)
		assertClose(t, "dweight", l.weight.Grad, conv.Weight().Grad, fixtureTol)
	}
}

// TestDynamicGroupConvCost checks MACs and parameters on the convolutions of
// hellozhuo/dgc's ResNet-18 (heads 4, gate factor 0.45, squeeze rate 16), counted by
// hand.
func TestDynamicGroupConvCost(t *testing.T) {
	tests := []struct {
		cfg          DGCConfig
		in           Shape
		kept, hidden int
		macs, params int64
	}{
		// layer1's 3x3 at 56x56: 64 - round(64*0.55 = 35.2) = 29 kept, hidden 64/(16/2) = 8;
		// 56*56*64*29*9 + 4*2*64*8 = 52,383,744 + 4,096 MACs;
		// 64*64*9 + 4*2*64*8 + 4*64 = 36,864 + 4,096 + 256 params.
		{DGCConfig{In: 64, Out: 64, KH: 3, KW: 3, PadH: 1, PadW: 1, Heads: 4, Keep: 0.45, SqueezeRate: 16},
			Shape{64, 56, 56}, 29, 8, 52387840, 41216},
		// layer4's 3x3 at 7x7: 512 - round(281.6) = 230 kept, hidden 512/16 = 32;
		// 7*7*512*230*9 + 4*2*512*32 = 51,932,160 + 131,072 MACs;
		// 512*512*9 + 131,072 + 4*512 = 2,359,296 + 131,072 + 2,048 params.
		{DGCConfig{In: 512, Out: 512, KH: 3, KW: 3, PadH: 1, PadW: 1, Heads: 4, Keep: 0.45, SqueezeRate: 16},
			Shape{512, 7, 7}, 230, 32, 52063232, 2492416},
		// layer2's 1x1 stride-2 shortcut, 64 -> 128 at 56x56: 28*28*128*29 + 4*2*64*8 =
		// 2,910,208 + 4,096 MACs; 128*64 + 4,096 + 256 params.
		{DGCConfig{In: 64, Out: 128, KH: 1, KW: 1, StrideH: 2, StrideW: 2, Heads: 4, Keep: 0.45, SqueezeRate: 16},
			Shape{64, 56, 56}, 29, 8, 2914304, 12544},
		// Defaults: 4 heads, keep 0.25 (8 - round(6) = 2), squeeze 16 halved to 8, hidden
		// max(1, 8/8) = 1; 4*4*4*2 + 4*2*8*1 = 128 + 64 MACs; 4*8 + 64 + 32 params.
		{DGCConfig{In: 8, Out: 4, KH: 1, KW: 1}, Shape{8, 4, 4}, 2, 1, 192, 128},
	}
	for _, tt := range tests {
		l, err := NewDynamicGroupConv(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if l.Kept() != tt.kept || l.Hidden() != tt.hidden {
			t.Errorf("NewDynamicGroupConv(%+v): %d kept, hidden %d; want %d, %d", tt.cfg, l.Kept(), l.Hidden(), tt.kept, tt.hidden)
		}
		c := l.Cost(tt.in)
		if c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("NewDynamicGroupConv(%+v).Cost(%v) = %+v, want MACs %d params %d", tt.cfg, tt.in, c, tt.macs, tt.params)
		}
		var n int64
		for _, p := range l.Params() {
			n += int64(p.Size())
		}
		if n != c.Params {
			t.Errorf("NewDynamicGroupConv(%+v): parameter tensors hold %d values, Cost says %d", tt.cfg, n, c.Params)
		}
	}
}

func TestDynamicGroupConvErrors(t *testing.T) {
	for _, tt := range []struct {
		cfg DGCConfig
		msg string
	}{
		{DGCConfig{In: 8, Out: 6, KH: 1, KW: 1, Heads: 4}, "4 heads do not divide 6"},
		{DGCConfig{In: 0, Out: 4, KH: 1, KW: 1}, "channels 0 -> 4"},
		{DGCConfig{In: 4, Out: 4, KH: 0, KW: 3}, "kernel 0x3"},
		{DGCConfig{In: 4, Out: 4, KH: 3, KW: 3, PadW: -1}, "padding"},
		{DGCConfig{In: 4, Out: 4, KH: 1, KW: 1, Keep: 1.5}, "keep ratio 1.5"},
		{DGCConfig{In: 4, Out: 4, KH: 1, KW: 1, Keep: -0.5}, "keep ratio -0.5"},
		// round(4 * 0.9) = 4 of 4 channels dropped.
		{DGCConfig{In: 4, Out: 4, KH: 1, KW: 1, Keep: 0.1}, "keeps no channel"},
		{DGCConfig{In: 4, Out: 4, KH: 1, KW: 1, SqueezeRate: -2}, "squeeze rate"},
	} {
		_, err := NewDynamicGroupConv(tt.cfg)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("NewDynamicGroupConv(%+v) error %v, want one containing %q", tt.cfg, err, tt.msg)
		}
	}
	l, err := NewDynamicGroupConv(DGCConfig{In: 4, Out: 4, KH: 5, KW: 5})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.OutShape(Shape{4, 3, 3}); err == nil {
		t.Errorf("5x5 unpadded dynamic group conv accepted a 3x3 input")
	}
	if _, err := l.Forward(randTensor(1, 1, Shape{3, 8, 8})); err == nil {
		t.Errorf("dynamic group conv with 4 input channels accepted 3")
	}
	if _, err := l.Forward(randTensor(1, 2, Shape{4, 8, 8})); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Backward(randTensor(2, 2, Shape{4, 5, 5})); err == nil {
		t.Errorf("Backward accepted a gradient of the wrong shape")
	}
}

// TestDynamicGroupConvInit checks the reference's initial values: fc2's bias 1 and
// the convolution weight within PyTorch's default bound.
func TestDynamicGroupConvInit(t *testing.T) {
	l, err := NewDynamicGroupConv(DGCConfig{In: 8, Out: 8, KH: 3, KW: 3, PadH: 1, PadW: 1, Heads: 2, Keep: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	Init(l, rand.New(rand.NewPCG(1, 2)))
	for i, v := range l.fc2b.Value.Float32s() {
		if v != 1 {
			t.Fatalf("fc2_bias[%d] = %v, want 1 (layers.py HeadConv)", i, v)
		}
	}
	bound := float32(kaimingBound(8 * 9))
	for i, v := range l.weight.Value.Float32s() {
		if v < -bound || v >= bound {
			t.Fatalf("weight[%d] = %v outside [-%v, %v)", i, v, bound, bound)
		}
	}
	for _, p := range []*Param{l.fc1, l.fc2} {
		zeros := 0
		for _, v := range p.Value.Float32s() {
			if v == 0 {
				zeros++
			}
		}
		if zeros == p.Size() {
			t.Errorf("%s is all zeros after Init", p.Name)
		}
	}
}

// TestDynamicGroupConvSchedule checks SetProgress against layers.py's schedule of
// inactive channels for 64 inputs at gate factor 0.45 (the reference's ResNet-18):
// round(64*0.55*3/2*(p-1/12)) between 1/12 and 3/4, round(64*0.55) = 35 after, with
// the values of that expression in Python 3.
func TestDynamicGroupConvSchedule(t *testing.T) {
	l, err := NewDynamicGroupConv(DGCConfig{In: 64, Out: 64, KH: 1, KW: 1, Keep: 0.45})
	if err != nil {
		t.Fatal(err)
	}
	if got := l.Dropped(); got != 35 {
		t.Errorf("before SetProgress: Dropped() = %d, want 35 (the trained state)", got)
	}
	for _, tt := range []struct {
		done float64
		want int
	}{
		{0, 0}, {1.0 / 12, 0}, {0.25, 9}, {0.3, 11}, {0.5, 22}, {0.7, 33}, {0.75, 35}, {0.99, 35},
		{0.1, 1}, // 35.2*1.5*(0.1-1/12) = 0.88
	} {
		l.SetProgress(tt.done)
		if got := l.Dropped(); got != tt.want {
			t.Errorf("SetProgress(%v): Dropped() = %d, want %d", tt.done, got, tt.want)
		}
	}
	// Evaluation keeps the last value: progress 0.3 drops 11 of 64, keeping 53.
	l.SetProgress(0.3)
	Init(l, rand.New(rand.NewPCG(1, 2)))
	if _, err := l.Forward(randTensor(1, 2, Shape{64, 3, 3})); err != nil {
		t.Fatal(err)
	}
	for u, k := range l.nkept {
		if k > 53 || k < 1 {
			t.Errorf("progress 0.3: (sample, head) %d keeps %d channels, want at most 64-11 = 53", u, k)
		}
	}
}

// TestDynamicGroupConvNoAllocs checks that a training step (Forward and Backward)
// allocates nothing once the shapes are stable, as the package's ownership rules ask.
// Under the race detector sync.Pool drops gemm's packing buffers on purpose, so the
// plain test run checks it (as TestLinearNoAllocs).
func TestDynamicGroupConvNoAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items)")
	}
	l, err := NewDynamicGroupConv(DGCConfig{In: 8, Out: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1,
		Heads: 2, Keep: 0.5, Lasso: 1e-5})
	if err != nil {
		t.Fatal(err)
	}
	Init(l, rand.New(rand.NewPCG(1, 2)))
	x, dy := randTensor(1, 4, Shape{8, 6, 6}), randTensor(2, 4, Shape{8, 3, 3})
	step := func() {
		if _, err := l.Forward(x); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Backward(dy); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("Forward and Backward allocate %v times per step, want 0", n)
	}
}

// TestDynamicGroupConvPathsAgree checks the masked path against the gathered one
// where the masked path splits the batch into several tiles: 64 inputs, 3x3, a 7x7
// output map make tiles of dgcTileFloats/(64*9*49) = 2 samples, so a batch of 5 runs
// as tiles of 2, 2 and 1 (or 2 and 1 per worker).
func TestDynamicGroupConvPathsAgree(t *testing.T) {
	cfg := DGCConfig{In: 64, Out: 32, KH: 3, KW: 3, PadH: 1, PadW: 1, Heads: 4, Keep: 0.45, Lasso: 0.1}
	in := Shape{64, 7, 7}
	x, dy := randTensor(5, 5, in), randTensor(6, 5, Shape{32, 7, 7})
	var ys, dxs [2]*tensor.Dense
	var grads [2][]*Param
	for i, path := range []dgcPath{dgcGathered, dgcMasked} {
		l, err := NewDynamicGroupConv(cfg)
		if err != nil {
			t.Fatal(err)
		}
		Init(l, rand.New(rand.NewPCG(7, 8)))
		l.force = path
		ys[i], dxs[i] = runLayer(t, l, x, dy)
		if path == dgcMasked && l.tile != 2 {
			t.Fatalf("masked path: tiles of %d samples, want 2", l.tile)
		}
		grads[i] = l.Params()
	}
	assertClose(t, "y", ys[1], ys[0], fixtureTol)
	assertClose(t, "dx", dxs[1], dxs[0], fixtureTol)
	for j, p := range grads[1] {
		assertClose(t, "d"+p.Name, p.Grad, grads[0][j].Grad, fixtureTol)
	}
}
