#include "textflag.h"

// The stride-2 kernels of S2Plan. Row loads are masked, so that a row outside the
// plane (mask 0) reads as zeros and no load touches memory past a plane's edge.

// FTAP multiplies kernel column n's permutation of Z2||Z3 (into Z4) by its weight
// at w into acc; FTAP2 by its weights at R12 and R10 into acc and acc2.
#define FTAP(n, w, acc) \
	VMOVUPS (n*64)(R13), Z4; \
	VPERMI2PS Z3, Z2, Z4; \
	VFMADD231PS.BCST (n*4)(w), Z4, acc

#define FTAP2(n, acc, acc2) \
	FTAP(n, R12, acc); \
	VFMADD231PS.BCST (n*4)(R10), Z4, acc2

// FCOLS runs FTAP over the kw (DX) kernel columns, column n into a<n>, and jumps to
// end after the last; FCOLS2 runs FTAP2, column n into a<n> and b<n>.
#define FCOLS(w, a0, a1, a2, a3, a4, a5, a6, a7, a8, end) \
	FTAP(0, w, a0); \
	CMPQ DX, $1; \
	JEQ  end \
	FTAP(1, w, a1); \
	CMPQ DX, $2; \
	JEQ  end \
	FTAP(2, w, a2); \
	CMPQ DX, $3; \
	JEQ  end \
	FTAP(3, w, a3); \
	CMPQ DX, $4; \
	JEQ  end \
	FTAP(4, w, a4); \
	CMPQ DX, $5; \
	JEQ  end \
	FTAP(5, w, a5); \
	CMPQ DX, $6; \
	JEQ  end \
	FTAP(6, w, a6); \
	CMPQ DX, $7; \
	JEQ  end \
	FTAP(7, w, a7); \
	CMPQ DX, $8; \
	JEQ  end \
	FTAP(8, w, a8)

#define FCOLS2(a0, a1, a2, a3, a4, a5, a6, a7, a8, b0, b1, b2, b3, b4, b5, b6, b7, b8, end) \
	FTAP2(0, a0, b0); \
	CMPQ DX, $1; \
	JEQ  end \
	FTAP2(1, a1, b1); \
	CMPQ DX, $2; \
	JEQ  end \
	FTAP2(2, a2, b2); \
	CMPQ DX, $3; \
	JEQ  end \
	FTAP2(3, a3, b3); \
	CMPQ DX, $4; \
	JEQ  end \
	FTAP2(4, a4, b4); \
	CMPQ DX, $5; \
	JEQ  end \
	FTAP2(5, a5, b5); \
	CMPQ DX, $6; \
	JEQ  end \
	FTAP2(6, a6, b6); \
	CMPQ DX, $7; \
	JEQ  end \
	FTAP2(7, a7, b7); \
	CMPQ DX, $8; \
	JEQ  end \
	FTAP2(8, a8, b8)

// FROWS loads the two input rows of the next table entry, at the offsets at R8 with
// the masks at R9, into A||B (Z2||Z3), and steps both tables on.
#define FROWS \
	MOVLQSX 0(R8), AX; \
	KMOVW   0(R9), K1; \
	VMOVUPS.Z (SI)(AX*4), K1, Z2; \
	MOVLQSX 4(R8), AX; \
	KMOVW   2(R9), K2; \
	VMOVUPS.Z (SI)(AX*4), K2, Z3; \
	ADDQ $8, R8; \
	ADDQ $4, R9

// func s2convAVX512(src, dst, w, bias *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, kh, kw, vecs, vstride, count, srcStride, dstStride, wStride, biasStride int)
// vstride and the plane strides are in bytes; bias may be nil.
TEXT ·s2convAVX512(SB), NOSPLIT, $0-136
fplane:
	CMPQ count+96(FP), $0
	JLE  fdone
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ rows+32(FP), R8
	MOVQ rmask+40(FP), R9
	MOVQ store+56(FP), R11
	MOVQ vecs+80(FP), CX
	VPXORD Z31, Z31, Z31
	MOVQ bias+24(FP), AX
	TESTQ AX, AX
	JEQ  fvec
	VBROADCASTSS (AX), Z31
	MOVQ biasStride+128(FP), BX
	ADDQ BX, bias+24(FP)

