#include "textflag.h"
#include "tap4_amd64.h"

// func bwdwAVX512(dy, x, dwv *float32, off *int32, mask, store *uint16, taps, blocks, count, dyStride, xStride, dwvStride int)
// The weight-gradient half of bwdAVX512: the same masked loads of dy and x and the
// same masked fused multiply-adds into each tap's 16 lanes, block after block, so
// every lane sums the same terms in the same order; no dx. Planes go two at a time
// (A and A+1), sharing each tap's masks, then one at a time. The strides are in
// bytes; the caller passes dwvStride >= 64*taps for the pairs, so that the two
// planes' lanes do not overlap. Registers: SI dy of plane A, DI dyStride, R15 x of
// plane A, R10 xStride, R11 dwv of plane A, R9 dwvStride, R8 off, CX the block's
// byte offset into mask and store, DX blocks left, R12 bytes between one tap's masks
// and the next's, BX the tap, R13 the tap's masks; Z12-Z15 x of A, Z16-Z19 x of B.
TEXT ·bwdwAVX512(SB), NOSPLIT, $0-96
	MOVQ dyStride+72(FP), DI
	MOVQ xStride+80(FP), R10
	MOVQ dwvStride+88(FP), R9
	MOVQ off+24(FP), R8
	MOVQ blocks+56(FP), R12
	SHLQ $1, R12

pair:
	CMPQ count+64(FP), $2
	JLT  single
	MOVQ dy+0(FP), SI
	MOVQ x+8(FP), R15
	MOVQ dwv+16(FP), R11
	MOVQ blocks+56(FP), DX
	XORQ CX, CX

p4:
	CMPQ  DX, $4
	JLT   p1
	MOVQ  store+40(FP), AX
	KMOVW 0(AX)(CX*1), K1
	KMOVW 2(AX)(CX*1), K2
	KMOVW 4(AX)(CX*1), K3
	KMOVW 6(AX)(CX*1), K4
	LEAQ  (R15)(R10*1), AX
	VMOVUPS.Z 0(R15), K1, Z12
	VMOVUPS.Z 64(R15), K2, Z13
	VMOVUPS.Z 128(R15), K3, Z14
	VMOVUPS.Z 192(R15), K4, Z15
	VMOVUPS.Z 0(AX), K1, Z16
	VMOVUPS.Z 64(AX), K2, Z17
	VMOVUPS.Z 128(AX), K3, Z18
	VMOVUPS.Z 192(AX), K4, Z19
	XORQ  BX, BX
	MOVQ  mask+32(FP), R13
	ADDQ  CX, R13

p4tap:
	MOVLQSX (R8)(BX*4), AX
	TAP4LOAD
	ADDQ  DI, R14
	VMOVUPS.Z 0(R14), K1, Z20
	VMOVUPS.Z 64(R14), K2, Z21
	VMOVUPS.Z 128(R14), K3, Z22
	VMOVUPS.Z 192(R14), K4, Z23
	MOVQ  BX, AX
	SHLQ  $6, AX
	ADDQ  R11, AX
	VMOVUPS (AX), Z9
	VMOVUPS (AX)(R9*1), Z10
	VFMADD231PS Z4, Z12, K1, Z9
	VFMADD231PS Z20, Z16, K1, Z10
	VFMADD231PS Z5, Z13, K2, Z9
	VFMADD231PS Z21, Z17, K2, Z10
	VFMADD231PS Z6, Z14, K3, Z9
	VFMADD231PS Z22, Z18, K3, Z10
	VFMADD231PS Z7, Z15, K4, Z9
	VFMADD231PS Z23, Z19, K4, Z10
	VMOVUPS Z9, (AX)
	VMOVUPS Z10, (AX)(R9*1)
	ADDQ  R12, R13
	INCQ  BX
	CMPQ  BX, taps+48(FP)
	JLT   p4tap
	ADDQ  $256, SI
	ADDQ  $256, R15
	ADDQ  $8, CX
	SUBQ  $4, DX
	JMP   p4

p1:
	TESTQ DX, DX
	JEQ   pnext
	MOVQ  store+40(FP), AX
	KMOVW 0(AX)(CX*1), K1
	VMOVUPS.Z 0(R15), K1, Z12
	VMOVUPS.Z 0(R15)(R10*1), K1, Z16
	XORQ  BX, BX
	MOVQ  mask+32(FP), R13
	ADDQ  CX, R13
	MOVQ  R11, R14

