package ops

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// pwRun is what one training step of a convolution gives: output, input gradient,
// weight gradient and bias gradient (nil without bias).
type pwRun struct {
	y, dx, dw, db []float32
}

// runPointwise runs cfg with weights w and bias b on n samples of shape in (random
// x and dy drawn from seed) with pwSamples set to samples, and returns the results.
func runPointwise(t *testing.T, cfg ConvConfig, samples int, w, b []float32, in Shape, n int, seed uint64) pwRun {
	t.Helper()
	l, err := NewConv2D(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.pwSamples = samples
	copy(l.Weight().Value.Float32s(), w)
	if cfg.Bias {
		copy(l.Bias().Value.Float32s(), b)
	}
	out, err := l.OutShape(in)
	if err != nil {
		t.Fatal(err)
	}
	y, dx := runLayer(t, l, randTensor(seed, n, in), randTensor(seed+1, n, out))
	r := pwRun{y: y.Float32s(), dx: dx.Float32s(), dw: slices.Clone(l.Weight().Grad.Float32s())}
	if cfg.Bias {
		r.db = slices.Clone(l.Bias().Grad.Float32s())
	}
	return r
}

// TestPointwiseBatchMatchesPyTorch compares the batched pointwise kernels, at several
// block sizes including partial last blocks, and the per-sample ones with F.conv2d
// in testdata/gen/gen_conv_pointwise_batch.py.
func TestPointwiseBatchMatchesPyTorch(t *testing.T) {
	fs := loadFixtures(t, "pwbatch_")
	if len(fs) == 0 {
		t.Fatal("no pwbatch_ fixtures")
	}
	for _, f := range fs {
		n, _, err := ShapeOf(f.tensor(t, "x"))
		if err != nil {
			t.Fatal(err)
		}
		// 0 lets pwBatchSamples choose; 1 is the per-sample kernels; 2 and 3 leave
		// a partial last block at the fixtures' batches of 3 to 5; n is one block.
		for _, samples := range []int{0, 1, 2, 3, n} {
			t.Run(fmt.Sprintf("%s/samples_%d", f.name, samples), func(t *testing.T) {
				checkPointwiseFixture(t, f, samples, nil)
			})
		}
	}
}

// checkPointwiseFixture runs the 1x1 convolution of fixture f (cin, cout, groups,
// bias; x, weight, bias, dy) with pwSamples set to samples, after check (if not nil)
// has looked at the layer, and compares the output and every gradient with the
// fixture's within fixtureTol, then runs the layer contract.
func checkPointwiseFixture(t *testing.T, f *fixture, samples int, check func(*Conv2D)) {
	t.Helper()
	cfg := ConvConfig{In: f.int(t, "cin"), Out: f.int(t, "cout"), KH: 1, KW: 1,
		Groups: f.int(t, "groups"), Bias: f.int(t, "bias") == 1}
	checkConvFixture(t, f, cfg, func(l *Conv2D) { l.pwSamples = samples }, check)
}

// TestPointwiseBatchBitIdentical checks that the batched pointwise kernels give bit
// for bit the per-sample kernels' output and input gradient (every value is the same
// sum of the same products in the same order: only the matrices' widths change), and
// their weight and bias gradients within pathTol (those sum the samples' products in
// one chain per block instead of one per sample). Two runs of the batched kernels
// with the same worker count must agree bit for bit, gradients included.
func TestPointwiseBatchBitIdentical(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	type pwCase struct {
		cfg ConvConfig
		in  Shape
		n   int
	}
	cases := []pwCase{
		// The reference network's grouped 1x1s on 4x4 planes (reference_net.py block 6),
		// at a batch that leaves a partial block.
		{ConvConfig{In: 96, Out: 384, KH: 1, KW: 1, Groups: 8}, Shape{96, 4, 4}, 11},
		{ConvConfig{In: 384, Out: 96, KH: 1, KW: 1, Groups: 8}, Shape{384, 4, 4}, 11},
		// Wider than an AVX-512 tile in every direction, with a bias.
		{ConvConfig{In: 40, Out: 70, KH: 1, KW: 1, Groups: 1, Bias: true}, Shape{40, 7, 7}, 6},
	}
	for range 12 {
		g := []int{1, 2, 3, 4, 8}[rng.IntN(5)]
		cfg := ConvConfig{In: g * (1 + rng.IntN(20)), Out: g * (1 + rng.IntN(20)), KH: 1, KW: 1, Groups: g, Bias: rng.IntN(2) == 0}
		cases = append(cases, pwCase{cfg, Shape{cfg.In, 1 + rng.IntN(8), 1 + rng.IntN(8)}, 1 + rng.IntN(9)})
	}
	for _, procs := range []int{1, 2} {
		old := runtime.GOMAXPROCS(procs)
		for i, tc := range cases {
			w, b := make([]float32, tc.cfg.Out*tc.cfg.In/tc.cfg.Groups), make([]float32, tc.cfg.Out)
			for j := range w {
				w[j] = float32(rng.NormFloat64())
			}
			for j := range b {
				b[j] = float32(rng.NormFloat64())
			}
			want := runPointwise(t, tc.cfg, 1, w, b, tc.in, tc.n, uint64(i))
			for _, samples := range []int{2, 3, tc.n} {
				name := fmt.Sprintf("GOMAXPROCS %d, conv %+v on %d x %v, %d samples per unit", procs, tc.cfg, tc.n, tc.in, samples)
				got := runPointwise(t, tc.cfg, samples, w, b, tc.in, tc.n, uint64(i))
				if !slices.Equal(got.y, want.y) {
					t.Errorf("%s: output differs from the per-sample kernels'", name)
				}
				if !slices.Equal(got.dx, want.dx) {
					t.Errorf("%s: input gradient differs from the per-sample kernels'", name)
				}
				for _, g := range []struct {
					what      string
					got, want []float32
				}{{"dweight", got.dw, want.dw}, {"dbias", got.db, want.db}} {
					if d, at := maxScaledDiff(g.got, g.want); d > pathTol {
						t.Errorf("%s: %s[%d] = %v, per-sample kernels give %v (scaled error %.3g > %.3g)",
							name, g.what, at, g.got[at], g.want[at], d, pathTol)
					}
				}
				again := runPointwise(t, tc.cfg, samples, w, b, tc.in, tc.n, uint64(i))
				if !slices.Equal(again.dw, got.dw) || !slices.Equal(again.db, got.db) {
					t.Errorf("%s: a second run gave different parameter gradients", name)
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestPointwiseBatchSamples checks the block sizes pwBatchSamples picks: blocks only
// on planes of at most pwBatchMaxHW values forward and pwBatchMaxHWBwd backward, no
// wider than pwBatchCols columns asks, at least one block per worker, and a last
// block that is not empty.
func TestPointwiseBatchSamples(t *testing.T) {
	l, err := NewConv2D(ConvConfig{In: 8, Out: 8, KH: 1, KW: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, procs := range []int{1, 2, 3} {
		old := runtime.GOMAXPROCS(procs)
		for _, n := range []int{1, 2, 5, 8, 31, 128, 130} {
			for _, hw := range []int{1, 4, 16, 36, 49, pwBatchMaxHW + 1, pwBatchMaxHWBwd + 1, 196, 784} {
				for _, backward := range []bool{false, true} {
					bound := pwBatchMaxHW
					if backward {
						bound = pwBatchMaxHWBwd
					}
					s := l.pwBatchSamples(n, hw, backward)
					blocks := (n + s - 1) / s
					at := fmt.Sprintf("GOMAXPROCS %d: pwBatchSamples(%d, %d, %v) = %d", procs, n, hw, backward, s)
					switch {
					case s < 1 || s > n:
						t.Errorf("%s, want 1 to %d", at, n)
					case s > 1 && hw > bound:
						t.Errorf("%s, want 1 above %d values a plane", at, bound)
					case s == 1 && hw <= bound && n >= 2*procs && hw < pwBatchCols:
						t.Errorf("%s, want blocks of samples", at)
					case s > 1 && (s-1)*hw >= pwBatchCols:
						t.Errorf("%s, wider than the %d columns asked", at, pwBatchCols)
					case s > 1 && blocks < procs:
						t.Errorf("%s makes %d blocks, fewer than the workers", at, blocks)
					case s > 1 && n-(blocks-1)*s <= 0:
						t.Errorf("%s leaves an empty last block", at)
					}
				}
			}
		}
		runtime.GOMAXPROCS(old)
	}
}

// TestCopyPlanes checks copyPlanes, on the AVX-512 kernel where the CPU has it and on
// the Go one, against a plain copy: every plane size up to 40 values (whole 16-value
// moves, masked tails and both), pitches wider than the planes, and nothing written
// between or after the planes.
func TestCopyPlanes(t *testing.T) {
	defer func(v bool) { useBNAsm = v }(useBNAsm)
	rng := rand.New(rand.NewPCG(7, 8))
	for _, asm := range []bool{useBNAsm, false} {
		useBNAsm = asm
		for hw := 1; hw <= 40; hw++ {
			for _, count := range []int{1, 3, 7} {
				sp, dp := hw+rng.IntN(5), hw+rng.IntN(20)
				src := make([]float32, count*sp)
				for i := range src {
					src[i] = rng.Float32()
				}
				dst := make([]float32, count*dp+5)
				want := make([]float32, len(dst))
				for i := range dst {
					dst[i] = -float32(i)
					want[i] = dst[i]
				}
				for c := 0; c < count; c++ {
					copy(want[c*dp:c*dp+hw], src[c*sp:c*sp+hw])
				}
				copyPlanes(dst, dp, src, sp, count, hw)
				if !slices.Equal(dst, want) {
					t.Fatalf("asm %v, hw %d, count %d, pitches %d/%d: got %v, want %v", asm, hw, count, sp, dp, dst, want)
				}
			}
		}
	}
}
