package gpw

import (
	"fmt"
	"unsafe"
)

// Tile sizes of the kernels: Apply computes TileRows output rows at a time,
// WeightGrad TileRows rows of A by TileCols rows of B, each product as 16 lanes.
const (
	TileRows = 6
	TileCols = 4
	Lanes    = 16
)

// Accelerated reports whether the AVX-512 kernels run.
func Accelerated() bool { return useAsm }

// PackedLen returns the length of the packed form of an M x K matrix.
func PackedLen(m, k int) int { return (m + TileRows - 1) / TileRows * TileRows * k }

// Pack writes the M x K matrix whose element (r, c) is a[r*rs+c*cs] into dst in the
// layout Apply reads: for each tile of TileRows rows, K groups of TileRows values,
// column-major within the tile, rows past M zero. dst must hold PackedLen(m, k).
func Pack(dst, a []float32, m, k, rs, cs int) {
	dst = dst[:PackedLen(m, k)]
	for t := 0; t*TileRows < m; t++ {
		blk := dst[t*TileRows*k : (t+1)*TileRows*k]
		for c := 0; c < k; c++ {
			for r := 0; r < TileRows; r++ {
				var v float32
				if row := t*TileRows + r; row < m {
					v = a[row*rs+c*cs]
				}
				blk[c*TileRows+r] = v
			}
		}
	}
}

// Apply sets dst[r*ldd+j] = sum over c of A(r, c) * src[c*lds+j] for r < m and
// j < n, the sum taken in increasing c, where ap holds A packed by Pack(ap, _, m, k,
// ...). It writes nothing else of dst and reads nothing past the last element of
// src's last row.
func Apply(dst []float32, ldd int, ap, src []float32, lds, m, k, n int) {
	ApplyAhead(dst, ldd, ap, src, lds, m, k, n, nil)
}

// ApplyAhead is Apply that also prefetches from ah as it goes (see Ahead); ah may be
// nil.
func ApplyAhead(dst []float32, ldd int, ap, src []float32, lds, m, k, n int, ah *Ahead) {
	if m <= 0 || n <= 0 {
		return
	}
	if k <= 0 || ldd < n || lds < n || len(ap) < PackedLen(m, k) ||
		len(dst) < (m-1)*ldd+n || len(src) < (k-1)*lds+n {
		panic(fmt.Sprintf("gpw: Apply(m=%d, k=%d, n=%d, ldd=%d, lds=%d) with buffers of %d, %d and %d values",
			m, k, n, ldd, lds, len(dst), len(ap), len(src)))
	}
	if useAsm {
		steps := (m + TileRows - 1) / TileRows * k * (n/64 + (n%64+15)/16)
		pf, pfn := ah.take(steps / 2)
		applyAVX512(&dst[0], &ap[0], &src[0], ldd, lds, m, k, n, pf, pfn)
		return
	}
	applyGeneric(dst, ldd, ap, src, lds, m, k, n)
}

// LanesLen returns the length of the partial sums WeightGrad keeps for an ma x mb
// product.
func LanesLen(ma, mb int) int {
	return (ma + TileRows - 1) / TileRows * ((mb + TileCols - 1) / TileCols) * TileRows * TileCols * Lanes
}

// WeightGrad adds the products a_r . b_c of rows r < ma of a and c < mb of b, each n
// values long with row pitches lda and ldb, to the partial sums in acc (LanesLen(ma,
// mb) values): lane l of each sum takes the columns j = l mod 16, in increasing j.
// ReduceLanes turns the partial sums into the ma x mb product.
func WeightGrad(acc, a []float32, lda, ma int, b []float32, ldb, mb, n int) {
	WeightGradAhead(acc, a, lda, ma, b, ldb, mb, n, nil)
}

