// MASKS4 loads the four store masks of a group of four 16-value blocks at m into K1
// to K4.
#define MASKS4(m) \
	KMOVW 0(m), K1; \
	KMOVW 2(m), K2; \
	KMOVW 4(m), K3; \
	KMOVW 6(m), K4

// TAP4LOAD loads the four store masks at R13 into K1 to K4 and, with them, the four
// input vectors at SI+4*AX (address left in R14) into Z4 to Z7: the start of a tap
// over a group of four 16-value blocks, shared by the forward and backward kernels.
#define TAP4LOAD \
	MASKS4(R13); \
	LEAQ (SI)(AX*4), R14; \
	VMOVUPS.Z 0(R14), K1, Z4; \
	VMOVUPS.Z 64(R14), K2, Z5; \
	VMOVUPS.Z 128(R14), K3, Z6; \
	VMOVUPS.Z 192(R14), K4, Z7

// ADD4DST adds the group's four blocks at DI, masked by K1 to K4, to Z0 to Z3, and
// PUT4DST stores Z0 to Z3 there: the end of a group of four in the kernels that
// accumulate into their output.
#define ADD4DST \
	VADDPS 0(DI), Z0, K1, Z0; \
	VADDPS 64(DI), Z1, K2, Z1; \
	VADDPS 128(DI), Z2, K3, Z2; \
	VADDPS 192(DI), Z3, K4, Z3

#define PUT4DST \
	VMOVUPS Z0, K1, 0(DI); \
	VMOVUPS Z1, K2, 64(DI); \
	VMOVUPS Z2, K3, 128(DI); \
	VMOVUPS Z3, K4, 192(DI)
