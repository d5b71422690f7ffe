#include "textflag.h"

// AVX-512 kernels of batch norm with a fused clamp activation (bnact.go). A "plane" is
// hw consecutive values; the kernels walk planes whose starts are a stride (in bytes)
// apart. Loads and stores past a plane's end are masked off with K1, which holds the
// low hw%16 bits. Comparisons keep NaN visible: VMAXPS and VMINPS return their second
// source (the last Intel operand, the first Go operand) when either is NaN, and that
// is always the value, never the bound.

// HSUM adds the 16 lanes of z (whose low halves are y and x) into the low lane of x,
// using ty and tx as scratch.
#define HSUM(z, y, x, ty, tx) \
	VEXTRACTF64X4 $1, z, ty; \
	VADDPS        ty, y, y; \
	VEXTRACTF128  $1, y, tx; \
	VADDPS        tx, x, x; \
	VMOVHLPS      x, x, tx; \
	VADDPS        tx, x, x; \
	VMOVSHDUP     x, tx; \
	VADDSS        tx, x, x

// TAILMASK sets K1 to the low n%16 bits; it clobbers CX and AX.
#define TAILMASK(n) \
	MOVQ  n, CX; \
	ANDQ  $15, CX; \
	MOVL  $1, AX; \
	SHLL  CX, AX; \
	DECL  AX; \
	KMOVW AX, K1

// func bnStatsAVX512(x *float32, hw, planes, stride int, out *float32)
// For each plane it writes c = sum(x)/hw, sum(x-c) and sum((x-c)^2) to out.
TEXT ·bnStatsAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ hw+8(FP), BX
	MOVQ planes+16(FP), DX
	MOVQ stride+24(FP), R8
	MOVQ out+32(FP), DI
	TAILMASK(BX)
	VCVTSI2SSQ BX, X15, X15

stplane:
	TESTQ DX, DX
	JEQ   stdone
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ   AX, AX

stsum32:
	LEAQ   32(AX), R9
	CMPQ   R9, BX
	JGT    stsum16
	VADDPS (SI)(AX*4), Z0, Z0
	VADDPS 64(SI)(AX*4), Z1, Z1
	MOVQ   R9, AX
	JMP    stsum32

stsum16:
	LEAQ   16(AX), R9
	CMPQ   R9, BX
	JGT    stsumtail
	VADDPS (SI)(AX*4), Z0, Z0
	MOVQ   R9, AX

stsumtail:
	CMPQ      AX, BX
	JEQ       stsumdone
	VMOVUPS.Z (SI)(AX*4), K1, Z2
	VADDPS    Z2, Z1, Z1

stsumdone:
	VADDPS Z1, Z0, Z0
	HSUM(Z0, Y0, X0, Y1, X1)
	VDIVSS       X15, X0, X3
	VBROADCASTSS X3, Z3
	VXORPS       Z0, Z0, Z0
	VXORPS       Z1, Z1, Z1
	XORQ         AX, AX

stdev16:
	LEAQ        16(AX), R9
	CMPQ        R9, BX
	JGT         stdevtail
	VMOVUPS     (SI)(AX*4), Z4
	VSUBPS      Z3, Z4, Z4
	VADDPS      Z4, Z0, Z0
	VFMADD231PS Z4, Z4, Z1
	MOVQ        R9, AX
	JMP         stdev16

stdevtail:
	CMPQ        AX, BX
	JEQ         stdevdone
	VMOVUPS.Z   (SI)(AX*4), K1, Z4
	VSUBPS.Z    Z3, Z4, K1, Z4
	VADDPS      Z4, Z0, Z0
	VFMADD231PS Z4, Z4, Z1

stdevdone:
	HSUM(Z0, Y0, X0, Y2, X2)
	HSUM(Z1, Y1, X1, Y2, X2)
	VMOVSS X3, (DI)
	VMOVSS X0, 4(DI)
	VMOVSS X1, 8(DI)
	ADDQ   $12, DI
	ADDQ   R8, SI
	DECQ   DX
	JMP    stplane

stdone:
	VZEROUPPER
	RET

// func bnActFwdAVX512(x, y *float32, hw, planes, xstride, ystride int, a, b *float32, lo, hi float32)
// For each plane p it sets y = min(max(x*a[p]+b[p], lo), hi), with one rounding (FMA).
// It prefetches x 4 KiB ahead (into the next planes where they follow on): in paired
// training steps of reference_net.py at batch 128 that took 0.5-1.3% off a step
// (-257 and -653 us; -241 us at 1 KiB ahead; the commit message has the figures).
TEXT ·bnActFwdAVX512(SB), NOSPLIT, $0-72
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         hw+16(FP), BX
	MOVQ         planes+24(FP), DX
	MOVQ         xstride+32(FP), R8
	MOVQ         ystride+40(FP), R10
	MOVQ         a+48(FP), R11
	MOVQ         b+56(FP), R12
	VBROADCASTSS lo+64(FP), Z4
	VBROADCASTSS hi+68(FP), Z5
	TAILMASK(BX)

fwplane:
	TESTQ        DX, DX
	JEQ          fwdone
	VBROADCASTSS (R11), Z2
	VBROADCASTSS (R12), Z3
	XORQ         AX, AX

fw32:
	LEAQ        32(AX), R9
	CMPQ        R9, BX
	JGT         fw16
	PREFETCHT0  4096(SI)(AX*4)
	PREFETCHT0  4160(SI)(AX*4)
	VMOVUPS     (SI)(AX*4), Z0
	VMOVUPS     64(SI)(AX*4), Z1
	VFMADD213PS Z3, Z2, Z0
	VFMADD213PS Z3, Z2, Z1
	VMAXPS      Z0, Z4, Z0
	VMAXPS      Z1, Z4, Z1
	VMINPS      Z0, Z5, Z0
	VMINPS      Z1, Z5, Z1
	VMOVUPS     Z0, (DI)(AX*4)
	VMOVUPS     Z1, 64(DI)(AX*4)
	MOVQ        R9, AX
	JMP         fw32

fw16:
	LEAQ        16(AX), R9
	CMPQ        R9, BX
	JGT         fwtail
	VMOVUPS     (SI)(AX*4), Z0
	VFMADD213PS Z3, Z2, Z0
	VMAXPS      Z0, Z4, Z0
	VMINPS      Z0, Z5, Z0
	VMOVUPS     Z0, (DI)(AX*4)
	MOVQ        R9, AX

fwtail:
	CMPQ        AX, BX
	JEQ         fwnext
	VMOVUPS.Z   (SI)(AX*4), K1, Z0
	VFMADD213PS Z3, Z2, Z0
	VMAXPS      Z0, Z4, Z0
	VMINPS      Z0, Z5, Z0
	VMOVUPS     Z0, K1, (DI)(AX*4)

fwnext:
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ R8, SI
	ADDQ R10, DI
	DECQ DX
	JMP  fwplane

fwdone:
	VZEROUPPER
	RET