p1tap:
	MOVLQSX (R8)(BX*4), AX
	KMOVW 0(R13), K1
	LEAQ  (SI)(AX*4), AX
	VMOVUPS.Z (AX), K1, Z4
	VMOVUPS.Z (AX)(DI*1), K1, Z20
	VMOVUPS (R14), Z9
	VMOVUPS (R14)(R9*1), Z10
	VFMADD231PS Z4, Z12, K1, Z9
	VFMADD231PS Z20, Z16, K1, Z10
	VMOVUPS Z9, (R14)
	VMOVUPS Z10, (R14)(R9*1)
	ADDQ  $64, R14
	ADDQ  R12, R13
	INCQ  BX
	CMPQ  BX, taps+48(FP)
	JLT   p1tap
	ADDQ  $64, SI
	ADDQ  $64, R15
	ADDQ  $2, CX
	DECQ  DX
	JMP   p1

pnext:
	MOVQ DI, AX
	SHLQ $1, AX
	ADDQ AX, dy+0(FP)
	MOVQ R10, AX
	SHLQ $1, AX
	ADDQ AX, x+8(FP)
	MOVQ R9, AX
	SHLQ $1, AX
	ADDQ AX, dwv+16(FP)
	SUBQ $2, count+64(FP)
	JMP  pair

single:
	CMPQ count+64(FP), $0
	JLE  done
	MOVQ dy+0(FP), SI
	MOVQ x+8(FP), R15
	MOVQ dwv+16(FP), R11
	MOVQ blocks+56(FP), DX
	XORQ CX, CX

s4:
	CMPQ  DX, $4
	JLT   s1
	MOVQ  store+40(FP), AX
	KMOVW 0(AX)(CX*1), K1
	KMOVW 2(AX)(CX*1), K2
	KMOVW 4(AX)(CX*1), K3
	KMOVW 6(AX)(CX*1), K4
	VMOVUPS.Z 0(R15), K1, Z12
	VMOVUPS.Z 64(R15), K2, Z13
	VMOVUPS.Z 128(R15), K3, Z14
	VMOVUPS.Z 192(R15), K4, Z15
	XORQ  BX, BX
	MOVQ  mask+32(FP), R13
	ADDQ  CX, R13

s4tap:
	MOVLQSX (R8)(BX*4), AX
	TAP4LOAD
	MOVQ  BX, AX
	SHLQ  $6, AX
	ADDQ  R11, AX
	VMOVUPS (AX), Z9
	VFMADD231PS Z4, Z12, K1, Z9
	VFMADD231PS Z5, Z13, K2, Z9
	VFMADD231PS Z6, Z14, K3, Z9
	VFMADD231PS Z7, Z15, K4, Z9
	VMOVUPS Z9, (AX)
	ADDQ  R12, R13
	INCQ  BX
	CMPQ  BX, taps+48(FP)
	JLT   s4tap
	ADDQ  $256, SI
	ADDQ  $256, R15
	ADDQ  $8, CX
	SUBQ  $4, DX
	JMP   s4

s1:
	TESTQ DX, DX
	JEQ   snext
	MOVQ  store+40(FP), AX
	KMOVW 0(AX)(CX*1), K1
	VMOVUPS.Z 0(R15), K1, Z12
	XORQ  BX, BX
	MOVQ  mask+32(FP), R13
	ADDQ  CX, R13
	MOVQ  R11, R14

s1tap:
	MOVLQSX (R8)(BX*4), AX
	KMOVW 0(R13), K1
	VMOVUPS.Z (SI)(AX*4), K1, Z4
	VMOVUPS (R14), Z9
	VFMADD231PS Z4, Z12, K1, Z9
	VMOVUPS Z9, (R14)
	ADDQ  $64, R14
	ADDQ  R12, R13
	INCQ  BX
	CMPQ  BX, taps+48(FP)
	JLT   s1tap
	ADDQ  $64, SI
	ADDQ  $64, R15
	ADDQ  $2, CX
	DECQ  DX
	JMP   s1

snext:
	ADDQ DI, dy+0(FP)
	ADDQ R10, x+8(FP)
	ADDQ R9, dwv+16(FP)
	DECQ count+64(FP)
	JMP  single

done:
	VZEROUPPER
	RET
