package dwconv

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// s2dxNaive is the definition of the input gradient of a stride-2 depthwise
// convolution of one h x w plane for the output gradient dy, summed in float64.
func s2dxNaive(h, w, oh, ow, kh, kw, ph, pw, dh, dw int, wt, dy []float32) []float32 {
	dx := make([]float64, h*w)
	for r := 0; r < oh; r++ {
		for c := 0; c < ow; c++ {
			for i := 0; i < kh; i++ {
				for j := 0; j < kw; j++ {
					ir, ic := 2*r+i*dh-ph, 2*c+j*dw-pw
					if ir >= 0 && ir < h && ic >= 0 && ic < w {
						dx[ir*w+ic] += float64(wt[i*kw+j]) * float64(dy[r*ow+c])
					}
				}
			}
		}
	}
	out := make([]float32, len(dx))
	for i, v := range dx {
		out[i] = float32(v)
	}
	return out
}

func TestS2InputGradMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	modes := asmModes()
	ran := 0
	for trial := 0; trial < 400; trial++ {
		sh, p, ok := drawS2(t, rng, s2Draw{minW: 1, maxW: 31, maxH: 20, kh: 9, kw: 9})
		if !ok {
			continue
		}
		ran++
		h, w, oh, ow, kh, kw := sh.h, sh.w, sh.oh, sh.ow, sh.kh, sh.kw
		name := sh.String()
		const planes = 3
		wt := randSlice(rng, planes*kh*kw)
		dy := randSlice(rng, planes*oh*ow)
		base := randSlice(rng, planes*h*w+1) // what accumulate adds to, and a guard value
		for _, asm := range modes {
			for _, accumulate := range []bool{false, true} {
				withAsm(asm, func() {
					got := append([]float32(nil), base...)
					p.InputGradPlanes(got, dy, wt, Strides{Count: planes, Dst: h * w, Src: oh * ow, W: kh * kw}, accumulate)
					if got[planes*h*w] != base[planes*h*w] {
						t.Errorf("%s asm=%v: wrote past the last plane", name, asm)
					}
					for j := 0; j < planes; j++ {
						want := s2dxNaive(h, w, oh, ow, kh, kw, sh.ph, sh.pw, sh.dh, sh.dw, wt[j*kh*kw:], dy[j*oh*ow:])
						for i, v := range want {
							if accumulate {
								v += base[j*h*w+i]
							}
							if g := got[j*h*w+i]; !close32(g, v) {
								t.Fatalf("%s asm=%v accumulate=%v: plane %d dx[%d] = %g, want %g", name, asm, accumulate, j, i, g, v)
							}
						}
					}
				})
			}
		}
	}
	// Most random shapes qualify (325 of 400 with this seed); a change that
	// skipped them all would otherwise pass silently.
	if ran < 100 {
		t.Fatalf("only %d of 400 random shapes ran", ran)
	}
}

// TestS2InputGradTwinMatchesAsm checks that the Go twin and the assembly agree to
// rounding on the reference network's stride-2 shapes and a few edge widths.
func TestS2InputGradTwinMatchesAsm(t *testing.T) {
	if !Accelerated() {
		t.Skip("no AVX-512: the twin is the only kernel")
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, c := range []struct{ hw, k int }{{28, 3}, {14, 3}, {14, 5}, {7, 3}, {8, 3}, {4, 3}, {9, 7}, {31, 9}} {
		o, pad := (c.hw+1)/2, c.k/2
		p, err := NewS2Plan(c.hw, c.hw, o, o, c.k, c.k, pad, pad, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		wt, dy := randSlice(rng, c.k*c.k), randSlice(rng, o*o)
		var dxs [2][]float32
		for i, asm := range []bool{false, true} {
			withAsm(asm, func() {
				dxs[i] = make([]float32, c.hw*c.hw)
				p.InputGradPlanes(dxs[i], dy, wt, Strides{Count: 1}, false)
			})
		}
		for i := range dxs[0] {
			if !close32(dxs[1][i], dxs[0][i]) {
				t.Errorf("HW%d k%d: asm dx[%d] = %g, twin %g", c.hw, c.k, i, dxs[1][i], dxs[0][i])
			}
		}
	}
}

// TestS2InputGradPairsMatchColumns checks the claim behind the column pairs: since
// a pair's columns fill disjoint lanes, sharing one accumulator adds the same terms
// in the same order as one accumulator per column, so the paired kernels give the
// per-column kernels' results bit for bit (a zero may differ in sign only), for the
// assembly and for the Go twin, over random shapes with odd column dilation.
func TestS2InputGradPairsMatchColumns(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	modes := asmModes()
	ran := 0
	for trial := 0; trial < 300; trial++ {
		sh, p, ok := drawS2(t, rng, s2Draw{minW: 1, maxW: 31, maxH: 20, kh: 9, kw: 9, oddDW: true})
		if !ok {
			continue
		}
		ran++
		if !p.dx.pairs {
			t.Fatalf("%v: odd column dilation without column pairs", sh)
		}
		cols := *p
		cols.dx.pairs = false
		const planes = 2
		wt := randSlice(rng, planes*sh.kh*sh.kw)
		dy := randSlice(rng, planes*sh.oh*sh.ow)
		base := randSlice(rng, planes*sh.h*sh.w)
		s := Strides{Count: planes, Dst: sh.h * sh.w, Src: sh.oh * sh.ow, W: sh.kh * sh.kw}
		for _, asm := range modes {
			withAsm(asm, func() {
				got, want := append([]float32(nil), base...), append([]float32(nil), base...)
				p.InputGradPlanes(got, dy, wt, s, true)
				cols.InputGradPlanes(want, dy, wt, s, true)
				sameBits(t, fmt.Sprintf("%v asm=%v", sh, asm), "paired dx", got, want, "per column")
			})
		}
	}
	// About half the random shapes qualify with this seed; a change that skipped
	// them all would otherwise pass silently.
	if ran < 50 {
		t.Fatalf("only %d of 300 random shapes ran", ran)
	}
}