fvec:
	VMOVAPS Z31, Z10
	VPXORD  Z11, Z11, Z11
	VPXORD  Z12, Z12, Z12
	VPXORD  Z13, Z13, Z13
	VPXORD  Z14, Z14, Z14
	VPXORD  Z15, Z15, Z15
	VPXORD  Z16, Z16, Z16
	VPXORD  Z17, Z17, Z17
	VPXORD  Z18, Z18, Z18
	MOVQ w+16(FP), R12
	MOVQ kh+64(FP), BX
	MOVQ kw+72(FP), DX
	MOVQ idx+48(FP), R13

fkh:
	FROWS
	FCOLS(R12, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, fkhend)

fkhend:
	LEAQ (R12)(DX*4), R12
	DECQ BX
	JNZ  fkh

	CMPQ DX, $1
	JEQ  fvend
	VADDPS Z11, Z10, Z10
	CMPQ DX, $2
	JEQ  fvend
	VADDPS Z12, Z10, Z10
	CMPQ DX, $3
	JEQ  fvend
	VADDPS Z13, Z10, Z10
	CMPQ DX, $4
	JEQ  fvend
	VADDPS Z14, Z10, Z10
	CMPQ DX, $5
	JEQ  fvend
	VADDPS Z15, Z10, Z10
	CMPQ DX, $6
	JEQ  fvend
	VADDPS Z16, Z10, Z10
	CMPQ DX, $7
	JEQ  fvend
	VADDPS Z17, Z10, Z10
	CMPQ DX, $8
	JEQ  fvend
	VADDPS Z18, Z10, Z10

fvend:
	KMOVW  0(R11), K3
	VMOVUPS Z10, K3, 0(DI)
	ADDQ vstride+88(FP), DI
	ADDQ $2, R11
	DECQ CX
	JNZ  fvec

	MOVQ srcStride+104(FP), AX
	ADDQ AX, src+0(FP)
	MOVQ dstStride+112(FP), AX
	ADDQ AX, dst+8(FP)
	MOVQ wStride+120(FP), AX
	ADDQ AX, w+16(FP)
	DECQ count+96(FP)
	JMP  fplane

fdone:
	VZEROUPPER
	RET

// WTAP multiplies kernel column n's permutation of Z2||Z3 by the output gradient Z6
// into acc (Z10-Z18 for even vectors, Z19-Z27 for odd ones); WFLUSH adds the sum of
// the two accumulators of column n to its partial sums at R14.
#define WTAP(n, acc) \
	VMOVUPS (n*64)(R13), Z4; \
	VPERMI2PS Z3, Z2, Z4; \
	VFMADD231PS Z6, Z4, acc

#define WFLUSH(n, acc, acc2) \
	VADDPS acc2, acc, acc; \
	VADDPS (n*64)(R14), acc, acc; \
	VMOVUPS acc, (n*64)(R14)

// WLOAD loads the input rows A and B (Z2, Z3) of the row-table entry at R8/R9 and
// the output-gradient vector at DI, masked by the store mask at R11, into Z6, and
// points R13 at the kernel columns' indices, read from idx.
#define WLOAD(idx) \
	MOVLQSX 0(R8), AX; \
	KMOVW   0(R9), K1; \
	VMOVUPS.Z (SI)(AX*4), K1, Z2; \
	MOVLQSX 4(R8), AX; \
	KMOVW   2(R9), K2; \
	VMOVUPS.Z (SI)(AX*4), K2, Z3; \
	KMOVW   0(R11), K3; \
	VMOVUPS.Z (DI), K3, Z6; \
	MOVQ idx, R13

// WCOLS runs WTAP for kernel columns 0 to DX-1 (DX at most 9) into a0..a8, jumping
// to end after the last.
#define WCOLS(a0, a1, a2, a3, a4, a5, a6, a7, a8, end) \
	WTAP(0, a0); \
	CMPQ DX, $1; \
	JEQ  end; \
	WTAP(1, a1); \
	CMPQ DX, $2; \
	JEQ  end; \
	WTAP(2, a2); \
	CMPQ DX, $3; \
	JEQ  end; \
	WTAP(3, a3); \
	CMPQ DX, $4; \
	JEQ  end; \
	WTAP(4, a4); \
	CMPQ DX, $5; \
	JEQ  end; \
	WTAP(5, a5); \
	CMPQ DX, $6; \
	JEQ  end; \
	WTAP(6, a6); \
	CMPQ DX, $7; \
	JEQ  end; \
	WTAP(7, a7); \
	CMPQ DX, $8; \
	JEQ  end; \
	WTAP(8, a8)

