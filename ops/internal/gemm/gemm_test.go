package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// unitRoundoff is float32's unit roundoff u = 2^-24.
const unitRoundoff = 0x1p-24

// sentinel fills C outside the m x n window; any change to it is a stray write.
var sentinel = float32(math.Float32frombits(0x7f7f1234)) // a large finite value unlikely to be produced

// problem is one Sgemm call with its operands laid out with padded strides.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float32
	a, b, c        []float32
	lda, ldb, ldc  int
}

func (p *problem) String() string {
	return fmt.Sprintf("Sgemm(transA=%v, transB=%v, m=%d, n=%d, k=%d, alpha=%v, lda=%d, ldb=%d, beta=%v, ldc=%d)",
		p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.lda, p.ldb, p.beta, p.ldc)
}

// newProblem draws A, B and C uniformly from [-1, 1) with strides padded by pad
// elements and two spare rows of C; C outside the window holds sentinel, and when
// beta is zero the window holds NaN, which must be overwritten without being read.
func newProblem(rng *rand.Rand, transA, transB bool, m, n, k int, alpha, beta float32, pad int) *problem {
	p := &problem{transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	p.lda, p.ldb, p.ldc = ac+pad, bc+pad, n+pad
	p.a = randSlice(rng, ar*p.lda)
	p.b = randSlice(rng, br*p.ldb)
	p.c = make([]float32, (m+2)*p.ldc)
	for i := range p.c {
		p.c[i] = sentinel
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			if beta == 0 {
				p.c[i*p.ldc+j] = float32(math.NaN())
			} else {
				p.c[i*p.ldc+j] = rng.Float32()*2 - 1
			}
		}
	}
	return p
}

func randSlice(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = rng.Float32()*2 - 1
	}
	return s
}

// reference returns alpha*op(A)*op(B) + beta*C in float64 and, for each element, the
// error bound of a float32 evaluation in any order: by Higham, "Accuracy and Stability
// of Numerical Algorithms" (2002), eq. (3.5), a k-term dot product computed in
// floating point is within gamma_k*sum|a_p*b_p| of the exact one, gamma_k =
// k*u/(1-k*u). The product with alpha, the product with beta and the final addition
// add three more roundings, hence gamma_{k+3} applied to
// |alpha|*sum|a||b| + |beta*c|.
func (p *problem) reference() (want, bound []float64) {
	want = make([]float64, p.m*p.n)
	bound = make([]float64, p.m*p.n)
	g := float64(p.k+3) * unitRoundoff / (1 - float64(p.k+3)*unitRoundoff)
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			var sum, abs float64
			for q := 0; q < p.k; q++ {
				var av, bv float64
				if p.transA {
					av = float64(p.a[q*p.lda+i])
				} else {
					av = float64(p.a[i*p.lda+q])
				}
				if p.transB {
					bv = float64(p.b[j*p.ldb+q])
				} else {
					bv = float64(p.b[q*p.ldb+j])
				}
				sum += av * bv
				abs += math.Abs(av * bv)
			}
			w := float64(p.alpha) * sum
			e := math.Abs(float64(p.alpha)) * abs
			if p.beta != 0 {
				bc := float64(p.beta) * float64(p.c[i*p.ldc+j])
				w += bc
				e += math.Abs(bc)
			}
			want[i*p.n+j] = w
			// The smallest normal float32 covers underflow in products of tiny values.
			bound[i*p.n+j] = g*e + 0x1p-126
		}
	}
	return want, bound
}