// func bnActBackReduceAVX512(x, dy, dg *float32, hw, planes, xstride, dystride, dgstride int, a, b, mean, k *float32, lo, hi float32, mask bool, out *float32)
// For each plane p it writes sum(gm) and sum((x-mean[p])*gm) to out, where gm is g,
// or with mask g where lo < x*a[p]+b[p] and not >= hi (0 elsewhere). Unless dg is
// nil, it also writes gm*k[3p] to dg (planes dgstride bytes apart), as fma(gm, k[3p],
// +0): the value bnActBackApplyAVX512 gives with k = (k[3p], 0, 0), as from the
// clamped input, whose mask is the same.
TEXT ·bnActBackReduceAVX512(SB), NOSPLIT, $0-120
	MOVQ         hw+24(FP), BX
	TAILMASK(BX)
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DI
	MOVQ         dg+16(FP), CX
	MOVQ         planes+32(FP), DX
	MOVQ         xstride+40(FP), R8
	MOVQ         dystride+48(FP), R10
	MOVQ         a+64(FP), R11
	MOVQ         b+72(FP), R12
	MOVQ         mean+80(FP), R13
	MOVQ         k+88(FP), R15
	VBROADCASTSS lo+96(FP), Z4
	VBROADCASTSS hi+100(FP), Z5
	MOVQ         out+112(FP), R14
	MOVL         $0xffff, AX
	KMOVW        AX, K3

rgplane:
	TESTQ        DX, DX
	JEQ          rgdone
	VBROADCASTSS (R11), Z2
	VBROADCASTSS (R12), Z3
	VBROADCASTSS (R13), Z6
	TESTQ        CX, CX
	JEQ          rgnok
	VBROADCASTSS (R15), Z10

rgnok:
	VXORPS       Z8, Z8, Z8
	VXORPS       Z9, Z9, Z9
	XORQ         AX, AX

rg16:
	LEAQ        16(AX), R9
	CMPQ        R9, BX
	JGT         rgtail
	KMOVW       K3, K2
	VMOVUPS     (SI)(AX*4), Z0
	CMPB        mask+104(FP), $0
	JEQ         rg16g
	VMOVAPS     Z0, Z7
	VFMADD213PS Z3, Z2, Z7
	VCMPPS      $0x1e, Z4, Z7, K2
	VCMPPS      $0x19, Z5, Z7, K2, K2

rg16g:
	VMOVUPS.Z   (DI)(AX*4), K2, Z1
	TESTQ       CX, CX
	JEQ         rg16s
	VXORPS      Z7, Z7, Z7
	VFMADD231PS Z10, Z1, Z7
	VMOVUPS     Z7, (CX)(AX*4)

rg16s:
	VSUBPS      Z6, Z0, Z0
	VADDPS      Z1, Z8, Z8
	VFMADD231PS Z1, Z0, Z9
	MOVQ        R9, AX
	JMP         rg16

rgtail:
	CMPQ        AX, BX
	JEQ         rgnext
	KMOVW       K1, K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z0
	CMPB        mask+104(FP), $0
	JEQ         rgtailg
	VMOVAPS     Z0, Z7
	VFMADD213PS Z3, Z2, Z7
	VCMPPS      $0x1e, Z4, Z7, K1, K2
	VCMPPS      $0x19, Z5, Z7, K2, K2

rgtailg:
	VMOVUPS.Z   (DI)(AX*4), K2, Z1
	TESTQ       CX, CX
	JEQ         rgtails
	VXORPS      Z7, Z7, Z7
	VFMADD231PS Z10, Z1, Z7
	VMOVUPS     Z7, K1, (CX)(AX*4)

rgtails:
	VSUBPS.Z    Z6, Z0, K1, Z0
	VADDPS      Z1, Z8, Z8
	VFMADD231PS Z1, Z0, Z9

rgnext:
	HSUM(Z8, Y8, X8, Y11, X11)
	HSUM(Z9, Y9, X9, Y11, X11)
	VMOVSS X8, (R14)
	VMOVSS X9, 4(R14)
	ADDQ   $8, R14
	ADDQ   $4, R11
	ADDQ   $4, R12
	ADDQ   $4, R13
	ADDQ   $12, R15
	ADDQ   R8, SI
	ADDQ   R10, DI
	ADDQ   dgstride+56(FP), CX
	DECQ   DX
	JMP    rgplane

rgdone:
	VZEROUPPER
	RET

// func bnActBackApplyAVX512(dx, dy, x *float32, hw, planes, dxstride, xstride, dystride int, a, b, k *float32, lo, hi float32, mask bool)
// For each plane p it sets dx = gm*k[3p] + (x*k[3p+1] + k[3p+2]), with gm as in
// bnActBackReduceAVX512; the planes of dx are dxstride bytes apart.
TEXT ·bnActBackApplyAVX512(SB), NOSPLIT, $0-97
	MOVQ         dx+0(FP), R14
	MOVQ         dy+8(FP), DI
	MOVQ         x+16(FP), SI
	MOVQ         hw+24(FP), BX
	MOVQ         planes+32(FP), DX
	MOVQ         dxstride+40(FP), R8
	MOVQ         xstride+48(FP), R10
	MOVQ         a+64(FP), R11
	MOVQ         b+72(FP), R12
	MOVQ         k+80(FP), R13
	VBROADCASTSS lo+88(FP), Z4
	VBROADCASTSS hi+92(FP), Z5
	MOVBQZX      mask+96(FP), R15
	TAILMASK(BX)
	MOVQ         dystride+56(FP), CX
	MOVL         $0xffff, AX
	KMOVW        AX, K3

applane:
	TESTQ        DX, DX
	JEQ          apdone
	VBROADCASTSS (R11), Z2
	VBROADCASTSS (R12), Z3
	VBROADCASTSS (R13), Z10
	VBROADCASTSS 4(R13), Z11
	VBROADCASTSS 8(R13), Z12
	XORQ         AX, AX

ap16:
	LEAQ        16(AX), R9
	CMPQ        R9, BX
	JGT         aptail
	KMOVW       K3, K2
	VMOVUPS     (SI)(AX*4), Z0
	TESTQ       R15, R15
	JEQ         ap16g
	VMOVAPS     Z0, Z7
	VFMADD213PS Z3, Z2, Z7
	VCMPPS      $0x1e, Z4, Z7, K2
	VCMPPS      $0x19, Z5, Z7, K2, K2

ap16g:
	VMOVUPS.Z   (DI)(AX*4), K2, Z1
	VMOVAPS     Z12, Z7
	VFMADD231PS Z11, Z0, Z7
	VFMADD231PS Z10, Z1, Z7
	VMOVUPS     Z7, (R14)(AX*4)
	MOVQ        R9, AX
	JMP         ap16

aptail:
	CMPQ        AX, BX
	JEQ         apnext
	KMOVW       K1, K2
	VMOVUPS.Z   (SI)(AX*4), K1, Z0
	TESTQ       R15, R15
	JEQ         aptailg
	VMOVAPS     Z0, Z7
	VFMADD213PS Z3, Z2, Z7
	VCMPPS      $0x1e, Z4, Z7, K1, K2
	VCMPPS      $0x19, Z5, Z7, K2, K2

aptailg:
	VMOVUPS.Z   (DI)(AX*4), K2, Z1
	VMOVAPS     Z12, Z7
	VFMADD231PS Z11, Z0, Z7
	VFMADD231PS Z10, Z1, Z7
	VMOVUPS     Z7, K1, (R14)(AX*4)

apnext:
	ADDQ $4, R11
	ADDQ $4, R12
	ADDQ $12, R13
	ADDQ R10, SI
	ADDQ R8, R14
	ADDQ CX, DI
	DECQ DX
	JMP  applane

apdone:
	VZEROUPPER
	RET

// func clampAVX512(y, x *float32, n int, lo, hi float32)
// It sets y = min(max(x, lo), hi).
TEXT ·clampAVX512(SB), NOSPLIT, $0-32
	MOVQ         y+0(FP), DI
	MOVQ         x+8(FP), SI
	MOVQ         n+16(FP), BX
	VBROADCASTSS lo+24(FP), Z4
	VBROADCASTSS hi+28(FP), Z5
	TAILMASK(BX)
	XORQ         AX, AX

