#include "textflag.h"
#include "tap4_amd64.h"

// bwd9AVX512: bwdAVX512 for nine taps (3x3 kernels), the weight-gradient partial
// sums kept in registers over the whole plane.

// B9G4 is tap t of a group of four blocks, as bwdAVX512's g4tap with the tap's
// partial sums in acc instead of memory.
#define B9G4(t, acc) \
	MOVLQSX (t*4)(R8), AX; \
	VBROADCASTSS (t*4)(R10), Z8; \
	TAP4LOAD; \
	VFMADD231PS Z4, Z8, Z0; \
	VFMADD231PS Z5, Z8, Z1; \
	VFMADD231PS Z6, Z8, Z2; \
	VFMADD231PS Z7, Z8, Z3; \
	VFMADD231PS Z4, Z12, K1, acc; \
	VFMADD231PS Z5, Z13, K2, acc; \
	VFMADD231PS Z6, Z14, K3, acc; \
	VFMADD231PS Z7, Z15, K4, acc; \
	ADDQ R12, R13

// B9T1 is tap t of a single block, as bwdAVX512's t1tap: dx into d (Z0 for even
// taps, Z1 for odd), the partial sums into acc.
#define B9T1(t, d, acc) \
	MOVLQSX (t*4)(R8), AX; \
	KMOVW   0(R13), K1; \
	VMOVUPS.Z (SI)(AX*4), K1, Z4; \
	VFMADD231PS.BCST (t*4)(R10), Z4, d; \
	VFMADD231PS Z4, Z12, K1, acc; \
	ADDQ R12, R13

// func bwd9AVX512(dy, dx, x, w, dwv *float32, off *int32, mask, store *uint16, blocks, count, dyStride, dxStride, xStride, wStride, dwvStride int, accumulate bool)
// bwdAVX512 with taps = 9: the same terms in the same order per accumulator, the
// partial sums of tap t in Z16+t from the plane's first block to its last (loaded
// from dwv before and stored after, where bwdAVX512 loads and stores them around
// each group of blocks). Registers otherwise as bwdAVX512's.
TEXT ·bwd9AVX512(SB), NOSPLIT, $0-121
b9plane:
	CMPQ count+72(FP), $0
	JLE  b9done
	MOVQ dy+0(FP), SI
	MOVQ dx+8(FP), DI
	MOVQ x+16(FP), R15
	MOVQ w+24(FP), R10
	MOVQ dwv+32(FP), R11
	MOVQ off+40(FP), R8
	MOVQ mask+48(FP), R9
	MOVQ store+56(FP), CX
	MOVQ blocks+64(FP), DX
	MOVQ DX, R12
	SHLQ $1, R12
	VMOVUPS 0(R11), Z16
	VMOVUPS 64(R11), Z17
	VMOVUPS 128(R11), Z18
	VMOVUPS 192(R11), Z19
	VMOVUPS 256(R11), Z20
	VMOVUPS 320(R11), Z21
	VMOVUPS 384(R11), Z22
	VMOVUPS 448(R11), Z23
	VMOVUPS 512(R11), Z24

b9group4:
	CMPQ DX, $4
	JLT  b9tail
	MASKS4(CX)
	VMOVUPS.Z 0(R15), K1, Z12
	VMOVUPS.Z 64(R15), K2, Z13
	VMOVUPS.Z 128(R15), K3, Z14
	VMOVUPS.Z 192(R15), K4, Z15
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ R9, R13
	B9G4(0, Z16)
	B9G4(1, Z17)
	B9G4(2, Z18)
	B9G4(3, Z19)
	B9G4(4, Z20)
	B9G4(5, Z21)
	B9G4(6, Z22)
	B9G4(7, Z23)
	B9G4(8, Z24)
	MASKS4(CX)
	CMPB accumulate+120(FP), $0
	JEQ  b9g4store
	ADD4DST

b9g4store:
	PUT4DST
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $256, R15
	ADDQ $8, R9
	ADDQ $8, CX
	SUBQ $4, DX
	JMP  b9group4

b9tail:
	TESTQ DX, DX
	JEQ   b9next
	KMOVW 0(CX), K1
	VMOVUPS.Z 0(R15), K1, Z12
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ   R9, R13
	B9T1(0, Z0, Z16)
	B9T1(1, Z1, Z17)
	B9T1(2, Z0, Z18)
	B9T1(3, Z1, Z19)
	B9T1(4, Z0, Z20)
	B9T1(5, Z1, Z21)
	B9T1(6, Z0, Z22)
	B9T1(7, Z1, Z23)
	B9T1(8, Z0, Z24)
	VADDPS Z1, Z0, Z0
	KMOVW  0(CX), K1
	CMPB   accumulate+120(FP), $0
	JEQ    b9t1store
	VADDPS 0(DI), Z0, K1, Z0

b9t1store:
	VMOVUPS Z0, K1, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, R15
	ADDQ $2, R9
	ADDQ $2, CX
	DECQ DX
	JMP  b9tail

b9next:
	MOVQ dwv+32(FP), R11
	VMOVUPS Z16, 0(R11)
	VMOVUPS Z17, 64(R11)
	VMOVUPS Z18, 128(R11)
	VMOVUPS Z19, 192(R11)
	VMOVUPS Z20, 256(R11)
	VMOVUPS Z21, 320(R11)
	VMOVUPS Z22, 384(R11)
	VMOVUPS Z23, 448(R11)
	VMOVUPS Z24, 512(R11)
	MOVQ dyStride+80(FP), AX
	ADDQ AX, dy+0(FP)
	MOVQ dxStride+88(FP), AX
	ADDQ AX, dx+8(FP)
	MOVQ xStride+96(FP), AX
	ADDQ AX, x+16(FP)
	MOVQ wStride+104(FP), AX
	ADDQ AX, w+24(FP)
	MOVQ dwvStride+112(FP), AX
	ADDQ AX, dwv+32(FP)
	DECQ count+72(FP)
	JMP  b9plane

b9done:
	VZEROUPPER
	RET
