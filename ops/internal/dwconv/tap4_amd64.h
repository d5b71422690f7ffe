// TAP4LOAD loads the four store masks at R13 into K1 to K4 and, with them, the four
// input vectors at SI+4*AX (address left in R14) into Z4 to Z7: the start of a tap
// over a group of four 16-value blocks, shared by the forward and backward kernels.
#define TAP4LOAD \
	KMOVW 0(R13), K1; \
	KMOVW 2(R13), K2; \
	KMOVW 4(R13), K3; \
	KMOVW 6(R13), K4; \
	LEAQ (SI)(AX*4), R14; \
	VMOVUPS.Z 0(R14), K1, Z4; \
	VMOVUPS.Z 64(R14), K2, Z5; \
	VMOVUPS.Z 128(R14), K3, Z6; \
	VMOVUPS.Z 192(R14), K4, Z7
