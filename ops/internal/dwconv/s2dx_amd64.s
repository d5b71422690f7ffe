#include "textflag.h"

// The input-gradient kernel of S2Plan (see s2dx.go for the tables it reads).

// DTAP permutes A||B (Z2||Z3) by kernel column n's indices at R13, zeroing the
// lanes outside its mask at R14, and multiplies the result by the column's weight
// of this kernel row (at R15) into acc.
#define DTAP(n, acc) \
	KMOVW   (n*2)(R14), K4; \
	VMOVUPS (n*64)(R13), Z4; \
	VPERMI2PS.Z Z3, Z2, K4, Z4; \
	VFMADD231PS.BCST (n*4)(R15), Z4, acc

// VSETUP points R13 at the first index row and R14 at the first column mask of the
// phase of the dx vector at R8 (idx names the kernel's index argument) and loads
// its entry count into BX, jumping to none when it has none.
#define VSETUP(idx, none) \
	MOVLQSX 4(R8), AX; \
	MOVQ    AX, R13; \
	SHLQ    $6, R13; \
	ADDQ    idx+40(FP), R13; \
	MOVQ    km+48(FP), R14; \
	LEAQ    (R14)(AX*2), R14; \
	MOVLQSX 0(R8), BX; \
	TESTQ   BX, BX; \
	JZ      none

// ELOAD reads the entry at R9: its kernel row's weights into R15 and the dy vectors
// A and B into Z2 and Z3, and moves R9 to the next entry.
#define ELOAD \
	MOVLQSX 0(R9), AX; \
	LEAQ    (R12)(AX*1), R15; \
	MOVLQSX 4(R9), AX; \
	KMOVW   12(R9), K1; \
	VMOVUPS.Z (SI)(AX*4), K1, Z2; \
	MOVLQSX 8(R9), AX; \
	KMOVW   14(R9), K2; \
	VMOVUPS.Z (SI)(AX*4), K2, Z3; \
	ADDQ    $16, R9

// NEXTPLANE moves the dy, dx and weight arguments to the next plane, counts the
// plane done and jumps back to top.
#define NEXTPLANE(top) \
	MOVQ dyStride+80(FP), AX; \
	ADDQ AX, dy+0(FP); \
	MOVQ dxStride+88(FP), AX; \
	ADDQ AX, dx+8(FP); \
	MOVQ wStride+96(FP), AX; \
	ADDQ AX, w+16(FP); \
	DECQ count+72(FP); \
	JMP  top

// ACCUM loads the dx offset (bytes) and store mask of the vector at R8 into AX and
// K3 and, when accumulating, adds the values there to Z10; put follows it, where
// the caller stores Z10.
#define ACCUM(put) \
	MOVLQSX 8(R8), AX; \
	KMOVW   12(R8), K3; \
	CMPB    accumulate+104(FP), $0; \
	JEQ     put; \
	VMOVUPS.Z (DI)(AX*1), K3, Z5; \
	VADDPS  Z10, Z5, Z10

// func s2dxAVX512(dy, dx, w *float32, vec, ent, idx *int32, km *uint16, kw, vecs, count, dyStride, dxStride, wStride int, accumulate bool)
// The plane strides are in bytes; kw is at most 9.
TEXT ·s2dxAVX512(SB), NOSPLIT, $0-105
xplane:
	CMPQ count+72(FP), $0
	JLE  xdone
	MOVQ dy+0(FP), SI
	MOVQ dx+8(FP), DI
	MOVQ w+16(FP), R12
	MOVQ vec+24(FP), R8
	MOVQ ent+32(FP), R9
	MOVQ vecs+64(FP), CX
	MOVQ kw+56(FP), DX

xvec:
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VSETUP(idx, xsum)

xent:
	ELOAD
	DTAP(0, Z10)
	CMPQ DX, $1
	JEQ  xentend
	DTAP(1, Z11)
	CMPQ DX, $2
	JEQ  xentend
	DTAP(2, Z12)
	CMPQ DX, $3
	JEQ  xentend
	DTAP(3, Z13)
	CMPQ DX, $4
	JEQ  xentend
	DTAP(4, Z14)
	CMPQ DX, $5
	JEQ  xentend
	DTAP(5, Z15)
	CMPQ DX, $6
	JEQ  xentend
	DTAP(6, Z16)
	CMPQ DX, $7
	JEQ  xentend
	DTAP(7, Z17)
	CMPQ DX, $8
	JEQ  xentend
	DTAP(8, Z18)

