package ops

// flushDenormals sets the flush-to-zero and denormals-are-zero bits of the calling
// thread's MXCSR and returns its previous value for restoreMXCSR.
//
//go:noescape
func flushDenormals() uint32

// restoreMXCSR sets the calling thread's MXCSR to v.
//
//go:noescape
func restoreMXCSR(v uint32)
