package gpw

import "golang.org/x/sys/cpu"

// useAsm selects the AVX-512 kernels (x/sys/cpu also checks that the OS saves the
// ZMM and opmask registers).
var useAsm = cpu.X86.HasAVX512F

// applyAVX512 is Apply's kernel: dst, ap and src point at the first values, ldd and
// lds are the row pitches in values.
//
//go:noescape
func applyAVX512(dst, ap, src *float32, ldd, lds, m, k, n int)

// wgradAVX512 adds to the TileRows x TileCols x Lanes partial sums at t the products
// of ra rows of a by rb rows of b over n columns, rows past ra and rb repeating the
// last one (their sums are computed and ignored).
//
//go:noescape
func wgradAVX512(t, a *float32, lda, ra int, b *float32, ldb, rb, n int)
