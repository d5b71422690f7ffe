//go:build !amd64

package ops

// flushDenormals does nothing on this architecture: its denormal arithmetic is left
// as it is.
func flushDenormals() uint32 { return 0 }

// restoreMXCSR does nothing on this architecture.
func restoreMXCSR(uint32) {}