cl32:
	LEAQ    32(AX), R9
	CMPQ    R9, BX
	JGT     cl16
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z1
	VMAXPS  Z0, Z4, Z0
	VMAXPS  Z1, Z4, Z1
	VMINPS  Z0, Z5, Z0
	VMINPS  Z1, Z5, Z1
	VMOVUPS Z0, (DI)(AX*4)
	VMOVUPS Z1, 64(DI)(AX*4)
	MOVQ    R9, AX
	JMP     cl32

cl16:
	LEAQ    16(AX), R9
	CMPQ    R9, BX
	JGT     cltail
	VMOVUPS (SI)(AX*4), Z0
	VMAXPS  Z0, Z4, Z0
	VMINPS  Z0, Z5, Z0
	VMOVUPS Z0, (DI)(AX*4)
	MOVQ    R9, AX

cltail:
	CMPQ      AX, BX
	JEQ       cldone
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMAXPS    Z0, Z4, Z0
	VMINPS    Z0, Z5, Z0
	VMOVUPS   Z0, K1, (DI)(AX*4)

cldone:
	VZEROUPPER
	RET

// func maskGradAVX512(dx, dy, y *float32, n int, lo, hi float32)
// It sets dx = dy where lo < y and not y >= hi, and 0 elsewhere.
TEXT ·maskGradAVX512(SB), NOSPLIT, $0-40
	MOVQ         dx+0(FP), R14
	MOVQ         dy+8(FP), DI
	MOVQ         y+16(FP), SI
	MOVQ         n+24(FP), BX
	VBROADCASTSS lo+32(FP), Z4
	VBROADCASTSS hi+36(FP), Z5
	TAILMASK(BX)
	XORQ         AX, AX

mg16:
	LEAQ      16(AX), R9
	CMPQ      R9, BX
	JGT       mgtail
	VMOVUPS   (SI)(AX*4), Z0
	VCMPPS    $0x1e, Z4, Z0, K2
	VCMPPS    $0x19, Z5, Z0, K2, K2
	VMOVUPS.Z (DI)(AX*4), K2, Z1
	VMOVUPS   Z1, (R14)(AX*4)
	MOVQ      R9, AX
	JMP       mg16

mgtail:
	CMPQ      AX, BX
	JEQ       mgdone
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VCMPPS    $0x1e, Z4, Z0, K1, K2
	VCMPPS    $0x19, Z5, Z0, K2, K2
	VMOVUPS.Z (DI)(AX*4), K2, Z1
	VMOVUPS   Z1, K1, (R14)(AX*4)

mgdone:
	VZEROUPPER
	RET

// func addAVX512(z, a, b *float32, n int)
// It sets z = a + b.
TEXT ·addAVX512(SB), NOSPLIT, $0-32
	MOVQ z+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), R8
	MOVQ n+24(FP), BX
	TAILMASK(BX)
	XORQ AX, AX

ad32:
	LEAQ    32(AX), R9
	CMPQ    R9, BX
	JGT     ad16
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS 64(SI)(AX*4), Z1
	VADDPS  (R8)(AX*4), Z0, Z0
	VADDPS  64(R8)(AX*4), Z1, Z1
	VMOVUPS Z0, (DI)(AX*4)
	VMOVUPS Z1, 64(DI)(AX*4)
	MOVQ    R9, AX
	JMP     ad32

ad16:
	LEAQ    16(AX), R9
	CMPQ    R9, BX
	JGT     adtail
	VMOVUPS (SI)(AX*4), Z0
	VADDPS  (R8)(AX*4), Z0, Z0
	VMOVUPS Z0, (DI)(AX*4)
	MOVQ    R9, AX

adtail:
	CMPQ      AX, BX
	JEQ       addone
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS.Z (R8)(AX*4), K1, Z1
	VADDPS    Z1, Z0, Z0
	VMOVUPS   Z0, K1, (DI)(AX*4)

addone:
	VZEROUPPER
	RET

// T4 transposes the 4x4 blocks of rows r0 to r3 within each 128-bit lane: it leaves
// in r0+k, lane L, the values 4L+k of the four rows, using t0 to t3 as scratch.
#define T4(r0, r1, r2, r3, t0, t1, t2, t3) \
	VUNPCKLPS r1, r0, t0; \
	VUNPCKHPS r1, r0, t1; \
	VUNPCKLPS r3, r2, t2; \
	VUNPCKHPS r3, r2, t3; \
	VUNPCKLPD t2, t0, r0; \
	VUNPCKHPD t2, t0, r1; \
	VUNPCKLPD t3, t1, r2; \
	VUNPCKHPD t3, t1, r3

// COLS gathers the lanes that T4 left in u0 to u3 (rows 0-3, 4-7, 8-11 and 12-15)
// into whole columns: column k into u0, 4+k into u1, 8+k into u2, 12+k into u3.
#define COLS(u0, u1, u2, u3, t0, t1, t2, t3) \
	VSHUFF32X4 $0x44, u1, u0, t0; \
	VSHUFF32X4 $0xee, u1, u0, t1; \
	VSHUFF32X4 $0x44, u3, u2, t2; \
	VSHUFF32X4 $0xee, u3, u2, t3; \
	VSHUFF32X4 $0x88, t2, t0, u0; \
	VSHUFF32X4 $0xdd, t2, t0, u1; \
	VSHUFF32X4 $0x88, t3, t1, u2; \
	VSHUFF32X4 $0xdd, t3, t1, u3

// func globalPool16AVX512(x *float32, groups int, y *float32, area float32)
// For each of groups groups of 16 consecutive planes of 16 values it writes each
// plane's sum, taken in order from the first value to the last, divided by area: the
// 16x16 block is transposed so that lane p of column i holds value i of plane p, and
// the columns are added in order.
TEXT ·globalPool16AVX512(SB), NOSPLIT, $0-28
	MOVQ         x+0(FP), SI
	MOVQ         groups+8(FP), DX
	MOVQ         y+16(FP), DI
	VBROADCASTSS area+24(FP), Z31

g16group:
	TESTQ   DX, DX
	JEQ     g16done
	VMOVUPS (SI), Z0
	VMOVUPS 64(SI), Z1
	VMOVUPS 128(SI), Z2
	VMOVUPS 192(SI), Z3
	VMOVUPS 256(SI), Z4
	VMOVUPS 320(SI), Z5
	VMOVUPS 384(SI), Z6
	VMOVUPS 448(SI), Z7
	VMOVUPS 512(SI), Z8
	VMOVUPS 576(SI), Z9
	VMOVUPS 640(SI), Z10
	VMOVUPS 704(SI), Z11
	VMOVUPS 768(SI), Z12
	VMOVUPS 832(SI), Z13
	VMOVUPS 896(SI), Z14
	VMOVUPS 960(SI), Z15
	T4(Z0, Z1, Z2, Z3, Z16, Z17, Z18, Z19)
	T4(Z4, Z5, Z6, Z7, Z20, Z21, Z22, Z23)
	T4(Z8, Z9, Z10, Z11, Z24, Z25, Z26, Z27)
	T4(Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19)
	COLS(Z0, Z4, Z8, Z12, Z16, Z17, Z18, Z19)
	COLS(Z1, Z5, Z9, Z13, Z20, Z21, Z22, Z23)
	COLS(Z2, Z6, Z10, Z14, Z24, Z25, Z26, Z27)
	COLS(Z3, Z7, Z11, Z15, Z16, Z17, Z18, Z19)
	VXORPS  Z30, Z30, Z30
	VADDPS  Z0, Z30, Z30
	VADDPS  Z1, Z30, Z30
	VADDPS  Z2, Z30, Z30
	VADDPS  Z3, Z30, Z30
	VADDPS  Z4, Z30, Z30
	VADDPS  Z5, Z30, Z30
	VADDPS  Z6, Z30, Z30
	VADDPS  Z7, Z30, Z30
	VADDPS  Z8, Z30, Z30
	VADDPS  Z9, Z30, Z30
	VADDPS  Z10, Z30, Z30
	VADDPS  Z11, Z30, Z30
	VADDPS  Z12, Z30, Z30
	VADDPS  Z13, Z30, Z30
	VADDPS  Z14, Z30, Z30
	VADDPS  Z15, Z30, Z30
	VDIVPS  Z31, Z30, Z30
	VMOVUPS Z30, (DI)
	ADDQ    $64, DI
	ADDQ    $1024, SI
	DECQ    DX
	JMP     g16group

