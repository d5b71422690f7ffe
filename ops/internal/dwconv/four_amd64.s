#include "textflag.h"

// The kernels of this file take planes of 49 to 64 values (four blocks, such as 7x7)
// two at a time: each tap's offset and four lane masks are read once for both
// planes, and the two planes' blocks make eight independent chains of fused
// multiply-adds. Per plane they add the same terms in the same order as the
// four-block path of convAVX512 and bwdAVX512, so their results are bit-identical to
// those. count must be a positive multiple of two.

// MASK4 loads the masks of a plane's four blocks, at r, into K1-K4.
#define MASK4(r) \
	KMOVW 0(r), K1; \
	KMOVW 2(r), K2; \
	KMOVW 4(r), K3; \
	KMOVW 6(r), K4

// ACC8 adds the two planes' values at p and q to their sums Z0-Z3 and Z4-Z7 on the
// lanes of K1-K4; PUT8 stores the sums there.
#define ACC8(p, q) \
	VADDPS 0(p), Z0, K1, Z0 \
	VADDPS 64(p), Z1, K2, Z1 \
	VADDPS 128(p), Z2, K3, Z2 \
	VADDPS 192(p), Z3, K4, Z3 \
	VADDPS 0(q), Z4, K1, Z4 \
	VADDPS 64(q), Z5, K2, Z5 \
	VADDPS 128(q), Z6, K3, Z6 \
	VADDPS 192(q), Z7, K4, Z7

#define PUT8(p, q) \
	VMOVUPS Z0, K1, 0(p) \
	VMOVUPS Z1, K2, 64(p) \
	VMOVUPS Z2, K3, 128(p) \
	VMOVUPS Z3, K4, 192(p) \
	VMOVUPS Z4, K1, 0(q) \
	VMOVUPS Z5, K2, 64(q) \
	VMOVUPS Z6, K3, 128(q) \
	VMOVUPS Z7, K4, 192(q)

// func conv4AVX512(src, dst, w, bias *float32, off *int32, mask, store *uint16, taps, count, srcStride, dstStride, wStride, biasStride int, accumulate bool)
// The strides are in bytes; bias may be nil. Registers: SI src, R11 its stride, R10 w,
// R13 its stride, R8 off, R9 mask, CX taps, BX the tap, Z0-Z3 and Z4-Z7 the sums of
// the two planes' blocks.
TEXT ·conv4AVX512(SB), NOSPLIT, $0-105
	MOVQ src+0(FP), SI
	MOVQ w+16(FP), R10
	MOVQ off+32(FP), R8
	MOVQ mask+40(FP), R9
	MOVQ taps+56(FP), CX
	MOVQ srcStride+72(FP), R11
	MOVQ wStride+88(FP), R13

group:
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	MOVQ bias+24(FP), AX
	TESTQ AX, AX
	JEQ  sums
	MOVQ biasStride+96(FP), BX
	VBROADCASTSS (AX), Z8
	VBROADCASTSS (AX)(BX*1), Z9
	LEAQ (AX)(BX*2), AX
	MOVQ AX, bias+24(FP)

sums:
	VMOVAPS Z8, Z0
	VMOVAPS Z8, Z1
	VMOVAPS Z8, Z2
	VMOVAPS Z8, Z3
	VMOVAPS Z9, Z4
	VMOVAPS Z9, Z5
	VMOVAPS Z9, Z6
	VMOVAPS Z9, Z7
	XORQ BX, BX

tap:
	MOVLQSX (R8)(BX*4), AX
	LEAQ (R10)(BX*4), DX
	VBROADCASTSS (DX), Z8
	VBROADCASTSS (DX)(R13*1), Z9
	KMOVW 0(R9)(BX*8), K1
	KMOVW 2(R9)(BX*8), K2
	KMOVW 4(R9)(BX*8), K3
	KMOVW 6(R9)(BX*8), K4
	LEAQ (SI)(AX*4), R14
	VMOVUPS.Z 0(R14), K1, Z16
	VMOVUPS.Z 64(R14), K2, Z17
	VMOVUPS.Z 128(R14), K3, Z18
	VMOVUPS.Z 192(R14), K4, Z19
	VMOVUPS.Z 0(R14)(R11*1), K1, Z20
	VMOVUPS.Z 64(R14)(R11*1), K2, Z21
	VMOVUPS.Z 128(R14)(R11*1), K3, Z22
	VMOVUPS.Z 192(R14)(R11*1), K4, Z23
	VFMADD231PS Z16, Z8, Z0
	VFMADD231PS Z17, Z8, Z1
	VFMADD231PS Z18, Z8, Z2
	VFMADD231PS Z19, Z8, Z3
	VFMADD231PS Z20, Z9, Z4
	VFMADD231PS Z21, Z9, Z5
	VFMADD231PS Z22, Z9, Z6
	VFMADD231PS Z23, Z9, Z7
	INCQ BX
	CMPQ BX, CX
	JLT  tap

	MOVQ store+48(FP), AX
	MASK4(AX)
	MOVQ dst+8(FP), DI
	MOVQ dstStride+80(FP), AX
	LEAQ (DI)(AX*1), DX
	CMPB accumulate+104(FP), $0
	JEQ  store
	ACC8(DI, DX)