// check runs p with the active kernel and reports every wrong element, stray write or
// modified input.
func (p *problem) check(t *testing.T) {
	t.Helper()
	want, bound := p.reference()
	a0, b0 := append([]float32(nil), p.a...), append([]float32(nil), p.b...)
	c := append([]float32(nil), p.c...)
	Sgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, c, p.ldc)
	bad := 0
	for i := 0; i < p.m+2; i++ {
		for j := 0; j < p.ldc; j++ {
			got := c[i*p.ldc+j]
			if i >= p.m || j >= p.n {
				if math.Float32bits(got) != math.Float32bits(sentinel) {
					t.Errorf("%v: C[%d][%d] outside the window = %v, want it untouched (%v)", p, i, j, got, sentinel)
					bad++
				}
			} else if w, e := want[i*p.n+j], bound[i*p.n+j]; !(math.Abs(float64(got)-w) <= e) {
				t.Errorf("%v: C[%d][%d] = %v, want %v within %.3g", p, i, j, got, w, e)
				bad++
			}
			if bad > 5 {
				t.Fatalf("%v: too many errors", p)
			}
		}
	}
	for i := range a0 {
		if math.Float32bits(a0[i]) != math.Float32bits(p.a[i]) {
			t.Fatalf("%v: A[%d] changed from %v to %v", p, i, a0[i], p.a[i])
		}
	}
	for i := range b0 {
		if math.Float32bits(b0[i]) != math.Float32bits(p.b[i]) {
			t.Fatalf("%v: B[%d] changed from %v to %v", p, i, b0[i], p.b[i])
		}
	}
}

// forEachKernel runs f once with each kernel this machine supports forced.
func forEachKernel(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	for _, kern := range kernels {
		t.Run(kern.name, func(t *testing.T) {
			active = kern
			defer func() { active = nil }()
			f(t)
		})
	}
}

// edgeDims are sizes around powers of two and around the register tiles (4, 14, 16,
// 32) where edge tiles and padded panels appear.
var edgeDims = []int{1, 2, 3, 7, 8, 9, 13, 14, 15, 16, 17, 29, 31, 33, 63, 65}

// scalars are the (alpha, beta) pairs of the brief: 0, 1 and two that round.
var scalars = []float32{0, 1, 0.5, -2}

func TestSgemmEdges(t *testing.T) {
	kDims := []int{1, 2, 3, 7, 16, 17, 33, 65}
	if testing.Short() {
		kDims = []int{1, 3, 17}
	}
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 2))
		i := 0
		for _, m := range edgeDims {
			for _, n := range edgeDims {
				for _, k := range kDims {
					for tr := 0; tr < 4; tr++ {
						// Cycle through the 16 (alpha, beta) pairs and the
						// paddings so that each meets every shape class.
						alpha, beta := scalars[i%4], scalars[(i/4)%4]
						pad := []int{0, 1, 5}[i%3]
						i++
						p := newProblem(rng, tr&1 != 0, tr&2 != 0, m, n, k, alpha, beta, pad)
						p.check(t)
					}
				}
			}
		}
	})
}

// TestSgemmBlocks uses shapes that cross the kc, mc and nc block boundaries of every
// kernel (the largest are 384, 672 and 2048), so the second K block (beta=1) and
// several packed blocks are exercised.
func TestSgemmBlocks(t *testing.T) {
	shapes := []struct{ m, n, k int }{
		{5, 40, 1100},  // several K blocks, k not a multiple of any kc
		{30, 2100, 9},  // several N blocks with a partial last panel
		{700, 20, 11},  // several M blocks
		{33, 800, 400}, // all three at once for the AVX-512 kernel
		{64, 196, 288}, // a conv shape: 3x3x32 -> 64 channels on 14x14
	}
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(3, 4))
		for i, s := range shapes {
			for tr := 0; tr < 4; tr++ {
				p := newProblem(rng, tr&1 != 0, tr&2 != 0, s.m, s.n, s.k, scalars[(i+tr)%3+1], scalars[(i+tr)%4], 3)
				p.check(t)
			}
		}
	})
}