g16done:
	VZEROUPPER
	RET

// func globalPoolBwdAVX512(dx *float32, hw, planes int, dy *float32, area float32)
// For each plane p it sets the hw values of dx's plane p to dy[p]/area.
TEXT ·globalPoolBwdAVX512(SB), NOSPLIT, $0-36
	MOVQ  dx+0(FP), DI
	MOVQ  hw+8(FP), BX
	MOVQ  planes+16(FP), DX
	MOVQ  dy+24(FP), SI
	VMOVSS area+32(FP), X5
	TAILMASK(BX)

gbplane:
	TESTQ        DX, DX
	JEQ          gbdone
	VMOVSS       (SI), X0
	VDIVSS       X5, X0, X0
	VBROADCASTSS X0, Z0
	XORQ         AX, AX

gb16:
	LEAQ    16(AX), R9
	CMPQ    R9, BX
	JGT     gbtail
	VMOVUPS Z0, (DI)(AX*4)
	MOVQ    R9, AX
	JMP     gb16

gbtail:
	CMPQ    AX, BX
	JEQ     gbnext
	VMOVUPS Z0, K1, (DI)(AX*4)

gbnext:
	LEAQ (DI)(BX*4), DI
	ADDQ $4, SI
	DECQ DX
	JMP  gbplane

gbdone:
	VZEROUPPER
	RET

// Index tables of the three-way interleave of bnStats16AVX512: entry q of table j is
// (16j+q)/3, the plane whose c, sum(x-c) or sum((x-c)^2) lands at out[16j+q].
DATA bnIlv3<>+0(SB)/4, $0
DATA bnIlv3<>+4(SB)/4, $0
DATA bnIlv3<>+8(SB)/4, $0
DATA bnIlv3<>+12(SB)/4, $1
DATA bnIlv3<>+16(SB)/4, $1
DATA bnIlv3<>+20(SB)/4, $1
DATA bnIlv3<>+24(SB)/4, $2
DATA bnIlv3<>+28(SB)/4, $2
DATA bnIlv3<>+32(SB)/4, $2
DATA bnIlv3<>+36(SB)/4, $3
DATA bnIlv3<>+40(SB)/4, $3
DATA bnIlv3<>+44(SB)/4, $3
DATA bnIlv3<>+48(SB)/4, $4
DATA bnIlv3<>+52(SB)/4, $4
DATA bnIlv3<>+56(SB)/4, $4
DATA bnIlv3<>+60(SB)/4, $5
DATA bnIlv3<>+64(SB)/4, $5
DATA bnIlv3<>+68(SB)/4, $5
DATA bnIlv3<>+72(SB)/4, $6
DATA bnIlv3<>+76(SB)/4, $6
DATA bnIlv3<>+80(SB)/4, $6
DATA bnIlv3<>+84(SB)/4, $7
DATA bnIlv3<>+88(SB)/4, $7
DATA bnIlv3<>+92(SB)/4, $7
DATA bnIlv3<>+96(SB)/4, $8
DATA bnIlv3<>+100(SB)/4, $8
DATA bnIlv3<>+104(SB)/4, $8
DATA bnIlv3<>+108(SB)/4, $9
DATA bnIlv3<>+112(SB)/4, $9
DATA bnIlv3<>+116(SB)/4, $9
DATA bnIlv3<>+120(SB)/4, $10
DATA bnIlv3<>+124(SB)/4, $10
DATA bnIlv3<>+128(SB)/4, $10
DATA bnIlv3<>+132(SB)/4, $11
DATA bnIlv3<>+136(SB)/4, $11
DATA bnIlv3<>+140(SB)/4, $11
DATA bnIlv3<>+144(SB)/4, $12
DATA bnIlv3<>+148(SB)/4, $12
DATA bnIlv3<>+152(SB)/4, $12
DATA bnIlv3<>+156(SB)/4, $13
DATA bnIlv3<>+160(SB)/4, $13
DATA bnIlv3<>+164(SB)/4, $13
DATA bnIlv3<>+168(SB)/4, $14
DATA bnIlv3<>+172(SB)/4, $14
DATA bnIlv3<>+176(SB)/4, $14
DATA bnIlv3<>+180(SB)/4, $15
DATA bnIlv3<>+184(SB)/4, $15
DATA bnIlv3<>+188(SB)/4, $15
GLOBL bnIlv3<>(SB), RODATA|NOPTR, $192

// TREE16 adds the columns in r0 to r15 as HSUM adds the 16 lanes of one plane: column
// i and i+8 (then normalized by adding z, the zero vector, as the plane kernel's
// first additions to zero do to -0), then i and i+4, i and i+2, 0 and 1. The sum lands
// in a0; a0 to a7 are scratch.
#define TREE16(r0, r1, r2, r3, r4, r5, r6, r7, r8, r9, r10, r11, r12, r13, r14, r15, z, a0, a1, a2, a3, a4, a5, a6, a7) \
	VADDPS r8, r0, a0; \
	VADDPS r9, r1, a1; \
	VADDPS r10, r2, a2; \
	VADDPS r11, r3, a3; \
	VADDPS r12, r4, a4; \
	VADDPS r13, r5, a5; \
	VADDPS r14, r6, a6; \
	VADDPS r15, r7, a7; \
	VADDPS z, a0, a0; \
	VADDPS z, a1, a1; \
	VADDPS z, a2, a2; \
	VADDPS z, a3, a3; \
	VADDPS z, a4, a4; \
	VADDPS z, a5, a5; \
	VADDPS z, a6, a6; \
	VADDPS z, a7, a7; \
	VADDPS a4, a0, a0; \
	VADDPS a5, a1, a1; \
	VADDPS a6, a2, a2; \
	VADDPS a7, a3, a3; \
	VADDPS a2, a0, a0; \
	VADDPS a3, a1, a1; \
	VADDPS a1, a0, a0

// func bnStats16AVX512(x *float32, groups, stride int, out *float32)
// For each of groups groups of 16 planes of 16 values (plane starts stride bytes
// apart, a group's 16 planes after the last of the one before) it writes the same
// bits as bnStatsAVX512 with hw 16: the block is transposed so that lane p of column
// i holds value i of plane p, and the lanes of the plane kernel's HSUM become
// additions of whole columns, in the same order.
TEXT ·bnStats16AVX512(SB), NOSPLIT, $0-32
	MOVQ x+0(FP), SI
	MOVQ groups+8(FP), DX
	MOVQ stride+16(FP), R8
	MOVQ out+24(FP), DI
	LEAQ (R8)(R8*2), R9
	MOVL $0x9249, AX
	KMOVW AX, K2
	MOVL $0x2492, AX
	KMOVW AX, K3
	MOVL $0x4924, AX
	KMOVW AX, K4
	MOVL $0x41800000, AX // 16.0
	VPBROADCASTD AX, Z30

