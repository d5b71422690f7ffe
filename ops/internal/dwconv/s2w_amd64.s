#include "textflag.h"

// s2wgrad2AVX512: the weight gradient of S2Plan two kernel rows at a time.

// PLOAD loads the A and B registers (Z2, Z3) of the row-table entry at R8/R9.
#define PLOAD \
	MOVLQSX 0(R8), AX; \
	KMOVW   0(R9), K1; \
	VMOVUPS.Z (SI)(AX*4), K1, Z2; \
	MOVLQSX 4(R8), AX; \
	KMOVW   2(R9), K2; \
	VMOVUPS.Z (SI)(AX*4), K2, Z3

// PDY loads the output-gradient vector at DI, lanes masked by the store mask at R11.
#define PDY(d) \
	KMOVW   0(R11), K3; \
	VMOVUPS.Z (DI), K3, d

// PT1 adds the output gradient d times kernel column n's permutation of Z2||Z3 to
// acc; PT2 adds it with d1 to acc1 and with d2 to acc2 from one permutation.
#define PT1(n, d, acc) \
	VMOVUPS (n*64)(R13), Z4; \
	VPERMI2PS Z3, Z2, Z4; \
	VFMADD231PS d, Z4, acc

#define PT2(n, d1, acc1, d2, acc2) \
	VMOVUPS (n*64)(R13), Z4; \
	VPERMI2PS Z3, Z2, Z4; \
	VFMADD231PS d1, Z4, acc1; \
	VFMADD231PS d2, Z4, acc2

// COLS1 runs PT1 for kernel columns 0 to DX-1 (DX at most 6) with the output
// gradient d into a0..a5, jumping to end after the last; COLS2 likewise runs PT2
// with d1 into a0..a5 and d2 into b0..b5.
#define COLS1(d, a0, a1, a2, a3, a4, a5, end) \
	PT1(0, d, a0); \
	CMPQ DX, $1; \
	JEQ  end; \
	PT1(1, d, a1); \
	CMPQ DX, $2; \
	JEQ  end; \
	PT1(2, d, a2); \
	CMPQ DX, $3; \
	JEQ  end; \
	PT1(3, d, a3); \
	CMPQ DX, $4; \
	JEQ  end; \
	PT1(4, d, a4); \
	CMPQ DX, $5; \
	JEQ  end; \
	PT1(5, d, a5)

#define COLS2(d1, a0, a1, a2, a3, a4, a5, d2, b0, b1, b2, b3, b4, b5, end) \
	PT2(0, d1, a0, d2, b0); \
	CMPQ DX, $1; \
	JEQ  end; \
	PT2(1, d1, a1, d2, b1); \
	CMPQ DX, $2; \
	JEQ  end; \
	PT2(2, d1, a2, d2, b2); \
	CMPQ DX, $3; \
	JEQ  end; \
	PT2(3, d1, a3, d2, b3); \
	CMPQ DX, $4; \
	JEQ  end; \
	PT2(4, d1, a4, d2, b4); \
	CMPQ DX, $5; \
	JEQ  end; \
	PT2(5, d1, a5, d2, b5)

// PFLUSHAT adds acc+acc2 to the 16 partial sums at off(r), as WFLUSH; PFLUSH is
// PFLUSHAT at R14.
#define PFLUSHAT(off, r, acc, acc2) \
	VADDPS acc2, acc, acc; \
	VADDPS (off)(r), acc, acc; \
	VMOVUPS acc, (off)(r)

#define PFLUSH(off, acc, acc2) PFLUSHAT(off, R14, acc, acc2)

// func s2wgrad2AVX512(src, dy, dwv *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, pk *int32, npk, kh, kw, vecs, vstride, count, srcStride, dyStride, dwvStride, shift int)
// For each plane and each kernel row k listed in pk, the partial sums of kernel
// rows k and k+shift, where shift = 2/dilH with one output row per vector: vector
// v's kernel row k+shift reads the input rows of vector v+1's kernel row k, so
// each input row is loaded and permuted once for both. Step i loads the rows of
// vector i's kernel row k (i = 0), or of vector i-1's kernel row k+shift, which
// are those of vector i's row k too (0 < i < vecs); it adds the output gradient
// of vector i to row k's accumulators (Z8-Z13 for even i, Z14-Z19 for odd) and
// that of vector i-1 to row k+shift's (Z20-Z25 for even i-1, Z26-Z31 for odd).
// Each accumulator thus adds the terms of s2wgradAVX512's in the same order, and
// the flush adds them to dwv as WFLUSH does. vstride and the plane strides are in
// bytes; kw is at most 6.
TEXT ·s2wgrad2AVX512(SB), NOSPLIT, $0-144
qplane:
	CMPQ count+104(FP), $0
	JLE  qdone
	MOVQ src+0(FP), SI
	MOVQ idx+40(FP), R13
	MOVQ kw+80(FP), DX
	MOVQ kh+72(FP), R15
	SHLQ $3, R15 // bytes of row offsets per vector
	MOVQ R15, R12
	SHRQ $1, R12 // bytes of row masks per vector
	XORQ BX, BX  // index into pk

