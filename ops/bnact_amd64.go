package ops

import "golang.org/x/sys/cpu"

// useBNAsm selects the AVX-512 kernels of bnact_amd64.s (x/sys/cpu also checks that
// the operating system saves the ZMM and opmask registers). Tests switch it off to
// compare them with the Go kernels.
var useBNAsm = cpu.X86.HasAVX512F

//go:noescape
func bnStatsAVX512(x *float32, hw, planes, stride int, out *float32)

//go:noescape
func bnActFwdAVX512(x, y *float32, hw, planes, xstride, ystride int, a, b *float32, lo, hi float32)

//go:noescape
func bnActBackReduceAVX512(x, dy, dg *float32, hw, planes, xstride, dystride, dgstride int, a, b, mean, k *float32, lo, hi float32, mask bool, out *float32)

//go:noescape
func bnActBackApplyAVX512(dx, dy, x *float32, hw, planes, dxstride, xstride, dystride int, a, b, k *float32, lo, hi float32, mask bool)

//go:noescape
func clampAVX512(y, x *float32, n int, lo, hi float32)

//go:noescape
func maskGradAVX512(dx, dy, y *float32, n int, lo, hi float32)

//go:noescape
func addAVX512(z, a, b *float32, n int)

//go:noescape
func globalPool16AVX512(x *float32, groups int, y *float32, area float32)

//go:noescape
func globalPoolBwdAVX512(dx *float32, hw, planes int, dy *float32, area float32)

//go:noescape
func bnStats16AVX512(x *float32, groups, stride int, out *float32)

//go:noescape
func bnCombineAVX512(st *float32, n int, h float64, s, q *float64)

//go:noescape
func bnActBackReduce16AVX512(x, dy *float32, groups, xstride, dystride int, a, b, mean *float32, lo, hi float32, mask bool, out *float32)

//go:noescape
func bnStatsG16AVX512(x *float32, hw, groups, stride int, out *float32)

//go:noescape
func streamAVX512(dst, src *float32, n int)

//go:noescape
func copyPlanesAVX512(dst *float32, dstPitch int, src *float32, srcPitch, count, hw int)

//go:noescape
func bnAddPairsAVX512(r *float32, n int, s, d *float64)