s16group:
	TESTQ   DX, DX
	JEQ     s16done
	MOVQ    SI, R10
	VMOVUPS (R10), Z0
	VMOVUPS (R10)(R8*1), Z1
	VMOVUPS (R10)(R8*2), Z2
	VMOVUPS (R10)(R9*1), Z3
	LEAQ    (R10)(R8*4), R10
	VMOVUPS (R10), Z4
	VMOVUPS (R10)(R8*1), Z5
	VMOVUPS (R10)(R8*2), Z6
	VMOVUPS (R10)(R9*1), Z7
	LEAQ    (R10)(R8*4), R10
	VMOVUPS (R10), Z8
	VMOVUPS (R10)(R8*1), Z9
	VMOVUPS (R10)(R8*2), Z10
	VMOVUPS (R10)(R9*1), Z11
	LEAQ    (R10)(R8*4), R10
	VMOVUPS (R10), Z12
	VMOVUPS (R10)(R8*1), Z13
	VMOVUPS (R10)(R8*2), Z14
	VMOVUPS (R10)(R9*1), Z15
	LEAQ    (R10)(R8*4), SI
	T4(Z0, Z1, Z2, Z3, Z16, Z17, Z18, Z19)
	T4(Z4, Z5, Z6, Z7, Z20, Z21, Z22, Z23)
	T4(Z8, Z9, Z10, Z11, Z24, Z25, Z26, Z27)
	T4(Z12, Z13, Z14, Z15, Z16, Z17, Z18, Z19)
	COLS(Z0, Z4, Z8, Z12, Z16, Z17, Z18, Z19)
	COLS(Z1, Z5, Z9, Z13, Z20, Z21, Z22, Z23)
	COLS(Z2, Z6, Z10, Z14, Z24, Z25, Z26, Z27)
	COLS(Z3, Z7, Z11, Z15, Z16, Z17, Z18, Z19)
	VXORPS  Z31, Z31, Z31

	// The mean of each plane, then each value's deviation from it.
	TREE16(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z31, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)
	VDIVPS Z30, Z16, Z29
	VSUBPS Z29, Z0, Z0
	VSUBPS Z29, Z1, Z1
	VSUBPS Z29, Z2, Z2
	VSUBPS Z29, Z3, Z3
	VSUBPS Z29, Z4, Z4
	VSUBPS Z29, Z5, Z5
	VSUBPS Z29, Z6, Z6
	VSUBPS Z29, Z7, Z7
	VSUBPS Z29, Z8, Z8
	VSUBPS Z29, Z9, Z9
	VSUBPS Z29, Z10, Z10
	VSUBPS Z29, Z11, Z11
	VSUBPS Z29, Z12, Z12
	VSUBPS Z29, Z13, Z13
	VSUBPS Z29, Z14, Z14
	VSUBPS Z29, Z15, Z15

	// sum(x-c) into Z16.
	TREE16(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z31, Z16, Z17, Z18, Z19, Z20, Z21, Z22, Z23)

	// sum((x-c)^2) into Z20: the squares in place (the plane kernel's FMA into zero
	// rounds the product once, as VMULPS does), then the same tree.
	VMULPS Z0, Z0, Z0
	VMULPS Z1, Z1, Z1
	VMULPS Z2, Z2, Z2
	VMULPS Z3, Z3, Z3
	VMULPS Z4, Z4, Z4
	VMULPS Z5, Z5, Z5
	VMULPS Z6, Z6, Z6
	VMULPS Z7, Z7, Z7
	VMULPS Z8, Z8, Z8
	VMULPS Z9, Z9, Z9
	VMULPS Z10, Z10, Z10
	VMULPS Z11, Z11, Z11
	VMULPS Z12, Z12, Z12
	VMULPS Z13, Z13, Z13
	VMULPS Z14, Z14, Z14
	VMULPS Z15, Z15, Z15
	TREE16(Z0, Z1, Z2, Z3, Z4, Z5, Z6, Z7, Z8, Z9, Z10, Z11, Z12, Z13, Z14, Z15, Z31, Z20, Z17, Z18, Z19, Z21, Z22, Z23, Z24)

	// Interleave c (Z29), sum(x-c) (Z16) and sum((x-c)^2) (Z20) into out, 3 per plane:
	// K2, K3 and K4 hold the positions q of a 16-value output with q%3 = 0, 1, 2.
	VMOVUPS bnIlv3<>+0(SB), Z25
	VMOVUPS bnIlv3<>+64(SB), Z26
	VMOVUPS bnIlv3<>+128(SB), Z27
	VPERMPS Z29, Z25, Z0
	VPERMPS Z16, Z25, K3, Z0
	VPERMPS Z20, Z25, K4, Z0
	VPERMPS Z29, Z26, Z1
	VPERMPS Z16, Z26, K2, Z1
	VPERMPS Z20, Z26, K3, Z1
	VPERMPS Z29, Z27, Z2
	VPERMPS Z16, Z27, K4, Z2
	VPERMPS Z20, Z27, K2, Z2
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	ADDQ    $192, DI
	DECQ    DX
	JMP     s16group

s16done:
	VZEROUPPER
	RET

// Index tables of bnCombineAVX512: positions 3j, 3j+1 and 3j+2 of 24 values.
DATA bnDil3<>+0(SB)/4, $0
DATA bnDil3<>+4(SB)/4, $3
DATA bnDil3<>+8(SB)/4, $6
DATA bnDil3<>+12(SB)/4, $9
DATA bnDil3<>+16(SB)/4, $12
DATA bnDil3<>+20(SB)/4, $15
DATA bnDil3<>+24(SB)/4, $18
DATA bnDil3<>+28(SB)/4, $21
DATA bnDil3<>+32(SB)/4, $1
DATA bnDil3<>+36(SB)/4, $4
DATA bnDil3<>+40(SB)/4, $7
DATA bnDil3<>+44(SB)/4, $10
DATA bnDil3<>+48(SB)/4, $13
DATA bnDil3<>+52(SB)/4, $16
DATA bnDil3<>+56(SB)/4, $19
DATA bnDil3<>+60(SB)/4, $22
DATA bnDil3<>+64(SB)/4, $2
DATA bnDil3<>+68(SB)/4, $5
DATA bnDil3<>+72(SB)/4, $8
DATA bnDil3<>+76(SB)/4, $11
DATA bnDil3<>+80(SB)/4, $14
DATA bnDil3<>+84(SB)/4, $17
DATA bnDil3<>+88(SB)/4, $20
DATA bnDil3<>+92(SB)/4, $23
GLOBL bnDil3<>(SB), RODATA|NOPTR, $96

// func bnCombineAVX512(st *float32, n int, h float64, s, q *float64)
// For each of n channels j, 8 at a time (n is a multiple of 8), with c, d, m =
// st[3j:3j+3] in float64, it sets s[j] += h*c + d and q[j] += m + c*(2*d + h*c): the
// float64 operations of combineStats, each rounded, in the same order.
TEXT ·bnCombineAVX512(SB), NOSPLIT, $0-40
	MOVQ         st+0(FP), SI
	MOVQ         n+8(FP), DX
	VBROADCASTSD h+16(FP), Z31
	MOVQ         s+24(FP), DI
	MOVQ         q+32(FP), R8
	VMOVUPS      bnDil3<>+0(SB), Y28
	VMOVUPS      bnDil3<>+32(SB), Y29
	VMOVUPS      bnDil3<>+64(SB), Y30
	MOVL         $0xff, AX
	KMOVW        AX, K1

