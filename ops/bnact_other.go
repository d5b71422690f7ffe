//go:build !amd64

package ops

// useBNAsm is false: there are no assembly kernels on this architecture.
var useBNAsm = false

func bnStatsAVX512(x *float32, hw, planes, stride int, out *float32) {
	panic("ops: no assembly on this architecture")
}

func bnActFwdAVX512(x, y *float32, hw, planes, xstride, ystride int, a, b *float32, lo, hi float32) {
	panic("ops: no assembly on this architecture")
}

func bnActBackReduceAVX512(x, dy, dg *float32, hw, planes, xstride, dystride, dgstride int, a, b, mean, k *float32, lo, hi float32, mask bool, out *float32) {
	panic("ops: no assembly on this architecture")
}

func bnActBackApplyAVX512(dx, dy, x *float32, hw, planes, dxstride, xstride, dystride int, a, b, k *float32, lo, hi float32, mask bool) {
	panic("ops: no assembly on this architecture")
}

func clampAVX512(y, x *float32, n int, lo, hi float32) {
	panic("ops: no assembly on this architecture")
}

func maskGradAVX512(dx, dy, y *float32, n int, lo, hi float32) {
	panic("ops: no assembly on this architecture")
}

func addAVX512(z, a, b *float32, n int) {
	panic("ops: no assembly on this architecture")
}

func globalPool16AVX512(x *float32, groups int, y *float32, area float32) {
	panic("ops: no assembly on this architecture")
}

func globalPoolBwdAVX512(dx *float32, hw, planes int, dy *float32, area float32) {
	panic("ops: no assembly on this architecture")
}

func bnStats16AVX512(x *float32, groups, stride int, out *float32) {
	panic("ops: no assembly on this architecture")
}

func bnCombineAVX512(st *float32, n int, h float64, s, q *float64) {
	panic("ops: no assembly on this architecture")
}

func bnActBackReduce16AVX512(x, dy *float32, groups, xstride, dystride int, a, b, mean *float32, lo, hi float32, mask bool, out *float32) {
	panic("ops: no assembly on this architecture")
}

func bnStatsG16AVX512(x *float32, hw, groups, stride int, out *float32) {
	panic("ops: no assembly on this architecture")
}

func streamAVX512(dst, src *float32, n int) {
	panic("ops: no assembly on this architecture")
}

func bnAddPairsAVX512(r *float32, n int, s, d *float64) {
	panic("ops: no assembly on this architecture")
}

func copyPlanesAVX512(dst *float32, dstPitch int, src *float32, srcPitch, count, hw int) {
	panic("ops: no assembly on this architecture")
}
