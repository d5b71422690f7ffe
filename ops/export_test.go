package ops

// SetHelperPoll turns the polling of parallelFor's helpers and callers (see helper
// and awaitHelpers) on or off and returns the previous setting.
func SetHelperPoll(on bool) bool { return helperPoll.Swap(on) }

// swapSetting sets *p to on and returns its previous value: the setters below turn a
// fusion on or off for the paired benchmarks.
func swapSetting(p *bool, on bool) bool {
	old := *p
	*p = on
	return old
}

// SetCrossFuse turns crossFuse on or off and returns the previous setting.
func SetCrossFuse(on bool) bool { return swapSetting(&crossFuse, on) }

// SetStreamOutputs turns streamOutputs on or off and returns the previous setting.
func SetStreamOutputs(on bool) bool { return swapSetting(&streamOutputs, on) }

// SetRecomputeConv turns recomputeConv on or off and returns the previous setting.
func SetRecomputeConv(on bool) bool { return swapSetting(&recomputeConv, on) }

// SetFoldBack turns foldBack on or off and returns the previous setting.
func SetFoldBack(on bool) bool { return swapSetting(&foldBack, on) }

// SetRecomputeMoments turns recomputeMoments on or off and returns the previous
// setting.
func SetRecomputeMoments(on bool) bool { return swapSetting(&recomputeMoments, on) }

// SetJointPasses turns jointPasses on or off and returns the previous setting.
func SetJointPasses(on bool) bool { return swapSetting(&jointPasses, on) }

// SetDXRecompute turns dxRecompute on or off and returns the previous setting.
func SetDXRecompute(on bool) bool { return swapSetting(&dxRecompute, on) }

// SetFoldShortcut turns foldShortcut on or off and returns the previous setting.
func SetFoldShortcut(on bool) bool { return swapSetting(&foldShortcut, on) }
