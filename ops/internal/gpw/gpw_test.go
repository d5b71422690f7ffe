package gpw

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// sentinel fills what a kernel must neither read nor write: a read of it makes a
// result NaN, a write replaces it.
var sentinel = float32(math.NaN())

// errBound is the error allowed for a float32 sum of k products whose magnitudes add
// up to abs: k roundings of at most 2^-24 relative each (Higham, Accuracy and
// Stability of Numerical Algorithms, 2nd ed., eq. 3.5), with one more for the product.
func errBound(k int, abs float64) float64 { return float64(k+1) * 0x1p-24 * abs }

// randPadded returns rows x ld values: n random values per row, the rest sentinel.
func randPadded(rng *rand.Rand, rows, n, ld int) []float32 {
	d := make([]float32, rows*ld)
	for i := range d {
		if i%ld < n {
			d[i] = float32(rng.NormFloat64())
		} else {
			d[i] = sentinel
		}
	}
	return d
}

// kernels runs f once with the assembly (when the CPU has it) and once with the Go
// twin.
func kernels(t *testing.T, f func(t *testing.T)) {
	saved := useAsm
	defer func() { useAsm = saved }()
	for _, asm := range []bool{false, true} {
		if asm && !saved {
			continue
		}
		useAsm = asm
		t.Run(fmt.Sprintf("asm=%v", asm), f)
	}
}

// shapes are (m, k, n) triples: rows of tiles and a partial tile, the channel counts
// per group of reference_net.py (6, 12, 24, 48), and plane sizes that are and are not
// multiples of 16 and 64 (4x4, 7x7, 14x14 and a few odd ones).
var shapes = [][3]int{
	{1, 1, 1}, {6, 24, 196}, {24, 6, 196}, {12, 48, 49}, {48, 12, 49}, {48, 12, 16},
	{7, 5, 17}, {5, 7, 63}, {13, 3, 64}, {2, 9, 65}, {11, 1, 129}, {6, 6, 128},
	{8, 8, 200}, {3, 30, 15}, {25, 4, 31}, {96, 24, 33},
}

func TestApply(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		for _, s := range shapes {
			m, k, n := s[0], s[1], s[2]
			ldd, lds := n+rng.IntN(3), n+rng.IntN(3)
			a := randPadded(rng, m, k, k)
			src := randPadded(rng, k, n, lds)
			src = src[:(k-1)*lds+n] // nothing past the last row may be read
			ap := make([]float32, PackedLen(m, k))
			Pack(ap, a, m, k, k, 1)
			dst := make([]float32, m*ldd+5)
			for i := range dst {
				dst[i] = sentinel
			}
			Apply(dst, ldd, ap, src, lds, m, k, n)
			for i, v := range dst {
				r, j := i/ldd, i%ldd
				if r >= m || j >= n {
					if !math.IsNaN(float64(v)) {
						t.Fatalf("Apply(m=%d, k=%d, n=%d) wrote dst[%d] = %v outside the output", m, k, n, i, v)
					}
					continue
				}
				var want, abs float64
				for c := 0; c < k; c++ {
					p := float64(a[r*k+c]) * float64(src[c*lds+j])
					want += p
					abs += math.Abs(p)
				}
				if d := math.Abs(float64(v) - want); !(d <= errBound(k, abs)) {
					t.Fatalf("Apply(m=%d, k=%d, n=%d)[%d][%d] = %v, want %v", m, k, n, r, j, v, want)
				}
			}
		}
	})
}

func TestApplyTransposedPack(t *testing.T) {
	// Packing with swapped strides must give the product with the transposed matrix.
	rng := rand.New(rand.NewPCG(3, 4))
	m, k, n := 6, 24, 49
	w := randPadded(rng, k, m, m) // k x m: A = w^T
	at := make([]float32, m*k)
	for r := 0; r < m; r++ {
		for c := 0; c < k; c++ {
			at[r*k+c] = w[c*m+r]
		}
	}
	src := randPadded(rng, k, n, n)
	p1, p2 := make([]float32, PackedLen(m, k)), make([]float32, PackedLen(m, k))
	Pack(p1, w, m, k, 1, m)
	Pack(p2, at, m, k, k, 1)
	d1, d2 := make([]float32, m*n), make([]float32, m*n)
	Apply(d1, n, p1, src, n, m, k, n)
	Apply(d2, n, p2, src, n, m, k, n)
	for i := range d1 {
		if d1[i] != d2[i] {
			t.Fatalf("Apply with A packed transposed: [%d] = %v, want %v", i, d1[i], d2[i])
		}
	}
}

