//go:build !linux

package ops

// adviseHuge does nothing: huge pages are requested on Linux only.
func adviseHuge(s []float32) bool { return false }
