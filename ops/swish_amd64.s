#include "textflag.h"

// The constants of swishExp (swish.go), float32 bit patterns: the clamp bounds -87
// and 88, log2(e), ln(2) split in two (Cephes' expf), the polynomial's
// coefficients from the highest degree down, and 1.
DATA swishConst<>+0(SB)/4, $0xc2ae0000
DATA swishConst<>+4(SB)/4, $0x42b00000
DATA swishConst<>+8(SB)/4, $0x3fb8aa3b
DATA swishConst<>+12(SB)/4, $0x3f318000
DATA swishConst<>+16(SB)/4, $0xb95e8083
DATA swishConst<>+20(SB)/4, $0x39506967
DATA swishConst<>+24(SB)/4, $0x3ab743ce
DATA swishConst<>+28(SB)/4, $0x3c088908
DATA swishConst<>+32(SB)/4, $0x3d2aa9c1
DATA swishConst<>+36(SB)/4, $0x3e2aaaaa
DATA swishConst<>+40(SB)/4, $0x3f000000
DATA swishConst<>+44(SB)/4, $0x3f800000
GLOBL swishConst<>(SB), RODATA|NOPTR, $48

// CONSTS broadcasts the constants into Z16 to Z27 and zeroes Z30.
#define CONSTS \
	LEAQ         swishConst<>(SB), R9; \
	VBROADCASTSS 0(R9), Z16; \
	VBROADCASTSS 4(R9), Z17; \
	VBROADCASTSS 8(R9), Z18; \
	VBROADCASTSS 12(R9), Z19; \
	VBROADCASTSS 16(R9), Z20; \
	VBROADCASTSS 20(R9), Z21; \
	VBROADCASTSS 24(R9), Z22; \
	VBROADCASTSS 28(R9), Z23; \
	VBROADCASTSS 32(R9), Z24; \
	VBROADCASTSS 36(R9), Z25; \
	VBROADCASTSS 40(R9), Z26; \
	VBROADCASTSS 44(R9), Z27; \
	VXORPS       Z30, Z30, Z30

// EXPNEG sets Z1 to swishExp(0 - Z0), 1 + exp(-x) less the 1, with the operations
// of swishExp in its order; it clobbers Z2 to Z4.
#define EXPNEG \
	VSUBPS       Z0, Z30, Z1; \
	VMAXPS       Z16, Z1, Z1; \
	VMINPS       Z17, Z1, Z1; \
	VMULPS       Z18, Z1, Z2; \
	VRNDSCALEPS  $0, Z2, Z2; \
	VFNMADD231PS Z19, Z2, Z1; \
	VFNMADD231PS Z20, Z2, Z1; \
	VMOVAPS      Z21, Z3; \
	VFMADD213PS  Z22, Z1, Z3; \
	VFMADD213PS  Z23, Z1, Z3; \
	VFMADD213PS  Z24, Z1, Z3; \
	VFMADD213PS  Z25, Z1, Z3; \
	VFMADD213PS  Z26, Z1, Z3; \
	VMULPS       Z1, Z1, Z4; \
	VFMADD213PS  Z1, Z4, Z3; \
	VADDPS       Z27, Z3, Z3; \
	VSCALEFPS    Z2, Z3, Z1

// NEXTMASK sets K1 to the lanes of the 16 values from AX on that are below BX, or
// jumps to done when none is; it clobbers CX and R8.
#define NEXTMASK(done) \
	MOVQ  BX, CX; \
	SUBQ  AX, CX; \
	JLE   done; \
	MOVL  $0xffff, R8; \
	CMPQ  CX, $16; \
	JGE   4(PC); \
	MOVL  $1, R8; \
	SHLL  CX, R8; \
	DECL  R8; \
	KMOVW R8, K1

// func swishFwdAVX512(y, x *float32, n int)
TEXT ·swishFwdAVX512(SB), NOSPLIT, $0-24
	MOVQ y+0(FP), DI
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), BX
	CONSTS
	XORQ AX, AX

sfloop:
	NEXTMASK(sfdone)
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	EXPNEG
	VADDPS    Z27, Z1, Z1
	VDIVPS    Z1, Z0, Z5
	VMOVUPS   Z5, K1, (DI)(AX*4)
	ADDQ      $16, AX
	JMP       sfloop

sfdone:
	VZEROUPPER
	RET

// func swishBwdAVX512(dx, dy, x *float32, n int)
TEXT ·swishBwdAVX512(SB), NOSPLIT, $0-32
	MOVQ dx+0(FP), DI
	MOVQ dy+8(FP), DX
	MOVQ x+16(FP), SI
	MOVQ n+24(FP), BX
	CONSTS
	XORQ AX, AX

sbloop:
	NEXTMASK(sbdone)
	VMOVUPS.Z   (SI)(AX*4), K1, Z0
	EXPNEG
	VADDPS      Z27, Z1, Z1
	VDIVPS      Z1, Z27, Z5
	VSUBPS      Z5, Z27, Z6
	VFMADD213PS Z27, Z0, Z6
	VMOVUPS.Z   (DX)(AX*4), K1, Z8
	VMULPS      Z5, Z8, Z8
	VMULPS      Z6, Z8, Z8
	VMOVUPS     Z8, K1, (DI)(AX*4)
	ADDQ        $16, AX
	JMP         sbloop

sbdone:
	VZEROUPPER
	RET
