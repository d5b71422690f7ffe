package ops

import "testing"

// TestWeightBits checks WeightBits on networks counted by hand.
func TestWeightBits(t *testing.T) {
	mustConv := func(l *Conv2D, err error) *Conv2D {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	mustDS := func(c DSConvConfig) *DSConv {
		l, err := NewDSConv(c)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	mustLinear := func(l *Linear, err error) *Linear {
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		name string
		l    Layer
		want int64
	}{
		// 3->8 3x3 with bias: 8*3*9 + 8 = 224 floats.
		{"conv", mustConv(Conv(3, 8, 3, 1, 1, true)), 224 * 32},
		// Batch norm: gamma and beta, 2*16 floats; running statistics are not parameters.
		{"batch norm", NewBatchNorm2D(16), 32 * 32},
		// A layer without parameters stores nothing.
		{"relu", NewReLU(), 0},
		// DSConv 8->16 3x3, 4 bits in blocks of 3 (ceil(8/3) = 3 blocks), with CDS:
		// 16*8*9 = 1,152 weights at 4 bits, 16*3*9 = 432 shifts and 16 CDS at 32.
		{"dsconv", mustDS(DSConvConfig{ConvConfig: ConvConfig{In: 8, Out: 16, KH: 3, KW: 3, PadH: 1, PadW: 1},
			BlockSize: 3, CDS: true}), 1152*4 + (432+16)*32},
		// A network of the conv, batch norm of 8 (512 bits), the DSConv (18,944 bits),
		// batch norm of 16 (1,024 bits) and a 16->10 linear layer with bias (170
		// floats): 7,168 + 512 + 18,944 + 1,024 + 5,440 = 33,088 bits.
		{"network", Seq(mustConv(Conv(3, 8, 3, 1, 1, true)), NewBatchNorm2D(8), NewReLU(),
			mustDS(DSConvConfig{ConvConfig: ConvConfig{In: 8, Out: 16, KH: 3, KW: 3, PadH: 1, PadW: 1},
				BlockSize: 3, CDS: true}),
			NewBatchNorm2D(16), NewGlobalAvgPool(), mustLinear(NewLinear(16, 10, true))),
			7168 + 8*2*32 + 18944 + 16*2*32 + 170*32},
	}
	for _, tt := range tests {
		if got := WeightBits(tt.l); got != tt.want {
			t.Errorf("WeightBits(%s) = %d, want %d", tt.name, got, tt.want)
		}
	}
}
