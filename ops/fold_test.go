package ops

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"testing"

	"nas/ops/internal/gpw"
)

// foldCases are Sequentials whose depthwise convolutions run the backward of the
// expansion before them (fold.go), each with how many do.
func foldCases() []countedCase {
	invres := invresCase
	type fc = countedCase
	return []fc{
		// A stem whose batch norm the dense expansion applies to its input (so the
		// correction pass also runs the stem batch norm's reductions), into a
		// stride-2 depthwise convolution, as in reference_net.py's first block.
		{fuseCase{"stem_invres_s2", func(t *testing.T) Layer {
			stem := mustLayer(t)(Conv(3, 8, 3, 1, 1, false))
			return Seq(Seq(stem, NewBatchNorm2D(8), NewReLU6()),
				invres(InvertedResidualConfig{In: 8, Out: 12, Expand: 4, Stride: 2, Act: ActReLU6})(t))
		}, Shape{3, 12, 11}, 4}, 1},
		// A grouped expansion with a shuffle, recomputed (recompute.go), in a
		// Residual, as in reference_net.py's second block.
		{fuseCase{"invres_g4_shuffle_residual", invres(InvertedResidualConfig{In: 16, Out: 16, Expand: 2, Groups: 4,
			Shuffle: true, Act: ActReLU6}), Shape{16, 8, 9}, 4}, 1},
		// An expansion that widens too little to be recomputed (recompute.go), so
		// that the fold sums M and S itself.
		{fuseCase{"not_recomputed", invres(InvertedResidualConfig{In: 16, Out: 16, Expand: 1.5, Stride: 1, Act: ActReLU6}),
			Shape{16, 8, 8}, 4}, 1},
		// An expansion that is not recomputed into a stride-2 MixConv of kernels 3
		// and 5 (its parts run joint passes, split_joint.go), as in reference_net.py's
		// third block.
		{fuseCase{"mix35_s2", invres(InvertedResidualConfig{In: 16, Out: 24, Expand: 1.5, Stride: 2,
			Kernels: []int{3, 5}, Act: ActReLU6}), Shape{16, 9, 10}, 4}, 1},
		// A grouped expansion with a shuffle, recomputed, into a MixConv of kernels
		// 3, 5 and 7 in a Residual, as in the fourth block.
		{fuseCase{"mix357_g4_shuffle_residual", invres(InvertedResidualConfig{In: 16, Out: 16, Expand: 3, Groups: 4,
			Shuffle: true, Kernels: []int{3, 5, 7}, Act: ActReLU6}), Shape{16, 7, 7}, 4}, 1},
		// Two blocks whose expansions are recomputed, into stride-1 depthwise
		// convolutions.
		{fuseCase{"two_blocks", func(t *testing.T) Layer {
			return Seq(invres(InvertedResidualConfig{In: 12, Out: 12, Expand: 3, Stride: 1, Act: ActReLU6})(t),
				invres(InvertedResidualConfig{In: 12, Out: 16, Expand: 2, Stride: 1, Act: ActReLU6})(t))
		}, Shape{12, 10, 10}, 4}, 2},
	}
}

// TestFoldedBackward checks that the folded backward passes (fold.go) give the
// output, input gradient, parameter gradients and running statistics of the layers
// run one by one within float32 rounding (they sum in another order: about 3e-7 of
// each result's largest value), on one and two workers, and that the cases do fold.
func TestFoldedBackward(t *testing.T) {
	if !gpw.Accelerated() {
		t.Skip("the gpw kernels, which fold.go requires, do not run on this CPU")
	}
	defer func(f bool) { foldBack = f }(foldBack)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2} {
		runtime.GOMAXPROCS(procs)
		for _, c := range foldCases() {
			want, got, folded := runBoth(t, c.fuseCase, true, func(on bool) { foldBack = on },
				func(c *Conv2D) bool { return c.foldSt.da != nil })
			name := fmt.Sprintf("%s, %d workers", c.name, procs)
			if folded != c.want {
				t.Errorf("%s: %d depthwise convolutions folded, want %d", name, folded, c.want)
			}
			for i := range want {
				if err := withinScale(got[i], want[i], 1e-5); err != "" {
					t.Errorf("%s: result %d (output, input gradient, then parameters and statistics): %s", name, i, err)
				}
			}
		}
	}
}

// withinScale returns "" when every value of got is within tol times the largest
// magnitude of want, or of 10 if that is smaller, of its value in want, else a
// description of the worst one. The floor of 10 is for gradients that cancel to
// about 0, which are rounding noise of the sums of values as large as the others
// (about 1e-5 in TestFoldedBackward's cases, whose other gradients run to 10-400).
func withinScale(got, want []float32, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d values, want %d", len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = max(scale, math.Abs(float64(v)))
	}
	worst, at := 0.0, -1
	for i := range got {
		if d := math.Abs(float64(got[i]) - float64(want[i])); d > worst || math.IsNaN(d) {
			worst, at = d, i
		}
	}
	if at >= 0 && (worst > tol*max(scale, 10) || math.IsNaN(worst)) {
		return fmt.Sprintf("value %d is %g, want %g (largest magnitude %g)", at, got[at], want[at], scale)
	}
	return ""
}

// TestFoldedResidualSum checks that the residual cases' shortcut gradient is added
// by the folded backward (Residual.sumFolded) when the fold runs, and by the sum
// otherwise; TestFoldedBackward checks the values.
func TestFoldedResidualSum(t *testing.T) {
	if !gpw.Accelerated() {
		t.Skip("the gpw kernels, which fold.go requires, do not run on this CPU")
	}
	defer func(f bool) { foldBack = f }(foldBack)
	for _, c := range foldCases() {
		if !strings.HasSuffix(c.name, "_residual") {
			continue
		}
		for _, on := range []bool{false, true} {
			foldBack = on
			folded := 0
			runFuseWith(t, c.fuseCase, true, func(l Layer) {
				Walk(l, func(_ string, l Layer) {
					if r, ok := l.(*Residual); ok && r.sumFolded {
						folded++
					}
				})
			})
			if want := map[bool]int{false: 0, true: 1}[on]; folded != want {
				t.Errorf("%s, fold %v: %d shortcut sums folded, want %d", c.name, on, folded, want)
			}
		}
	}
}

// TestFoldedBackwardContract runs the folding layers through the contract every
// layer keeps: inputs unmodified, repeatable, separate instances concurrently.
func TestFoldedBackwardContract(t *testing.T) {
	var cases []fuseCase
	for _, c := range foldCases() {
		cases = append(cases, c.fuseCase)
	}
	checkFuseContract(t, cases)
}
