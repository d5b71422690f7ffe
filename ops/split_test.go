package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"nas/ops/internal/dwconv"
)

// depthwiseSplit returns a SplitApply of depthwise convolutions with channel
// multiplier mult and bias, one per kernel size, over parts of the given sizes.
func depthwiseSplit(t *testing.T, splits, kernels []int, mult, stride int) Layer {
	t.Helper()
	layers := make([]Layer, len(splits))
	for i, c := range splits {
		k := kernels[i]
		conv, err := NewConv2D(ConvConfig{In: c, Out: mult * c, KH: k, KW: k, StrideH: stride, StrideW: stride,
			PadH: k / 2, PadW: k / 2, Groups: c, Bias: true})
		if err != nil {
			t.Fatal(err)
		}
		layers[i] = conv
	}
	s, err := NewSplitApply(splits, layers)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSplitApplyInPlaceMatchesCopies checks that SplitApply's in-place depthwise
// parts give bit for bit the output, input gradient and parameter gradients of the
// copying path they replace, on the AVX-512 kernels (where the CPU has them) and on
// their Go twins with the direct kernels, and that each path is the one taken.
func TestSplitApplyInPlaceMatchesCopies(t *testing.T) {
	tests := []struct {
		name string
		mk   func(t *testing.T) Layer
		in   Shape
		n    int
	}{
		// The reference network's MixConv stages (/work/shared/bench/reference_net.py):
		// 96 channels 3/5 at stride 2 on 14x14, 192 channels 3/5/7 at 7x7.
		{"ref_k35_s2", func(t *testing.T) Layer { return mustLayer(t)(mixConv(96, []int{3, 5}, 2, 1)) }, Shape{96, 14, 14}, 3},
		{"ref_k357_s1", func(t *testing.T) Layer { return mustLayer(t)(mixConv(192, []int{3, 5, 7}, 1, 1)) }, Shape{192, 7, 7}, 3},
		// Uneven parts (5+4+4), an odd plane at stride 2, and a dilation.
		{"k357_s2_odd", func(t *testing.T) Layer { return mustLayer(t)(mixConv(13, []int{3, 5, 7}, 2, 1)) }, Shape{13, 9, 9}, 4},
		{"k35_d2", func(t *testing.T) Layer { return mustLayer(t)(mixConv(6, []int{3, 5}, 1, 2)) }, Shape{6, 8, 8}, 2},
		// A channel multiplier and a bias: output parts twice as wide as input parts.
		{"mult2_bias", func(t *testing.T) Layer { return depthwiseSplit(t, []int{3, 2}, []int{3, 5}, 2, 1) }, Shape{5, 6, 6}, 3},
		{"mult2_bias_s2", func(t *testing.T) Layer { return depthwiseSplit(t, []int{3, 2}, []int{3, 5}, 2, 2) }, Shape{5, 7, 6}, 3},
	}
	kernels := []struct {
		name string
		asm  bool
	}{{"asm", true}, {"go", false}}
	for _, k := range kernels {
		if k.asm && !dwconv.Accelerated() {
			t.Logf("no AVX-512: the in-place path is checked on the Go kernels only")
			continue
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/%s", k.name, tt.name), func(t *testing.T) {
				defer dwconv.SetAccelerated(dwconv.SetAccelerated(k.asm))
				x := randTensor(21, tt.n, tt.in)
				mk := func(copyParts bool) *SplitApply {
					l := tt.mk(t)
					Init(l, rand.New(rand.NewPCG(3, 4)))
					s := l.(*SplitApply)
					s.copyParts = copyParts
					return s
				}
				inPlace, copied := mk(false), mk(true)
				out, err := inPlace.OutShape(tt.in)
				if err != nil {
					t.Fatal(err)
				}
				dy := randTensor(22, tt.n, out)
				y, dx := runLayer(t, inPlace, x, dy)
				if !inPlace.inPlace {
					t.Fatalf("the depthwise parts did not run in place")
				}
				wantY, wantDx := runLayer(t, copied, x, dy)
				if copied.inPlace {
					t.Fatalf("copyParts ran the parts in place")
				}
				if !slices.Equal(y.Float32s(), wantY.Float32s()) {
					t.Errorf("output differs from the copying path")
				}
				if !slices.Equal(dx.Float32s(), wantDx.Float32s()) {
					t.Errorf("input gradient differs from the copying path")
				}
				got, want := Params(inPlace), Params(copied)
				for i := range want {
					if !slices.Equal(got[i].Grad.Float32s(), want[i].Grad.Float32s()) {
						t.Errorf("gradient of parameter %d (%s) differs from the copying path", i, want[i].Name)
					}
				}
				checkLayerContract(t, func() Layer { return mk(false) }, x, dy)
			})
		}
	}
}