cbloop:
	CMPQ        DX, $8
	JLT         cbdone
	VMOVUPS     (SI), Z0
	VMOVUPS.Z   64(SI), K1, Z1
	VMOVAPS     Z28, Z2
	VPERMI2PS   Z1, Z0, Z2
	VMOVAPS     Z29, Z3
	VPERMI2PS   Z1, Z0, Z3
	VMOVAPS     Z30, Z4
	VPERMI2PS   Z1, Z0, Z4
	VCVTPS2PD   Y2, Z2
	VCVTPS2PD   Y3, Z3
	VCVTPS2PD   Y4, Z4
	VMULPD      Z2, Z31, Z5
	VADDPD      Z3, Z5, Z6
	VADDPD      (DI), Z6, Z6
	VMOVUPD     Z6, (DI)
	VADDPD      Z3, Z3, Z7
	VADDPD      Z5, Z7, Z7
	VMULPD      Z7, Z2, Z7
	VADDPD      Z7, Z4, Z7
	VADDPD      (R8), Z7, Z7
	VMOVUPD     Z7, (R8)
	ADDQ        $96, SI
	ADDQ        $64, DI
	ADDQ        $64, R8
	SUBQ        $8, DX
	JMP         cbloop

cbdone:
	VZEROUPPER
	RET

// Index table of bnActBackReduce16AVX512's output: entry q of half j (16 entries
// each) picks for out[16j+q] the lane of plane p = 8j + q/2 in the trees' results
// (4*(p%4) + p/4, see RED4), from the sums for even q and, 16 further, from the dot
// products for odd q.
DATA bnIlv2<>+0(SB)/4, $0
DATA bnIlv2<>+4(SB)/4, $16
DATA bnIlv2<>+8(SB)/4, $4
DATA bnIlv2<>+12(SB)/4, $20
DATA bnIlv2<>+16(SB)/4, $8
DATA bnIlv2<>+20(SB)/4, $24
DATA bnIlv2<>+24(SB)/4, $12
DATA bnIlv2<>+28(SB)/4, $28
DATA bnIlv2<>+32(SB)/4, $1
DATA bnIlv2<>+36(SB)/4, $17
DATA bnIlv2<>+40(SB)/4, $5
DATA bnIlv2<>+44(SB)/4, $21
DATA bnIlv2<>+48(SB)/4, $9
DATA bnIlv2<>+52(SB)/4, $25
DATA bnIlv2<>+56(SB)/4, $13
DATA bnIlv2<>+60(SB)/4, $29
DATA bnIlv2<>+64(SB)/4, $2
DATA bnIlv2<>+68(SB)/4, $18
DATA bnIlv2<>+72(SB)/4, $6
DATA bnIlv2<>+76(SB)/4, $22
DATA bnIlv2<>+80(SB)/4, $10
DATA bnIlv2<>+84(SB)/4, $26
DATA bnIlv2<>+88(SB)/4, $14
DATA bnIlv2<>+92(SB)/4, $30
DATA bnIlv2<>+96(SB)/4, $3
DATA bnIlv2<>+100(SB)/4, $19
DATA bnIlv2<>+104(SB)/4, $7
DATA bnIlv2<>+108(SB)/4, $23
DATA bnIlv2<>+112(SB)/4, $11
DATA bnIlv2<>+116(SB)/4, $27
DATA bnIlv2<>+120(SB)/4, $15
DATA bnIlv2<>+124(SB)/4, $31
GLOBL bnIlv2<>(SB), RODATA|NOPTR, $128

// REDROW computes one plane of 16 values for bnActBackReduce16AVX512: its masked
// gradient gm into s and (x-mean)*gm into p, rounded once as the plane kernel's FMA
// into zero rounds it; then it moves the pointers to the next plane. K7 is all ones
// when nothing is masked. It uses Z16 to Z19 and K2.
#define REDROW(s, p) \
	VMOVUPS      (SI), Z16; \
	VBROADCASTSS (R11), Z17; \
	VBROADCASTSS (R12), Z18; \
	VMOVAPS      Z16, Z19; \
	VFMADD213PS  Z18, Z17, Z19; \
	VCMPPS       $0x1e, Z28, Z19, K2; \
	VCMPPS       $0x19, Z29, Z19, K2, K2; \
	KORW         K7, K2, K2; \
	VMOVUPS.Z    (DI), K2, s; \
	VBROADCASTSS (R13), Z17; \
	VSUBPS       Z17, Z16, Z16; \
	VMULPS       s, Z16, p; \
	ADDQ         $4, R11; \
	ADDQ         $4, R12; \
	ADDQ         $4, R13; \
	ADDQ         R8, SI; \
	ADDQ         R10, DI

// RED1 is HSUM's first step on two planes' vectors r0 and r1: lane i plus lane i+8
// of each (normalized by adding z, the zero vector, as the plane kernel's additions
// to zero do to -0), r0's 8 sums in the low half of a, r1's in the high half.
#define RED1(r0, r1, a, t, z) \
	VSHUFF32X4 $0x44, r1, r0, t; \
	VSHUFF32X4 $0xee, r1, r0, a; \
	VADDPS     a, t, a; \
	VADDPS     z, a, a

// RED2 is HSUM's second step (lane i plus i+4 of each 8) on two RED1 results: a
// holds, per 128-bit block, the 4 sums of planes 4m to 4m+3 (r0 held 4m and 4m+1).
#define RED2(r0, r1, a, t) \
	VSHUFF32X4 $0x88, r1, r0, t; \
	VSHUFF32X4 $0xdd, r1, r0, a; \
	VADDPS     a, t, a

// RED4 is HSUM's last two steps on four RED2 results r0 to r3 (planes 0-3, 4-7,
// 8-11, 12-15): lane i plus i+2, then lane 0 plus lane 1. Plane p's sum lands in lane
// 4*(p%4) + p/4 of a.
#define RED4(r0, r1, r2, r3, a, t, u) \
	VSHUFPS $0x44, r1, r0, t; \
	VSHUFPS $0xee, r1, r0, a; \
	VADDPS  a, t, t; \
	VSHUFPS $0x44, r3, r2, u; \
	VSHUFPS $0xee, r3, r2, a; \
	VADDPS  a, u, u; \
	VSHUFPS $0x88, u, t, a; \
	VSHUFPS $0xdd, u, t, u; \
	VADDPS  u, a, a

// REDPAIR computes two planes and their first step: sums into a, dot products
// into b.
#define REDPAIR(a, b) \
	REDROW(Z20, Z21); \
	REDROW(Z22, Z23); \
	RED1(Z20, Z22, a, Z24, Z30); \
	RED1(Z21, Z23, b, Z24, Z30)