func TestWeightGrad(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		for _, s := range shapes {
			ma, mb, n := s[0], s[1], s[2]
			lda, ldb := n+rng.IntN(3), n+rng.IntN(3)
			a := randPadded(rng, ma, n, lda)[:(ma-1)*lda+n]
			b := randPadded(rng, mb, n, ldb)[:(mb-1)*ldb+n]
			acc := make([]float32, LanesLen(ma, mb))
			// Two calls accumulate: the sums over the columns twice.
			WeightGrad(acc, a, lda, ma, b, ldb, mb, n)
			WeightGrad(acc, a, lda, ma, b, ldb, mb, n)
			dst := make([]float32, ma*mb)
			for i := range dst {
				dst[i] = 1
			}
			ReduceLanes(dst, mb, 1, acc, ma, mb)
			for r := 0; r < ma; r++ {
				for c := 0; c < mb; c++ {
					want, abs := 1.0, 1.0
					for j := 0; j < n; j++ {
						p := float64(a[r*lda+j]) * float64(b[c*ldb+j])
						want += 2 * p
						abs += 2 * math.Abs(p)
					}
					got := float64(dst[r*mb+c])
					if d := math.Abs(got - want); !(d <= errBound(2*n+Lanes, abs)) {
						t.Fatalf("WeightGrad(ma=%d, mb=%d, n=%d)[%d][%d] = %v, want %v", ma, mb, n, r, c, got, want)
					}
				}
			}
		}
	})
}

func TestTwinsAgree(t *testing.T) {
	// The assembly and the Go twin take the same sums in the same order; the
	// assembly fuses each multiply-add, so they agree to a few roundings per sum.
	if !useAsm {
		t.Skip("no AVX-512: only the Go twin runs")
	}
	rng := rand.New(rand.NewPCG(7, 8))
	m, k, n := 24, 6, 196
	a := randPadded(rng, m, k, k)
	src := randPadded(rng, k, n, n)
	ap := make([]float32, PackedLen(m, k))
	Pack(ap, a, m, k, k, 1)
	got, want := make([]float32, m*n), make([]float32, m*n)
	Apply(got, n, ap, src, n, m, k, n)
	applyGeneric(want, n, ap, src, n, m, k, n)
	for i := range got {
		r, j := i/n, i%n
		var abs float64
		for c := 0; c < k; c++ {
			abs += math.Abs(float64(a[r*k+c]) * float64(src[c*n+j]))
		}
		if d := math.Abs(float64(got[i] - want[i])); !(d <= 2*errBound(k, abs)) {
			t.Fatalf("Apply [%d] = %v, Go twin %v", i, got[i], want[i])
		}
	}
}

// TestAheadChangesNothing checks that the kernels compute bit-identical results with
// and without a prefetch stream, whether it outlasts them or runs dry.
func TestAheadChangesNothing(t *testing.T) {
	kernels(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(9, 10))
		// Runs of 1, 40 (a partial last line) and 100,000 values: the stream runs
		// dry in the larger shapes and outlasts the smaller ones.
		runs := [][]float32{make([]float32, 1), make([]float32, 40), make([]float32, 100000)}
		for _, s := range shapes {
			m, k, n := s[0], s[1], s[2]
			a, src := randPadded(rng, m, k, k), randPadded(rng, k, n, n)
			ap := make([]float32, PackedLen(m, k))
			Pack(ap, a, m, k, k, 1)
			want, got := make([]float32, m*n), make([]float32, m*n)
			Apply(want, n, ap, src, n, m, k, n)
			var ah Ahead
			for _, r := range runs {
				ah.Add(r)
			}
			ApplyAhead(got, n, ap, src, n, m, k, n, &ah)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("ApplyAhead(m=%d, k=%d, n=%d)[%d] = %v, Apply %v", m, k, n, i, got[i], want[i])
				}
			}

			b := randPadded(rng, m, n, n)
			wacc, gacc := make([]float32, LanesLen(m, k)), make([]float32, LanesLen(m, k))
			WeightGrad(wacc, b, n, m, src, n, k, n)
			ah.Reset()
			for _, r := range runs {
				ah.Add(r)
			}
			WeightGradAhead(gacc, b, n, m, src, n, k, n, &ah)
			for i := range gacc {
				if math.Float32bits(gacc[i]) != math.Float32bits(wacc[i]) {
					t.Fatalf("WeightGradAhead(m=%d, k=%d, n=%d) lane sum [%d] = %v, WeightGrad %v", m, k, n, i, gacc[i], wacc[i])
				}
			}
		}
	})
}

func TestAheadTake(t *testing.T) {
	// Two runs of 3 and 1 cache lines (40 and 16 values) taken 2 at a time: the first
	// run in pieces of 2 and 1 lines, then the second, then nothing.
	var ah Ahead
	r1, r2 := make([]float32, 40), make([]float32, 16)
	ah.Add(r1)
	ah.Add(r2)
	if got, want := ah.Lines(), 4; got != want {
		t.Fatalf("Lines() = %d, want %d", got, want)
	}
	for i, want := range []struct {
		p *float32
		n int
	}{{&r1[0], 2}, {&r1[32], 1}, {&r2[0], 1}, {nil, 0}} {
		p, n := ah.take(2)
		if (*float32)(p) != want.p || n != want.n {
			t.Errorf("take %d = (%p, %d), want (%p, %d)", i, p, n, want.p, want.n)
		}
	}
	var nilAhead *Ahead
	if p, n := nilAhead.take(5); p != nil || n != 0 {
		t.Errorf("nil Ahead: take(5) = (%p, %d), want (nil, 0)", p, n)
	}
}
