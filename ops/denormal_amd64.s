#include "textflag.h"

// func flushDenormals() uint32
TEXT ·flushDenormals(SB), NOSPLIT, $8-4
	STMXCSR old-8(SP)
	MOVL    old-8(SP), AX
	MOVL    AX, ret+0(FP)
	ORL     $0x8040, AX
	MOVL    AX, new-4(SP)
	LDMXCSR new-4(SP)
	RET

// func restoreMXCSR(v uint32)
TEXT ·restoreMXCSR(SB), NOSPLIT, $0-4
	LDMXCSR v+0(FP)
	RET
