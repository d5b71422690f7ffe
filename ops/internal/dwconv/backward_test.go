package dwconv

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// randGrid draws a grid of 1 to 12 rows and 1 to pitch columns at the given pitch.
func randGrid(rng *rand.Rand, pitch int) Grid {
	return Grid{Rows: 1 + rng.IntN(12), Cols: 1 + rng.IntN(pitch), Pitch: pitch}
}

// randGridPair draws a pitch of 1 to 40 and then a destination and a source grid
// at that pitch, as randGrid does.
func randGridPair(rng *rand.Rand) (dst, src Grid) {
	pitch := 1 + rng.IntN(40)
	dst = randGrid(rng, pitch)
	return dst, randGrid(rng, pitch)
}

// randTaps draws 1 to 49 taps (as many as a 7x7 kernel has) on weights 0, 1, ...
// with row and column offsets in [-4, 4] (as far as a 9x9 kernel reaches).
func randTaps(rng *rand.Rand) []Tap {
	taps := make([]Tap, 1+rng.IntN(49))
	for i := range taps {
		taps[i] = Tap{DR: rng.IntN(9) - 4, DC: rng.IntN(9) - 4, W: i}
	}
	return taps
}

// TestBackwardMatchesDefinition checks BackwardPlanes, in assembly and in Go, against
// the definitions of its two results on random grids and taps: dx as the plan's
// convolution of dy (naive), and each weight-gradient lane as the sum over the input
// values of that lane of dy at the tap's offset times x, in float64.
func TestBackwardMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	modes := asmModes()
	for trial := 0; trial < 200; trial++ {
		dst, src := randGridPair(rng)
		pitch := dst.Pitch
		taps := randTaps(rng)
		p, err := NewPlan(dst, src, taps)
		if err != nil {
			t.Fatal(err)
		}
		dy := randSlice(rng, src.Rows*pitch)
		x := randSlice(rng, p.N)
		w := randSlice(rng, len(taps))
		want := naive(dst, src, taps, dy, w, 0)
		wantDW := make([]float64, 16*len(taps))
		for ti, tp := range taps {
			for i := 0; i < p.N; i++ {
				r, c := i/pitch, i%pitch
				if sr, sc := r+tp.DR, c+tp.DC; sr >= 0 && sr < src.Rows && sc >= 0 && sc < src.Cols {
					wantDW[16*ti+i%16] += float64(dy[sr*pitch+sc]) * float64(x[i])
				}
			}
		}
		for _, asm := range modes {
			withAsm(asm, func() {
				got := randSlice(rng, p.N+3)
				guard := got[p.N]
				start := randSlice(rng, 16*len(taps))
				dwv := append([]float32(nil), start...)
				p.BackwardPlanes(got, dwv, dy, x, w, BackwardStrides{Count: 1}, false)
				for i := range want {
					if !close32(got[i], want[i]) {
						t.Fatalf("trial %d asm=%v: BackwardPlanes(%+v <- %+v) dx[%d] = %v, want %v", trial, asm, dst, src, i, got[i], want[i])
					}
				}
				if got[p.N] != guard {
					t.Fatalf("trial %d asm=%v: BackwardPlanes wrote dx past N", trial, asm)
				}
				for i, v := range wantDW {
					if w := float32(v) + start[i]; !close32(dwv[i], w) {
						t.Fatalf("trial %d asm=%v: BackwardPlanes tap %d lane %d = %v, want %v", trial, asm, i/16, i%16, dwv[i], w)
					}
				}
				p.BackwardPlanes(got, dwv, dy, x, w, BackwardStrides{Count: 1}, true)
				for i := range want {
					if !close32(got[i], 2*want[i]) {
						t.Fatalf("trial %d asm=%v: accumulating BackwardPlanes dx[%d] = %v, want %v", trial, asm, i, got[i], 2*want[i])
					}
				}
			})
		}
	}
}

