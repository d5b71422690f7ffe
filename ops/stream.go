package ops

import "math"

// A training step at batch 128 writes tensors larger than the caches: the input
// gradient of the reference network's first stride-2 depthwise layer is 25 MB. An
// ordinary store first reads each cache line it writes from memory. On the 2-core
// virtual machine this was measured on, two threads wrote 25 MB of lines that were
// not in cache in 1.1-1.9 ms that way and in 0.8 ms with non-temporal stores, which
// skip that read (to lines still in cache they took 2.1-2.2 ms). So a depthwise
// layer whose input gradient is larger than streamMinBytes writes each sample's
// gradient into a per-worker scratch, where the batch-norm reductions fused into the
// layer read it back from the L2 cache, and then copies it out with non-temporal
// stores (streamCopy). Smaller tensors are still partly in cache when the next
// layer reads them, which non-temporal stores would forgo: timed layer by layer in
// training steps alternating with and without, staging the 9.6 MB input gradients of
// the reference network cost the layers that read them 0.1 ms more per step than it
// saved, while staging the 25 MB one saved 0.5-0.6 ms (12.8 MB at batch 64: 0.3 ms).
// BenchmarkStreamOutputs gave on/off 0.985, 0.998, 0.990, 0.984 and 0.981.

// streamMinBytes is the smallest tensor whose writes are staged: never without the
// AVX-512 kernels, whose non-temporal stores streamCopy needs to gain anything.
var streamMinBytes = func() int {
	if useBNAsm {
		return 12 << 20
	}
	return math.MaxInt
}()

// streamOutputs switches the staging on; BenchmarkStreamOutputs switches it off to
// compare.
var streamOutputs = true

// staging is a pass's per-worker scratch for the units it writes.
type staging struct {
	on   bool
	bufs [][]float32
}

// prepare decides whether a pass that writes a tensor of n values, at most per of
// them per unit, stages them, and sizes the scratch.
func (s *staging) prepare(n, per int) {
	s.on = streamOutputs && n >= streamMinBytes/4
	if s.on {
		s.bufs = perWorker(s.bufs, runtimeWorkers(), per)
	}
}

// at returns where worker wk writes the values that belong at dst: its scratch when
// the pass stages, dst itself otherwise.
func (s *staging) at(wk int, dst []float32) []float32 {
	if !s.on {
		return dst
	}
	return s.bufs[wk][:len(dst)]
}

// flush moves the values written at buf, which at returned for dst, to dst.
func (s *staging) flush(dst, buf []float32) {
	if s.on {
		streamCopy(dst, buf)
	}
}