// func s2wgradAVX512(src, dy, dwv *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, kh, kw, vecs, vstride, count, srcStride, dyStride, dwvStride int)
// vstride and the plane strides are in bytes; kw is at most 9.
TEXT ·s2wgradAVX512(SB), NOSPLIT, $0-120
wplane:
	CMPQ count+88(FP), $0
	JLE  wdone
	MOVQ src+0(FP), SI
	MOVQ dwv+16(FP), R14
	MOVQ kw+64(FP), DX
	MOVQ kh+56(FP), R15
	SHLQ $3, R15 // bytes of row offsets per vector
	MOVQ R15, R12
	SHRQ $1, R12 // bytes of row masks per vector
	XORQ BX, BX  // kernel row

wkh:
	CMPQ BX, kh+56(FP)
	JGE  wnext
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	MOVQ dy+8(FP), DI
	MOVQ store+48(FP), R11
	MOVQ rows+24(FP), R8
	LEAQ (R8)(BX*8), R8
	MOVQ rmask+32(FP), R9
	LEAQ (R9)(BX*4), R9
	MOVQ vecs+72(FP), CX

wvec:
	WLOAD(idx+40(FP))
	WCOLS(Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, wvend0)

wvend0:
	ADDQ R15, R8
	ADDQ R12, R9
	ADDQ vstride+80(FP), DI
	ADDQ $2, R11
	DECQ CX
	JZ   wflush
	WLOAD(idx+40(FP))
	WCOLS(Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, wvend1)

wvend1:
	ADDQ R15, R8
	ADDQ R12, R9
	ADDQ vstride+80(FP), DI
	ADDQ $2, R11
	DECQ CX
	JNZ  wvec

wflush:
	WFLUSH(0, Z10, Z19)
	CMPQ DX, $1
	JEQ  wkhend
	WFLUSH(1, Z11, Z20)
	CMPQ DX, $2
	JEQ  wkhend
	WFLUSH(2, Z12, Z21)
	CMPQ DX, $3
	JEQ  wkhend
	WFLUSH(3, Z13, Z22)
	CMPQ DX, $4
	JEQ  wkhend
	WFLUSH(4, Z14, Z23)
	CMPQ DX, $5
	JEQ  wkhend
	WFLUSH(5, Z15, Z24)
	CMPQ DX, $6
	JEQ  wkhend
	WFLUSH(6, Z16, Z25)
	CMPQ DX, $7
	JEQ  wkhend
	WFLUSH(7, Z17, Z26)
	CMPQ DX, $8
	JEQ  wkhend
	WFLUSH(8, Z18, Z27)

wkhend:
	MOVQ DX, AX
	SHLQ $6, AX
	ADDQ AX, R14
	INCQ BX
	JMP  wkh

wnext:
	MOVQ srcStride+96(FP), AX
	ADDQ AX, src+0(FP)
	MOVQ dyStride+104(FP), AX
	ADDQ AX, dy+8(FP)
	MOVQ dwvStride+112(FP), AX
	ADDQ AX, dwv+16(FP)
	DECQ count+88(FP)
	JMP  wplane

wdone:
	VZEROUPPER
	RET

// func s2conv2AVX512(src, dst, w, bias *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, kh, kw, vecs, vstride, count, srcStride, dstStride, wStride, biasStride, shift int)
// s2convAVX512 two vectors at a time when vector v+1's kernel row k reads the
// input rows of vector v's kernel row k+shift (one output row per vector, shift =
// 2/dilH, at most kh): the kh+shift input rows of the pair are loaded and permuted
// once, and each permutation feeds both vectors' accumulators (Z10-Z18 for v,
// Z19-Z27 for v+1), each adding the same terms in the same order as s2convAVX512.
// The tables hold a vector past the last (masks 0), so an odd count of vectors
// ends with a pair whose second vector loads zeros and stores nothing.
TEXT ·s2conv2AVX512(SB), NOSPLIT, $0-144
cplane:
	CMPQ count+96(FP), $0
	JLE  cdone
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ rows+32(FP), R8
	MOVQ rmask+40(FP), R9
	MOVQ store+56(FP), R11
	MOVQ vecs+80(FP), CX
	INCQ CX
	SHRQ $1, CX // pairs
	MOVQ kw+72(FP), DX
	VPXORD Z31, Z31, Z31
	MOVQ bias+24(FP), AX
	TESTQ AX, AX
	JEQ  cpair
	VBROADCASTSS (AX), Z31
	MOVQ biasStride+128(FP), BX
	ADDQ BX, bias+24(FP)

