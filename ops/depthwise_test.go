package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"nas/ops/internal/dwconv"
)

// pathTol is the tolerance between two kernels for the same convolution: both sum
// in float32 in different orders (and the assembly fuses multiply-adds), a few ulps
// per term over at most a few hundred terms, as for fixtureTol.
const pathTol = 1e-4

// runPath runs cfg on x with the given kernel forced and returns y, dx, dweight and
// dbias (nil without bias).
func runPath(t *testing.T, cfg ConvConfig, path convPath, w, b []float32, xs Shape, n int) [4][]float32 {
	t.Helper()
	l, err := NewConv2D(cfg)
	if err != nil {
		t.Fatal(err)
	}
	l.force = path
	copy(l.Weight().Value.Float32s(), w)
	if cfg.Bias {
		copy(l.Bias().Value.Float32s(), b)
	}
	x := randTensor(11, n, xs)
	out, err := l.OutShape(xs)
	if err != nil {
		t.Fatal(err)
	}
	dy := randTensor(12, n, out)
	y, dx := runLayer(t, l, x, dy)
	r := [4][]float32{y.Float32s(), dx.Float32s(), clone(l.Weight().Grad).Float32s(), nil}
	if cfg.Bias {
		r[3] = clone(l.Bias().Grad).Float32s()
	}
	return r
}

func maxScaledDiff(got, want []float32) (float64, int) {
	worst, at := 0.0, -1
	for i := range want {
		d := float64(got[i]) - float64(want[i])
		if d < 0 {
			d = -d
		}
		s := float64(want[i])
		if s < 0 {
			s = -s
		}
		if d /= 1 + s; d > worst || d != d {
			worst, at = d, i
		}
	}
	return worst, at
}

