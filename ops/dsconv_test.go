package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

func dsconvFromFixture(t *testing.T, f *fixture) DSConvConfig {
	k, s, p := f.int(t, "kh"), f.int(t, "stride"), f.int(t, "pad")
	return DSConvConfig{
		ConvConfig: ConvConfig{In: f.int(t, "cin"), Out: f.int(t, "cout"), KH: k, KW: f.int(t, "kw"),
			StrideH: s, StrideW: s, PadH: p, PadW: p, Groups: f.int(t, "groups"),
			Bias: f.int(t, "bias") == 1},
		Bits: f.int(t, "bits"), BlockSize: f.int(t, "block"), CDS: f.int(t, "cds") == 1,
	}
}

// TestDSConvMatchesPyTorch compares the integers, shifts and reconstructed weights,
// the output and every gradient with the PyTorch re-implementation in
// testdata/gen/gen_dsconv.py.
func TestDSConvMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "dsconv_") {
		t.Run(f.name, func(t *testing.T) {
			cfg := dsconvFromFixture(t, f)
			mk := func() Layer {
				l, err := NewDSConv(cfg)
				if err != nil {
					t.Fatal(err)
				}
				copyInto(t, l.Weight().Value, f.tensor(t, "weight"))
				if cfg.Bias {
					copyInto(t, l.Bias().Value, f.tensor(t, "bias"))
				}
				if cfg.CDS {
					copyInto(t, l.CDS().Value, f.tensor(t, "cds"))
				}
				return l
			}
			l := mk().(*DSConv)
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			y, dx := runLayer(t, l, x, dy)

			// The integers must match exactly: both sides scale and round in float32
			// with round-half-to-even, so any difference is a different rule.
			q, kds := l.Quantize()
			wantQ := f.tensor(t, "q").Float32s()
			for i, v := range q {
				if float32(v) != wantQ[i] {
					t.Fatalf("q[%d] = %d, want %v", i, v, wantQ[i])
				}
			}
			assertClose(t, "kds", tensor.New(tensor.WithShape(len(kds)), tensor.WithBacking(kds)), f.tensor(t, "kds"), fixtureTol)
			assertClose(t, "wq", l.Dequantized(), f.tensor(t, "wq"), fixtureTol)
			assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
			assertClose(t, "dweight", l.Weight().Grad, f.tensor(t, "dweight"), fixtureTol)
			if cfg.Bias {
				assertClose(t, "dbias", l.Bias().Grad, f.tensor(t, "dbias"), fixtureTol)
			}
			if cfg.CDS {
				assertClose(t, "dcds", l.CDS().Grad, f.tensor(t, "dcds"), fixtureTol)
			}
			checkLayerContract(t, mk, x, dy)
		})
	}
}

// TestQuantizeBlock checks blocks quantised by hand with the rule of the reference's
// Quantizer.py.
func TestQuantizeBlock(t *testing.T) {
	tests := []struct {
		name  string
		v     []float32
		bits  int
		q     []int8
		alpha float64
	}{
		// The example block of Quantizer.py's __main__, at its 4 bits: m = 1, so the
		// scale is -8/1 and q = rint(-8v); alpha = sum(v*q)/sum(q*q) = -17.7/139.
		{"reference example", []float32{0.3, 0.1, 0.4, -0.5, -.3, -.4, -.5, -.5, 1}, 4,
			[]int8{-2, -1, -3, 4, 2, 3, 4, 4, -8}, -17.7 / 139},
		// A negative extreme keeps its sign: m = -2, scale -8/-2 = 4, q = rint(4v).
		{"negative extreme", []float32{-2, 0.3, 1.1}, 4, []int8{-8, 1, 4}, (-2*-8 + 0.3*1 + 1.1*4) / 81.0},
		// 2 bits: -0.9 scales to 1.8, rounds to 2 and is clamped to 1, the largest
		// 2-bit value; alpha = (1*-2 + -0.9*1)/(4+1).
		{"clamped", []float32{1, -0.9}, 2, []int8{-2, 1}, -2.9 / 5},
		// A tie of magnitudes picks the minimum (|max| > |min| is false): m = -1,
		// scale 8, and 1 scales to 8, clamped to 7; alpha = (8 + 7)/(64 + 49).
		{"tie", []float32{-1, 1}, 4, []int8{-8, 7}, 15.0 / 113},
		// Half-way values round to even: scale -8/-4 = 2, 0.25*2 = 0.5 -> 0, 0.75*2 = 1.5 -> 2.
		{"half to even", []float32{-4, 0.25, 0.75}, 4, []int8{-8, 0, 2}, (32 + 1.5) / 68.0},
		// A block of one value is exact: q = -2^(b-1), alpha = v/q.
		{"single", []float32{0.37}, 8, []int8{-128}, 0.37 / -128},
		{"zeros", []float32{0, 0, 0}, 4, []int8{0, 0, 0}, 0},
	}
	for _, tt := range tests {
		q := make([]int8, len(tt.v))
		alpha := quantizeBlock(tt.v, q, 1, tt.bits)
		// The float64 sums of alpha are exact to float32 rounding, 2^-24 relative.
		if !slices.Equal(q, tt.q) || math.Abs(float64(alpha)-tt.alpha) > 0x1p-23*math.Abs(tt.alpha) {
			t.Errorf("%s: quantizeBlock(%v, %d bits) = %v, %v; want %v, %v", tt.name, tt.v, tt.bits, q, alpha, tt.q, tt.alpha)
		}
	}
}

