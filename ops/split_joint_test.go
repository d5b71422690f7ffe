package ops

import "testing"

// jointCases are layers with MixConv parts that run joint passes (split_joint.go),
// each with how many of its SplitApplys do.
func jointCases() []countedCase {
	invres := invresCase
	type jc = countedCase
	return []jc{
		// A dense expansion into a stride-2 MixConv of kernels 3 and 5, as in
		// reference_net.py's third block.
		{fuseCase{"invres_s2_mix35", invres(InvertedResidualConfig{In: 8, Out: 12, Expand: 4, Stride: 2,
			Kernels: []int{3, 5}, Act: ActReLU6}), Shape{8, 14, 13}, 4}, 1},
		// A grouped expansion with a shuffle into a MixConv of kernels 3, 5 and 7 in
		// a Residual, as in the fourth block, after a stem whose batch norm the
		// expansion applies.
		{fuseCase{"stem_invres_g4_mix357", func(t *testing.T) Layer {
			stem := mustLayer(t)(Conv(3, 16, 3, 1, 1, false))
			return Seq(Seq(stem, NewBatchNorm2D(16), NewReLU6()),
				invres(InvertedResidualConfig{In: 16, Out: 16, Expand: 3, Groups: 4, Shuffle: true,
					Kernels: []int{3, 5, 7}, Act: ActReLU6})(t))
		}, Shape{3, 7, 7}, 6}, 1},
	}
}

// TestSplitApplyJointBitIdentical checks that the joint passes of MixConv's parts
// (split_joint.go) change no bit of the output, the input gradient, the parameter
// gradients and the running statistics, in training and evaluation mode, on one and
// two workers, and that the cases do run them.
func TestSplitApplyJointBitIdentical(t *testing.T) {
	exactFusions(t)
	defer func(j bool) { jointPasses = j }(jointPasses)
	checkExactFusion(t, jointCases(), func(on bool) { jointPasses = on }, func(l Layer) int {
		n := 0
		Walk(l, func(_ string, l Layer) {
			if s, ok := l.(*SplitApply); ok && len(s.joint) > 0 {
				n++
			}
		})
		return n
	}, "SplitApplys in joint passes")
}

// TestSplitApplyJointContract runs the joint passes through the contract every layer
// keeps: inputs unmodified, repeatable, separate instances concurrently.
func TestSplitApplyJointContract(t *testing.T) {
	var cases []fuseCase
	for _, c := range jointCases() {
		cases = append(cases, c.fuseCase)
	}
	checkFuseContract(t, cases)
}
