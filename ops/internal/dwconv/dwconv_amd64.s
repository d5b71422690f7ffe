#include "textflag.h"
#include "tap4_amd64.h"

// Lane masks are read with KMOVW; loads past a plane's edge are masked off, and
// AVX-512 suppresses faults on masked-off lanes, so offsets may point before src.

// func convAVX512(src, dst, w, bias *float32, off *int32, mask, store *uint16, taps, blocks, count, srcStride, dstStride, wStride, biasStride int, accumulate bool)
// The strides are in bytes; bias may be nil.
TEXT ·convAVX512(SB), NOSPLIT, $0-113
plane:
	CMPQ count+72(FP), $0
	JLE  done
	MOVQ src+0(FP), SI
	MOVQ dst+8(FP), DI
	MOVQ w+16(FP), R10
	MOVQ off+32(FP), R8
	MOVQ mask+40(FP), R9
	MOVQ store+48(FP), R11
	MOVQ taps+56(FP), CX
	MOVQ blocks+64(FP), DX
	MOVQ DX, R12
	SHLQ $1, R12 // bytes between one tap's masks and the next's
	MOVBQZX accumulate+112(FP), R15
	VPXORD Z31, Z31, Z31
	MOVQ bias+24(FP), AX
	TESTQ AX, AX
	JEQ  group4
	VBROADCASTSS (AX), Z31
	MOVQ biasStride+104(FP), BX
	ADDQ BX, bias+24(FP)

group4:
	CMPQ DX, $4
	JLT  tail
	VMOVAPS Z31, Z0
	VMOVAPS Z31, Z1
	VMOVAPS Z31, Z2
	VMOVAPS Z31, Z3
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
	ADDQ R12, R13
	INCQ BX
	CMPQ BX, CX
	JLT  g4tap

	MASKS4(R11)
	TESTQ R15, R15
	JEQ   g4store
	ADD4DST

g4store:
	PUT4DST
	ADDQ $256, SI
	ADDQ $256, DI
	ADDQ $8, R9
	ADDQ $8, R11
	SUBQ $4, DX
	JMP  group4

tail:
	TESTQ DX, DX
	JEQ   next
	VMOVAPS Z31, Z0
	VPXORD  Z1, Z1, Z1
	XORQ    BX, BX
	MOVQ    R9, R13

t1tap:
	MOVLQSX (R8)(BX*4), AX
	KMOVW   0(R13), K1
	VMOVUPS.Z (SI)(AX*4), K1, Z4
	VFMADD231PS.BCST (R10)(BX*4), Z4, Z0
	ADDQ R12, R13
	INCQ BX
	CMPQ BX, CX
	JGE  t1end
	MOVLQSX (R8)(BX*4), AX
	KMOVW   0(R13), K1
	VMOVUPS.Z (SI)(AX*4), K1, Z5
	VFMADD231PS.BCST (R10)(BX*4), Z5, Z1
	ADDQ R12, R13
	INCQ BX
	CMPQ BX, CX
	JLT  t1tap

t1end:
	VADDPS Z1, Z0, Z0
	KMOVW  0(R11), K1
	TESTQ  R15, R15
	JEQ    t1store
	VADDPS 0(DI), Z0, K1, Z0

t1store:
	VMOVUPS Z0, K1, 0(DI)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $2, R9
	ADDQ $2, R11
	DECQ DX
	JMP  tail

next:
	MOVQ srcStride+80(FP), AX
	ADDQ AX, src+0(FP)
	MOVQ dstStride+88(FP), AX
	ADDQ AX, dst+8(FP)
	MOVQ wStride+96(FP), AX
	ADDQ AX, w+16(FP)
	DECQ count+72(FP)
	JMP  plane

done:
	VZEROUPPER
	RET

// func wgradAVX512(src, dy, dw *float32, off *int32, mask *uint16, taps, blocks, count, srcStride, dyStride, dwStride int)
// The strides are in bytes.
TEXT ·wgradAVX512(SB), NOSPLIT, $0-88
wplane:
	CMPQ count+56(FP), $0
	JLE  wdone
	MOVQ src+0(FP), SI
	MOVQ dw+16(FP), R10
	MOVQ off+24(FP), R8
	MOVQ mask+32(FP), R9
	MOVQ taps+40(FP), CX
	MOVQ blocks+48(FP), R12
	XORQ BX, BX

tap:
	CMPQ BX, CX
	JGE  wnext
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVLQSX (R8)(BX*4), AX
	LEAQ (SI)(AX*4), R14
	MOVQ dy+8(FP), DI
	MOVQ R12, DX

wg4:
	CMPQ DX, $4
	JLT  wtail
	MASKS4(R9)
	VMOVUPS.Z 0(R14), K1, Z4
	VMOVUPS.Z 64(R14), K2, Z5
	VMOVUPS.Z 128(R14), K3, Z6
	VMOVUPS.Z 192(R14), K4, Z7
	VFMADD231PS 0(DI), Z4, K1, Z0
	VFMADD231PS 64(DI), Z5, K2, Z1
	VFMADD231PS 128(DI), Z6, K3, Z2
	VFMADD231PS 192(DI), Z7, K4, Z3
	ADDQ $256, R14
	ADDQ $256, DI
	ADDQ $8, R9
	SUBQ $4, DX
	JMP  wg4

