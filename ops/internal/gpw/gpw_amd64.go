package gpw

import (
	"unsafe"

	"golang.org/x/sys/cpu"
)

// useAsm selects the AVX-512 kernels (x/sys/cpu also checks that the OS saves the
// ZMM and opmask registers).
var useAsm = cpu.X86.HasAVX512F

// applyAVX512 is Apply's kernel: dst, ap and src point at the first values, ldd and
// lds are the row pitches in values. It prefetches into the L2 cache pfn cache lines
// from pf on, one every second step of its inner loops (a step is one row of the
// packed weights times at most 64 columns).
//
//go:noescape
func applyAVX512(dst, ap, src *float32, ldd, lds, m, k, n int, pf unsafe.Pointer, pfn int)

// wgradAVX512 adds to the TileRows x TileCols x Lanes partial sums at t the products
// of ra rows of a by rb rows of b over n columns, rows past ra and rb repeating the
// last one (their sums are computed and ignored). It prefetches into the L2 cache
// pfn cache lines from pf on, one every 32 columns.
//
//go:noescape
func wgradAVX512(t, a *float32, lda, ra int, b *float32, ldb, rb, n int, pf unsafe.Pointer, pfn int)