// TestBackwardPlanesMatchSinglePlanes checks that one BackwardPlanes call over several
// planes equals one call per plane, bit for bit, and that the assembly and the Go
// twin agree within tol (they differ only in the fused multiply-adds' rounding).
func TestBackwardPlanesMatchSinglePlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	modes := asmModes()
	for trial := 0; trial < 40; trial++ {
		w := 1 + rng.IntN(20)
		g := Grid{Rows: 1 + rng.IntN(10), Cols: w, Pitch: w}
		taps := []Tap{{DR: -1, DC: -1}, {W: 1}, {DR: 1, DC: 2, W: 2}}
		p, err := NewPlan(g, g, taps)
		if err != nil {
			t.Fatal(err)
		}
		n := p.N
		s := BackwardStrides{Count: 1 + rng.IntN(4), DX: n + rng.IntN(3), DY: n + rng.IntN(3), X: rng.IntN(2) * (n + rng.IntN(3)),
			W: rng.IntN(4), DWV: 48 + rng.IntN(3)}
		dy := randSlice(rng, s.Count*s.DY+n)
		x := randSlice(rng, s.Count*s.X+n)
		wt := randSlice(rng, s.Count*s.W+3)
		dx0 := randSlice(rng, s.Count*s.DX+n)
		dwv0 := randSlice(rng, s.Count*s.DWV+48)
		var results [][]float32
		for _, asm := range modes {
			withAsm(asm, func() {
				got, gdw := append([]float32(nil), dx0...), append([]float32(nil), dwv0...)
				p.BackwardPlanes(got, gdw, dy, x, wt, s, true)
				want, wdw := append([]float32(nil), dx0...), append([]float32(nil), dwv0...)
				for j := 0; j < s.Count; j++ {
					p.BackwardPlanes(want[j*s.DX:], wdw[j*s.DWV:], dy[j*s.DY:], x[j*s.X:], wt[j*s.W:], BackwardStrides{Count: 1}, true)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("asm=%v BackwardPlanes(%+v) dx[%d] = %v, want %v", asm, s, i, got[i], want[i])
					}
				}
				for i := range wdw {
					if gdw[i] != wdw[i] {
						t.Fatalf("asm=%v BackwardPlanes(%+v) dwv[%d] = %v, want %v", asm, s, i, gdw[i], wdw[i])
					}
				}
				results = append(results, append(got, gdw...))
			})
		}
		if len(results) == 2 {
			for i, v := range results[1] {
				if !close32(v, results[0][i]) {
					t.Fatalf("BackwardPlanes(%+v): assembly [%d] = %v, Go twin %v", s, i, v, results[0][i])
				}
			}
		}
	}
}

