package ops

// SetHelperPoll turns the helpers' polling for the next parallelFor call (see helper)
// on or off and returns the previous setting.
func SetHelperPoll(on bool) bool { return helperPoll.Swap(on) }
