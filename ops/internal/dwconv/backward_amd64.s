#include "textflag.h"
#include "tap4_amd64.h"

// func bwdAVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, taps, blocks, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool)
// The strides are in bytes. Registers: SI dy, DI dx, R15 x, R10 w, R11 dwv, R8 off,
// R9 the current block's masks, CX the current block's store masks, DX blocks left,
// R12 bytes between one tap's masks and the next's, BX the tap, R13 the tap's masks,
// Z12-Z15 the x blocks, Z0-Z3 the dx accumulators, Z8 the tap's weight.
TEXT ·bwdAVX512(SB), NOSPLIT, $0-129
plane:
	CMPQ count+80(FP), $0
	JLE  done
	MOVQ dy+0(FP), SI
	MOVQ dx+8(FP), DI
	MOVQ x+16(FP), R15
	MOVQ w+24(FP), R10
	MOVQ dwv+32(FP), R11
	MOVQ off+40(FP), R8
	MOVQ mask+48(FP), R9
	MOVQ store+56(FP), CX
	MOVQ blocks+72(FP), DX
	MOVQ DX, R12
	SHLQ $1, R12

group4:
	CMPQ DX, $4
	JLT  tail
	MASKS4(CX)
	VMOVUPS.Z 0(R15), K1, Z12
	VMOVUPS.Z 64(R15), K2, Z13
	VMOVUPS.Z 128(R15), K3, Z14
	VMOVUPS.Z 192(R15), K4, Z15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	XORQ BX, BX
	MOVQ R9, R13

g4tap:
	MOVLQSX (R8)(BX*4), AX
	VBROADCASTSS (R10)(BX*4), Z8
	TAP4LOAD
	VFMADD231PS Z4, Z8, Z0
	VFMADD231PS Z5, Z8, Z1
	VFMADD231PS Z6, Z8, Z2
	VFMADD231PS Z7, Z8, Z3
	MOVQ BX, AX
	SHLQ $6, AX
	ADDQ R11, AX
	VMOVUPS (AX), Z9
	VFMADD231PS Z4, Z12, K1, Z9
	VFMADD231PS Z5, Z13, K2, Z9
	VFMADD231PS Z6, Z14, K3, Z9
	VFMADD231PS Z7, Z15, K4, Z9
	VMOVUPS Z9, (AX)
	ADDQ R12, R13
	INCQ BX
	CMPQ BX, taps+64(FP)
	JLT  g4tap

	MASKS4(CX)
	CMPB accumulate+128(FP), $0
	JEQ  g4store
	ADD4DST

g4store:
	PUT4DST
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $256, R15
	ADDQ $8, R9
	ADDQ $8, CX
	SUBQ $4, DX
	JMP  group4

tail:
	TESTQ DX, DX
	JEQ   next
	KMOVW 0(CX), K1
	VMOVUPS.Z 0(R15), K1, Z12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	XORQ   BX, BX
	MOVQ   R9, R13
	MOVQ   R11, R14

t1tap:
	MOVLQSX (R8)(BX*4), AX
	KMOVW   0(R13), K1
	VMOVUPS.Z (SI)(AX*4), K1, Z4
	VFMADD231PS.BCST (R10)(BX*4), Z4, Z0
	VMOVUPS (R14), Z9
	VFMADD231PS Z4, Z12, K1, Z9
	VMOVUPS Z9, (R14)
	ADDQ $64, R14
	ADDQ R12, R13
	INCQ BX
	CMPQ BX, taps+64(FP)
	JGE  t1end
	MOVLQSX (R8)(BX*4), AX
	KMOVW   0(R13), K1
	VMOVUPS.Z (SI)(AX*4), K1, Z5
	VFMADD231PS.BCST (R10)(BX*4), Z5, Z1
	VMOVUPS (R14), Z9
	VFMADD231PS Z5, Z12, K1, Z9
	VMOVUPS Z9, (R14)
	ADDQ $64, R14
	ADDQ R12, R13
	INCQ BX
	CMPQ BX, taps+64(FP)
	JLT  t1tap

t1end:
	VADDPS Z1, Z0, Z0
	KMOVW  0(CX), K1
	CMPB   accumulate+128(FP), $0
	JEQ    t1store
	VADDPS 0(DI), Z0, K1, Z0

t1store:
	VMOVUPS Z0, K1, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R15
	ADDQ $2, R9
	ADDQ $2, CX
	DECQ DX
	JMP  tail

next:
	MOVQ dyStride+88(FP), AX
	ADDQ AX, dy+0(FP)
	MOVQ dxStride+96(FP), AX
	ADDQ AX, dx+8(FP)
	MOVQ xStride+104(FP), AX
	ADDQ AX, x+16(FP)
	MOVQ wStride+112(FP), AX
	ADDQ AX, w+24(FP)
	MOVQ dwvStride+120(FP), AX
	ADDQ AX, dwv+32(FP)
	DECQ count+80(FP)
	JMP  plane

done:
	VZEROUPPER
	RET
