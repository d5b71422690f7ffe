package ops

// SetHelperPoll turns the polling of parallelFor's helpers and callers (see helper
// and awaitHelpers) on or off and returns the previous setting.
func SetHelperPoll(on bool) bool { return helperPoll.Swap(on) }

// SetCrossFuse turns crossFuse on or off and returns the previous setting.
func SetCrossFuse(on bool) bool {
	old := crossFuse
	crossFuse = on
	return old
}

// SetStreamOutputs turns streamOutputs on or off and returns the previous setting.
func SetStreamOutputs(on bool) bool {
	old := streamOutputs
	streamOutputs = on
	return old
}

// SetRecomputeConv turns recomputeConv on or off and returns the previous setting.
func SetRecomputeConv(on bool) bool {
	old := recomputeConv
	recomputeConv = on
	return old
}

// SetFoldBack turns foldBack on or off and returns the previous setting.
func SetFoldBack(on bool) bool {
	old := foldBack
	foldBack = on
	return old
}

// SetRecomputeMoments turns recomputeMoments on or off and returns the previous
// setting.
func SetRecomputeMoments(on bool) bool {
	old := recomputeMoments
	recomputeMoments = on
	return old
}
