package dwconv

import (
	"math"
	"math/rand/v2"
	"testing"
)

// tol is the scaled tolerance between the assembly (fused multiply-adds) and the
// Go twin (separate rounding) over at most 81 taps: a few float32 ulps (6e-8) per
// term stays far below 1e-5, while a wrong lane or offset is off by O(1).
const tol = 1e-5

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

func close32(a, b float32) bool {
	return math.Abs(float64(a)-float64(b)) <= tol*(1+math.Abs(float64(b)))
}

// naive computes the plan's definition directly from the grids and taps.
func naive(dst, src Grid, taps []Tap, s, w []float32, bias float32) []float32 {
	out := make([]float32, dst.Rows*dst.Pitch)
	for r := 0; r < dst.Rows; r++ {
		for c := 0; c < dst.Pitch; c++ {
			v := bias
			for t, tp := range taps {
				sr, sc := r+tp.DR, c+tp.DC
				if sr >= 0 && sr < src.Rows && sc >= 0 && sc < src.Cols {
					v += w[t] * s[tp.Base+sr*src.Pitch+sc]
				}
			}
			out[r*dst.Pitch+c] = v
		}
	}
	return out
}

// asmModes lists the kernel choices a test runs: the Go twins, and the assembly
// where the machine has AVX-512.
func asmModes() []bool {
	if Accelerated() {
		return []bool{false, true}
	}
	return []bool{false}
}

// sameBits fails t at the first index where got and want differ bit for bit
// (+0 and -0 count as equal, as in the comparisons it replaces), naming the
// case, what got holds and what want holds.
func sameBits(t *testing.T, name, gotWhat string, got, want []float32, wantWhat string) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s: %s[%d] = %g, %s %g", name, gotWhat, i, got[i], wantWhat, want[i])
		}
	}
}

// withAsm runs f with the assembly kernels on or off, restoring the default.
func withAsm(on bool, f func()) {
	old := useAsm
	useAsm = on
	defer func() { useAsm = old }()
	f()
}

func TestPlanMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	modes := asmModes()
	for trial := 0; trial < 200; trial++ {
		dst, src := randGridPair(rng)
		pitch := dst.Pitch
		planes := 1 + rng.IntN(4)
		taps := make([]Tap, 1+rng.IntN(49))
		for i := range taps {
			taps[i] = Tap{Base: rng.IntN(planes) * src.Rows * pitch, DR: rng.IntN(9) - 4, DC: rng.IntN(9) - 4, W: i}
		}
		p, err := NewPlan(dst, src, taps)
		if err != nil {
			t.Fatal(err)
		}
		s := randSlice(rng, planes*src.Rows*pitch)
		w := randSlice(rng, len(taps))
		dy := randSlice(rng, p.N)
		bias := float32(rng.NormFloat64())
		want := naive(dst, src, taps, s, w, bias)
		for _, asm := range modes {
			withAsm(asm, func() {
				got := randSlice(rng, p.N+3)
				tailGuard := got[p.N]
				p.Conv(got, s, w, bias, false)
				for i := range want {
					if !close32(got[i], want[i]) {
						t.Fatalf("trial %d asm=%v: Conv(%+v <- %+v)[%d] = %v, want %v", trial, asm, dst, src, i, got[i], want[i])
					}
				}
				if got[p.N] != tailGuard {
					t.Fatalf("trial %d asm=%v: Conv wrote past N", trial, asm)
				}
				p.Conv(got, s, w, bias, true)
				for i := range want {
					if !close32(got[i], 2*want[i]) {
						t.Fatalf("trial %d asm=%v: accumulating Conv[%d] = %v, want %v", trial, asm, i, got[i], 2*want[i])
					}
				}
				dw := make([]float32, len(taps))
				p.WeightGrad(dw, s, dy)
				for ti, tp := range taps {
					var ref float64
					for r := 0; r < dst.Rows; r++ {
						for c := 0; c < pitch; c++ {
							sr, sc := r+tp.DR, c+tp.DC
							if sr >= 0 && sr < src.Rows && sc >= 0 && sc < src.Cols {
								ref += float64(dy[r*pitch+c]) * float64(s[tp.Base+sr*pitch+sc])
							}
						}
					}
					if !close32(dw[ti], float32(ref)) {
						t.Fatalf("trial %d asm=%v: WeightGrad tap %d = %v, want %v", trial, asm, ti, dw[ti], ref)
					}
				}
			})
		}
	}
}

func TestInterleaveRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, asm := range asmModes() {
		for h := 1; h <= 9; h++ {
			for _, w := range []int{1, 2, 3, 7, 14, 28, 31, 32, 33, 64, 65, 70} {
				withAsm(asm, func() {
					src := randSlice(rng, h*w)
					g := Phases(h, w)
					ph := randSlice(rng, 4*g.Rows*g.Pitch)
					Deinterleave(ph, src, h, w)
					ps := g.Rows * g.Pitch
					for q := 0; q < 4; q++ {
						for r := 0; r < g.Rows; r++ {
							for c := 0; c < g.Pitch; c++ {
								var want float32
								if sr, sc := 2*r+q/2, 2*c+q%2; sr < h && sc < w {
									want = src[sr*w+sc]
								}
								if got := ph[q*ps+r*g.Pitch+c]; got != want {
									t.Fatalf("asm=%v Deinterleave %dx%d phase %d (%d,%d) = %v, want %v", asm, h, w, q, r, c, got, want)
								}
							}
						}
					}
					back := randSlice(rng, h*w+1)
					guard := back[h*w]
					Interleave(back, ph, h, w)
					for i := range src {
						if back[i] != src[i] {
							t.Fatalf("asm=%v Interleave %dx%d [%d] = %v, want %v", asm, h, w, i, back[i], src[i])
						}
					}
					if back[h*w] != guard {
						t.Fatalf("asm=%v Interleave %dx%d wrote past the plane", asm, h, w)
					}
				})
			}
		}
	}
}

// TestPlanesMatchSinglePlanes checks that ConvPlanes and WeightGradPlanes equal one
// Conv or WeightGrad call per plane, bit for bit (same kernel, same order).
func TestPlanesMatchSinglePlanes(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, asm := range asmModes() {
		for trial := 0; trial < 30; trial++ {
			w := 1 + rng.IntN(20)
			g := Grid{Rows: 1 + rng.IntN(10), Cols: w, Pitch: w}
			taps := []Tap{{DR: -1, DC: -1}, {W: 1}, {DR: 1, DC: 2, W: 2}}
			p, err := NewPlan(g, g, taps)
			if err != nil {
				t.Fatal(err)
			}
			s := Strides{Count: 1 + rng.IntN(4), Dst: p.N + rng.IntN(3), Src: rng.IntN(2) * (p.SrcLen() + rng.IntN(3)), W: rng.IntN(4), B: 1 + rng.IntN(2)}
			src := randSlice(rng, s.Count*(p.SrcLen()+s.Src))
			wt := randSlice(rng, s.Count*3+s.Count*s.W)
			bias := randSlice(rng, s.Count*s.B)
			for _, b := range [][]float32{bias, nil} {
				withAsm(asm, func() {
					got := randSlice(rng, s.Count*s.Dst+p.N)
					want := append([]float32(nil), got...)
					p.ConvPlanes(got, src, wt, b, s, true)
					for j := 0; j < s.Count; j++ {
						var bj float32
						if b != nil {
							bj = b[j*s.B]
						}
						p.Conv(want[j*s.Dst:], src[j*s.Src:], wt[j*s.W:], bj, true)
					}
					for i := range want {
						if got[i] != want[i] {
							t.Fatalf("asm=%v ConvPlanes(%+v, bias %v)[%d] = %v, want %v", asm, s, b != nil, i, got[i], want[i])
						}
					}
					dy := randSlice(rng, s.Count*s.Dst+p.N)
					gdw := make([]float32, s.Count*s.W+3)
					wdw := make([]float32, len(gdw))
					p.WeightGradPlanes(gdw, src, dy, s)
					for j := 0; j < s.Count; j++ {
						p.WeightGrad(wdw[j*s.W:], src[j*s.Src:], dy[j*s.Dst:])
					}
					for i := range wdw {
						if gdw[i] != wdw[i] {
							t.Fatalf("asm=%v WeightGradPlanes(%+v)[%d] = %v, want %v", asm, s, i, gdw[i], wdw[i])
						}
					}
				})
			}
		}
	}
}