store:
	PUT8(DI, DX)
	LEAQ (DI)(AX*2), DI
	MOVQ DI, dst+8(FP)
	LEAQ (SI)(R11*2), SI
	LEAQ (R10)(R13*2), R10
	SUBQ $2, count+64(FP)
	JGT  group
	VZEROUPPER
	RET

// func bwd4AVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, taps, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool)
// The strides are in bytes. Registers: SI dy, R11 its stride, DX the tap's weight of
// the first plane, R13 the weight stride, DI the tap's 16 weight-gradient partial
// sums of the first plane, CX their stride, R8 off, R9 mask, BX the tap, Z12-Z15
// and Z24-Z27 the two x planes, Z0-Z3 and Z4-Z7 their dx sums.
TEXT ·bwd4AVX512(SB), NOSPLIT, $0-121
	MOVQ dy+0(FP), SI
	MOVQ off+40(FP), R8
	MOVQ mask+48(FP), R9
	MOVQ dyStride+80(FP), R11
	MOVQ wStride+104(FP), R13
	MOVQ dwvStride+112(FP), CX

bgroup:
	MOVQ store+56(FP), AX
	MASK4(AX)
	MOVQ x+16(FP), AX
	MOVQ xStride+96(FP), BX
	LEAQ (AX)(BX*1), R14
	VMOVUPS.Z 0(AX), K1, Z12
	VMOVUPS.Z 64(AX), K2, Z13
	VMOVUPS.Z 128(AX), K3, Z14
	VMOVUPS.Z 192(AX), K4, Z15
	VMOVUPS.Z 0(R14), K1, Z24
	VMOVUPS.Z 64(R14), K2, Z25
	VMOVUPS.Z 128(R14), K3, Z26
	VMOVUPS.Z 192(R14), K4, Z27
	LEAQ (AX)(BX*2), AX
	MOVQ AX, x+16(FP)
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ w+24(FP), DX
	MOVQ dwv+32(FP), DI
	XORQ BX, BX

btap:
	MOVLQSX (R8)(BX*4), AX
	VBROADCASTSS (DX), Z8
	VBROADCASTSS (DX)(R13*1), Z9
	KMOVW 0(R9)(BX*8), K1
	KMOVW 2(R9)(BX*8), K2
	KMOVW 4(R9)(BX*8), K3
	KMOVW 6(R9)(BX*8), K4
	LEAQ (SI)(AX*4), R14
	VMOVUPS.Z 0(R14), K1, Z16
	VMOVUPS.Z 64(R14), K2, Z17
	VMOVUPS.Z 128(R14), K3, Z18
	VMOVUPS.Z 192(R14), K4, Z19
	VMOVUPS.Z 0(R14)(R11*1), K1, Z20
	VMOVUPS.Z 64(R14)(R11*1), K2, Z21
	VMOVUPS.Z 128(R14)(R11*1), K3, Z22
	VMOVUPS.Z 192(R14)(R11*1), K4, Z23
	VFMADD231PS Z16, Z8, Z0
	VFMADD231PS Z17, Z8, Z1
	VFMADD231PS Z18, Z8, Z2
	VFMADD231PS Z19, Z8, Z3
	VFMADD231PS Z20, Z9, Z4
	VFMADD231PS Z21, Z9, Z5
	VFMADD231PS Z22, Z9, Z6
	VFMADD231PS Z23, Z9, Z7
	VMOVUPS (DI), Z10
	VMOVUPS (DI)(CX*1), Z11
	VFMADD231PS Z16, Z12, K1, Z10
	VFMADD231PS Z20, Z24, K1, Z11
	VFMADD231PS Z17, Z13, K2, Z10
	VFMADD231PS Z21, Z25, K2, Z11
	VFMADD231PS Z18, Z14, K3, Z10
	VFMADD231PS Z22, Z26, K3, Z11
	VFMADD231PS Z19, Z15, K4, Z10
	VFMADD231PS Z23, Z27, K4, Z11
	VMOVUPS Z10, (DI)
	VMOVUPS Z11, (DI)(CX*1)
	ADDQ $4, DX
	ADDQ $64, DI
	INCQ BX
	CMPQ BX, taps+64(FP)
	JLT  btap

	MOVQ store+56(FP), AX
	MASK4(AX)
	MOVQ dx+8(FP), AX
	MOVQ dxStride+88(FP), BX
	LEAQ (AX)(BX*1), R14
	CMPB accumulate+120(FP), $0
	JEQ  bstore
	ACC8(AX, R14)

bstore:
	PUT8(AX, R14)
	LEAQ (AX)(BX*2), AX
	MOVQ AX, dx+8(FP)
	LEAQ (SI)(R11*2), SI
	MOVQ w+24(FP), AX
	LEAQ (AX)(R13*2), AX
	MOVQ AX, w+24(FP)
	MOVQ dwv+32(FP), AX
	LEAQ (AX)(CX*2), AX
	MOVQ AX, dwv+32(FP)
	SUBQ $2, count+72(FP)
	JGT  bgroup
	VZEROUPPER
	RET