cpair:
	VMOVAPS Z31, Z10
	VMOVAPS Z31, Z19
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	VPXORD Z24, Z24, Z24
	VPXORD Z25, Z25, Z25
	VPXORD Z26, Z26, Z26
	VPXORD Z27, Z27, Z27
	MOVQ w+16(FP), R12 // v's weights of kernel row u
	MOVQ w+16(FP), R10 // v+1's weights of kernel row u-shift
	MOVQ idx+48(FP), R13
	MOVQ shift+136(FP), BX

cu1: // u < shift: v only
	FROWS
	FCOLS(R12, Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, cu1end)

cu1end:
	LEAQ (R12)(DX*4), R12
	DECQ BX
	JNZ  cu1
	MOVQ kh+64(FP), BX
	SUBQ shift+136(FP), BX
	JZ   cu3pre

cu2: // shift <= u < kh: both
	FROWS
	FCOLS2(Z10, Z11, Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, cu2end)

cu2end:
	LEAQ (R12)(DX*4), R12
	LEAQ (R10)(DX*4), R10
	DECQ BX
	JNZ  cu2

cu3pre: // v+1's kernel rows kh-shift.. kh-1 follow v's table
	MOVQ kh+64(FP), AX
	SUBQ shift+136(FP), AX
	LEAQ (R8)(AX*8), R8
	LEAQ (R9)(AX*4), R9
	MOVQ shift+136(FP), BX

cu3: // kh <= u < kh+shift: v+1 only
	FROWS
	FCOLS(R10, Z19, Z20, Z21, Z22, Z23, Z24, Z25, Z26, Z27, cu3end)

cu3end:
	LEAQ (R10)(DX*4), R10
	DECQ BX
	JNZ  cu3

	CMPQ DX, $1
	JEQ  csum2
	VADDPS Z11, Z10, Z10
	CMPQ DX, $2
	JEQ  csum2
	VADDPS Z12, Z10, Z10
	CMPQ DX, $3
	JEQ  csum2
	VADDPS Z13, Z10, Z10
	CMPQ DX, $4
	JEQ  csum2
	VADDPS Z14, Z10, Z10
	CMPQ DX, $5
	JEQ  csum2
	VADDPS Z15, Z10, Z10
	CMPQ DX, $6
	JEQ  csum2
	VADDPS Z16, Z10, Z10
	CMPQ DX, $7
	JEQ  csum2
	VADDPS Z17, Z10, Z10
	CMPQ DX, $8
	JEQ  csum2
	VADDPS Z18, Z10, Z10

csum2:
	CMPQ DX, $1
	JEQ  cstore
	VADDPS Z20, Z19, Z19
	CMPQ DX, $2
	JEQ  cstore
	VADDPS Z21, Z19, Z19
	CMPQ DX, $3
	JEQ  cstore
	VADDPS Z22, Z19, Z19
	CMPQ DX, $4
	JEQ  cstore
	VADDPS Z23, Z19, Z19
	CMPQ DX, $5
	JEQ  cstore
	VADDPS Z24, Z19, Z19
	CMPQ DX, $6
	JEQ  cstore
	VADDPS Z25, Z19, Z19
	CMPQ DX, $7
	JEQ  cstore
	VADDPS Z26, Z19, Z19
	CMPQ DX, $8
	JEQ  cstore
	VADDPS Z27, Z19, Z19

cstore:
	KMOVW  0(R11), K3
	VMOVUPS Z10, K3, 0(DI)
	ADDQ vstride+88(FP), DI
	KMOVW  2(R11), K3
	VMOVUPS Z19, K3, 0(DI)
	ADDQ vstride+88(FP), DI
	ADDQ $4, R11 // R8 and R9 are at the next pair's tables
	DECQ CX
	JNZ  cpair

	MOVQ srcStride+104(FP), AX
	ADDQ AX, src+0(FP)
	MOVQ dstStride+112(FP), AX
	ADDQ AX, dst+8(FP)
	MOVQ wStride+120(FP), AX
	ADDQ AX, w+16(FP)
	DECQ count+96(FP)
	JMP  cplane

cdone:
	VZEROUPPER
	RET
