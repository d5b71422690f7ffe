//go:build !purego

package gemm

import "golang.org/x/sys/cpu"

//go:generate go run gen.go

// avx512Kernel is the 14 x 32 AVX-512 kernel: 28 zmm accumulators, two zmm for a row
// of the B panel and two for broadcasts use all 32 registers. kc = 384 makes the
// B panel 48 KiB, the size of L1, so it is mostly reused from L1 with A streaming
// past; mc*kc*4 = 1 MiB of A stays in a 2 MiB L2 beside the kc x nc = 576 KiB B block.
// nc = 384 was the fastest of 128..12544 for M64K288N12544 on the development
// machine (smaller blocks are packed while still in L2, larger ones let the
// prefetcher run longer; the curve is flat within noise from 256 to 512).
var avx512Kernel = &kernel{
	name: "avx512",
	mr:   14,
	nr:   32,
	microN: []microKernel{
		sgemm512Nx1, sgemm512Nx2, sgemm512Nx3, sgemm512Nx4, sgemm512Nx5, sgemm512Nx6, sgemm512Nx7,
		sgemm512Nx8, sgemm512Nx9, sgemm512Nx10, sgemm512Nx11, sgemm512Nx12, sgemm512Nx13, sgemm512Nx14,
	},
	microT: []microKernel{
		sgemm512Tx1, sgemm512Tx2, sgemm512Tx3, sgemm512Tx4, sgemm512Tx5, sgemm512Tx6, sgemm512Tx7,
		sgemm512Tx8, sgemm512Tx9, sgemm512Tx10, sgemm512Tx11, sgemm512Tx12, sgemm512Tx13, sgemm512Tx14,
	},
	packB:  packB512,
	packBT: packBT512,
	kc:     384, mc: 672, nc: 384,
}

// avx2Kernel is the 6 x 16 AVX2+FMA kernel: 12 ymm accumulators, two for a row of B
// and two for broadcasts use all 16 registers (the BLIS Haswell sgemm shape, there
// 6 x 16 as well).
var avx2Kernel = &kernel{
	name: "avx2",
	mr:   6,
	nr:   16,
	microN: []microKernel{
		sgemm256Nx1, sgemm256Nx2, sgemm256Nx3, sgemm256Nx4, sgemm256Nx5, sgemm256Nx6,
	},
	microT: []microKernel{
		sgemm256Tx1, sgemm256Tx2, sgemm256Tx3, sgemm256Tx4, sgemm256Tx5, sgemm256Tx6,
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
