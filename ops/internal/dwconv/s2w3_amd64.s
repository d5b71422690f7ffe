#include "textflag.h"

// s2wgrad33AVX512: the weight gradient of a 3x3 S2Plan, all three kernel rows in
// one pass over the output gradient.

// W3ROW adds the output gradient Z6 times the three column permutations of one
// kernel row's A and B registers (row-table entries at ro(R8) and ro+4(R8), masks
// at mo(R9) and mo+2(R9)) to a0, a1 and a2. The column indices stay in Z7-Z9.
#define W3ROW(ro, ro4, mo, mo2, a0, a1, a2) \
	MOVLQSX ro(R8), AX; \
	KMOVW   mo(R9), K1; \
	VMOVUPS.Z (SI)(AX*4), K1, Z2; \
	MOVLQSX ro4(R8), BX; \
	KMOVW   mo2(R9), K2; \
	VMOVUPS.Z (SI)(BX*4), K2, Z3; \
	VMOVAPS Z7, Z4; \
	VPERMI2PS Z3, Z2, Z4; \
	VFMADD231PS Z6, Z4, a0; \
	VMOVAPS Z8, Z5; \
	VPERMI2PS Z3, Z2, Z5; \
	VFMADD231PS Z6, Z5, a1; \
	VMOVAPS Z9, Z10; \
	VPERMI2PS Z3, Z2, Z10; \
	VFMADD231PS Z6, Z10, a2

// W3FLUSH adds acc+acc2 to the 16 partial sums at off(R14), as WFLUSH.
#define W3FLUSH(off, acc, acc2) \
	VADDPS acc2, acc, acc; \
	VADDPS (off)(R14), acc, acc; \
	VMOVUPS acc, (off)(R14)

// func s2wgrad33AVX512(src, dy, dwv *float32, rows *int32, rmask *uint16, idx *int32, store *uint16, vecs, vstride, count, srcStride, dyStride, dwvStride int)
// For each plane, s2wgradAVX512's partial sums of a 3x3 kernel with all three
// kernel rows in one pass: each output-gradient vector is loaded once and feeds
// the 18 accumulators (Z14-Z22 for even vectors, Z23-Z31 for odd; kernel row k,
// column c in Z14+3k+c and Z23+3k+c). Each accumulator adds the terms of
// s2wgradAVX512's in the same order, and the flush adds them to dwv as WFLUSH
// does. vstride and the plane strides are in bytes.
TEXT ·s2wgrad33AVX512(SB), NOSPLIT, $0-104
	MOVQ idx+40(FP), R13
	VMOVUPS 0(R13), Z7
	VMOVUPS 64(R13), Z8
	VMOVUPS 128(R13), Z9
	MOVQ vstride+64(FP), R12
	MOVQ src+0(FP), SI
	MOVQ dy+8(FP), R15
	MOVQ dwv+16(FP), R14

tplane:
	CMPQ count+72(FP), $0
	JLE  tdone
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
	VPXORD Z28, Z28, Z28
	VPXORD Z29, Z29, Z29
	VPXORD Z30, Z30, Z30
	VPXORD Z31, Z31, Z31
	MOVQ R15, DI
	MOVQ rows+24(FP), R8
	MOVQ rmask+32(FP), R9
	MOVQ store+48(FP), R11
	MOVQ vecs+56(FP), CX

tvec:
	KMOVW   0(R11), K3
	VMOVUPS.Z (DI), K3, Z6
	W3ROW(0, 4, 0, 2, Z14, Z15, Z16)
	W3ROW(8, 12, 4, 6, Z17, Z18, Z19)
	W3ROW(16, 20, 8, 10, Z20, Z21, Z22)
	ADDQ $24, R8
	ADDQ $12, R9
	ADDQ R12, DI
	ADDQ $2, R11
	DECQ CX
	JZ   tflush
	KMOVW   0(R11), K3
	VMOVUPS.Z (DI), K3, Z6
	W3ROW(0, 4, 0, 2, Z23, Z24, Z25)
	W3ROW(8, 12, 4, 6, Z26, Z27, Z28)
	W3ROW(16, 20, 8, 10, Z29, Z30, Z31)
	ADDQ $24, R8
	ADDQ $12, R9
	ADDQ R12, DI
	ADDQ $2, R11
	DECQ CX
	JNZ  tvec

tflush:
	W3FLUSH(0, Z14, Z23)
	W3FLUSH(64, Z15, Z24)
	W3FLUSH(128, Z16, Z25)
	W3FLUSH(192, Z17, Z26)
	W3FLUSH(256, Z18, Z27)
	W3FLUSH(320, Z19, Z28)
	W3FLUSH(384, Z20, Z29)
	W3FLUSH(448, Z21, Z30)
	W3FLUSH(512, Z22, Z31)
	ADDQ srcStride+80(FP), SI
	ADDQ dyStride+88(FP), R15
	ADDQ dwvStride+96(FP), R14
	DECQ count+72(FP)
	JMP  tplane

tdone:
	VZEROUPPER
	RET
