//go:build !amd64

package dwconv

const hasAVX512 = false

var useAsm = false

func convAVX512(src, dst, w, bias *float32, off *int32, mask, store *uint16, taps, blocks, count, srcStride, dstStride, wStride, biasStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func wgradAVX512(src, dy, dw *float32, off *int32, mask *uint16, taps, blocks, count, srcStride, dyStride, dwStride int) {
	panic("dwconv: no assembly on this architecture")
}

func deinterleaveAVX512(src, dst *float32, h, w, rows, pitch int) {
	panic("dwconv: no assembly on this architecture")
}

func interleaveAVX512(src, dst *float32, h, w, rows, pitch, count int) {
	panic("dwconv: no assembly on this architecture")
}

func s2convAVX512(src, dst, w, bias *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, kh, kw, vecs, vstride, count, srcStride, dstStride, wStride, biasStride int) {
	panic("dwconv: no assembly on this architecture")
}

func s2conv2AVX512(src, dst, w, bias *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, kh, kw, vecs, vstride, count, srcStride, dstStride, wStride, biasStride, shift int) {
	panic("dwconv: no assembly on this architecture")
}

func s2wgradAVX512(src, dy, dwv *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, kh, kw, vecs, vstride, count, srcStride, dyStride, dwvStride int) {
	panic("dwconv: no assembly on this architecture")
}

func s2wgrad2AVX512(src, dy, dwv *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, pk *int32, npk, kh, kw, vecs, vstride, count, srcStride, dyStride, dwvStride, shift int) {
	panic("dwconv: no assembly on this architecture")
}

func s2wgrad33AVX512(src, dy, dwv *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, vecs, vstride, count, srcStride, dyStride, dwvStride int) {
	panic("dwconv: no assembly on this architecture")
}

func bwd9AVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, blocks, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func bwdAVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, taps, blocks, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func s2dxAVX512(dy, dx, w *float32, vec, ent, idx *int32, km *uint16, kw, vecs, count, dyStride, dxStride, wStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func s2dxPairAVX512(dy, dx, w *float32, vec, ent, pidx *int32, km *uint16, kw, vecs, count, dyStride, dxStride, wStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func s2dxPair2AVX512(dy, dx, w *float32, vec, ent, pidx *int32, km *uint16, kw, vecs, count, dyStride, dxStride, wStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func conv1AVX512(src, dst, w, bias *float32, off *int32, mask, store *uint16, taps, count, srcStride, dstStride, wStride, biasStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func bwd1AVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, taps, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func conv4AVX512(src, dst, w, bias *float32, off *int32, mask, store *uint16, taps, count, srcStride, dstStride, wStride, biasStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func bwd4AVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, taps, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool) {
	panic("dwconv: no assembly on this architecture")
}

func bwdwAVX512(dy, x, dwv *float32, off *int32, mask, store *uint16, taps, blocks, count, dyStride, xStride, dwvStride int) {
	panic("dwconv: no assembly on this architecture")
}