// mustLayer returns a function that fails t on a constructor's error.
func mustLayer(t *testing.T) func(Layer, error) Layer {
	return func(l Layer, err error) Layer {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
}

// TestSplitApplyPassThroughParts checks SplitApply with parts passed through (nil
// layers) between parts that change their channel count, against running each layer
// on its own copy of its channels and concatenating: the output, the input gradient
// and the parameter gradients, bit for bit, on a batch small enough for one goroutine
// and on one large enough to split the copies over samples; and that a pass allocates
// nothing.
func TestSplitApplyPassThroughParts(t *testing.T) {
	for _, n := range []int{3, 64} {
		pw, err := Conv(3, 4, 1, 1, 1, true)
		if err != nil {
			t.Fatal(err)
		}
		c3, err := Conv(2, 2, 3, 1, 1, false)
		if err != nil {
			t.Fatal(err)
		}
		splits := []int{2, 3, 1, 2}
		layers := []Layer{nil, pw, nil, c3}
		s, err := NewSplitApply(splits, layers)
		if err != nil {
			t.Fatal(err)
		}
		Init(s, rand.New(rand.NewPCG(7, 8)))
		in := Shape{8, 16, 12}
		x := randTensor(1, n, in)
		out, err := s.OutShape(in)
		if err != nil {
			t.Fatal(err)
		}
		if out.C != 9 {
			t.Fatalf("output has %d channels, want 9", out.C)
		}
		dy := randTensor(2, n, out)

		// The reference: each layer on its own copy of its channels.
		var parts, dparts, ys, dxs []*tensor.Dense
		for i, c := range splits {
			parts = append(parts, New(n, Shape{c, in.H, in.W}))
			o := c
			if layers[i] != nil {
				o, _ = layerOutC(t, layers[i], parts[i])
			}
			dparts = append(dparts, New(n, Shape{o, in.H, in.W}))
		}
		splitChannels(x, parts)
		splitChannels(dy, dparts)
		ZeroGrad(s)
		for i, l := range layers {
			if l == nil {
				ys, dxs = append(ys, parts[i]), append(dxs, dparts[i])
				continue
			}
			y, dx := runLayerKeepGrad(t, l, parts[i], dparts[i])
			ys, dxs = append(ys, y), append(dxs, dx)
		}
		wantY, wantDX := New(n, out), New(n, in)
		concatChannels(wantY, ys)
		concatChannels(wantDX, dxs)
		var wantG [][]float32
		for _, p := range Params(s) {
			wantG = append(wantG, slices.Clone(p.Grad.Float32s()))
		}

		for rep := range 2 {
			y, dx := runLayer(t, s, x, dy)
			if !slices.Equal(y.Float32s(), wantY.Float32s()) {
				t.Errorf("batch %d, pass %d: output differs from the parts run one by one", n, rep)
			}
			if !slices.Equal(dx.Float32s(), wantDX.Float32s()) {
				t.Errorf("batch %d, pass %d: input gradient differs from the parts run one by one", n, rep)
			}
			for i, p := range Params(s) {
				if !slices.Equal(p.Grad.Float32s(), wantG[i]) {
					t.Errorf("batch %d, pass %d: parameter %d's gradient differs", n, rep, i)
				}
			}
		}
		// The copies, split over samples at batch 64, go through the closure the
		// layer keeps: a pass allocates nothing (the race detector allocates).
		if !raceEnabled() {
			if a := testing.AllocsPerRun(5, func() { s.Forward(x); s.Backward(dy) }); a != 0 {
				t.Errorf("batch %d: a forward and backward pass allocates %v times, want 0", n, a)
			}
		}
	}
}

// layerOutC returns the channels of l's output for x.
func layerOutC(t *testing.T, l Layer, x *tensor.Dense) (int, Shape) {
	t.Helper()
	_, s, err := ShapeOf(x)
	if err != nil {
		t.Fatal(err)
	}
	o, err := l.OutShape(s)
	if err != nil {
		t.Fatal(err)
	}
	return o.C, o
}

// TestSplitApplyMixedParts checks a SplitApply whose parts run in different ways, as
// an octave block's split does: in place, a depthwise convolution, a MixConv (itself
// a SplitApply of depthwise parts, so its parts run at offsets within an offset),
// and two low-frequency paths whose pooling reads its part of the input and whose
// upsampling writes its part of the output (Sequential.edges), one on 2x2 windows
// and one on the general windows with two layers between; on a copy, a pointwise
// convolution; and a part passed through. Its output, input gradient and parameter
// gradients must be bit for bit those of copying every part, and each part must run
// the way it should.
func TestSplitApplyMixedParts(t *testing.T) {
	mk := func(copyParts bool) *SplitApply {
		high := mustLayer(t)(mixConv(6, []int{3, 5}, 1, 1))
		low := mustLayer(t)(mixConv(4, []int{3, 5}, 1, 1))
		pool := mustLayer(t)(NewAvgPool2D(PoolConfig{K: 2}))
		pool4 := mustLayer(t)(NewAvgPool2D(PoolConfig{K: 4, Stride: 2, Pad: 1}))
		dw := mustLayer(t)(NewConv2D(ConvConfig{In: 3, Out: 3, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 3}))
		dw2 := mustLayer(t)(NewConv2D(ConvConfig{In: 2, Out: 2, KH: 3, KW: 3, StrideH: 1, StrideW: 1, PadH: 1, PadW: 1, Groups: 2}))
		pw := mustLayer(t)(Conv(3, 3, 1, 1, 1, false))
		s, err := NewSplitApply([]int{3, 6, 4, 2, 3, 2}, []Layer{dw, high, Seq(pool, low, NewUpsample2x()),
			Seq(pool4, dw2, NewReLU(), NewUpsample2x()), pw, nil})
		if err != nil {
			t.Fatal(err)
		}
		Init(s, rand.New(rand.NewPCG(9, 10)))
		s.copyParts = copyParts
		return s
	}
	for _, n := range []int{2, 48} {
		in := Shape{20, 12, 10}
		mixed, copied := mk(false), mk(true)
		x, dy := randTensor(3, n, in), randTensor(4, n, in)
		wantY, wantDX := runLayer(t, copied, x, dy)
		for rep := range 2 {
			y, dx := runLayer(t, mixed, x, dy)
			if want := []partMode{partInPlace, partInPlace, partInPlace, partInPlace, partCopied, partPassed}; !slices.Equal(mixed.modes, want) {
				t.Fatalf("batch %d: parts ran as %v, want %v", n, mixed.modes, want)
			}
			if !slices.Equal(y.Float32s(), wantY.Float32s()) {
				t.Errorf("batch %d, pass %d: output differs from copying every part", n, rep)
			}
			if !slices.Equal(dx.Float32s(), wantDX.Float32s()) {
				t.Errorf("batch %d, pass %d: input gradient differs from copying every part", n, rep)
			}
			got, want := Params(mixed), Params(copied)
			for i := range want {
				if !slices.Equal(got[i].Grad.Float32s(), want[i].Grad.Float32s()) {
					t.Errorf("batch %d, pass %d: parameter %d's gradient differs", n, rep, i)
				}
			}
		}
		if !slices.Equal(copied.modes, []partMode{partCopied, partCopied, partCopied, partCopied, partCopied, partPassed}) {
			t.Errorf("copyParts ran the parts as %v", copied.modes)
		}
	}
}
