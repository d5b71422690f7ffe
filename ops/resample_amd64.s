#include "textflag.h"

// The 2x2 tiles of an octave block's resampling: AvgPool2D's 2x2 tiling windows and
// Upsample2x, forward and backward (pool.go, upsample.go), each the same sums in the
// same order as the Go loops. Rows are split into even and odd columns with one
// two-source permutation per vector, and joined back the same way.

DATA resEven<>+0(SB)/4, $0
DATA resEven<>+4(SB)/4, $2
DATA resEven<>+8(SB)/4, $4
DATA resEven<>+12(SB)/4, $6
DATA resEven<>+16(SB)/4, $8
DATA resEven<>+20(SB)/4, $10
DATA resEven<>+24(SB)/4, $12
DATA resEven<>+28(SB)/4, $14
DATA resEven<>+32(SB)/4, $16
DATA resEven<>+36(SB)/4, $18
DATA resEven<>+40(SB)/4, $20
DATA resEven<>+44(SB)/4, $22
DATA resEven<>+48(SB)/4, $24
DATA resEven<>+52(SB)/4, $26
DATA resEven<>+56(SB)/4, $28
DATA resEven<>+60(SB)/4, $30
GLOBL resEven<>(SB), RODATA|NOPTR, $64

DATA resOdd<>+0(SB)/4, $1
DATA resOdd<>+4(SB)/4, $3
DATA resOdd<>+8(SB)/4, $5
DATA resOdd<>+12(SB)/4, $7
DATA resOdd<>+16(SB)/4, $9
DATA resOdd<>+20(SB)/4, $11
DATA resOdd<>+24(SB)/4, $13
DATA resOdd<>+28(SB)/4, $15
DATA resOdd<>+32(SB)/4, $17
DATA resOdd<>+36(SB)/4, $19
DATA resOdd<>+40(SB)/4, $21
DATA resOdd<>+44(SB)/4, $23
DATA resOdd<>+48(SB)/4, $25
DATA resOdd<>+52(SB)/4, $27
DATA resOdd<>+56(SB)/4, $29
DATA resOdd<>+60(SB)/4, $31
GLOBL resOdd<>(SB), RODATA|NOPTR, $64

DATA resDupLo<>+0(SB)/4, $0
DATA resDupLo<>+4(SB)/4, $0
DATA resDupLo<>+8(SB)/4, $1
DATA resDupLo<>+12(SB)/4, $1
DATA resDupLo<>+16(SB)/4, $2
DATA resDupLo<>+20(SB)/4, $2
DATA resDupLo<>+24(SB)/4, $3
DATA resDupLo<>+28(SB)/4, $3
DATA resDupLo<>+32(SB)/4, $4
DATA resDupLo<>+36(SB)/4, $4
DATA resDupLo<>+40(SB)/4, $5
DATA resDupLo<>+44(SB)/4, $5
DATA resDupLo<>+48(SB)/4, $6
DATA resDupLo<>+52(SB)/4, $6
DATA resDupLo<>+56(SB)/4, $7
DATA resDupLo<>+60(SB)/4, $7
GLOBL resDupLo<>(SB), RODATA|NOPTR, $64

DATA resDupHi<>+0(SB)/4, $8
DATA resDupHi<>+4(SB)/4, $8
DATA resDupHi<>+8(SB)/4, $9
DATA resDupHi<>+12(SB)/4, $9
DATA resDupHi<>+16(SB)/4, $10
DATA resDupHi<>+20(SB)/4, $10
DATA resDupHi<>+24(SB)/4, $11
DATA resDupHi<>+28(SB)/4, $11
DATA resDupHi<>+32(SB)/4, $12
DATA resDupHi<>+36(SB)/4, $12
DATA resDupHi<>+40(SB)/4, $13
DATA resDupHi<>+44(SB)/4, $13
DATA resDupHi<>+48(SB)/4, $14
DATA resDupHi<>+52(SB)/4, $14
DATA resDupHi<>+56(SB)/4, $15
DATA resDupHi<>+60(SB)/4, $15
GLOBL resDupHi<>(SB), RODATA|NOPTR, $64
// LANES sets K bits [0, min(16, n)) in k1 and [16, min(32, n)) in k2 (as their
// bits 0-15), n in CX.
#define LANES(k1, k2) \
	MOVQ  $1, AX; \
	SHLQ  CX, AX; \
	DECQ  AX; \
	KMOVW AX, k1; \
	SHRQ  $16, AX; \
	KMOVW AX, k2