wtail:
	TESTQ DX, DX
	JEQ   wsum
	KMOVW 0(R9), K1
	VMOVUPS.Z 0(R14), K1, Z4
	VFMADD231PS 0(DI), Z4, K1, Z0
	ADDQ $64, R14
	ADDQ $64, DI
	ADDQ $2, R9
	DECQ DX
	JMP  wtail

wsum:
	VADDPS Z1, Z0, Z0
	VADDPS Z3, Z2, Z2
	VADDPS Z2, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VADDSS (R10)(BX*4), X0, X0
	VMOVSS X0, (R10)(BX*4)
	INCQ BX
	JMP  tap

wnext:
	MOVQ srcStride+64(FP), AX
	ADDQ AX, src+0(FP)
	MOVQ dyStride+72(FP), AX
	ADDQ AX, dy+8(FP)
	MOVQ dwStride+80(FP), AX
	ADDQ AX, dw+16(FP)
	DECQ count+56(FP)
	JMP  wplane

wdone:
	VZEROUPPER
	RET

DATA evenIdx<>+0(SB)/4, $0
DATA evenIdx<>+4(SB)/4, $2
DATA evenIdx<>+8(SB)/4, $4
DATA evenIdx<>+12(SB)/4, $6
DATA evenIdx<>+16(SB)/4, $8
DATA evenIdx<>+20(SB)/4, $10
DATA evenIdx<>+24(SB)/4, $12
DATA evenIdx<>+28(SB)/4, $14
DATA evenIdx<>+32(SB)/4, $16
DATA evenIdx<>+36(SB)/4, $18
DATA evenIdx<>+40(SB)/4, $20
DATA evenIdx<>+44(SB)/4, $22
DATA evenIdx<>+48(SB)/4, $24
DATA evenIdx<>+52(SB)/4, $26
DATA evenIdx<>+56(SB)/4, $28
DATA evenIdx<>+60(SB)/4, $30
GLOBL evenIdx<>(SB), RODATA|NOPTR, $64

DATA oddIdx<>+0(SB)/4, $1
DATA oddIdx<>+4(SB)/4, $3
DATA oddIdx<>+8(SB)/4, $5
DATA oddIdx<>+12(SB)/4, $7
DATA oddIdx<>+16(SB)/4, $9
DATA oddIdx<>+20(SB)/4, $11
DATA oddIdx<>+24(SB)/4, $13
DATA oddIdx<>+28(SB)/4, $15
DATA oddIdx<>+32(SB)/4, $17
DATA oddIdx<>+36(SB)/4, $19
DATA oddIdx<>+40(SB)/4, $21
DATA oddIdx<>+44(SB)/4, $23
DATA oddIdx<>+48(SB)/4, $25
DATA oddIdx<>+52(SB)/4, $27
DATA oddIdx<>+56(SB)/4, $29
DATA oddIdx<>+60(SB)/4, $31
GLOBL oddIdx<>(SB), RODATA|NOPTR, $64

DATA loIdx<>+0(SB)/4, $0
DATA loIdx<>+4(SB)/4, $16
DATA loIdx<>+8(SB)/4, $1
DATA loIdx<>+12(SB)/4, $17
DATA loIdx<>+16(SB)/4, $2
DATA loIdx<>+20(SB)/4, $18
DATA loIdx<>+24(SB)/4, $3
DATA loIdx<>+28(SB)/4, $19
DATA loIdx<>+32(SB)/4, $4
DATA loIdx<>+36(SB)/4, $20
DATA loIdx<>+40(SB)/4, $5
DATA loIdx<>+44(SB)/4, $21
DATA loIdx<>+48(SB)/4, $6
DATA loIdx<>+52(SB)/4, $22
DATA loIdx<>+56(SB)/4, $7
DATA loIdx<>+60(SB)/4, $23
GLOBL loIdx<>(SB), RODATA|NOPTR, $64

DATA hiIdx<>+0(SB)/4, $8
DATA hiIdx<>+4(SB)/4, $24
DATA hiIdx<>+8(SB)/4, $9
DATA hiIdx<>+12(SB)/4, $25
DATA hiIdx<>+16(SB)/4, $10
DATA hiIdx<>+20(SB)/4, $26
DATA hiIdx<>+24(SB)/4, $11
DATA hiIdx<>+28(SB)/4, $27
DATA hiIdx<>+32(SB)/4, $12
DATA hiIdx<>+36(SB)/4, $28
DATA hiIdx<>+40(SB)/4, $13
DATA hiIdx<>+44(SB)/4, $29
DATA hiIdx<>+48(SB)/4, $14
DATA hiIdx<>+52(SB)/4, $30
DATA hiIdx<>+56(SB)/4, $15
DATA hiIdx<>+60(SB)/4, $31
GLOBL hiIdx<>(SB), RODATA|NOPTR, $64