// TestSgemmConcurrent checks that concurrent calls give the same bits as a
// sequential one (the race detector checks the sharing of packing buffers).
func TestSgemmConcurrent(t *testing.T) {
	forEachKernel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 6))
		const m, n, k, g = 37, 150, 70, 8
		a, b := randSlice(rng, m*k), randSlice(rng, k*n)
		want := make([]float32, m*n)
		Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, want, n)
		got := make([][]float32, g)
		var wg sync.WaitGroup
		for i := range got {
			got[i] = make([]float32, m*n)
			wg.Add(1)
			go func() {
				defer wg.Done()
				Sgemm(false, false, m, n, k, 1, a, k, b, n, 0, got[i], n)
			}()
		}
		wg.Wait()
		for i := range got {
			for j := range want {
				if math.Float32bits(got[i][j]) != math.Float32bits(want[j]) {
					t.Fatalf("goroutine %d: C[%d] = %v, want %v as computed sequentially", i, j, got[i][j], want[j])
				}
			}
		}
	})
}

// TestSgemmDegenerate covers the shapes that do no multiplication.
func TestSgemmDegenerate(t *testing.T) {
	tests := []struct {
		m, n, k     int
		alpha, beta float32
		want        float32 // every element of the 2 x 3 C, initially 3
	}{
		{2, 3, 0, 1, 0.5, 1.5},
		{2, 3, 0, 1, 0, 0},
		{2, 3, 4, 0, -2, -6},
		{2, 3, 4, 0, 1, 3},
		{0, 3, 4, 1, 0, 3},
		{2, 0, 4, 1, 0, 3},
	}
	for _, tt := range tests {
		c := []float32{3, 3, 3, 3, 3, 3}
		a, b := make([]float32, 8), make([]float32, 12)
		for i := range a {
			a[i] = float32(math.NaN()) // must not be read
		}
		Sgemm(false, false, tt.m, tt.n, tt.k, tt.alpha, a, max(tt.k, 1), b, 3, tt.beta, c, 3)
		for i := 0; i < tt.m*tt.n; i++ {
			if c[i] != tt.want {
				t.Errorf("Sgemm(m=%d, n=%d, k=%d, alpha=%v, beta=%v): C[%d] = %v, want %v", tt.m, tt.n, tt.k, tt.alpha, tt.beta, i, c[i], tt.want)
			}
		}
	}
}

func TestSgemmPanics(t *testing.T) {
	tests := []struct {
		name string
		f    func()
	}{
		{"short c", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 4), 2, 0, make([]float32, 3), 2)
		}},
		{"small lda", func() {
			Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 1, make([]float32, 4), 2, 0, make([]float32, 4), 2)
		}},
		{"short transposed a", func() {
			Sgemm(true, false, 3, 2, 2, 1, make([]float32, 5), 3, make([]float32, 4), 2, 0, make([]float32, 6), 2)
		}},
		{"negative m", func() { Sgemm(false, false, -1, 2, 2, 1, nil, 2, nil, 2, 0, nil, 2) }},
	}
	for _, tt := range tests {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Sgemm did not panic", tt.name)
				}
			}()
			tt.f()
		}()
	}
}

// TestKernelTables checks each kernel's invariants that sgemmPacked relies on.
func TestKernelTables(t *testing.T) {
	for _, kern := range kernels {
		if len(kern.microN) != kern.mr || len(kern.microT) != kern.mr {
			t.Errorf("%s: %d and %d micro-kernels, want one per height 1..%d", kern.name, len(kern.microN), len(kern.microT), kern.mr)
		}
		if kern.mc/kern.mr+1 > 64 {
			t.Errorf("%s: mc=%d allows %d tiles, more than the 64 sgemmPacked has room for", kern.name, kern.mc, kern.mc/kern.mr+1)
		}
		if kern.mc%kern.mr != 0 || kern.nc%kern.nr != 0 {
			t.Errorf("%s: mc=%d, nc=%d must be multiples of mr=%d, nr=%d", kern.name, kern.mc, kern.nc, kern.mr, kern.nr)
		}
	}
}