// PROLOGUE loads the arguments (src SI, dst DI, rows R8, cols R9, pool R10), the
// two permutation tables into Z28 and Z29, +0 into Z30, 0.25 into Z31 and the bytes
// of a row of 2*cols values into R11: the start of both kernels.
#define PROLOGUE(t0, t1) \
	MOVQ         src+0(FP), SI; \
	MOVQ         dst+8(FP), DI; \
	MOVQ         rows+16(FP), R8; \
	MOVQ         cols+24(FP), R9; \
	MOVBQZX      pool+32(FP), R10; \
	VMOVDQU32    t0<>(SB), Z28; \
	VMOVDQU32    t1<>(SB), Z29; \
	VPXORD       Z30, Z30, Z30; \
	MOVL         $0x3e800000, AX; \
	VPBROADCASTD AX, Z31; \
	MOVQ         R9, R11; \
	SHLQ         $3, R11

// COLUMNS sets K3 to the lanes of the min(16, cols - BX) values at column BX of a
// row of cols, and K1 and K2 to twice as many lanes of a row of 2*cols values.
#define COLUMNS \
	MOVQ  R9, CX; \
	SUBQ  BX, CX; \
	MOVQ  $16, AX; \
	CMPQ  CX, AX; \
	CMOVQGT AX, CX; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K3; \
	SHLQ  $1, CX; \
	LANES(K1, K2)

// func sum2x2AVX512(src, dst *float32, rows, cols int, pool bool)
// For each of rows output rows of cols values it sets dst[r][c] to
// ((a+b)+c)+d of the 2x2 block src[2r:2r+2][2c:2c+2] (rows of 2*cols values), in
// row-major order; with pool it starts from +0 and multiplies the sum by 0.25, as
// AvgPool2D's 2x2 tiling windows do (Upsample2x's backward does not).
TEXT ·sum2x2AVX512(SB), NOSPLIT, $0-33
	PROLOGUE(resEven, resOdd)

srow:
	TESTQ R8, R8
	JEQ   sdone
	LEAQ  (SI)(R11*1), R12 // the second input row
	XORQ  BX, BX // output column

scol:
	CMPQ BX, R9
	JGE  snext
	COLUMNS
	LEAQ  (SI)(BX*8), R13
	LEAQ  (R12)(BX*8), R14
	VMOVUPS.Z 0(R13), K1, Z0
	VMOVUPS.Z 64(R13), K2, Z1
	VMOVUPS.Z 0(R14), K1, Z2
	VMOVUPS.Z 64(R14), K2, Z3
	VMOVAPS   Z0, Z4
	VPERMT2PS Z1, Z28, Z4 // row 0, even columns
	VPERMT2PS Z1, Z29, Z0 // row 0, odd columns
	VMOVAPS   Z2, Z5
	VPERMT2PS Z3, Z28, Z5 // row 1, even columns
	VPERMT2PS Z3, Z29, Z2 // row 1, odd columns
	TESTQ     R10, R10
	JEQ       sadd
	VADDPS    Z4, Z30, Z4

sadd:
	VADDPS Z0, Z4, Z4
	VADDPS Z5, Z4, Z4
	VADDPS Z2, Z4, Z4
	TESTQ  R10, R10
	JEQ    sstore
	VMULPS Z31, Z4, Z4

sstore:
	VMOVUPS Z4, K3, (DI)(BX*4)
	ADDQ    $16, BX
	JMP     scol

snext:
	LEAQ (SI)(R11*2), SI
	LEAQ (DI)(R9*4), DI
	DECQ R8
	JMP  srow

sdone:
	VZEROUPPER
	RET

// func dup2x2AVX512(src, dst *float32, rows, cols int, pool bool)
// For each of rows input rows of cols values it sets the 2x2 block
// dst[2r:2r+2][2c:2c+2] (rows of 2*cols values) to src[r][c]; with pool to
// +0 + src[r][c]*0.25, as AvgPool2D's backward adds the gradient of a 2x2 tiling
// window into a cleared input gradient (Upsample2x's forward copies).
TEXT ·dup2x2AVX512(SB), NOSPLIT, $0-33
	PROLOGUE(resDupLo, resDupHi)

drow:
	TESTQ R8, R8
	JEQ   ddone
	LEAQ  (DI)(R11*1), R12 // the second output row
	XORQ  BX, BX // input column

dcol:
	CMPQ BX, R9
	JGE  dnext
	COLUMNS
	VMOVUPS.Z (SI)(BX*4), K3, Z0
	TESTQ     R10, R10
	JEQ       ddup
	VMULPS    Z31, Z0, Z0
	VADDPS    Z0, Z30, Z0

ddup:
	VPERMPS Z0, Z28, Z1
	VPERMPS Z0, Z29, Z2
	LEAQ    (DI)(BX*8), R13
	LEAQ    (R12)(BX*8), R14
	VMOVUPS Z1, K1, 0(R13)
	VMOVUPS Z2, K2, 64(R13)
	VMOVUPS Z1, K1, 0(R14)
	VMOVUPS Z2, K2, 64(R14)
	ADDQ    $16, BX
	JMP     dcol

dnext:
	LEAQ (SI)(R9*4), SI
	LEAQ (DI)(R11*2), DI
	DECQ R8
	JMP  drow

ddone:
	VZEROUPPER
	RET
