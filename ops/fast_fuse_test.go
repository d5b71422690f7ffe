package ops

import (
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"nas/ops/internal/dwconv"
)

// fuseCase is a Sequential in which batch norms sit between convolutions, with its
// input shape and batch.
type fuseCase struct {
	name  string
	mk    func(t *testing.T) Layer
	in    Shape
	batch int
}

func fuseCases() []fuseCase {
	invres := func(c InvertedResidualConfig) func(t *testing.T) Layer {
		return func(t *testing.T) Layer {
			b, err := NewInvertedResidual(c)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
	return []fuseCase{
		// The reference network's blocks (reference_net.py Block): grouped 1x1s with a
		// shuffle, depthwise at stride 1 and 2, MixConv parts on channel runs.
		{"invres_g2_shuffle_s1", invres(InvertedResidualConfig{In: 8, Out: 8, Expand: 2, Groups: 2, Shuffle: true, Act: ActReLU6}), Shape{8, 6, 6}, 5},
		{"invres_s2_odd", invres(InvertedResidualConfig{In: 8, Out: 12, Expand: 4, Stride: 2, Act: ActReLU6}), Shape{8, 7, 7}, 3},
		{"invres_mixconv_g4_shuffle", invres(InvertedResidualConfig{In: 8, Out: 8, Expand: 3, Groups: 4, Shuffle: true,
			Kernels: []int{3, 5, 7}, Act: ActReLU6}), Shape{8, 5, 5}, 4},
		{"invres_mixconv_s2_relu", invres(InvertedResidualConfig{In: 6, Out: 10, Expand: 4, Stride: 2,
			Kernels: []int{3, 5}, Act: ActReLU}), Shape{6, 8, 8}, 3},
		// A dense 3x3 (im2col) into a batch norm without activation, then a 1x1 with a
		// bias and a batch norm with ReLU.
		{"im2col_bn_pointwise", func(t *testing.T) Layer {
			c1, err := Conv(3, 16, 3, 1, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Conv(16, 6, 1, 1, 1, true)
			if err != nil {
				t.Fatal(err)
			}
			return Seq(c1, NewBatchNorm2D(16), c2, NewBatchNorm2D(6), NewReLU())
		}, Shape{3, 6, 5}, 4},
		// A grouped dense 3x3 at stride 2 (im2col) that applies a batch norm with
		// ReLU6 and a shuffle.
		{"pointwise_bn_shuffle_im2col", func(t *testing.T) Layer {
			c1, err := Conv(4, 8, 1, 1, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			sh, err := NewChannelShuffle(2)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Conv(8, 6, 3, 2, 2, false)
			if err != nil {
				t.Fatal(err)
			}
			return Seq(c1, NewBatchNorm2D(8), NewReLU6(), sh, c2, NewBatchNorm2D(6))
		}, Shape{4, 7, 6}, 3},
		// A grouped 1x1 on planes small enough for the batched kernels
		// (conv_pointwise_batch.go), with more than pwFlatMaxBwd channels per group so
		// that backward batches too, applying a batch norm with ReLU6 and a shuffle into
		// its gathered samples and computing the backward of its own batch norm (with
		// ReLU6 and a shuffle) into them.
		{"pointwise_bn_shuffle_batched", func(t *testing.T) Layer {
			c1, err := Conv(6, 36, 1, 1, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			sh, err := NewChannelShuffle(2)
			if err != nil {
				t.Fatal(err)
			}
			c2, err := Conv(36, 20, 1, 1, 2, false)
			if err != nil {
				t.Fatal(err)
			}
			sh2, err := NewChannelShuffle(4)
			if err != nil {
				t.Fatal(err)
			}
			return Seq(c1, NewBatchNorm2D(36), NewReLU6(), sh, c2, NewBatchNorm2D(20), NewReLU6(), sh2)
		}, Shape{6, 5, 5}, 5},
		// The search space's inverted residual stages (space/blocks.go), whose MixConv
		// is a Block (NewMixConv): on its own between two batch norms, and as the
		// high-frequency part of an octave split beside a pooled MixConv.
		{"block_mixconv", func(t *testing.T) Layer { return searchStage(t, 0, false) }, Shape{6, 8, 8}, 3},
		{"block_mixconv_octave", func(t *testing.T) Layer { return searchStage(t, 4, false) }, Shape{6, 8, 8}, 3},
		{"block_mixconv_octave_shuffle", func(t *testing.T) Layer { return searchStage(t, 4, true) }, Shape{6, 8, 8}, 3},
		// Across Sequentials (forwardLayer): a stem's batch norm with ReLU6 into the
		// first 1x1 of a stride-2 block, and that block's last batch norm (no
		// activation) into the next one's; then a block whose body is a Residual,
		// which takes nothing across.
		{"stem_block_block_residual", func(t *testing.T) Layer {
			stem, err := Conv(3, 8, 3, 1, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			return Seq(Seq(stem, NewBatchNorm2D(8), NewReLU6()),
				invres(InvertedResidualConfig{In: 8, Out: 8, Expand: 2, Stride: 2, Act: ActReLU6})(t),
				invres(InvertedResidualConfig{In: 8, Out: 12, Expand: 2, Stride: 2, Groups: 2, Shuffle: true,
					Kernels: []int{3, 5}, Act: ActReLU6})(t),
				invres(InvertedResidualConfig{In: 12, Out: 12, Expand: 2, Act: ActReLU6})(t))
		}, Shape{3, 11, 10}, 3},
	}
}

// searchStage returns a stage as space/blocks.go builds it: a 1x1 expansion from 6
// to 12 channels (with shuffle, in 2 groups), batch norm and ReLU6 (and a shuffle of
// 2 groups), a MixConv Block of kernels 3 and 5 over the 12 channels (or, with lo >
// 0, over the first 12-lo of them beside an average pooled MixConv over the last lo,
// an octave split), batch norm and ReLU6, and a 1x1 projection to 6 channels with
// its batch norm.
func searchStage(t *testing.T, lo int, shuffle bool) *Sequential {
	t.Helper()
	const mid = 12
	g := 1
	if shuffle {
		g = 2
	}
	e := mustLayer(t)(Conv(6, mid, 1, 1, g, false))
	p := mustLayer(t)(Conv(mid, 6, 1, 1, 1, false))
	var mix Layer = mustLayer(t)(NewMixConv(mid-lo, []int{3, 5}, 1, 1))
	if lo > 0 {
		low := mustLayer(t)(NewMixConv(lo, []int{3, 5}, 1, 1))
		pool := mustLayer(t)(NewAvgPool2D(PoolConfig{K: 2}))
		mix = mustLayer(t)(NewSplitApply([]int{mid - lo, lo}, []Layer{mix, Seq(pool, low, NewUpsample2x())}))
	}
	layers := []Layer{e, NewBatchNorm2D(mid), NewReLU6()}
	if shuffle {
		layers = append(layers, mustLayer(t)(NewChannelShuffle(g)))
	}
	return Seq(append(layers, mix, NewBatchNorm2D(mid), NewReLU6(), p, NewBatchNorm2D(6))...)
}

// TestConvBNFusionThroughBlocks checks that a MixConv Block between batch norms
// fuses as the SplitApply it wraps does (see unblock), and that an octave split
// reads the batch norm before it, its pooling too (SplitApply.feedable), so that
// TestConvBNFusionBitIdentical's block_mixconv cases test the fusions: the
// convolutions apply the batch norm before them, and the octave split runs in place
// and applies it, with and without a shuffle, the batch norm after it applying its
// own backward.
func TestConvBNFusionThroughBlocks(t *testing.T) {
	l := searchStage(t, 0, false)
	Init(l, rand.New(rand.NewPCG(3, 4)))
	SetTraining(l, true)
	if _, err := l.Forward(randTensor(1, 3, Shape{6, 8, 8})); err != nil {
		t.Fatal(err)
	}
	var fed bool
	for _, r := range l.runs {
		if r.start == 3 {
			fed = r.conv && r.fed == l.Layers[1]
		}
	}
	if !fed {
		t.Errorf("the MixConv Block does not apply the batch norm before it: runs %+v", l.runs)
	}
	for _, shuffle := range []bool{false, true} {
		o := searchStage(t, 4, shuffle)
		Init(o, rand.New(rand.NewPCG(3, 4)))
		SetTraining(o, true)
		if _, err := o.Forward(randTensor(1, 3, Shape{6, 8, 8})); err != nil {
			t.Fatal(err)
		}
		at := 3
		if shuffle {
			at = 4
		}
		if split := o.Layers[at].(*SplitApply); !split.inPlace {
			t.Errorf("shuffle %v: the octave split ran its parts as %v, want every part in place", shuffle, split.modes)
		}
		var fed bool
		for _, r := range o.runs {
			if r.start == at {
				fed = r.conv && r.pooled && r.fed == o.Layers[1]
			}
		}
		if !fed {
			t.Errorf("shuffle %v: the octave split does not apply the batch norm before it: runs %+v", shuffle, o.runs)
		}
	}
}

// TestConvBNFusionAcrossSequentials checks that forwardLayer's fusion happens where
// it should, so that TestConvBNFusionBitIdentical's case of it tests something: the
// first convolution of the second and of the third layer applies the batch norm that
// ends the layer before it, and the residual block's applies none.
func TestConvBNFusionAcrossSequentials(t *testing.T) {
	var c fuseCase
	for _, fc := range fuseCases() {
		if fc.name == "stem_block_block_residual" {
			c = fc
		}
	}
	l := c.mk(t).(*Sequential)
	Init(l, rand.New(rand.NewPCG(3, 4)))
	SetTraining(l, true)
	if _, err := l.Forward(randTensor(1, c.batch, c.in)); err != nil {
		t.Fatal(err)
	}
	last := func(s *Sequential) *BatchNorm2D {
		for i := len(s.Layers) - 1; i >= 0; i-- {
			if bn, ok := s.Layers[i].(*BatchNorm2D); ok {
				return bn
			}
		}
		return nil
	}
	for i := 1; i <= 2; i++ {
		got, want := innerSeq(l.Layers[i]).runs[0].fed, last(innerSeq(l.Layers[i-1]))
		if got == nil || got != want {
			t.Errorf("layer %d's first convolution applies batch norm %p, want %p, the last of layer %d", i, got, want, i-1)
		}
	}
	if innerSeq(l.Layers[3]) != nil {
		t.Errorf("layer 3 runs as a Sequential; the case wants a Residual body")
	}
	if tail := innerSeq(l.Layers[2]).tail; tail != nil {
		t.Errorf("the block before the residual one left its batch norm unapplied")
	}
}

// runFuse does a training step of forward and backward passes of a fresh instance of
// c (two, so that reused buffers are checked too) and returns the output, the input
// gradient, every parameter gradient and the batch norms' running statistics.
func runFuse(t *testing.T, c fuseCase, training bool) [][]float32 {
	t.Helper()
	return runFuseWith(t, c, training, nil)
}

// runFuseWith is runFuse calling inspect, if not nil, with the layer after its passes.
func runFuseWith(t *testing.T, c fuseCase, training bool, inspect func(Layer)) [][]float32 {
	t.Helper()
	l := c.mk(t)
	Init(l, rand.New(rand.NewPCG(3, 4)))
	if !training {
		// Running statistics away from their initial 0 and 1, so that evaluation
		// mode normalizes with something other than the identity.
		Walk(l, func(_ string, l Layer) {
			if bn, ok := l.(*BatchNorm2D); ok {
				rng := rand.New(rand.NewPCG(uint64(bn.c), 5))
				for i := range bn.runMean {
					bn.runMean[i], bn.runVar[i] = float32(rng.NormFloat64()), float32(0.5+rng.Float64())
				}
			}
		})
	}
	SetTraining(l, training)
	x := randTensor(1, c.batch, c.in)
	out, err := l.OutShape(c.in)
	if err != nil {
		t.Fatal(err)
	}
	dy := randTensor(2, c.batch, out)
	var y, dx *tensor.Dense
	for range 2 {
		y, dx = runLayer(t, l, x, dy)
	}
	if inspect != nil {
		inspect(l)
	}
	res := [][]float32{y.Float32s(), dx.Float32s()}
	for _, p := range Params(l) {
		res = append(res, slices.Clone(p.Grad.Float32s()))
	}
	Walk(l, func(_ string, l Layer) {
		if bn, ok := l.(*BatchNorm2D); ok {
			res = append(res, slices.Clone(bn.runMean), slices.Clone(bn.runVar))
		}
	})
	return res
}

// TestConvBNFusionBitIdentical checks that Sequential's fusions of convolutions and
// batch norms (fast_fuse.go) change no bit of the output, the input gradient, the
// parameter gradients and the running statistics, in training and evaluation mode,
// on the flat depthwise kernels and on the direct ones (dwconv's Go twins).
func TestConvBNFusionBitIdentical(t *testing.T) {
	exactFusions(t)
	defer func() { fuseConvBN = true }()
	for _, c := range fuseCases() {
		for _, training := range []bool{true, false} {
			for _, flat := range []bool{true, false} {
				acc := dwconv.SetAccelerated(flat)
				fuseConvBN = false
				want := runFuse(t, c, training)
				fuseConvBN = true
				got := runFuse(t, c, training)
				dwconv.SetAccelerated(acc)
				what := []string{"output", "input gradient"}
				for i := range want {
					name := "parameter gradient or running statistic"
					if i < len(what) {
						name = what[i]
					}
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("%s, training %v, flat depthwise %v: %s %d differs with the fusions", c.name, training, flat, name, i)
					}
				}
			}
		}
	}
}

// TestConvBNFusionContract runs the fused layers through the contract every layer
// keeps: inputs unmodified, repeatable, separate instances concurrently.
func TestConvBNFusionContract(t *testing.T) { checkFuseContract(t, fuseCases()) }

// checkFuseContract runs each case's layer through checkLayerContract.
func checkFuseContract(t *testing.T, cases []fuseCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mk := func() Layer {
				l := c.mk(t)
				Init(l, rand.New(rand.NewPCG(3, 4)))
				return l
			}
			out, err := mk().OutShape(c.in)
			if err != nil {
				t.Fatal(err)
			}
			checkLayerContract(t, mk, randTensor(1, c.batch, c.in), randTensor(2, c.batch, out))
		})
	}
}
