//go:build !linux

package gemm

// threadCPU is unavailable off Linux; benchmarks then report wall-time GFLOP/s only.
func threadCPU() (sec float64, ok bool) { return 0, false }