// TestDSConvQuantizationError checks on random weights that every integer fits in
// its bits and that more bits reconstruct the weights more closely.
func TestDSConvQuantizationError(t *testing.T) {
	var prev float64 = math.Inf(1)
	for _, bits := range []int{2, 3, 4, 6, 8} {
		l, err := NewDSConv(DSConvConfig{ConvConfig: ConvConfig{In: 20, Out: 8, KH: 3, KW: 3}, Bits: bits, BlockSize: 6})
		if err != nil {
			t.Fatal(err)
		}
		Init(l, rand.New(rand.NewPCG(7, 0)))
		q, _ := l.Quantize()
		lo, hi := -(1 << (bits - 1)), 1<<(bits-1)-1
		for i, v := range q {
			if int(v) < lo || int(v) > hi {
				t.Fatalf("%d bits: q[%d] = %d outside [%d, %d]", bits, i, v, lo, hi)
			}
		}
		var e, n float64
		wq := l.Dequantized().Float32s()
		for i, w := range l.Weight().Value.Float32s() {
			d := float64(w - wq[i])
			e, n = e+d*d, n+float64(w)*float64(w)
		}
		rel := math.Sqrt(e / n)
		if rel >= prev {
			t.Errorf("%d bits: relative reconstruction error %.4g, not below %.4g of fewer bits", bits, rel, prev)
		}
		prev = rel
	}
}

// TestDSConvCost checks Cost and StorageBits on cases counted by hand.
func TestDSConvCost(t *testing.T) {
	tests := []struct {
		cfg                DSConvConfig
		in                 Shape
		macs, params, bits int64
	}{
		// ResNet's 3x3 64->128 at 28x28, 4 bits in blocks of 32: 28*28*128*64*9 =
		// 57,802,752 MACs; 73,728 weights * 4 bits + 128*2*9 = 2,304 shifts * 32 bits.
		{DSConvConfig{ConvConfig: ConvConfig{In: 64, Out: 128, KH: 3, KW: 3, PadH: 1, PadW: 1}},
			Shape{64, 28, 28}, 57802752, 73728, 294912 + 73728},
		// 1x1 256->64 with bias, 3 bits in blocks of 128: 7*7*64*256 = 802,816 MACs;
		// 16,384 weights * 3 + (64*2 shifts + 64 biases) * 32.
		{DSConvConfig{ConvConfig: ConvConfig{In: 256, Out: 64, KH: 1, KW: 1, Bias: true}, Bits: 3, BlockSize: 128},
			Shape{256, 7, 7}, 802816, 16384 + 64, 49152 + 4096 + 2048},
		// Grouped 12->6 in 2 groups, 2 bits in blocks of 4 (6 channels a group: 2
		// blocks), bias and CDS, stride 2 on 6x5: 3*3*6*6*9 = 2,916 MACs; 324 weights
		// * 2 + (6*2*9 shifts + 6 biases + 6 CDS) * 32.
		{DSConvConfig{ConvConfig: ConvConfig{In: 12, Out: 6, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1,
			Groups: 2, Bias: true}, Bits: 2, BlockSize: 4, CDS: true},
			Shape{12, 6, 5}, 2916, 324 + 6 + 6, 648 + 3456 + 192 + 192},
	}
	for _, tt := range tests {
		l, err := NewDSConv(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := l.Cost(tt.in)
		if c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("DSConv(%+v).Cost(%v) = %+v, want MACs %d params %d", tt.cfg, tt.in, c, tt.macs, tt.params)
		}
		var n int64
		for _, p := range l.Params() {
			n += int64(p.Size())
		}
		if n != c.Params {
			t.Errorf("DSConv(%+v): parameter tensors hold %d values, Cost says %d", tt.cfg, n, c.Params)
		}
		if got := l.StorageBits(); got != tt.bits {
			t.Errorf("DSConv(%+v).StorageBits() = %d, want %d", tt.cfg, got, tt.bits)
		}
	}
}