qpair:
	CMPQ BX, npk+64(FP)
	JGE  qnext
	VPXORD Z8, Z8, Z8
	VPXORD Z14, Z14, Z14
	VPXORD Z20, Z20, Z20
	VPXORD Z26, Z26, Z26
	CMPQ DX, $1
	JEQ  qzeroed
	VPXORD Z9, Z9, Z9
	VPXORD Z15, Z15, Z15
	VPXORD Z21, Z21, Z21
	VPXORD Z27, Z27, Z27
	CMPQ DX, $2
	JEQ  qzeroed
	VPXORD Z10, Z10, Z10
	VPXORD Z16, Z16, Z16
	VPXORD Z22, Z22, Z22
	VPXORD Z28, Z28, Z28
	CMPQ DX, $3
	JEQ  qzeroed
	VPXORD Z11, Z11, Z11
	VPXORD Z17, Z17, Z17
	VPXORD Z23, Z23, Z23
	VPXORD Z29, Z29, Z29
	CMPQ DX, $4
	JEQ  qzeroed
	VPXORD Z12, Z12, Z12
	VPXORD Z18, Z18, Z18
	VPXORD Z24, Z24, Z24
	VPXORD Z30, Z30, Z30
	CMPQ DX, $5
	JEQ  qzeroed
	VPXORD Z13, Z13, Z13
	VPXORD Z19, Z19, Z19
	VPXORD Z25, Z25, Z25
	VPXORD Z31, Z31, Z31

qzeroed:
	MOVQ pk+56(FP), AX
	MOVLQSX (AX)(BX*4), R10 // kernel row k
	MOVQ rows+24(FP), R8
	LEAQ (R8)(R10*8), R8
	MOVQ rmask+32(FP), R9
	LEAQ (R9)(R10*4), R9
	MOVQ R10, AX
	IMULQ DX, AX
	SHLQ $6, AX
	MOVQ dwv+16(FP), R14
	ADDQ AX, R14 // kernel row k's partial sums
	MOVQ dy+8(FP), DI
	MOVQ store+48(FP), R11
	MOVQ vecs+88(FP), CX

	// Step 0: vector 0's kernel row k only.
	PLOAD
	PDY(Z6)
	COLS1(Z6, Z8, Z9, Z10, Z11, Z12, Z13, q0end)

q0end:
	MOVQ shift+136(FP), AX
	LEAQ (R8)(AX*8), R8 // vector 0's kernel row k+shift
	LEAQ (R9)(AX*4), R9
	DECQ CX
	JZ   qlasteven

qstep:
	// Odd step i: vector i's gradient in Z7, vector i-1's in Z6.
	ADDQ vstride+96(FP), DI
	ADDQ $2, R11
	PDY(Z7)
	PLOAD
	ADDQ R15, R8
	ADDQ R12, R9
	COLS2(Z7, Z14, Z15, Z16, Z17, Z18, Z19, Z6, Z20, Z21, Z22, Z23, Z24, Z25, qoddend)

qoddend:
	DECQ CX
	JZ   qlastodd

	// Even step i: vector i's gradient in Z6, vector i-1's in Z7.
	ADDQ vstride+96(FP), DI
	ADDQ $2, R11
	PDY(Z6)
	PLOAD
	ADDQ R15, R8
	ADDQ R12, R9
	COLS2(Z6, Z8, Z9, Z10, Z11, Z12, Z13, Z7, Z26, Z27, Z28, Z29, Z30, Z31, qevenend)

qevenend:
	DECQ CX
	JNZ  qstep

qlasteven:
	// Last step: the last vector (even, gradient in Z6), kernel row k+shift only.
	PLOAD
	COLS1(Z6, Z20, Z21, Z22, Z23, Z24, Z25, qflush)
	JMP  qflush

qlastodd:
	// Last step: the last vector (odd, gradient in Z7), kernel row k+shift only.
	PLOAD
	COLS1(Z7, Z26, Z27, Z28, Z29, Z30, Z31, qflush)

qflush:
	MOVQ shift+136(FP), AX
	IMULQ DX, AX
	SHLQ $6, AX
	LEAQ (R14)(AX*1), R10 // kernel row k+shift's partial sums
	PFLUSH(0, Z8, Z14)
	PFLUSHAT(0, R10, Z20, Z26)
	CMPQ DX, $1
	JEQ  qpairend
	PFLUSH(64, Z9, Z15)
	PFLUSHAT(64, R10, Z21, Z27)
	CMPQ DX, $2
	JEQ  qpairend
	PFLUSH(128, Z10, Z16)
	PFLUSHAT(128, R10, Z22, Z28)
	CMPQ DX, $3
	JEQ  qpairend
	PFLUSH(192, Z11, Z17)
	PFLUSHAT(192, R10, Z23, Z29)
	CMPQ DX, $4
	JEQ  qpairend
	PFLUSH(256, Z12, Z18)
	PFLUSHAT(256, R10, Z24, Z30)
	CMPQ DX, $5
	JEQ  qpairend
	PFLUSH(320, Z13, Z19)
	PFLUSHAT(320, R10, Z25, Z31)

qpairend:
	INCQ BX
	JMP  qpair

qnext:
	MOVQ srcStride+112(FP), AX
	ADDQ AX, src+0(FP)
	MOVQ dyStride+120(FP), AX
	ADDQ AX, dy+8(FP)
	MOVQ dwvStride+128(FP), AX
	ADDQ AX, dwv+16(FP)
	DECQ count+104(FP)
	JMP  qplane

qdone:
	VZEROUPPER
	RET
