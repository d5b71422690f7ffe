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

func TestS2PlanMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	modes := []bool{false}
	if Accelerated() {
		modes = append(modes, true)
	}
	ran := 0
	for trial := 0; trial < 300; trial++ {
		w := 1 + rng.IntN(31)
		if !S2Applies(w) {
			continue
		}
		h := 1 + rng.IntN(20)
		kh, kw := 1+rng.IntN(9), 1+rng.IntN(9)
		dh, dw := 1+rng.IntN(2), 1+rng.IntN(2)
		ph, pw := rng.IntN(dh*(kh-1)+1), rng.IntN(dw*(kw-1)+1)
		oh, ow := (h+2*ph-dh*(kh-1)-1)/2+1, (w+2*pw-dw*(kw-1)-1)/2+1
		if oh <= 0 || ow <= 0 || ow > 16 {
			continue
		}
		ran++
		name := fmt.Sprintf("%dx%d k%dx%d pad %d,%d dil %d,%d", h, w, kh, kw, ph, pw, dh, dw)
		p, err := NewS2Plan(h, w, oh, ow, kh, kw, ph, pw, dh, dw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
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
					wantY, wantG := s2Naive(h, w, oh, ow, kh, kw, ph, pw, dh, dw,
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
	// Most random shapes qualify (about 270 of 300 with this seed); a change that
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
		w := 17 + rng.IntN(15)
		h := 1 + rng.IntN(20)
		kh, kw := 1+rng.IntN(9), 1+rng.IntN(9)
		dh, dw := 1+rng.IntN(2), 1+rng.IntN(2)
		ph, pw := rng.IntN(dh*(kh-1)+1), rng.IntN(dw*(kw-1)+1)
		oh, ow := (h+2*ph-dh*(kh-1)-1)/2+1, (w+2*pw-dw*(kw-1)-1)/2+1
		if oh <= 0 || ow <= 0 || ow > 16 {
			continue
		}
		name := fmt.Sprintf("%dx%d k%dx%d pad %d,%d dil %d,%d", h, w, kh, kw, ph, pw, dh, dw)
		p, err := NewS2Plan(h, w, oh, ow, kh, kw, ph, pw, dh, dw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.shift == 0 {
			if kh >= 2/dh {
				t.Fatalf("%s: no vector pairs", name)
			}
			continue
		}
		ran++
		single := *p
		single.shift = 0
		const planes = 3
		x := randSlice(rng, planes*h*w)
		wt := randSlice(rng, planes*kh*kw)
		bias := randSlice(rng, planes)
		s := Strides{Count: planes, Dst: oh * ow, Src: h * w, W: kh * kw, B: 1}
		got := randSlice(rng, planes*oh*ow+1)
		want := append([]float32(nil), got...)
		p.ConvPlanes(got, x, wt, bias, s)
		single.ConvPlanes(want, x, wt, bias, s)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: pairs y[%d] = %g, one vector at a time %g", name, i, got[i], want[i])
			}
		}
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
		w := 17 + rng.IntN(15)
		h := 1 + rng.IntN(24)
		kh, kw := 1+rng.IntN(9), 1+rng.IntN(maxS2W2KW)
		dh, dw := 1+rng.IntN(2), 1+rng.IntN(2)
		ph, pw := rng.IntN(dh*(kh-1)+1), rng.IntN(dw*(kw-1)+1)
		oh, ow := (h+2*ph-dh*(kh-1)-1)/2+1, (w+2*pw-dw*(kw-1)-1)/2+1
		if oh <= 0 || ow <= 0 || ow > 16 {
			continue
		}
		name := fmt.Sprintf("%dx%d k%dx%d pad %d,%d dil %d,%d", h, w, kh, kw, ph, pw, dh, dw)
		p, err := NewS2Plan(h, w, oh, ow, kh, kw, ph, pw, dh, dw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if p.wpairs == nil {
			if kh > 2/dh {
				t.Fatalf("%s: no kernel row pairs", name)
			}
			continue
		}
		ran++
		single := *p
		single.wpairs = nil
		const planes = 3
		x := randSlice(rng, planes*h*w)
		dy := randSlice(rng, planes*oh*ow)
		// WeightGradPlanes adds to what is there; one value of guard follows.
		s := Strides{Count: planes, Dst: oh * ow, Src: h * w, W: 16 * kh * kw}
		got := randSlice(rng, planes*16*kh*kw+1)
		want := append([]float32(nil), got...)
		p.WeightGradPlanes(got, x, dy, s)
		single.WeightGradPlanes(want, x, dy, s)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: row pairs dwv[%d] = %g, one row at a time %g", name, i, got[i], want[i])
			}
		}
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
		w := 1 + rng.IntN(31)
		if !S2Applies(w) {
			continue
		}
		h := 1 + rng.IntN(31)
		const kh, kw = 3, 3
		dh, dw := 1+rng.IntN(2), 1+rng.IntN(2)
		ph, pw := rng.IntN(dh*(kh-1)+1), rng.IntN(dw*(kw-1)+1)
		oh, ow := (h+2*ph-dh*(kh-1)-1)/2+1, (w+2*pw-dw*(kw-1)-1)/2+1
		if oh <= 0 || ow <= 0 || ow > 16 {
			continue
		}
		name := fmt.Sprintf("%dx%d pad %d,%d dil %d,%d", h, w, ph, pw, dh, dw)
		p, err := NewS2Plan(h, w, oh, ow, kh, kw, ph, pw, dh, dw)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !p.w33 {
			t.Fatalf("%s: the 3x3 plan does not take the one-pass kernel", name)
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
		x := randSlice(rng, planes*h*w)
		dy := randSlice(rng, planes*oh*ow)
		// WeightGradPlanes adds to what is there; one value of guard follows.
		s := Strides{Count: planes, Dst: oh * ow, Src: h * w, W: 16 * kh * kw}
		got := randSlice(rng, planes*16*kh*kw+1)
		want := append([]float32(nil), got...)
		want1 := append([]float32(nil), got...)
		p.WeightGradPlanes(got, x, dy, s)
		rowPairs.WeightGradPlanes(want, x, dy, s)
		oneRow.WeightGradPlanes(want1, x, dy, s)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s, %d planes: one pass dwv[%d] = %g, row pairs %g", name, planes, i, got[i], want[i])
			}
			if got[i] != want1[i] {
				t.Fatalf("%s, %d planes: one pass dwv[%d] = %g, one row at a time %g", name, planes, i, got[i], want1[i])
			}
		}
	}
	// Both layouts and the row-pair plans must be among the shapes that ran; a
	// change that skipped them would otherwise pass silently.
	if ran < 200 || pairs < 50 || twoRows < 50 {
		t.Fatalf("only %d of 500 random shapes ran (%d with row pairs, %d with two output rows per vector)", ran, pairs, twoRows)
	}
}