func TestDSConvErrors(t *testing.T) {
	bad := []DSConvConfig{
		{ConvConfig: ConvConfig{In: 4, Out: 4, KH: 3, KW: 3}, Bits: 1},
		{ConvConfig: ConvConfig{In: 4, Out: 4, KH: 3, KW: 3}, Bits: 9},
		{ConvConfig: ConvConfig{In: 4, Out: 4, KH: 3, KW: 3}, BlockSize: -1},
		{ConvConfig: ConvConfig{In: 6, Out: 4, KH: 3, KW: 3, Groups: 4}},
	}
	for _, c := range bad {
		if _, err := NewDSConv(c); err == nil {
			t.Errorf("NewDSConv(%+v) succeeded, want an error", c)
		}
	}
	l, err := NewDSConv(DSConvConfig{ConvConfig: ConvConfig{In: 4, Out: 4, KH: 3, KW: 3, PadH: 1, PadW: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if c := l.Config(); c.Bits != 4 || c.BlockSize != 32 || c.Groups != 1 || c.StrideH != 1 {
		t.Errorf("defaults: %+v, want 4 bits, blocks of 32, 1 group, stride 1", c)
	}
	if _, err := l.Forward(randTensor(1, 1, Shape{3, 8, 8})); err == nil {
		t.Errorf("dsconv with 4 input channels accepted 3")
	}
}

// FuzzQuantizeBlock checks the quantiser's invariants on arbitrary finite blocks:
// every integer fits in its bits, the value of largest magnitude maps to -2^(b-1),
// and the shift is the least-squares one, so the residual v - alpha*q is orthogonal
// to q and no larger than v itself.
func FuzzQuantizeBlock(f *testing.F) {
	f.Add([]byte{0, 0, 128, 63, 0, 0, 0, 191, 205, 204, 76, 62}, uint8(4)) // 1, -0.5, 0.2
	f.Add([]byte{0, 0, 128, 191, 0, 0, 128, 63}, uint8(2))                 // -1, 1: a tie
	f.Fuzz(func(t *testing.T, raw []byte, b uint8) {
		bits := 2 + int(b)%7
		v := make([]float32, 0, len(raw)/4)
		for i := 0; i+4 <= len(raw) && len(v) < 64; i += 4 {
			x := math.Float32frombits(uint32(raw[i]) | uint32(raw[i+1])<<8 | uint32(raw[i+2])<<16 | uint32(raw[i+3])<<24)
			// Finite values of moderate range: squares and products stay finite and
			// normal in float64, and the scale -2^(b-1)/m stays finite in float32.
			if math.IsNaN(float64(x)) || math.Abs(float64(x)) > 1e30 || (x != 0 && math.Abs(float64(x)) < 1e-30) {
				continue
			}
			v = append(v, x)
		}
		if len(v) == 0 {
			return
		}
		q := make([]int8, len(v))
		alpha := float64(quantizeBlock(v, q, 1, bits))
		lo, hi := -(1 << (bits - 1)), 1<<(bits-1)-1
		var vv, rq, rr, qq float64
		mag := 0.0
		for i, x := range v {
			if int(q[i]) < lo || int(q[i]) > hi {
				t.Fatalf("quantizeBlock(%v, %d bits): q[%d] = %d outside [%d, %d]", v, bits, i, q[i], lo, hi)
			}
			mag = max(mag, math.Abs(float64(x)))
			r := float64(x) - alpha*float64(q[i])
			vv, rq, rr, qq = vv+float64(x)*float64(x), rq+r*float64(q[i]), rr+r*r, qq+float64(q[i])*float64(q[i])
		}
		if mag == 0 {
			if alpha != 0 || qq != 0 {
				t.Fatalf("quantizeBlock(%v) of zeros = %v, %v; want zeros", v, q, alpha)
			}
			return
		}
		if !slices.Contains(q, int8(lo)) {
			t.Fatalf("quantizeBlock(%v, %d bits) = %v: no value at %d", v, bits, q, lo)
		}
		// alpha is rounded to float32, so the normal equations hold to about 2^-24
		// relative, and the residual exceeds the least-squares one by a similar amount;
		// 1e-6 leaves room for the float64 sums over up to 64 values.
		if math.Abs(rq) > 1e-6*math.Sqrt(vv*qq) || rr > vv*(1+1e-6) {
			t.Fatalf("quantizeBlock(%v, %d bits) = %v, %v: residual.q = %g, |residual|^2 = %g, |v|^2 = %g",
				v, bits, q, alpha, rq, rr, vv)
		}
	})
}

// TestDSConvSteadyStateAllocs checks that quantising in the loop allocates nothing
// beyond what the Conv2D underneath allocates per step.
func TestDSConvSteadyStateAllocs(t *testing.T) {
	if raceEnabled() {
		// Under the race detector sync.Pool drops gemm's packing buffers on purpose,
		// and DSConv makes more gemm calls per step than the plain convolution.
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items)")
	}
	cfg := ConvConfig{In: 12, Out: 8, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 2}
	ds, err := NewDSConv(DSConvConfig{ConvConfig: cfg, BlockSize: 4, CDS: true})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := NewConv2D(cfg)
	if err != nil {
		t.Fatal(err)
	}
	x := randTensor(3, 2, Shape{12, 6, 6})
	dy := randTensor(4, 2, Shape{8, 6, 6})
	step := func(l Layer) func() {
		return func() {
			if _, err := l.Forward(x); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Backward(dy); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := testing.AllocsPerRun(10, step(conv))
	if got := testing.AllocsPerRun(10, step(ds)); got > want {
		t.Errorf("DSConv step: %v allocations, want at most Conv2D's %v", got, want)
	}
}
