#include "textflag.h"

// The kernels of this file take planes of at most 16 values (one block) four at a
// time: each tap's offset and lane mask are read once for the four planes, and the
// four planes' even and odd taps make eight independent chains of fused
// multiply-adds. Per plane they add the same terms in the same order as the one-block
// paths of convAVX512 and bwdAVX512, so their results are bit-identical to those.
// count must be a positive multiple of four.

// LOAD4 reads tap BX's offset and mask and loads the four planes' masked source
// blocks at that offset into z0-z3 (R14 the tap's address in plane 0).
#define LOAD4(z0, z1, z2, z3) \
	MOVLQSX (R8)(BX*4), AX; \
	KMOVW (R9)(BX*2), K1; \
	LEAQ (SI)(AX*4), R14; \
	VMOVUPS.Z (R14), K1, z0; \
	VMOVUPS.Z (R14)(R11*1), K1, z1; \
	VMOVUPS.Z (R14)(R11*2), K1, z2; \
	VMOVUPS.Z (R14)(R12*1), K1, z3

// FMA4 adds the four planes' weights of the tap (at DX, R13 and R15 apart) times
// z0-z3 into a0-a3.
#define FMA4(z0, z1, z2, z3, a0, a1, a2, a3) \
	VFMADD231PS.BCST (DX), z0, a0; \
	VFMADD231PS.BCST (DX)(R13*1), z1, a1; \
	VFMADD231PS.BCST (DX)(R13*2), z2, a2; \
	VFMADD231PS.BCST (DX)(R15*1), z3, a3

// CTAP is one tap of conv1AVX512 into a0-a3, its sources in z0-z3.
#define CTAP(z0, z1, z2, z3, a0, a1, a2, a3) \
	LOAD4(z0, z1, z2, z3); \
	LEAQ (R10)(BX*4), DX; \
	FMA4(z0, z1, z2, z3, a0, a1, a2, a3)

// BTAP is one tap of bwd1AVX512: dx sums into a0-a3, and the tap's weight-gradient
// partial sums of the four planes (at DI, CX and R10 apart) gain dy times x
// (Z12-Z15) on the tap's lanes; then DX and DI step to the next tap.
#define BTAP(a0, a1, a2, a3) \
	LOAD4(Z8, Z9, Z10, Z11); \
	FMA4(Z8, Z9, Z10, Z11, a0, a1, a2, a3); \
	VMOVUPS (DI), Z16; \
	VMOVUPS (DI)(CX*1), Z17; \
	VMOVUPS (DI)(CX*2), Z18; \
	VMOVUPS (DI)(R10*1), Z19; \
	VFMADD231PS Z8, Z12, K1, Z16; \
	VFMADD231PS Z9, Z13, K1, Z17; \
	VFMADD231PS Z10, Z14, K1, Z18; \
	VFMADD231PS Z11, Z15, K1, Z19; \
	VMOVUPS Z16, (DI); \
	VMOVUPS Z17, (DI)(CX*1); \
	VMOVUPS Z18, (DI)(CX*2); \
	VMOVUPS Z19, (DI)(R10*1); \
	ADDQ $4, DX; \
	ADDQ $64, DI

// func conv1AVX512(src, dst, w, bias *float32, off *int32, mask, store *uint16, taps, count, srcStride, dstStride, wStride, biasStride int, accumulate bool)
// The strides are in bytes; bias may be nil. Registers: SI src, R11 and R12 one and
// three source strides, R10 w, R13 and R15 one and three weight strides, R8 off,
// R9 mask, CX taps, BX the tap, Z0-Z3 the even-tap and Z4-Z7 the odd-tap sums.
TEXT ·conv1AVX512(SB), NOSPLIT, $0-105
	MOVQ src+0(FP), SI
	MOVQ w+16(FP), R10
	MOVQ off+32(FP), R8
	MOVQ mask+40(FP), R9
	MOVQ taps+56(FP), CX
	MOVQ srcStride+72(FP), R11
	LEAQ (R11)(R11*2), R12
	MOVQ wStride+88(FP), R13
	LEAQ (R13)(R13*2), R15

group:
	MOVQ bias+24(FP), AX
	TESTQ AX, AX
	JEQ  nobias
	MOVQ biasStride+96(FP), BX
	LEAQ (BX)(BX*2), DX
	VBROADCASTSS (AX), Z0
	VBROADCASTSS (AX)(BX*1), Z1
	VBROADCASTSS (AX)(BX*2), Z2
	VBROADCASTSS (AX)(DX*1), Z3
	LEAQ (AX)(BX*4), AX
	MOVQ AX, bias+24(FP)
	JMP  sums

nobias:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3

sums:
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	XORQ BX, BX