xentend:
	DECQ BX
	JNZ  xent

xsum:
	CMPQ DX, $1
	JEQ  xstore
	VADDPS Z11, Z10, Z10
	CMPQ DX, $2
	JEQ  xstore
	VADDPS Z12, Z10, Z10
	CMPQ DX, $3
	JEQ  xstore
	VADDPS Z13, Z10, Z10
	CMPQ DX, $4
	JEQ  xstore
	VADDPS Z14, Z10, Z10
	CMPQ DX, $5
	JEQ  xstore
	VADDPS Z15, Z10, Z10
	CMPQ DX, $6
	JEQ  xstore
	VADDPS Z16, Z10, Z10
	CMPQ DX, $7
	JEQ  xstore
	VADDPS Z17, Z10, Z10
	CMPQ DX, $8
	JEQ  xstore
	VADDPS Z18, Z10, Z10

xstore:
	ACCUM(xput)

xput:
	VMOVUPS Z10, K3, (DI)(AX*1)
	ADDQ    $16, R8
	DECQ    CX
	JNZ     xvec

	NEXTPLANE(xplane)

xdone:
	VZEROUPPER
	RET

// PPERM permutes A||B (Z2||Z3) by column pair s's indices at idx into z; PHALF
// adds kernel column n's weight of this kernel row (at R15) times z into acc on the
// lanes of its mask at mask (the other lanes keep their value).
#define PPERM(s, idx, z) \
	VMOVUPS (s*64)(idx), z; \
	VPERMI2PS Z3, Z2, z

#define PHALF(n, mask, z, acc) \
	KMOVW (n*2)(mask), K4; \
	VFMADD231PS.BCST (n*4)(R15), z, K4, acc

// PCOLS runs the kw (DX) kernel columns of one entry through column pairs with
// indices at idx and masks at mask, permuting into z, pair s accumulating into
// accumulator s of a0-a4, and jumps to end after the last column.
#define PCOLS(idx, mask, z, a0, a1, a2, a3, a4, end) \
	PPERM(0, idx, z); \
	PHALF(0, mask, z, a0); \
	CMPQ DX, $1; \
	JEQ  end; \
	PHALF(1, mask, z, a0); \
	CMPQ DX, $2; \
	JEQ  end; \
	PPERM(1, idx, z); \
	PHALF(2, mask, z, a1); \
	CMPQ DX, $3; \
	JEQ  end; \
	PHALF(3, mask, z, a1); \
	CMPQ DX, $4; \
	JEQ  end; \
	PPERM(2, idx, z); \
	PHALF(4, mask, z, a2); \
	CMPQ DX, $5; \
	JEQ  end; \
	PHALF(5, mask, z, a2); \
	CMPQ DX, $6; \
	JEQ  end; \
	PPERM(3, idx, z); \
	PHALF(6, mask, z, a3); \
	CMPQ DX, $7; \
	JEQ  end; \
	PHALF(7, mask, z, a3); \
	CMPQ DX, $8; \
	JEQ  end; \
	PPERM(4, idx, z); \
	PHALF(8, mask, z, a4)

// func s2dxPairAVX512(dy, dx, w *float32, vec, ent, pidx *int32, km *uint16, kw, vecs, count, dyStride, dxStride, wStride int, accumulate bool)
// The input gradient of S2Plan when dilW is odd: kernel columns 2s and 2s+1 share
// one permutation and accumulator Z10+s. The plane strides are in bytes; kw is at
// most 9.
TEXT ·s2dxPairAVX512(SB), NOSPLIT, $0-105
pplane:
	CMPQ count+72(FP), $0
	JLE  pdone
	MOVQ dy+0(FP), SI
	MOVQ dx+8(FP), DI
	MOVQ w+16(FP), R12
	MOVQ vec+24(FP), R8
	MOVQ ent+32(FP), R9
	MOVQ vecs+64(FP), CX
	MOVQ kw+56(FP), DX

pvec:
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VSETUP(pidx, psum)

pent:
	ELOAD
	PCOLS(R13, R14, Z4, Z10, Z11, Z12, Z13, Z14, pentend)

pentend:
	DECQ BX
	JNZ  pent

