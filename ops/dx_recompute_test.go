package ops

import (
	"testing"

	"nas/ops/internal/gpw"
)

// dxCases are layers whose projections omit their input gradients (dx_recompute.go),
// each with how many do: the fold's cases (fold_test.go), of which the grouped
// blocks and the first of the two blocks do (the others' projections have planes
// too small for the gpw kernels, 6x6, or too many output channels per group,
// dxRecomputeMaxOut), and a dense block with a stride-2 depthwise convolution whose
// projection does, as in reference_net.py's first block.
func dxCases() []countedCase {
	omits := map[string]int{"invres_g4_shuffle_residual": 1, "mix357_g4_shuffle_residual": 1, "two_blocks": 1}
	var cases []countedCase
	for _, c := range foldCases() {
		c.want = omits[c.name]
		cases = append(cases, c)
	}
	return append(cases, countedCase{fuseCase{"invres_s2", invresCase(InvertedResidualConfig{In: 8, Out: 12, Expand: 4,
		Stride: 2, Act: ActReLU6}), Shape{8, 14, 13}, 4}, 1})
}

// TestDXRecomputeBitIdentical checks that the projections' omitted input gradients
// (dx_recompute.go) change no bit of the output, the input gradient, the parameter
// gradients and the running statistics, in training and evaluation mode, on one and
// two workers, and that the cases do omit them.
func TestDXRecomputeBitIdentical(t *testing.T) {
	if !gpw.Accelerated() {
		t.Skip("the gpw kernels, which dx_recompute.go requires, do not run on this CPU")
	}
	defer func(on bool, min int) { dxRecompute, dxRecomputeMinBytes = on, min }(dxRecompute, dxRecomputeMinBytes)
	dxRecomputeMinBytes = 0
	checkExactFusion(t, dxCases(), func(on bool) { dxRecompute = on }, func(l Layer) int {
		n := 0
		Walk(l, func(_ string, l Layer) {
			if c, ok := l.(*Conv2D); ok && c.dxsc != nil {
				n++
			}
		})
		return n
	}, "convolutions omitting input gradients")
}

// TestDXRecomputeMinBytes checks that an input gradient smaller than
// dxRecomputeMinBytes is written as usual.
func TestDXRecomputeMinBytes(t *testing.T) {
	if !gpw.Accelerated() {
		t.Skip("the gpw kernels, which dx_recompute.go requires, do not run on this CPU")
	}
	c := dxCases()[1] // invres_g4_shuffle_residual
	if size := 4 * c.batch * (Shape{32, c.in.H, c.in.W}).Size(); size >= dxRecomputeMinBytes {
		t.Fatalf("the case's input gradient (%d bytes) is not below the bound", size)
	}
	_, _, omitted := runBoth(t, c.fuseCase, true, func(bool) {}, func(c *Conv2D) bool { return c.dxsc != nil })
	if omitted != 0 {
		t.Errorf("%s: %d convolutions omitted input gradients below dxRecomputeMinBytes", c.name, omitted)
	}
}

// TestDXRecomputeContract runs the omitting layers through the contract every layer
// keeps: inputs unmodified, repeatable, separate instances concurrently.
func TestDXRecomputeContract(t *testing.T) {
	defer func(min int) { dxRecomputeMinBytes = min }(dxRecomputeMinBytes)
	dxRecomputeMinBytes = 0
	var cases []fuseCase
	for _, c := range dxCases() {
		cases = append(cases, c.fuseCase)
	}
	checkFuseContract(t, cases)
}
