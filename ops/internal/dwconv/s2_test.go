package dwconv

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// s2Naive is the definition of a stride-2 depthwise convolution of one plane and of
// its weight gradient for the output gradient dy.
func s2Naive(h, w, oh, ow, kh, kw, ph, pw, dh, dw int, x, wt []float32, bias float32, dy []float32) (y, gw []float32) {
	y, gw = make([]float32, oh*ow), make([]float32, kh*kw)
	for r := 0; r < oh; r++ {
		for c := 0; c < ow; c++ {
			v := bias
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					ir, ic := 2*r+i*dh-ph, 2*c+j*dw-pw
					if ir >= 0 && ir < h && ic >= 0 && ic < w {
						v += wt[i*kw+j] * x[ir*w+ic]
						gw[i*kw+j] += dy[r*ow+c] * x[ir*w+ic]
					}
				}
			}
			y[r*ow+c] = v
		}
	}
	return y, gw
}

// s2Shape is one stride-2 convolution of an h x w plane to oh x ow by a kh x kw
// kernel with padding ph, pw and dilation dh, dw.
type s2Shape struct{ h, w, oh, ow, kh, kw, ph, pw, dh, dw int }

// String names the shape in test messages.
func (s s2Shape) String() string {
	return fmt.Sprintf("%dx%d k%dx%d pad %d,%d dil %d,%d", s.h, s.w, s.kh, s.kw, s.ph, s.pw, s.dh, s.dw)
}

// s2Draw says how drawS2 draws a random shape: width in [minW, maxW], height in
// [1, maxH], a kernel of 1 to kh rows and 1 to kw columns (exactly kh x kw when
// fixedK), row dilation 1 or 2, column dilation 1 or 2 (1 or 3 when oddDW), and
// any padding up to the kernel's dilated extent less one.
type s2Draw struct {
	minW, maxW, maxH int
	kh, kw           int
	fixedK, oddDW    bool
}

// drawS2 draws one shape as d says and makes its plan; ok is false, with no plan,
// for a width S2Applies rejects (checked before anything else is drawn) or a
// shape with no output or more than 16 output columns, which S2Plan does not take.
func drawS2(t *testing.T, rng *rand.Rand, d s2Draw) (s s2Shape, p *S2Plan, ok bool) {
	t.Helper()
	s.w = d.minW + rng.IntN(d.maxW-d.minW+1)
	if !S2Applies(s.w) {
		return s, nil, false
	}
	s.h = 1 + rng.IntN(d.maxH)
	s.kh, s.kw = d.kh, d.kw
	if !d.fixedK {
		s.kh, s.kw = 1+rng.IntN(d.kh), 1+rng.IntN(d.kw)
	}
	s.dh, s.dw = 1+rng.IntN(2), 1+rng.IntN(2)
	if d.oddDW {
		s.dw = 2*s.dw - 1
	}
	s.ph, s.pw = rng.IntN(s.dh*(s.kh-1)+1), rng.IntN(s.dw*(s.kw-1)+1)
	s.oh, s.ow = (s.h+2*s.ph-s.dh*(s.kh-1)-1)/2+1, (s.w+2*s.pw-s.dw*(s.kw-1)-1)/2+1
	if s.oh <= 0 || s.ow <= 0 || s.ow > 16 {
		return s, nil, false
	}
	p, err := NewS2Plan(s.h, s.w, s.oh, s.ow, s.kh, s.kw, s.ph, s.pw, s.dh, s.dw)
	if err != nil {
		t.Fatalf("%v: %v", s, err)
	}
	return s, p, true
}

// s2Convs runs ConvPlanes of each plan over the same random input, weights, biases
// and starting output (with one value of guard after the last plane) for the given
// number of planes of shape s, and returns the outputs in the plans' order.
func s2Convs(rng *rand.Rand, s s2Shape, planes int, plans ...*S2Plan) [][]float32 {
	x := randSlice(rng, planes*s.h*s.w)
	wt := randSlice(rng, planes*s.kh*s.kw)
	bias := randSlice(rng, planes)
	st := Strides{Count: planes, Dst: s.oh * s.ow, Src: s.h * s.w, W: s.kh * s.kw, B: 1}
	start := randSlice(rng, planes*s.oh*s.ow+1)
	outs := make([][]float32, len(plans))
	for i, p := range plans {
		outs[i] = append([]float32(nil), start...)
		p.ConvPlanes(outs[i], x, wt, bias, st)
	}
	return outs
}

