package gemm

import "unsafe"

// goKernel is the pure-Go kernel: a 4 x 4 register tile, small enough that the
// compiler keeps the 16 accumulators in the 16 SSE registers of amd64 (or the 32 of
// arm64) without spilling.
var goKernel = &kernel{
	name:   "go",
	mr:     4,
	nr:     4,
	microN: []microKernel{goMicroN(1), goMicroN(2), goMicroN(3), goMicroN(4)},
	microT: []microKernel{goMicroT(1), goMicroT(2), goMicroT(3), goMicroT(4)},
	kc:     256, mc: 128, nc: 1024,
}

// goMicroN returns the pure-Go micro-kernel for mr rows of a row-major A block.
func goMicroN(mr int) microKernel {
	return func(k int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c unsafe.Pointer, ldc int, alpha, beta float32, nr int, _ unsafe.Pointer, _ int, bcopy unsafe.Pointer) {
		goMicro(mr, k, a, lda, 1, b, ldb, c, ldc, alpha, beta, nr, bcopy)
	}
}

// goMicroT returns the pure-Go micro-kernel for mr rows of a transposed A block.
func goMicroT(mr int) microKernel {
	return func(k int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c unsafe.Pointer, ldc int, alpha, beta float32, nr int, _ unsafe.Pointer, _ int, bcopy unsafe.Pointer) {
		goMicro(mr, k, a, 1, lda, b, ldb, c, ldc, alpha, beta, nr, bcopy)
	}
}

// goMicro computes an mr x 4 tile; A element (r, p) is at a[r*rs+p*ps] and B element
// (p, j) at b[p*ldb+j]. When bcopy is not nil the k x 4 panel of B is also copied
// there, packed.
func goMicro(mr, k int, a unsafe.Pointer, rs, ps int, b unsafe.Pointer, ldb int, c unsafe.Pointer, ldc int, alpha, beta float32, nr int, bcopy unsafe.Pointer) {
	ap := unsafe.Slice((*float32)(a), (mr-1)*rs+(k-1)*ps+1)
	bp := unsafe.Slice((*float32)(b), (k-1)*ldb+4)
	if bcopy != nil {
		dst := unsafe.Slice((*float32)(bcopy), k*4)
		for p := 0; p < k; p++ {
			copy(dst[p*4:p*4+4], bp[p*ldb:])
		}
	}
	var acc [4][4]float32
	if mr == 4 {
		// The full-height tile keeps its accumulators in locals.
		var c00, c01, c02, c03, c10, c11, c12, c13 float32
		var c20, c21, c22, c23, c30, c31, c32, c33 float32
		for p := 0; p < k; p++ {
			bv := bp[p*ldb : p*ldb+4 : p*ldb+4]
			a0, a1, a2, a3 := ap[p*ps], ap[rs+p*ps], ap[2*rs+p*ps], ap[3*rs+p*ps]
			b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
			c00 += a0 * b0
			c01 += a0 * b1
			c02 += a0 * b2
			c03 += a0 * b3
			c10 += a1 * b0
			c11 += a1 * b1
			c12 += a1 * b2
			c13 += a1 * b3
			c20 += a2 * b0
			c21 += a2 * b1
			c22 += a2 * b2
			c23 += a2 * b3
			c30 += a3 * b0
			c31 += a3 * b1
			c32 += a3 * b2
			c33 += a3 * b3
		}
		acc = [4][4]float32{
			{c00, c01, c02, c03},
			{c10, c11, c12, c13},
			{c20, c21, c22, c23},
			{c30, c31, c32, c33},
		}
	} else {
		for p := 0; p < k; p++ {
			bv := bp[p*ldb : p*ldb+4 : p*ldb+4]
			for r := 0; r < mr; r++ {
				av := ap[r*rs+p*ps]
				acc[r][0] += av * bv[0]
				acc[r][1] += av * bv[1]
				acc[r][2] += av * bv[2]
				acc[r][3] += av * bv[3]
			}
		}
	}
	cs := unsafe.Slice((*float32)(c), (mr-1)*ldc+nr)
	for r := 0; r < mr; r++ {
		row := cs[r*ldc : r*ldc+nr]
		for j := range row {
			if beta == 0 {
				row[j] = alpha * acc[r][j]
			} else {
				row[j] = alpha*acc[r][j] + beta*row[j]
			}
		}
	}
}