psum:
	CMPQ DX, $2
	JLE  pstore
	VADDPS Z11, Z10, Z10
	CMPQ DX, $4
	JLE  pstore
	VADDPS Z12, Z10, Z10
	CMPQ DX, $6
	JLE  pstore
	VADDPS Z13, Z10, Z10
	CMPQ DX, $8
	JLE  pstore
	VADDPS Z14, Z10, Z10

pstore:
	ACCUM(pput)

pput:
	VMOVUPS Z10, K3, (DI)(AX*1)
	ADDQ    $16, R8
	DECQ    CX
	JNZ     pvec

	NEXTPLANE(pplane)

pdone:
	VZEROUPPER
	RET

// func s2dxPair2AVX512(dy, dx, w *float32, vec, ent, pidx *int32, km *uint16, kw, vecs, count, dyStride, dxStride, wStride int, accumulate bool)
// s2dxPairAVX512 for planes wider than 16 (one input row is two vectors, phases 0
// and 1, with the same entries and only A loaded): both halves of a row at once,
// each output-gradient row loaded once for both, each half summing as
// s2dxPairAVX512 does (Z10-Z14 the left half, Z15-Z19 the right one). vecs is even.
TEXT ·s2dxPair2AVX512(SB), NOSPLIT, $0-105
qplane:
	CMPQ count+72(FP), $0
	JLE  qdone
	MOVQ dy+0(FP), SI
	MOVQ dx+8(FP), DI
	MOVQ w+16(FP), R12
	MOVQ vec+24(FP), R8
	MOVQ ent+32(FP), R9
	MOVQ vecs+64(FP), CX
	SHRQ $1, CX
	MOVQ kw+56(FP), DX
	MOVQ pidx+40(FP), R13
	MOVQ DX, AX
	SHLQ $6, AX
	LEAQ (R13)(AX*1), R10 // phase 1's pair indices
	MOVQ km+48(FP), R14
	LEAQ (R14)(DX*2), R11 // phase 1's column masks
	VPXORD Z3, Z3, Z3     // B: never indexed, the indices stay below 16

qvec:
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15
	VPXORD Z16, Z16, Z16
	VPXORD Z17, Z17, Z17
	VPXORD Z18, Z18, Z18
	VPXORD Z19, Z19, Z19
	MOVLQSX 0(R8), BX // entries, the same for both halves
	TESTQ   BX, BX
	JZ      qsum

qent:
	MOVLQSX 0(R9), AX
	LEAQ    (R12)(AX*1), R15
	MOVLQSX 4(R9), AX
	KMOVW   12(R9), K1
	VMOVUPS.Z (SI)(AX*4), K1, Z2
	ADDQ    $16, R9
	PCOLS(R13, R14, Z4, Z10, Z11, Z12, Z13, Z14, qhalf1)

qhalf1:
	PCOLS(R10, R11, Z5, Z15, Z16, Z17, Z18, Z19, qentend)

qentend:
	DECQ BX
	JNZ  qent
	MOVLQSX 0(R8), AX // skip the right half's copy of the entries
	SHLQ    $4, AX
	ADDQ    AX, R9

qsum:
	CMPQ DX, $2
	JLE  qstore
	VADDPS Z11, Z10, Z10
	VADDPS Z16, Z15, Z15
	CMPQ DX, $4
	JLE  qstore
	VADDPS Z12, Z10, Z10
	VADDPS Z17, Z15, Z15
	CMPQ DX, $6
	JLE  qstore
	VADDPS Z13, Z10, Z10
	VADDPS Z18, Z15, Z15
	CMPQ DX, $8
	JLE  qstore
	VADDPS Z14, Z10, Z10
	VADDPS Z19, Z15, Z15

qstore:
	MOVLQSX 8(R8), AX // dx offsets in bytes
	MOVLQSX 24(R8), BX
	KMOVW   12(R8), K3
	KMOVW   28(R8), K2
	CMPB    accumulate+104(FP), $0
	JEQ     qput
	VMOVUPS.Z (DI)(AX*1), K3, Z6
	VADDPS  Z10, Z6, Z10
	VMOVUPS.Z (DI)(BX*1), K2, Z7
	VADDPS  Z15, Z7, Z15

qput:
	VMOVUPS Z10, K3, (DI)(AX*1)
	VMOVUPS Z15, K2, (DI)(BX*1)
	ADDQ    $32, R8
	DECQ    CX
	JNZ     qvec

	NEXTPLANE(qplane)

qdone:
	VZEROUPPER
	RET
