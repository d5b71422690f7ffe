//go:build !amd64

package gpw

import "unsafe"

var useAsm = false

func applyAVX512(dst, ap, src *float32, ldd, lds, m, k, n int, pf unsafe.Pointer, pfn int) {
	panic("gpw: no assembly on this architecture")
}

func wgradAVX512(t, a *float32, lda, ra int, b *float32, ldb, rb, n int, pf unsafe.Pointer, pfn int) {
	panic("gpw: no assembly on this architecture")
}