even:
	CTAP(Z8, Z9, Z10, Z11, Z0, Z1, Z2, Z3)
	INCQ BX
	CMPQ BX, CX
	JGE  end
	CTAP(Z16, Z17, Z18, Z19, Z4, Z5, Z6, Z7)
	INCQ BX
	CMPQ BX, CX
	JLT  even

end:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	MOVQ store+48(FP), AX
	KMOVW (AX), K1
	MOVQ dst+8(FP), DI
	MOVQ dstStride+80(FP), AX
	LEAQ (AX)(AX*2), DX
	CMPB accumulate+104(FP), $0
	JEQ  store
	VADDPS (DI), Z0, K1, Z0
	VADDPS (DI)(AX*1), Z1, K1, Z1
	VADDPS (DI)(AX*2), Z2, K1, Z2
	VADDPS (DI)(DX*1), Z3, K1, Z3

store:
	VMOVUPS Z0, K1, (DI)
	VMOVUPS Z1, K1, (DI)(AX*1)
	VMOVUPS Z2, K1, (DI)(AX*2)
	VMOVUPS Z3, K1, (DI)(DX*1)
	LEAQ (DI)(AX*4), DI
	MOVQ DI, dst+8(FP)
	LEAQ (SI)(R11*4), SI
	LEAQ (R10)(R13*4), R10
	SUBQ $4, count+64(FP)
	JGT  group
	VZEROUPPER
	RET

// func bwd1AVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, taps, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool)
// The strides are in bytes. Registers: SI dy, R11 and R12 one and three dy strides,
// DX the tap's weight of plane 0, R13 and R15 one and three weight strides, DI the
// tap's 16 weight-gradient partial sums of plane 0, CX and R10 one and three of
// their strides, R8 off, R9 mask, BX the tap, K2 the store mask, Z12-Z15 the x
// planes, Z0-Z3 the even-tap and Z4-Z7 the odd-tap dx sums.
TEXT ·bwd1AVX512(SB), NOSPLIT, $0-121
	MOVQ dy+0(FP), SI
	MOVQ off+40(FP), R8
	MOVQ mask+48(FP), R9
	MOVQ dyStride+80(FP), R11
	LEAQ (R11)(R11*2), R12
	MOVQ wStride+104(FP), R13
	LEAQ (R13)(R13*2), R15
	MOVQ dwvStride+112(FP), CX
	LEAQ (CX)(CX*2), R10
	MOVQ store+56(FP), AX
	KMOVW (AX), K2

bgroup:
	MOVQ x+16(FP), AX
	MOVQ xStride+96(FP), BX
	LEAQ (BX)(BX*2), R14
	VMOVUPS.Z (AX), K2, Z12
	VMOVUPS.Z (AX)(BX*1), K2, Z13
	VMOVUPS.Z (AX)(BX*2), K2, Z14
	VMOVUPS.Z (AX)(R14*1), K2, Z15
	LEAQ (AX)(BX*4), AX
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

beven:
	BTAP(Z0, Z1, Z2, Z3)
	INCQ BX
	CMPQ BX, taps+64(FP)
	JGE  bend
	BTAP(Z4, Z5, Z6, Z7)
	INCQ BX
	CMPQ BX, taps+64(FP)
	JLT  beven

bend:
	VADDPS Z4, Z0, Z0
	VADDPS Z5, Z1, Z1
	VADDPS Z6, Z2, Z2
	VADDPS Z7, Z3, Z3
	MOVQ dx+8(FP), AX
	MOVQ dxStride+88(FP), BX
	LEAQ (BX)(BX*2), R14
	CMPB accumulate+120(FP), $0
	JEQ  bstore
	VADDPS (AX), Z0, K2, Z0
	VADDPS (AX)(BX*1), Z1, K2, Z1
	VADDPS (AX)(BX*2), Z2, K2, Z2
	VADDPS (AX)(R14*1), Z3, K2, Z3

bstore:
	VMOVUPS Z0, K2, (AX)
	VMOVUPS Z1, K2, (AX)(BX*1)
	VMOVUPS Z2, K2, (AX)(BX*2)
	VMOVUPS Z3, K2, (AX)(R14*1)
	LEAQ (AX)(BX*4), AX
	MOVQ AX, dx+8(FP)
	LEAQ (SI)(R11*4), SI
	MOVQ w+24(FP), AX
	LEAQ (AX)(R13*4), AX
	MOVQ AX, w+24(FP)
	MOVQ dwv+32(FP), AX
	LEAQ (AX)(CX*4), AX
	MOVQ AX, dwv+32(FP)
	SUBQ $4, count+72(FP)
	JGT  bgroup
	VZEROUPPER
	RET