func TestSplitTiles(t *testing.T) {
	tests := []struct {
		mc, mr int
		want   []int
	}{
		{64, 14, []int{13, 13, 13, 13, 12}},
		{14, 14, []int{14}},
		{15, 14, []int{8, 7}},
		{3, 4, []int{3}},
		{24, 6, []int{6, 6, 6, 6}},
	}
	for _, tt := range tests {
		ts := splitTiles(nil, tt.mc, tt.mr)
		var got []int
		row := 0
		for _, x := range ts {
			if x.row != row {
				t.Errorf("splitTiles(%d, %d): tile at row %d, want %d", tt.mc, tt.mr, x.row, row)
			}
			got = append(got, x.rows)
			row += x.rows
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("splitTiles(%d, %d) heights = %v, want %v", tt.mc, tt.mr, got, tt.want)
		}
	}
}

// FuzzSgemm compares every kernel with the float64 reference on random shapes.
func FuzzSgemm(f *testing.F) {
	f.Add(uint8(17), uint8(33), uint8(9), uint8(0), uint64(1))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(255), uint64(2))
	f.Fuzz(func(t *testing.T, m, n, k, flags uint8, seed uint64) {
		rng := rand.New(rand.NewPCG(seed, 7))
		alpha, beta := scalars[flags>>2&3], scalars[flags>>4&3]
		pad := int(flags >> 6)
		for _, kern := range kernels {
			active = kern
			p := newProblem(rng, flags&1 != 0, flags&2 != 0, int(m%80), int(n%80), int(k%80), alpha, beta, pad)
			p.check(t)
		}
		active = nil
	})
}

// TestSgemmStreamMatchesPacked checks that sgemmStream, which Sgemm runs, gives the
// same bits as sgemmPacked, the driver it replaced, on which results recorded before
// the change were computed: reading B in place, copying a panel in the first row
// tile and prefetching must not change a single operation.
func TestSgemmStreamMatchesPacked(t *testing.T) {
	type shape struct{ m, n, k, pad int }
	shapes := []shape{
		{64, 400, 288, 0},          // the first conv layer's shape, narrowed: B in place
		{14, 64, 20, 0},            // one row tile: B in place without the copy
		{33, 800, 400, 3},          // two K blocks and several N blocks for every kernel
		{700, 40, 30, 1},           // several M blocks: B packed
		{30, 100, 40, 16384 - 100}, // ldb = 16384: rows 64 KiB apart share L2 sets, B packed
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 40 {
		shapes = append(shapes, shape{1 + rng.IntN(80), 1 + rng.IntN(300), 1 + rng.IntN(100), rng.IntN(40)})
	}
	for _, kern := range kernels {
		for i, s := range shapes {
			for tr := 0; tr < 4; tr++ {
				alpha, beta := scalars[(i+tr)%3+1], scalars[(i+tr+1)%4]
				p := newProblem(rng, tr&1 != 0, tr&2 != 0, s.m, s.n, s.k, alpha, beta, s.pad)
				want := append([]float32(nil), p.c...)
				got := append([]float32(nil), p.c...)
				sgemmPacked(kern, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, want, p.ldc)
				sgemmStream(kern, p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.a, p.lda, p.b, p.ldb, p.beta, got, p.ldc)
				for j := range want {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("%s: %v: C[%d] = %v (%#08x) from sgemmStream, want %v (%#08x) as from sgemmPacked",
							kern.name, p, j, got[j], math.Float32bits(got[j]), want[j], math.Float32bits(want[j]))
					}
				}
			}
		}
	}
}

func TestSpreadStride(t *testing.T) {
	tests := []struct {
		ldb, kc int
		want    bool
	}{
		{12544, 288, true},  // 112x112 maps: rows 50,176 bytes apart, 64 set positions
		{3136, 384, true},   // 56x56
		{196, 384, true},    // 14x14
		{16384, 288, false}, // rows 64 KiB apart: all on one set position
		{4096, 288, false},  // 16 KiB apart: 4 positions, 72 rows each
		{4096, 32, true},    // the same stride, few enough rows
		{1, 1, true},
	}
	for _, tt := range tests {
		if got := spreadStride(tt.ldb, tt.kc); got != tt.want {
			t.Errorf("spreadStride(%d, %d) = %v, want %v", tt.ldb, tt.kc, got, tt.want)
		}
	}
}
