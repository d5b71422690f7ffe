package dwconv

import (
	"math/rand/v2"
	"testing"
)

// TestGroupedPlanes checks the grouped kernels: four one-block planes (at most 16
// values, such as 4x4) or two four-block planes (49 to 64 values, such as 7x7) at a
// time. ConvPlanes and BackwardPlanes over 1 to 11 planes (so whole groups and a
// remainder) must equal one call per plane bit for bit, and the forward pass must
// match the definition within tol.
func TestGroupedPlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	modes := asmModes()
	for trial := 0; trial < 300; trial++ {
		// Half the shapes have one block (at most 16 values), half four (49 to 64).
		w := 1 + rng.IntN(16)
		g := Grid{Rows: 1 + rng.IntN(16/w), Cols: w, Pitch: w}
		if trial%2 == 1 {
			lo, hi := (49+w-1)/w, 64/w
			g.Rows = lo + rng.IntN(hi-lo+1)
		}
		if b := (g.Rows*w + 15) / 16; b != 1 && b != 4 {
			t.Fatalf("trial %d: grid %+v has %d blocks, want 1 or 4", trial, g, b)
		}
		taps := make([]Tap, 1+rng.IntN(49))
		for i := range taps {
			taps[i] = Tap{DR: rng.IntN(7) - 3, DC: rng.IntN(7) - 3, W: i}
		}
		p, err := NewPlan(g, g, taps)
		if err != nil {
			t.Fatal(err)
		}
		nt, n := len(taps), p.N
		cnt := 1 + rng.IntN(11)
		acc := rng.IntN(2) == 1
		s := Strides{Count: cnt, Dst: n + rng.IntN(3), Src: rng.IntN(2) * (n + rng.IntN(3)), W: rng.IntN(2) * (nt + rng.IntN(3)), B: rng.IntN(3)}
		bs := BackwardStrides{Count: cnt, DX: n + rng.IntN(3), DY: n + rng.IntN(3), X: rng.IntN(2) * (n + rng.IntN(3)),
			W: rng.IntN(2) * (nt + rng.IntN(3)), DWV: 16*nt + rng.IntN(3)}
		src := randSlice(rng, cnt*s.Src+n)
		wt := randSlice(rng, cnt*max(s.W, bs.W)+nt)
		bias := randSlice(rng, cnt*s.B+1)
		dy := randSlice(rng, cnt*bs.DY+n)
		x := randSlice(rng, cnt*bs.X+n)
		dst0 := randSlice(rng, cnt*s.Dst+n+1)
		dx0 := randSlice(rng, cnt*bs.DX+n+1)
		dwv0 := randSlice(rng, cnt*bs.DWV+16*nt)
		for _, asm := range modes {
			withAsm(asm, func() {
				for _, b := range [][]float32{bias, nil} {
					got, want := append([]float32(nil), dst0...), append([]float32(nil), dst0...)
					p.ConvPlanes(got, src, wt, b, s, acc)
					for j := 0; j < cnt; j++ {
						var bj float32
						if b != nil {
							bj = b[j*s.B]
						}
						p.Conv(want[j*s.Dst:], src[j*s.Src:], wt[j*s.W:], bj, acc)
						def := naive(g, g, taps, src[j*s.Src:], wt[j*s.W:], bj)
						for i, v := range def {
							if acc {
								v += dst0[j*s.Dst+i]
							}
							if !close32(got[j*s.Dst+i], v) {
								t.Fatalf("trial %d asm=%v: ConvPlanes(%+v <- %d taps, %+v) plane %d [%d] = %v, want %v",
									trial, asm, g, nt, s, j, i, got[j*s.Dst+i], v)
							}
						}
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("trial %d asm=%v: ConvPlanes(%+v, %d taps, %+v, bias %v)[%d] = %v, one call per plane %v",
								trial, asm, g, nt, s, b != nil, i, got[i], want[i])
						}
					}
				}
				got, gdw := append([]float32(nil), dx0...), append([]float32(nil), dwv0...)
				p.BackwardPlanes(got, gdw, dy, x, wt, bs, acc)
				want, wdw := append([]float32(nil), dx0...), append([]float32(nil), dwv0...)
				for j := 0; j < cnt; j++ {
					p.BackwardPlanes(want[j*bs.DX:], wdw[j*bs.DWV:], dy[j*bs.DY:], x[j*bs.X:], wt[j*bs.W:], BackwardStrides{Count: 1}, acc)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("trial %d asm=%v: BackwardPlanes(%+v, %d taps, %+v) dx[%d] = %v, one call per plane %v",
							trial, asm, g, nt, bs, i, got[i], want[i])
					}
				}
				for i := range wdw {
					if gdw[i] != wdw[i] {
						t.Fatalf("trial %d asm=%v: BackwardPlanes(%+v, %d taps, %+v) dwv[%d] = %v, one call per plane %v",
							trial, asm, g, nt, bs, i, gdw[i], wdw[i])
					}
				}
			})
		}
	}
}
