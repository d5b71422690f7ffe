package gemm

import "unsafe"

// goKernel is the pure-Go kernel: a 4 x 4 register tile, small enough that the
// compiler keeps the 16 accumulators in the 16 SSE registers of amd64 (or the 32 of
// arm64) without spilling.
var goKernel = &kernel{
	name:  "go",
	mr:    4,
	nr:    4,
	micro: []microKernel{goMicro, goMicro2, goMicro3, goMicro4},
	kc:    256, mc: 128, nc: 1024,
}

func goMicro(k int, a, b, c unsafe.Pointer, ldc int, beta float32, nr int) {
	goMicroN(1, k, a, b, c, ldc, beta, nr)
}

func goMicro2(k int, a, b, c unsafe.Pointer, ldc int, beta float32, nr int) {
	goMicroN(2, k, a, b, c, ldc, beta, nr)
}

func goMicro3(k int, a, b, c unsafe.Pointer, ldc int, beta float32, nr int) {
	goMicroN(3, k, a, b, c, ldc, beta, nr)
}

// goMicroN handles tiles of fewer than 4 rows, accumulating in an array.
func goMicroN(mr, k int, a, b, c unsafe.Pointer, ldc int, beta float32, nr int) {
	ap := unsafe.Slice((*float32)(a), k*mr)
	bp := unsafe.Slice((*float32)(b), k*4)
	var acc [4][4]float32
	for p := 0; p < k; p++ {
		bv := bp[p*4 : p*4+4 : p*4+4]
		for r, av := range ap[p*mr : p*mr+mr] {
			acc[r][0] += av * bv[0]
			acc[r][1] += av * bv[1]
			acc[r][2] += av * bv[2]
			acc[r][3] += av * bv[3]
		}
	}
	storeTile(acc[:mr], c, ldc, beta, nr)
}

// goMicro4 is the full-height tile with its accumulators in locals.
func goMicro4(k int, a, b, c unsafe.Pointer, ldc int, beta float32, nr int) {
	ap := unsafe.Slice((*float32)(a), k*4)
	bp := unsafe.Slice((*float32)(b), k*4)
	var c00, c01, c02, c03, c10, c11, c12, c13 float32
	var c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < k; p++ {
		av := ap[p*4 : p*4+4 : p*4+4]
		bv := bp[p*4 : p*4+4 : p*4+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
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
	acc := [4][4]float32{
		{c00, c01, c02, c03},
		{c10, c11, c12, c13},
		{c20, c21, c22, c23},
		{c30, c31, c32, c33},
	}
	storeTile(acc[:], c, ldc, beta, nr)
}

// storeTile writes C = acc + beta*C for the first nr columns of each row of acc.
func storeTile(acc [][4]float32, c unsafe.Pointer, ldc int, beta float32, nr int) {
	cs := unsafe.Slice((*float32)(c), (len(acc)-1)*ldc+nr)
	for r := range acc {
		row := cs[r*ldc : r*ldc+nr]
		for j := range row {
			if beta == 0 {
				row[j] = acc[r][j]
			} else {
				row[j] = acc[r][j] + beta*row[j]
			}
		}
	}
}