// func bnActBackReduce16AVX512(x, dy *float32, groups, xstride, dystride int, a, b, mean *float32, lo, hi float32, mask bool, out *float32)
// For each of groups groups of 16 planes of 16 values it writes the same bits as
// bnActBackReduceAVX512 with hw 16: each plane's vectors are computed as there, and
// the 16 lanes of 16 planes are added in HSUM's order by whole-vector additions
// after shuffles that bring the lanes to be added together.
TEXT ·bnActBackReduce16AVX512(SB), NOSPLIT, $0-88
	MOVQ         x+0(FP), SI
	MOVQ         dy+8(FP), DI
	MOVQ         groups+16(FP), DX
	MOVQ         xstride+24(FP), R8
	MOVQ         dystride+32(FP), R10
	MOVQ         a+40(FP), R11
	MOVQ         b+48(FP), R12
	MOVQ         mean+56(FP), R13
	VBROADCASTSS lo+64(FP), Z28
	VBROADCASTSS hi+68(FP), Z29
	MOVBQZX      mask+72(FP), R15
	MOVQ         out+80(FP), R14
	XORL         AX, AX
	TESTQ        R15, R15
	JNE          r16mask
	MOVL         $0xffff, AX

r16mask:
	KMOVW  AX, K7
	VXORPS Z30, Z30, Z30

r16group:
	TESTQ DX, DX
	JEQ   r16done
	REDPAIR(Z0, Z8)
	REDPAIR(Z1, Z9)
	REDPAIR(Z2, Z10)
	REDPAIR(Z3, Z11)
	REDPAIR(Z4, Z12)
	REDPAIR(Z5, Z13)
	REDPAIR(Z6, Z14)
	REDPAIR(Z7, Z15)
	RED2(Z0, Z1, Z16, Z24)
	RED2(Z2, Z3, Z17, Z24)
	RED2(Z4, Z5, Z18, Z24)
	RED2(Z6, Z7, Z19, Z24)
	RED4(Z16, Z17, Z18, Z19, Z0, Z24, Z25)
	RED2(Z8, Z9, Z16, Z24)
	RED2(Z10, Z11, Z17, Z24)
	RED2(Z12, Z13, Z18, Z24)
	RED2(Z14, Z15, Z19, Z24)
	RED4(Z16, Z17, Z18, Z19, Z1, Z24, Z25)
	VMOVUPS   bnIlv2<>+0(SB), Z2
	VMOVUPS   bnIlv2<>+64(SB), Z3
	VPERMI2PS Z1, Z0, Z2
	VPERMI2PS Z1, Z0, Z3
	VMOVUPS   Z2, (R14)
	VMOVUPS   Z3, 64(R14)
	ADDQ      $128, R14
	DECQ      DX
	JMP       r16group

r16done:
	VZEROUPPER
	RET

// Index table that brings the lanes of an STREE result to plane order: entry p is
// 4*(p%4) + p/4, the lane where RED4 leaves plane p's sum.
DATA bnT4<>+0(SB)/4, $0
DATA bnT4<>+4(SB)/4, $4
DATA bnT4<>+8(SB)/4, $8
DATA bnT4<>+12(SB)/4, $12
DATA bnT4<>+16(SB)/4, $1
DATA bnT4<>+20(SB)/4, $5
DATA bnT4<>+24(SB)/4, $9
DATA bnT4<>+28(SB)/4, $13
DATA bnT4<>+32(SB)/4, $2
DATA bnT4<>+36(SB)/4, $6
DATA bnT4<>+40(SB)/4, $10
DATA bnT4<>+44(SB)/4, $14
DATA bnT4<>+48(SB)/4, $3
DATA bnT4<>+52(SB)/4, $7
DATA bnT4<>+56(SB)/4, $11
DATA bnT4<>+60(SB)/4, $15
GLOBL bnT4<>(SB), RODATA|NOPTR, $64

// RPAIR reduces the two accumulators at o1(base) and o2(base) with RED1 into acc
// (Z30 zero; uses Z16, Z17, Z24).
#define RPAIR(base, o1, o2, acc) \
	VMOVUPS o1(base), Z16; \
	VMOVUPS o2(base), Z17; \
	RED1(Z16, Z17, acc, Z24, Z30)

// STREE adds the lanes of each of the 16 vectors at base, base+64, ... (one plane's
// accumulator each) in HSUM's order, as RED1, RED2 and RED4 do, and leaves the sums
// in plane order in out. Z30 must be zero; it uses Z0 to Z7, Z16 to Z19, Z24, Z25.
#define STREE(base, out) \
	RPAIR(base, 0, 64, Z0); \
	RPAIR(base, 128, 192, Z1); \
	RPAIR(base, 256, 320, Z2); \
	RPAIR(base, 384, 448, Z3); \
	RPAIR(base, 512, 576, Z4); \
	RPAIR(base, 640, 704, Z5); \
	RPAIR(base, 768, 832, Z6); \
	RPAIR(base, 896, 960, Z7); \
	RED2(Z0, Z1, Z16, Z24); \
	RED2(Z2, Z3, Z17, Z24); \
	RED2(Z4, Z5, Z18, Z24); \
	RED2(Z6, Z7, Z19, Z24); \
	RED4(Z16, Z17, Z18, Z19, out, Z24, Z25); \
	VMOVUPS bnT4<>+0(SB), Z24; \
	VPERMPS out, Z24, out

// func bnStatsG16AVX512(x *float32, hw, groups, stride int, out *float32)
// For each of groups groups of 16 planes of hw values (plane starts stride bytes
// apart) it writes the same bits as bnStatsAVX512: each plane's sum and deviation
// vectors are accumulated as there and kept in the frame, and the lanes of the 16
// planes' vectors are added in HSUM's order by STREE. Frame: sum vectors, then
// deviation vectors
// at the frame's first 64-byte boundary and squares 1024 further, means 2048
// further.
TEXT ·bnStatsG16AVX512(SB), $2176-40
	MOVQ x+0(FP), SI
	MOVQ hw+8(FP), BX
	MOVQ groups+16(FP), DX
	MOVQ stride+24(FP), R8
	MOVQ out+32(FP), DI
	TAILMASK(BX)
	VCVTSI2SSQ   BX, X15, X15
	VBROADCASTSS X15, Z15
	VXORPS       Z30, Z30, Z30
	MOVL         $0x9249, AX
	KMOVW        AX, K2
	MOVL         $0x2492, AX
	KMOVW        AX, K3
	MOVL         $0x4924, AX
	KMOVW        AX, K4
	LEAQ         63(SP), R13
	ANDQ         $-64, R13

sggroup:
	TESTQ DX, DX
	JEQ   sgdone
	MOVQ  SI, R11
	XORQ  CX, CX

sgplane:
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	XORQ   AX, AX

sgsum32:
	LEAQ   32(AX), R9
	CMPQ   R9, BX
	JGT    sgsum16
	VADDPS (SI)(AX*4), Z0, Z0
	VADDPS 64(SI)(AX*4), Z1, Z1
	MOVQ   R9, AX
	JMP    sgsum32

sgsum16:
	LEAQ   16(AX), R9
	CMPQ   R9, BX
	JGT    sgsumtail
	VADDPS (SI)(AX*4), Z0, Z0
	MOVQ   R9, AX

sgsumtail:
	CMPQ      AX, BX
	JEQ       sgsumdone
	VMOVUPS.Z (SI)(AX*4), K1, Z2
	VADDPS    Z2, Z1, Z1

sgsumdone:
	VADDPS  Z1, Z0, Z0
	VMOVUPS Z0, (R13)(CX*1)
	ADDQ    R8, SI
	ADDQ    $64, CX
	CMPQ    CX, $1024
	JLT     sgplane

	// The 16 means, in plane order, at 2048.
	STREE(R13, Z10)
	VDIVPS  Z15, Z10, Z10
	VMOVUPS Z10, 2048(R13)
	MOVQ    R11, SI
	XORQ    CX, CX