// s2WeightGrads runs WeightGradPlanes of each plan over the same random input,
// output gradient and starting partial sums (which it adds to, with one value of
// guard after the last plane) for the given number of planes of shape s, and
// returns the partial sums in the plans' order.
func s2WeightGrads(rng *rand.Rand, s s2Shape, planes int, plans ...*S2Plan) [][]float32 {
	x := randSlice(rng, planes*s.h*s.w)
	dy := randSlice(rng, planes*s.oh*s.ow)
	st := Strides{Count: planes, Dst: s.oh * s.ow, Src: s.h * s.w, W: 16 * s.kh * s.kw}
	start := randSlice(rng, planes*16*s.kh*s.kw+1)
	outs := make([][]float32, len(plans))
	for i, p := range plans {
		outs[i] = append([]float32(nil), start...)
		p.WeightGradPlanes(outs[i], x, dy, st)
	}
	return outs
}

func TestS2PlanMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	modes := asmModes()
	ran := 0
	for trial := 0; trial < 300; trial++ {
		sh, p, ok := drawS2(t, rng, s2Draw{minW: 1, maxW: 31, maxH: 20, kh: 9, kw: 9})
		if !ok {
			continue
		}
		ran++
		h, w, oh, ow, kh, kw := sh.h, sh.w, sh.oh, sh.ow, sh.kh, sh.kw
		name := sh.String()
		const planes = 3
		x := randSlice(rng, planes*h*w)
		wt := randSlice(rng, planes*kh*kw)
		bias := randSlice(rng, planes)
		dy := randSlice(rng, planes*oh*ow)
		for _, asm := range modes {
			withAsm(asm, func() {
				// One value of guard after the last plane's output must survive.
				got := randSlice(rng, planes*oh*ow+1)
				guard := got[planes*oh*ow]
				p.ConvPlanes(got, x, wt, bias, Strides{Count: planes, Dst: oh * ow, Src: h * w, W: kh * kw, B: 1})
				dwv := make([]float32, planes*16*kh*kw)
				for i := range dwv {
					dwv[i] = 1 // WeightGradPlanes adds to what is there
				}
				p.WeightGradPlanes(dwv, x, dy, Strides{Count: planes, Dst: oh * ow, Src: h * w, W: 16 * kh * kw})
				if got[planes*oh*ow] != guard {
					t.Errorf("%s asm=%v: wrote past the last plane", name, asm)
				}
				for j := 0; j < planes; j++ {
					wantY, wantG := s2Naive(h, w, oh, ow, kh, kw, sh.ph, sh.pw, sh.dh, sh.dw,
						x[j*h*w:], wt[j*kh*kw:], bias[j], dy[j*oh*ow:])
					for i, v := range wantY {
						if g := got[j*oh*ow+i]; !close32(g, v) {
							t.Fatalf("%s asm=%v: plane %d y[%d] = %g, want %g", name, asm, j, i, g, v)
						}
					}
					for i, v := range wantG {
						var g float32
						for l := 0; l < 16; l++ {
							g += dwv[j*16*kh*kw+16*i+l] - 1
						}
						if !close32(g, v) {
							t.Fatalf("%s asm=%v: plane %d dw[%d] = %g, want %g", name, asm, j, i, g, v)
						}
					}
				}
			})
		}
	}
	// Most random shapes qualify (232 of 300 with this seed); a change that
	// skipped them all would otherwise pass silently.
	if ran < 100 {
		t.Fatalf("only %d of 300 random shapes ran", ran)
	}
}