// func deinterleaveAVX512(src, dst *float32, h, w, rows, pitch int)
TEXT ·deinterleaveAVX512(SB), NOSPLIT, $0-48
	MOVQ src+0(FP), SI
	MOVQ h+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ rows+32(FP), R10
	MOVQ pitch+40(FP), R11
	VMOVUPS evenIdx<>(SB), Z28
	VMOVUPS oddIdx<>(SB), Z29
	MOVQ R10, R12
	IMULQ R11, R12
	SHLQ $2, R12 // bytes in one phase plane
	XORQ BX, BX  // input row

drow:
	CMPQ BX, R8
	JGE  ddone
	// even-column destination: dst + ((r&1)*2*ps + (r>>1)*pitch)*4
	MOVQ BX, AX
	ANDQ $1, AX
	IMULQ R12, AX
	SHLQ $1, AX
	MOVQ BX, DX
	SHRQ $1, DX
	IMULQ R11, DX
	LEAQ (AX)(DX*4), AX
	MOVQ dst+8(FP), DI
	ADDQ AX, DI // even phase row
	LEAQ (DI)(R12*1), R13 // odd phase row
	XORQ R14, R14 // input column

dcol:
	CMPQ R14, R9
	JGE  dnext
	MOVQ R9, CX
	SUBQ R14, CX
	CMPQ CX, $32
	JLE  dload
	MOVQ $32, CX

dload:
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	VMOVUPS.Z 0(SI)(R14*4), K1, Z0
	VMOVUPS.Z 64(SI)(R14*4), K2, Z1
	VMOVAPS Z0, Z2
	VPERMT2PS Z1, Z28, Z2
	VMOVAPS Z0, Z3
	VPERMT2PS Z1, Z29, Z3
	// store min(16, pitch - c/2) lanes at column c/2 of each phase
	MOVQ R14, DX
	SHRQ $1, DX
	MOVQ R11, CX
	SUBQ DX, CX
	CMPQ CX, $16
	JLE  dstore
	MOVQ $16, CX

dstore:
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	VMOVUPS Z2, K3, 0(DI)(DX*4)
	VMOVUPS Z3, K3, 0(R13)(DX*4)
	ADDQ $32, R14
	JMP  dcol

dnext:
	LEAQ (SI)(R9*4), SI
	INCQ BX
	JMP  drow

ddone:
	VZEROUPPER
	RET

// func interleaveAVX512(src, dst *float32, h, w, rows, pitch, count int)
TEXT ·interleaveAVX512(SB), NOSPLIT, $0-56
	MOVQ dst+8(FP), DI
	MOVQ h+16(FP), R8
	MOVQ w+24(FP), R9
	MOVQ rows+32(FP), R10
	MOVQ pitch+40(FP), R11
	VMOVUPS loIdx<>(SB), Z28
	VMOVUPS hiIdx<>(SB), Z29
	MOVQ R10, R12
	IMULQ R11, R12
	SHLQ $2, R12

iplane:
	XORQ BX, BX

irow:
	CMPQ BX, R8
	JGE  idone
	MOVQ BX, AX
	ANDQ $1, AX
	IMULQ R12, AX
	SHLQ $1, AX
	MOVQ BX, DX
	SHRQ $1, DX
	IMULQ R11, DX
	LEAQ (AX)(DX*4), AX
	MOVQ src+0(FP), SI
	ADDQ AX, SI
	LEAQ (SI)(R12*1), R13
	XORQ R14, R14 // output column, a multiple of 32

icol:
	CMPQ R14, R9
	JGE  inext
	MOVQ R14, DX
	SHRQ $1, DX // phase column
	MOVQ R11, CX
	SUBQ DX, CX
	CMPQ CX, $16
	JLE  iload
	MOVQ $16, CX

iload:
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K3
	VMOVUPS.Z 0(SI)(DX*4), K3, Z0
	VMOVUPS.Z 0(R13)(DX*4), K3, Z1
	VMOVAPS Z0, Z2
	VPERMT2PS Z1, Z28, Z2
	VMOVAPS Z0, Z3
	VPERMT2PS Z1, Z29, Z3
	MOVQ R9, CX
	SUBQ R14, CX
	CMPQ CX, $32
	JLE  istore
	MOVQ $32, CX

istore:
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
	KMOVW AX, K1
	SHRQ $16, AX
	KMOVW AX, K2
	VMOVUPS Z2, K1, 0(DI)(R14*4)
	VMOVUPS Z3, K2, 64(DI)(R14*4)
	ADDQ $32, R14
	JMP  icol

inext:
	LEAQ (DI)(R9*4), DI
	INCQ BX
	JMP  irow

idone:
	// The next plane's phases follow this plane's four; its dst follows this
	// plane's last row, where DI is.
	MOVQ R12, AX
	SHLQ $2, AX
	ADDQ AX, src+0(FP)
	DECQ count+48(FP)
	JG   iplane
	VZEROUPPER
	RET