// TestInterleavePlanes checks that one InterleavePlanes call equals one Interleave
// call per plane, bit for bit, and writes nothing past its planes.
func TestInterleavePlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(15, 16))
	for _, asm := range asmModes() {
		for _, hw := range [][2]int{{1, 1}, {4, 4}, {7, 7}, {14, 14}, {28, 28}, {5, 33}, {9, 70}} {
			h, w := hw[0], hw[1]
			g := Phases(h, w)
			ps4 := 4 * g.Rows * g.Pitch
			count := 1 + rng.IntN(5)
			src := randSlice(rng, count*ps4)
			withAsm(asm, func() {
				got := randSlice(rng, count*h*w+1)
				want := append([]float32(nil), got...)
				InterleavePlanes(got, src, h, w, count)
				for j := 0; j < count; j++ {
					Interleave(want[j*h*w:], src[j*ps4:], h, w)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("asm=%v InterleavePlanes(%d x %dx%d)[%d] = %v, want %v", asm, count, h, w, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestBackwardWeightPlanes checks that BackwardWeightPlanes adds to the weight-gradient
// lanes exactly what BackwardPlanes adds, bit for bit, in assembly and in Go, on
// random grids, taps and strides: one-block and four-block planes (which
// BackwardPlanes runs on its grouped kernels) and larger ones, 1 to 11 planes (so
// pairs and a last single plane), x shared or not, and lanes of consecutive planes
// apart or overlapping (DWV below 16 per tap, where the planes must add in order).
func TestBackwardWeightPlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	modes := asmModes()
	for trial := 0; trial < 400; trial++ {
		pitch := 1 + rng.IntN(40)
		dst := randGrid(rng, pitch)
		switch trial % 4 {
		case 0: // one block
			pitch = 1 + rng.IntN(16)
			dst = Grid{Rows: 1 + rng.IntN(16/pitch), Cols: pitch, Pitch: pitch}
		case 1: // four blocks
			pitch = 1 + rng.IntN(16)
			lo, hi := (49+pitch-1)/pitch, 64/pitch
			dst = Grid{Rows: lo + rng.IntN(hi-lo+1), Cols: pitch, Pitch: pitch}
		}
		src := randGrid(rng, pitch)
		taps := randTaps(rng)
		p, err := NewPlan(dst, src, taps)
		if err != nil {
			t.Fatal(err)
		}
		n, nt := p.N, len(taps)
		cnt := 1 + rng.IntN(11)
		s := BackwardStrides{Count: cnt, DX: n + rng.IntN(3), DY: p.SrcLen() + rng.IntN(3), X: rng.IntN(2) * (n + rng.IntN(3)),
			W: rng.IntN(2) * (nt + rng.IntN(3)), DWV: 16*nt + rng.IntN(3)}
		if trial%5 == 4 {
			s.DWV = rng.IntN(16 * nt)
		}
		dy := randSlice(rng, cnt*s.DY+p.SrcLen())
		x := randSlice(rng, cnt*s.X+n)
		w := randSlice(rng, cnt*s.W+nt)
		dwv0 := randSlice(rng, cnt*s.DWV+16*nt)
		for _, asm := range modes {
			withAsm(asm, func() {
				want := append([]float32(nil), dwv0...)
				dx := make([]float32, cnt*s.DX+n)
				p.BackwardPlanes(dx, want, dy, x, w, s, false)
				got := append([]float32(nil), dwv0...)
				p.BackwardWeightPlanes(got, dy, x, s)
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("trial %d asm=%v: BackwardWeightPlanes(%+v <- %+v, %+v) dwv[%d] = %v, BackwardPlanes %v",
							trial, asm, dst, src, s, i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestBackward9MatchesGeneral checks that the nine-tap backward kernel, which keeps
// the weight-gradient partial sums in registers over a plane, gives bwdAVX512's
// input gradient and partial sums bit for bit, over random grids (1 to 20 blocks,
// so groups of four and single blocks), nine random taps, plane strides that leave
// gaps, several planes, and with and without accumulation into dx.
func TestBackward9MatchesGeneral(t *testing.T) {
	if !Accelerated() {
		t.Skip("no AVX-512: the nine-tap kernel is assembly only")
	}
	rng := rand.New(rand.NewPCG(23, 24))
	for trial := 0; trial < 300; trial++ {
		w := 1 + rng.IntN(20)
		g := Grid{Rows: 1 + rng.IntN(16), Cols: w, Pitch: w}
		taps := make([]Tap, 9)
		for i := range taps {
			taps[i] = Tap{DR: rng.IntN(5) - 2, DC: rng.IntN(5) - 2, W: i}
		}
		p, err := NewPlan(g, g, taps)
		if err != nil {
			t.Fatal(err)
		}
		const nt = 9
		n := p.N
		cnt := 1 + rng.IntN(5)
		acc := rng.IntN(2) == 1
		bs := BackwardStrides{Count: cnt, DX: n + rng.IntN(3), DY: n + rng.IntN(3), X: rng.IntN(2) * (n + rng.IntN(3)),
			W: rng.IntN(2) * (nt + rng.IntN(3)), DWV: 16*nt + rng.IntN(3)}
		wt := randSlice(rng, cnt*bs.W+nt)
		dy := randSlice(rng, cnt*bs.DY+n)
		x := randSlice(rng, cnt*bs.X+n)
		dx0 := randSlice(rng, cnt*bs.DX+n+1)
		dwv0 := randSlice(rng, cnt*bs.DWV+16*nt+1)
		var dxs, dwvs [2][]float32
		for i, off := range []bool{false, true} {
			dxs[i], dwvs[i] = append([]float32(nil), dx0...), append([]float32(nil), dwv0...)
			noBwd9 = off
			p.BackwardPlanes(dxs[i], dwvs[i], dy, x, wt, bs, acc)
			noBwd9 = false
		}
		name := fmt.Sprintf("grid %+v, %d planes, strides %+v, accumulate %v", g, cnt, bs, acc)
		for i := range dxs[0] {
			if dxs[0][i] != dxs[1][i] {
				t.Fatalf("%s: nine-tap dx[%d] = %g, general %g", name, i, dxs[0][i], dxs[1][i])
			}
		}
		for i := range dwvs[0] {
			if dwvs[0][i] != dwvs[1][i] {
				t.Fatalf("%s: nine-tap dwv[%d] = %g, general %g", name, i, dwvs[0][i], dwvs[1][i])
			}
		}
	}
}
