package ops

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"testing"

	"nas/ops/internal/dwconv"
	"nas/ops/internal/gpw"
)

// exactFusions switches off, until t ends, the fusions that round differently from
// the layers run one by one: the folded backward passes (fold.go), which sum in
// another order and run in the fusion tests' cases on one worker, and the recomputed
// expansions' statistics from moments (recomputeMoments).
func exactFusions(t *testing.T) {
	fold, moments := foldBack, recomputeMoments
	foldBack, recomputeMoments = false, false
	t.Cleanup(func() { foldBack, recomputeMoments = fold, moments })
}

// countedCase is a fuseCase with how many of its layers a fusion applies to.
type countedCase struct {
	fuseCase
	want int
}

// invresCase returns a fuseCase constructor of an inverted residual block.
func invresCase(c InvertedResidualConfig) func(t *testing.T) Layer {
	return func(t *testing.T) Layer { return mustLayer(t)(NewInvertedResidual(c)) }
}

// runBoth runs c with a fusion switched off by set(false), then on, and returns both
// results (see runFuse) and how many convolutions counted reports true for after the
// run with it on.
func runBoth(t *testing.T, c fuseCase, training bool, set func(on bool), counted func(*Conv2D) bool) (off, on [][]float32, n int) {
	t.Helper()
	set(false)
	off = runFuse(t, c, training)
	set(true)
	on = runFuseWith(t, c, training, func(l Layer) {
		Walk(l, func(_ string, l Layer) {
			if c, ok := l.(*Conv2D); ok && counted(c) {
				n++
			}
		})
	})
	return off, on, n
}

// checkExactFusion runs each case with a fusion switched off and on by set, on one and
// two workers, in training and evaluation mode, and checks that the results agree bit
// for bit and that counted, given the layer after the run with the fusion on, finds
// the case's want places where it applied (what names them in errors).
func checkExactFusion(t *testing.T, cases []countedCase, set func(on bool), counted func(Layer) int, what string) {
	t.Helper()
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, c := range cases {
			for _, training := range []bool{true, false} {
				name := fmt.Sprintf("%s, %d workers, training %v", c.name, procs, training)
				set(false)
				want := runFuse(t, c.fuseCase, training)
				set(true)
				n := 0
				got := runFuseWith(t, c.fuseCase, training, func(l Layer) { n = counted(l) })
				if n != c.want {
					t.Errorf("%s: %d %s, want %d", name, n, what, c.want)
				}
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("%s: result %d (output, input gradient, then parameters and statistics) differs with %s",
							name, i, what)
					}
				}
			}
		}
	}
}

// recomputeCases are Sequentials with expansions that Sequential recomputes
// (recompute.go), each with how many of its convolutions do.
func recomputeCases() []countedCase {
	invres := invresCase
	type rc = countedCase
	return []rc{
		// A dense expansion (8 channels in) into a stride-2 depthwise convolution on
		// odd planes.
		{fuseCase{"invres_s2_odd", invres(InvertedResidualConfig{In: 8, Out: 12, Expand: 4, Stride: 2, Act: ActReLU6}),
			Shape{8, 7, 7}, 3}, 1},
		// A grouped expansion with a shuffle into a stride-1 depthwise convolution,
		// inside a Residual, as in reference_net.py's second block.
		{fuseCase{"invres_g4_shuffle_residual", invres(InvertedResidualConfig{In: 16, Out: 16, Expand: 2, Groups: 4,
			Shuffle: true, Act: ActReLU6}), Shape{16, 8, 9}, 3}, 1},
		// A stem's batch norm that the recomputed expansion applies to its input, a
		// second block whose expansion has too many channels per group, and a
		// Sequential that ends in a 1x1 convolution that could be recomputed, a batch
		// norm and ReLU6, with no depthwise convolution to recompute it for.
		{fuseCase{"stem_block_tail", func(t *testing.T) Layer {
			stem := mustLayer(t)(Conv(3, 8, 3, 1, 1, false))
			tail := mustLayer(t)(Conv(28, 56, 1, 1, 2, false))
			return Seq(Seq(stem, NewBatchNorm2D(8), NewReLU6()),
				invres(InvertedResidualConfig{In: 8, Out: 28, Expand: 2, Stride: 1, Act: ActReLU6})(t),
				invres(InvertedResidualConfig{In: 28, Out: 28, Expand: 2, Stride: 1, Act: ActReLU6})(t),
				Seq(tail, NewBatchNorm2D(56), NewReLU6()))
		}, Shape{3, 11, 10}, 3}, 1},
		// A grouped expansion with a shuffle into a MixConv of kernels 3, 5 and 7,
		// whose parts run joint passes (split_joint.go), as in reference_net.py's
		// fourth block.
		{fuseCase{"invres_g4_mix357", invres(InvertedResidualConfig{In: 16, Out: 16, Expand: 3, Groups: 4,
			Shuffle: true, Kernels: []int{3, 5, 7}, Act: ActReLU6}), Shape{16, 7, 7}, 4}, 1},
		// A 1x1 that halves its channels into a batch norm and a depthwise
		// convolution: recomputing it would read more than it saves (recomputes).
		{fuseCase{"reduce_then_depthwise", func(t *testing.T) Layer {
			pw := mustLayer(t)(Conv(8, 4, 1, 1, 1, false))
			dw := mustLayer(t)(Conv(4, 4, 3, 1, 4, false))
			return Seq(pw, NewBatchNorm2D(4), NewReLU6(), dw, NewBatchNorm2D(4))
		}, Shape{8, 9, 8}, 3}, 0},
	}
}