// WeightGradAhead is WeightGrad that also prefetches from ah as it goes (see Ahead);
// ah may be nil.
func WeightGradAhead(acc, a []float32, lda, ma int, b []float32, ldb, mb, n int, ah *Ahead) {
	if ma <= 0 || mb <= 0 || n <= 0 {
		return
	}
	if lda < n || ldb < n || len(acc) < LanesLen(ma, mb) || len(a) < (ma-1)*lda+n || len(b) < (mb-1)*ldb+n {
		panic(fmt.Sprintf("gpw: WeightGrad(ma=%d, mb=%d, n=%d, lda=%d, ldb=%d) with buffers of %d, %d and %d values",
			ma, mb, n, lda, ldb, len(acc), len(a), len(b)))
	}
	tb := (mb + TileCols - 1) / TileCols
	for i := 0; i*TileRows < ma; i++ {
		ra := min(TileRows, ma-i*TileRows)
		for j := 0; j < tb; j++ {
			rb := min(TileCols, mb-j*TileCols)
			t := acc[(i*tb+j)*TileRows*TileCols*Lanes:][:TileRows*TileCols*Lanes]
			pa, pb := a[i*TileRows*lda:], b[j*TileCols*ldb:]
			if useAsm {
				pf, pfn := ah.take(n / Lanes / 2)
				wgradAVX512(&t[0], &pa[0], lda, ra, &pb[0], ldb, rb, n, pf, pfn)
			} else {
				wgradGeneric(t, pa, lda, ra, pb, ldb, rb, n)
			}
		}
	}
}

// ReduceLanes adds the ma x mb product whose partial sums acc holds (see WeightGrad)
// to dst: element (r, c) to dst[r*rs+c*cs], its 16 lanes summed in increasing order.
func ReduceLanes(dst []float32, rs, cs int, acc []float32, ma, mb int) {
	tb := (mb + TileCols - 1) / TileCols
	for r := 0; r < ma; r++ {
		for c := 0; c < mb; c++ {
			i, j := r/TileRows, c/TileCols
			t := (i*tb+j)*TileRows*TileCols + (r%TileRows)*TileCols + c%TileCols
			var s float32
			for _, v := range acc[t*Lanes : (t+1)*Lanes] {
				s += v
			}
			dst[r*rs+c*cs] += s
		}
	}
}

// lineFloats is the number of float32 values in a 64-byte cache line.
const lineFloats = 16

// Ahead is memory that the assembly kernels prefetch into the L2 cache as they run,
// one cache line every second step of their inner loops, for a later pass that would
// otherwise wait for it from main memory: the kernels' arithmetic, which stalls little
// on memory, then overlaps the transfer. On reference_net.py's training step one line
// every second step gained 1.7-2.9% in images per CPU-second, one line per step 1.3%
// (commit 89f5be2, a noisy machine). Prefetching changes no result. The zero value
// prefetches nothing; it holds at most four runs of memory.
type Ahead struct {
	runs [4]aheadRun
	n    int
}

// aheadRun is a run of cache lines still to prefetch.
type aheadRun struct {
	p     unsafe.Pointer
	lines int
}

// Reset drops the runs still to prefetch, and with them the references to their
// memory.
func (a *Ahead) Reset() { *a = Ahead{} }

// Add appends the cache lines of s to the runs to prefetch, after those added
// before; a fifth run is ignored. The caller keeps s alive until the runs are taken.
func (a *Ahead) Add(s []float32) {
	if len(s) == 0 || a.n == len(a.runs) {
		return
	}
	a.runs[a.n] = aheadRun{p: unsafe.Pointer(&s[0]), lines: (len(s) + lineFloats - 1) / lineFloats}
	a.n++
}

// Lines returns the number of cache lines still to prefetch.
func (a *Ahead) Lines() int {
	if a == nil {
		return 0
	}
	t := 0
	for _, r := range a.runs[:a.n] {
		t += r.lines
	}
	return t
}

// take removes and returns up to max lines from the start of the first run: their
// address and count (0 when a is nil or empty).
func (a *Ahead) take(max int) (unsafe.Pointer, int) {
	if a == nil || a.n == 0 || max <= 0 {
		return nil, 0
	}
	r := &a.runs[0]
	k := min(max, r.lines)
	p := r.p
	if r.lines -= k; r.lines > 0 {
		r.p = unsafe.Add(r.p, k*lineFloats*4)
	} else {
		copy(a.runs[:], a.runs[1:a.n])
		a.n--
	}
	return p, k
}
