//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

// avx512Kernel is the 14 x 32 AVX-512 kernel: 28 zmm accumulators, two zmm for a row
// of the B panel and two for broadcasts use all 32 registers. kc = 384 keeps the
// 48 KiB B panel in a 48 KiB L1 together with the stream of A, mc*kc*4 stays near
// 1 MiB of a 2 MiB L2, and so does the kc x nc B block.
var avx512Kernel = &kernel{
	name: "avx512",
	mr:   14,
	nr:   32,
	micro: []microKernel{
		sgemm512x1, sgemm512x2, sgemm512x3, sgemm512x4, sgemm512x5, sgemm512x6, sgemm512x7,
		sgemm512x8, sgemm512x9, sgemm512x10, sgemm512x11, sgemm512x12, sgemm512x13, sgemm512x14,
	},
	packB: packB512,
	kc:    384, mc: 672, nc: 768,
}

// avx2Kernel is the 6 x 16 AVX2+FMA kernel: 12 ymm accumulators, two for a row of B
// and two for broadcasts use all 16 registers (the BLIS Haswell sgemm shape, there
// 6 x 16 as well).
var avx2Kernel = &kernel{
	name: "avx2",
	mr:   6,
	nr:   16,
	micro: []microKernel{
		sgemm256x1, sgemm256x2, sgemm256x3, sgemm256x4, sgemm256x5, sgemm256x6,
	},
	packB: packB256,
	kc:    256, mc: 144, nc: 2048,
}

func init() {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		kernels = append(kernels, avx2Kernel)
		best = avx2Kernel
	}
	if cpu.X86.HasAVX512F {
		kernels = append(kernels, avx512Kernel)
		best = avx512Kernel
	}
}