// TestRecomputedExpansionBitIdentical checks that expansions recomputed instead of
// written (recompute.go) change no bit of the output, the input gradient, the
// parameter gradients and the running statistics, in training and evaluation mode,
// on the flat depthwise kernels and the direct ones, and that the cases do recompute.
func TestRecomputedExpansionBitIdentical(t *testing.T) {
	exactFusions(t)
	if !gpw.Accelerated() {
		t.Skip("the gpw kernels, which recompute.go requires, do not run on this CPU")
	}
	defer func() { recomputeConv = true }()
	for _, c := range recomputeCases() {
		for _, training := range []bool{true, false} {
			for _, flat := range []bool{true, false} {
				acc := dwconv.SetAccelerated(flat)
				want, got, recomputed := runBoth(t, c.fuseCase, training, func(on bool) { recomputeConv = on },
					func(c *Conv2D) bool { return c.rec.valid })
				dwconv.SetAccelerated(acc)
				wantN := c.want
				if !flat && strings.Contains(c.name, "mix") {
					// A MixConv's parts recompute in joint passes, which need the
					// flat kernels (SplitApply.jointParts).
					wantN = 0
				}
				if recomputed != wantN {
					t.Errorf("%s, training %v, flat depthwise %v: %d convolutions recomputed, want %d",
						c.name, training, flat, recomputed, wantN)
				}
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("%s, training %v, flat depthwise %v: result %d (output, input gradient, then parameters and statistics) differs recomputed",
							c.name, training, flat, i)
					}
				}
			}
		}
	}
}

// TestRecomputedExpansionContract runs the recomputing layers through the contract
// every layer keeps: inputs unmodified, repeatable, separate instances concurrently.
func TestRecomputedExpansionContract(t *testing.T) {
	var cases []fuseCase
	for _, c := range recomputeCases() {
		cases = append(cases, c.fuseCase)
	}
	checkFuseContract(t, cases)
}

// TestRecomputeMoments checks that the statistics a recomputed expansion takes from
// its input's moments (recomputeMoments) give the output, input gradient, parameter
// gradients and running statistics of the statistics of the computed planes within
// float32 rounding, and that the cases recompute.
func TestRecomputeMoments(t *testing.T) {
	if !gpw.Accelerated() {
		t.Skip("the gpw kernels, which recompute.go requires, do not run on this CPU")
	}
	exactFusions(t) // the fold off; runBoth switches the moments
	for _, c := range recomputeCases() {
		want, got, n := runBoth(t, c.fuseCase, true, func(on bool) { recomputeMoments = on },
			func(c *Conv2D) bool { return c.rec.valid })
		if n != c.want {
			t.Errorf("%s: %d convolutions recomputed, want %d", c.name, n, c.want)
		}
		for i := range want {
			if err := withinScale(got[i], want[i], 1e-5); err != "" {
				t.Errorf("%s: result %d (output, input gradient, then parameters and statistics): %s", c.name, i, err)
			}
		}
	}
}