// TestS2TwinMatchesAsm checks that the Go twin and the assembly agree to rounding on
// the reference network's stride-2 shapes.
func TestS2TwinMatchesAsm(t *testing.T) {
	if !Accelerated() {
		t.Skip("no AVX-512: the twin is the only kernel")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct{ hw, k int }{{28, 3}, {14, 3}, {14, 5}, {7, 3}, {9, 7}, {31, 9}} {
		o, pad := (c.hw+1)/2, c.k/2
		p, err := NewS2Plan(c.hw, c.hw, o, o, c.k, c.k, pad, pad, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		x, wt, dy := randSlice(rng, c.hw*c.hw), randSlice(rng, c.k*c.k), randSlice(rng, o*o)
		var ys [2][]float32
		var gs [2][]float32
		for i, asm := range []bool{false, true} {
			withAsm(asm, func() {
				ys[i], gs[i] = make([]float32, o*o), make([]float32, 16*c.k*c.k)
				p.ConvPlanes(ys[i], x, wt, []float32{0.5}, Strides{Count: 1})
				p.WeightGradPlanes(gs[i], x, dy, Strides{Count: 1})
			})
		}
		for i := range ys[0] {
			if !close32(ys[1][i], ys[0][i]) {
				t.Errorf("HW%d k%d: asm y[%d] = %g, twin %g", c.hw, c.k, i, ys[1][i], ys[0][i])
			}
		}
		for i := range gs[0] {
			if !close32(gs[1][i], gs[0][i]) {
				t.Errorf("HW%d k%d: asm dw partial [%d] = %g, twin %g", c.hw, c.k, i, gs[1][i], gs[0][i])
			}
		}
	}
}

// TestS2ConvPairsMatchSingle checks that the forward kernel that takes vectors two
// at a time (sharing the input rows of a pair) gives the one-vector kernel's
// results bit for bit, over random shapes with one output row per vector (planes
// wider than 16) and row dilation 1 or 2, odd and even counts of rows.
func TestS2ConvPairsMatchSingle(t *testing.T) {
	if !Accelerated() {
		t.Skip("no AVX-512: the pairs are an assembly kernel only")
	}
	rng := rand.New(rand.NewPCG(15, 16))
	ran := 0
	for trial := 0; trial < 300; trial++ {
		sh, p, ok := drawS2(t, rng, s2Draw{minW: 17, maxW: 31, maxH: 20, kh: 9, kw: 9})
		if !ok {
			continue
		}
		if p.shift == 0 {
			if sh.kh >= 2/sh.dh {
				t.Fatalf("%v: no vector pairs", sh)
			}
			continue
		}
		ran++
		single := *p
		single.shift = 0
		ys := s2Convs(rng, sh, 3, p, &single)
		sameBits(t, sh.String(), "pairs y", ys[0], ys[1], "one vector at a time")
	}
	// Most random shapes qualify (kernels of one row at dilation 1 do not); a
	// change that skipped them all would otherwise pass silently.
	if ran < 100 {
		t.Fatalf("only %d of 300 random shapes ran", ran)
	}
}

// TestS2WeightGradPairsMatchSingle checks that the weight-gradient kernel that takes
// kernel rows k and k+2/dilH together (sharing each input row's permutations) gives
// the one-row kernel's partial sums bit for bit, over random shapes with one output
// row per vector (planes wider than 16), row dilation 1 or 2, kernels of 1 to 6
// columns, and odd and even counts of vectors and kernel rows.
func TestS2WeightGradPairsMatchSingle(t *testing.T) {
	if !Accelerated() {
		t.Skip("no AVX-512: the row pairs are an assembly kernel only")
	}
	rng := rand.New(rand.NewPCG(17, 18))
	ran := 0
	for trial := 0; trial < 400; trial++ {
		sh, p, ok := drawS2(t, rng, s2Draw{minW: 17, maxW: 31, maxH: 24, kh: 9, kw: maxS2W2KW})
		if !ok {
			continue
		}
		if p.wpairs == nil {
			if sh.kh > 2/sh.dh {
				t.Fatalf("%v: no kernel row pairs", sh)
			}
			continue
		}
		ran++
		single := *p
		single.wpairs = nil
		gs := s2WeightGrads(rng, sh, 3, p, &single)
		sameBits(t, sh.String(), "row pairs dwv", gs[0], gs[1], "one row at a time")
	}
	// Most random shapes qualify (kernels with no row k+2/dilH do not); a change
	// that skipped them all would otherwise pass silently.
	if ran < 100 {
		t.Fatalf("only %d of 400 random shapes ran", ran)
	}
}

// TestS2WeightGrad33MatchesRows checks that the 3x3 weight-gradient kernel that
// takes all three kernel rows in one pass gives the partial sums of the kernels it
// replaces bit for bit: the row-pair kernel (with the one-row kernel for the row
// left over) where the plan has row pairs, and the one-row kernel everywhere. The
// random shapes cover one and two output rows per vector, row and column dilation 1
// or 2, odd and even counts of vectors, and several planes per call.
func TestS2WeightGrad33MatchesRows(t *testing.T) {
	if !Accelerated() {
		t.Skip("no AVX-512: the one-pass kernel is assembly only")
	}
	rng := rand.New(rand.NewPCG(19, 20))
	ran, pairs, twoRows := 0, 0, 0
	for trial := 0; trial < 500; trial++ {
		sh, p, ok := drawS2(t, rng, s2Draw{minW: 1, maxW: 31, maxH: 31, kh: 3, kw: 3, fixedK: true})
		if !ok {
			continue
		}
		if !p.w33 {
			t.Fatalf("%v: the 3x3 plan does not take the one-pass kernel", sh)
		}
		ran++
		if p.wpairs != nil {
			pairs++
		}
		if p.g == 2 {
			twoRows++
		}
		rowPairs := *p
		rowPairs.w33 = false
		oneRow := rowPairs
		oneRow.wpairs = nil
		planes := 1 + rng.IntN(4)
		gs := s2WeightGrads(rng, sh, planes, p, &rowPairs, &oneRow)
		name := fmt.Sprintf("%v, %d planes", sh, planes)
		sameBits(t, name, "one pass dwv", gs[0], gs[1], "row pairs")
		sameBits(t, name, "one pass dwv", gs[0], gs[2], "one row at a time")
	}
	// Both layouts and the row-pair plans must be among the shapes that ran; a
	// change that skipped them would otherwise pass silently.
	if ran < 200 || pairs < 50 || twoRows < 50 {
		t.Fatalf("only %d of 500 random shapes ran (%d with row pairs, %d with two output rows per vector)", ran, pairs, twoRows)
	}
}