sgdplane:
	MOVQ         CX, R12
	SHRQ         $4, R12
	VBROADCASTSS 2048(R13)(R12*1), Z3
	VXORPS       Z0, Z0, Z0
	VXORPS       Z1, Z1, Z1
	XORQ         AX, AX

sgdev16:
	LEAQ        16(AX), R9
	CMPQ        R9, BX
	JGT         sgdevtail
	VMOVUPS     (SI)(AX*4), Z4
	VSUBPS      Z3, Z4, Z4
	VADDPS      Z4, Z0, Z0
	VFMADD231PS Z4, Z4, Z1
	MOVQ        R9, AX
	JMP         sgdev16

sgdevtail:
	CMPQ        AX, BX
	JEQ         sgdevdone
	VMOVUPS.Z   (SI)(AX*4), K1, Z4
	VSUBPS.Z    Z3, Z4, K1, Z4
	VADDPS      Z4, Z0, Z0
	VFMADD231PS Z4, Z4, Z1

sgdevdone:
	VMOVUPS Z0, (R13)(CX*1)
	VMOVUPS Z1, 1024(R13)(CX*1)
	ADDQ    R8, SI
	ADDQ    $64, CX
	CMPQ    CX, $1024
	JLT     sgdplane

	STREE(R13, Z11)
	LEAQ    1024(R13), R9
	STREE(R9, Z12)
	VMOVUPS 2048(R13), Z10

	// Interleave c (Z10), sum(x-c) (Z11) and sum((x-c)^2) (Z12) into out, as
	// bnStats16AVX512 does.
	VMOVUPS bnIlv3<>+0(SB), Z25
	VMOVUPS bnIlv3<>+64(SB), Z26
	VMOVUPS bnIlv3<>+128(SB), Z27
	VPERMPS Z10, Z25, Z0
	VPERMPS Z11, Z25, K3, Z0
	VPERMPS Z12, Z25, K4, Z0
	VPERMPS Z10, Z26, Z1
	VPERMPS Z11, Z26, K2, Z1
	VPERMPS Z12, Z26, K3, Z1
	VPERMPS Z10, Z27, Z2
	VPERMPS Z11, Z27, K4, Z2
	VPERMPS Z12, Z27, K2, Z2
	VMOVUPS Z0, (DI)
	VMOVUPS Z1, 64(DI)
	VMOVUPS Z2, 128(DI)
	ADDQ    $192, DI
	DECQ    DX
	JMP     sggroup

sgdone:
	VZEROUPPER
	RET

// func streamAVX512(dst, src *float32, n int)
// It copies n values (a multiple of 16) from src to dst, which is 64-byte aligned,
// with non-temporal stores, and fences them.
TEXT ·streamAVX512(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), BX
	XORQ AX, AX

st64:
	LEAQ     64(AX), R9
	CMPQ     R9, BX
	JGT      st16
	VMOVUPS  (SI)(AX*4), Z0
	VMOVUPS  64(SI)(AX*4), Z1
	VMOVUPS  128(SI)(AX*4), Z2
	VMOVUPS  192(SI)(AX*4), Z3
	VMOVNTPS Z0, (DI)(AX*4)
	VMOVNTPS Z1, 64(DI)(AX*4)
	VMOVNTPS Z2, 128(DI)(AX*4)
	VMOVNTPS Z3, 192(DI)(AX*4)
	MOVQ     R9, AX
	JMP      st64

st16:
	LEAQ     16(AX), R9
	CMPQ     R9, BX
	JGT      stdone16
	VMOVUPS  (SI)(AX*4), Z0
	VMOVNTPS Z0, (DI)(AX*4)
	MOVQ     R9, AX
	JMP      st16

stdone16:
	SFENCE
	VZEROUPPER
	RET

// Index table of bnAddPairsAVX512: the even positions of 16 values, then the odd.
DATA bnEvenOdd<>+0(SB)/4, $0
DATA bnEvenOdd<>+4(SB)/4, $2
DATA bnEvenOdd<>+8(SB)/4, $4
DATA bnEvenOdd<>+12(SB)/4, $6
DATA bnEvenOdd<>+16(SB)/4, $8
DATA bnEvenOdd<>+20(SB)/4, $10
DATA bnEvenOdd<>+24(SB)/4, $12
DATA bnEvenOdd<>+28(SB)/4, $14
DATA bnEvenOdd<>+32(SB)/4, $1
DATA bnEvenOdd<>+36(SB)/4, $3
DATA bnEvenOdd<>+40(SB)/4, $5
DATA bnEvenOdd<>+44(SB)/4, $7
DATA bnEvenOdd<>+48(SB)/4, $9
DATA bnEvenOdd<>+52(SB)/4, $11
DATA bnEvenOdd<>+56(SB)/4, $13
DATA bnEvenOdd<>+60(SB)/4, $15
GLOBL bnEvenOdd<>(SB), RODATA|NOPTR, $64

// func bnAddPairsAVX512(r *float32, n int, s, d *float64)
// For each j < n, 8 at a time (n is a multiple of 8), it adds r[2j] to s[j] and
// r[2j+1] to d[j] in float64, as addPairs does.
TEXT ·bnAddPairsAVX512(SB), NOSPLIT, $0-32
	MOVQ    r+0(FP), SI
	MOVQ    n+8(FP), DX
	MOVQ    s+16(FP), DI
	MOVQ    d+24(FP), R8
	VMOVUPS bnEvenOdd<>+0(SB), Z30

aploop:
	CMPQ          DX, $8
	JLT           apdone
	VPERMPS       (SI), Z30, Z0
	VCVTPS2PD     Y0, Z1
	VEXTRACTF32X8 $1, Z0, Y2
	VCVTPS2PD     Y2, Z2
	VADDPD        (DI), Z1, Z1
	VMOVUPD       Z1, (DI)
	VADDPD        (R8), Z2, Z2
	VMOVUPD       Z2, (R8)
	ADDQ          $64, SI
	ADDQ          $64, DI
	ADDQ          $64, R8
	SUBQ          $8, DX
	JMP           aploop

apdone:
	VZEROUPPER
	RET

// func copyPlanesAVX512(dst *float32, dstPitch int, src *float32, srcPitch, count, hw int)
// It copies count runs of hw values, srcPitch values apart from src, to runs dstPitch
// values apart from dst: 16 values per move, the last n%16 masked.
TEXT ·copyPlanesAVX512(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ dstPitch+8(FP), R10
	MOVQ src+16(FP), SI
	MOVQ srcPitch+24(FP), R11
	MOVQ count+32(FP), DX
	MOVQ hw+40(FP), BX
	TAILMASK(BX)
	SHLQ $2, R10
	SHLQ $2, R11
	MOVQ BX, R8
	ANDQ $-16, R8

cpplane:
	TESTQ DX, DX
	JEQ   cpdone
	XORQ  AX, AX

cp16:
	CMPQ    AX, R8
	JGE     cptail
	VMOVUPS (SI)(AX*4), Z0
	VMOVUPS Z0, (DI)(AX*4)
	ADDQ    $16, AX
	JMP     cp16

cptail:
	CMPQ      AX, BX
	JEQ       cpnext
	VMOVUPS.Z (SI)(AX*4), K1, Z0
	VMOVUPS   Z0, K1, (DI)(AX*4)

cpnext:
	ADDQ R10, DI
	ADDQ R11, SI
	DECQ DX
	JMP  cpplane

cpdone:
	VZEROUPPER
	RET