// TestConvPathsMatchIm2col compares every specialised kernel with the general
// im2col + Sgemm path on random shapes: the flat depthwise kernels (in assembly
// where the CPU has it, and as the Go twin), the direct depthwise loops, and the
// pointwise 1x1 kernels (Sgemm or flat by channel count, and flat forced).
func TestConvPathsMatchIm2col(t *testing.T) {
	type pathCase struct {
		path convPath
		twin bool // run the flat kernels' pure-Go twins
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var cases []struct {
		cfg   ConvConfig
		in    Shape
		n     int
		paths []pathCase
	}
	add := func(cfg ConvConfig, in Shape, n int, paths ...pathCase) {
		cases = append(cases, struct {
			cfg   ConvConfig
			in    Shape
			n     int
			paths []pathCase
		}{cfg, in, n, paths})
	}
	flat := []pathCase{{pathFlat, false}, {pathFlat, true}, {pathDirect, false}}
	for i := 0; i < 40; i++ {
		k := []int{1, 3, 5, 7, 9}[rng.IntN(5)]
		s := 1 + rng.IntN(2)
		c := 1 + rng.IntN(4)
		mult := 1 + rng.IntN(3)
		in := Shape{c, k/2 + 1 + rng.IntN(20), k/2 + 1 + rng.IntN(20)}
		cfg := sameConv(c, c*mult, k, s, c)
		cfg.Bias = rng.IntN(2) == 0
		add(cfg, in, 1+rng.IntN(3), flat...)
	}
	for i := 0; i < 20; i++ {
		// Depthwise configs outside the flat kernels: any stride, dilation, padding.
		c := 1 + rng.IntN(3)
		cfg := ConvConfig{In: c, Out: c * (1 + rng.IntN(2)), KH: 1 + rng.IntN(5), KW: 1 + rng.IntN(5),
			StrideH: 1 + rng.IntN(3), StrideW: 1 + rng.IntN(3), PadH: rng.IntN(3), PadW: rng.IntN(3),
			DilH: 1 + rng.IntN(2), DilW: 1 + rng.IntN(2), Groups: c, Bias: rng.IntN(2) == 0}
		in := Shape{c, 9 + rng.IntN(8), 9 + rng.IntN(8)}
		paths := []pathCase{{pathDirect, false}}
		if flatApplies(cfg, in) {
			paths = flat
		}
		add(cfg, in, 1+rng.IntN(3), paths...)
	}
	// Padding past the kernel's reach on a 1-wide input: some taps have no column
	// inside the plane (colRange's empty range).
	add(ConvConfig{In: 2, Out: 2, KH: 1, KW: 6, PadW: 3, Groups: 2, StrideH: 1, StrideW: 1, DilH: 1, DilW: 1},
		Shape{2, 3, 1}, 2, pathCase{pathDirect, false})
	for i := 0; i < 20; i++ {
		g := []int{1, 2, 3, 4, 8}[rng.IntN(5)]
		cfg := ConvConfig{In: g * (1 + rng.IntN(12)), Out: g * (1 + rng.IntN(12)), KH: 1, KW: 1, Groups: g, Bias: rng.IntN(2) == 0}
		add(cfg, Shape{cfg.In, 1 + rng.IntN(15), 1 + rng.IntN(15)}, 1+rng.IntN(4), pathCase{pathPointwise, false},
			pathCase{pathPointwiseFlat, false}, pathCase{pathPointwiseFlat, true})
	}
	for i, tc := range cases {
		nw := tc.cfg.Out * tc.cfg.In / max(tc.cfg.Groups, 1) * tc.cfg.KH * tc.cfg.KW
		w, b := make([]float32, nw), make([]float32, tc.cfg.Out)
		for j := range w {
			w[j] = float32(rng.NormFloat64())
		}
		for j := range b {
			b[j] = float32(rng.NormFloat64())
		}
		want := runPath(t, tc.cfg, pathIm2col, w, b, tc.in, tc.n)
		for _, p := range tc.paths {
			name := fmt.Sprintf("case %d path %d twin %v: conv %+v on %d x %v", i, p.path, p.twin, tc.cfg, tc.n, tc.in)
			old := dwconv.SetAccelerated(!p.twin && dwconv.Accelerated())
			got := runPath(t, tc.cfg, p.path, w, b, tc.in, tc.n)
			dwconv.SetAccelerated(old)
			for j, what := range []string{"y", "dx", "dweight", "dbias"} {
				if want[j] == nil {
					continue
				}
				if d, at := maxScaledDiff(got[j], want[j]); d > pathTol {
					t.Errorf("%s: %s[%d] = %v, im2col gives %v (scaled error %.3g > %.3g)", name, what, at, got[j][at], want[j][at], d, pathTol)
				}
			}
		}
	}
}

// TestConvPathFor checks which kernel each kind of convolution gets.
func TestConvPathFor(t *testing.T) {
	flat := pathDirect
	if dwconv.Accelerated() {
		flat = pathFlat
	}
	tests := []struct {
		cfg  ConvConfig
		in   Shape
		want convPath
	}{
		{sameConv(8, 8, 3, 1, 8), Shape{8, 14, 14}, flat},
		{sameConv(8, 16, 5, 2, 8), Shape{8, 7, 7}, flat},
		{sameConv(1, 16, 3, 1, 1), Shape{1, 28, 28}, flat}, // the stem: depthwise with multiplier 16
		{ConvConfig{In: 8, Out: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, Groups: 8}, Shape{8, 9, 9}, pathDirect},
		{sameConv(8, 8, 3, 3, 8), Shape{8, 9, 9}, pathDirect},
		{sameConv(16, 32, 1, 1, 4), Shape{16, 7, 7}, pathPointwise},
		{sameConv(16, 32, 1, 2, 4), Shape{16, 7, 7}, pathIm2col},
		{sameConv(16, 32, 3, 1, 2), Shape{16, 7, 7}, pathIm2col},
	}
	for _, tt := range tests {
		l, err := NewConv2D(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.pathFor(tt.in); got != tt.want {
			t.Errorf("pathFor(%+v, %v) = %d, want %d", tt.cfg, tt.in, got, tt.want)
		}
	}
}

// TestFlatNoDX checks the flat depthwise kernels with noDX set (the first layer of a
// training step, input_grad.go): the weight and bias gradients must equal those of
// a full Backward bit for bit, and the input-gradient buffer must be left as it was
// (filled with NaN beforehand), which shows that the input-gradient work was skipped.
// Shapes: the reference stem (stride 1, multiplier 16, 49 blocks of 16 values), a
// multiplier-2 5x5 stride-1 layer with bias, a one-block plane, and stride 2 both
// straight from x and dy (S2Plan, width 14) and through the phase planes (width 16);
// in assembly where the CPU has it and with the Go twins.
func TestFlatNoDX(t *testing.T) {
	tests := []struct {
		name string
		cfg  ConvConfig
		in   Shape
	}{
		{"stem", sameConv(1, 16, 3, 1, 1), Shape{1, 28, 28}},
		{"mult2 5x5 bias", ConvConfig{In: 3, Out: 6, KH: 5, KW: 5, PadH: 2, PadW: 2, Groups: 3, Bias: true}, Shape{3, 9, 11}},
		{"one block", sameConv(4, 4, 3, 1, 4), Shape{4, 4, 4}},
		{"s2 direct", ConvConfig{In: 4, Out: 8, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1, Groups: 4, Bias: true}, Shape{4, 14, 14}},
		{"s2 phases", sameConv(2, 4, 3, 2, 2), Shape{2, 16, 16}},
	}
	modes := []bool{false}
	if dwconv.Accelerated() {
		modes = append(modes, true)
	}
	for _, asm := range modes {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s asm=%v", tt.name, asm), func(t *testing.T) {
				old := dwconv.SetAccelerated(asm)
				defer dwconv.SetAccelerated(old)
				rng := rand.New(rand.NewPCG(41, 42))
				mk := func() *Conv2D {
					l, err := NewConv2D(tt.cfg)
					if err != nil {
						t.Fatal(err)
					}
					l.Init(rand.New(rand.NewPCG(43, 44)))
					if tt.cfg.Bias {
						for i := range l.Bias().Value.Float32s() {
							l.Bias().Value.Float32s()[i] = rng.Float32() - 0.5
						}
					}
					l.force = pathFlat
					return l
				}
				full, skip := mk(), mk()
				const n = 5 // several samples per worker and both workers
				x := randTensor(45, n, tt.in)
				out, err := full.OutShape(tt.in)
				if err != nil {
					t.Fatal(err)
				}
				dy := randTensor(46, n, out)
				step := func(l *Conv2D) []float32 {
					ZeroGrad(l)
					if _, err := l.Forward(x); err != nil {
						t.Fatal(err)
					}
					dx, err := l.Backward(dy)
					if err != nil {
						t.Fatal(err)
					}
					return dx.Float32s()
				}
				step(full)
				dx := step(skip)
				for i := range dx {
					dx[i] = float32(math.NaN())
				}
				skip.noDX = true
				got := step(skip)
				for i, v := range got {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("input gradient [%d] = %v after a noDX Backward, want it left as it was (NaN)", i, v)
					}
				}
				for i, p := range full.Params() {
					want, got := p.Grad.Float32s(), skip.Params()[i].Grad.Float32s()
					for j := range want {
						if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
							t.Fatalf("parameter %d [%d] = %v with noDX, want %v (full Backward)", i, j, got[j], want[j])
						}
					}
				}
			})
		}
	}
}
