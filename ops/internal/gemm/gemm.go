package gemm

import (
	"fmt"
	"math/bits"
	"sync"
	"unsafe"
)

// Sgemm computes C = alpha*op(A)*op(B) + beta*C on row-major matrices, where op(A) is
// m x k (A, or A transposed when transA), op(B) is k x n, and C is m x n. lda, ldb and
// ldc are the row strides of A, B and C as stored. Only the m x n window of C is
// written. When beta is zero C is not read, and when alpha is zero or k is zero A and
// B are not read (the reference BLAS conventions). Sgemm panics if a stride or slice
// is too short for the shape, like gonum's blas routines.
//
// It runs on the calling goroutine and keeps no shared mutable state (packing buffers
// come from a sync.Pool), so callers may run several calls concurrently.
//
// The algorithm is the layered one of Goto & van de Geijn, "Anatomy of
// high-performance matrix multiplication" (ACM TOMS 34(3), 2008), as organised by
// BLIS (Van Zee & van de Geijn, ACM TOMS 41(3), 2015): op(B) is cut into kc x nc
// blocks of nr-wide column panels (packed, or read in place when that pays; see
// sgemmStream), op(A) into mc x kc blocks (copied with a cache-friendly stride), and a
// micro-kernel keeps an mr x nr tile of C in registers while it streams mr rows of the
// A block and one B panel. The micro-kernel is chosen at run time by CPU feature: AVX-512 (14 x 32),
// AVX2+FMA (6 x 16), or pure Go (4 x 4).
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	if m == 0 || n == 0 {
		return
	}
	if alpha == 0 || k == 0 {
		scale(m, n, beta, c, ldc)
		return
	}
	kern := active
	if kern == nil {
		kern = best
	}
	sgemmStream(kern, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkArgs panics unless every stride and slice fits the shape.
func checkArgs(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	check := func(name string, s []float32, rows, cols, ld int) {
		if ld < cols {
			panic(fmt.Sprintf("gemm: ld%s=%d is less than %d columns", name, ld, cols))
		}
		if rows > 0 && cols > 0 && len(s) < (rows-1)*ld+cols {
			panic(fmt.Sprintf("gemm: len(%s)=%d is too short for %d x %d with stride %d", name, len(s), rows, cols, ld))
		}
	}
	check("a", a, ar, ac, lda)
	check("b", b, br, bc, ldb)
	check("c", c, m, n, ldc)
}

// scale sets C = beta*C, writing zeros when beta is zero.
func scale(m, n int, beta float32, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		ci := c[i*ldc : i*ldc+n]
		switch beta {
		case 0:
			clear(ci)
		case 1:
		default:
			for j := range ci {
				ci[j] *= beta
			}
		}
	}
}

// microKernel computes the tile C = alpha*op(A)*Bpanel + beta*C for k steps. Bpanel is
// k x kernel.nr; for a kernel's microN, A is an mr x k block stored row-major (element
// (r, p) at a[r*lda+p]); for microT it is stored transposed (at a[p*lda+r]); mr is
// fixed by the function. c points at the tile's top-left element of C, with row
// stride ldc. Only the first nr columns of the tile are written; when beta is zero C
// is not read.
//
// When pf is nil, Bpanel is packed: row p at b[p*nr] (ldb, pfStride and bcopy are
// ignored). Otherwise row p is at b[p*ldb], at step p the kernel prefetches the nr*4
// bytes at pf + p*pfStride (a row of the panel that comes next), and when bcopy is
// not nil it also stores the panel, packed, at bcopy (k rows of nr floats) for the
// next row tiles to read. The prefetch is a hint that never changes the result; a
// prefetch past the end of pf's allocation is harmless.
type microKernel func(k int, a unsafe.Pointer, lda int, b unsafe.Pointer, ldb int, c unsafe.Pointer, ldc int, alpha, beta float32, nr int, pf unsafe.Pointer, pfStride int, bcopy unsafe.Pointer)

// kernel is one implementation of the packed algorithm: its register tile, block
// sizes and helpers.
type kernel struct {
	name   string
	mr, nr int // register tile: at most mr rows, exactly nr packed columns
	// microN[r-1] and microT[r-1] compute r rows, r = 1..mr, from a row-major and a
	// transposed A block.
	microN, microT []microKernel
	// packB, when not nil, packs npanel full nr-wide panels of an untransposed B.
	packB func(dst, src unsafe.Pointer, kc, npanel, ldb int)
	// packBT, when not nil, packs 16*nblk rows of one full nr-wide panel of a
	// transposed B (nr = 32 only).
	packBT func(dst, src unsafe.Pointer, nblk, ldb int)
	// kc, mc and nc bound the block sizes: a kc x nr B panel should stay in L1, an
	// mc x kc A block and a kc x nc B block in L2 (Goto & van de Geijn, section 6).
	kc, mc, nc int
}

var (
	// best is the fastest kernel this CPU supports, set at init.
	best = goKernel
	// active, when not nil, overrides best; tests set it to check every kernel.
	active *kernel
	// kernels lists every kernel this CPU supports, slowest (pure Go) first.
	kernels = []*kernel{goKernel}
)

// workspace holds the packing buffers of one call.
type workspace struct {
	a, b, p []float32 // A block, B block, one B panel
	t       []float32 // packBTPanel's staging rows and tiles
}

var workspaces = sync.Pool{New: func() any { return new(workspace) }}

// grow returns s resliced to n elements starting at a 64-byte boundary, reallocating
// if it is too small. Alignment keeps each packed row of a panel in one cache line.
func grow(s []float32, n int) []float32 {
	const pad = 16 // floats in 64 bytes
	if cap(s) < n+pad {
		s = make([]float32, n+pad)
	}
	s = s[:cap(s)]
	off := int(uintptr(unsafe.Pointer(&s[0]))%64) / 4
	if off != 0 {
		off = pad - off
	}
	return s[off : off+n]
}

// blocks splits total into the fewest pieces of at most limit (rounded to a multiple
// of unit when it is smaller than total) and returns the size of the pieces, balanced
// so that the last one is not a sliver.
func blocks(total, limit, unit int) int {
	if total <= limit {
		return total
	}
	nb := (total + limit - 1) / limit
	size := (total + nb - 1) / nb
	return (size + unit - 1) / unit * unit
}

// plan returns the block sizes of an m x n x k product with kern, the micro-kernels
// for A's layout and the row stride of the packed A block: the set-up sgemmPacked
// and sgemmStream share, so that they block and compute alike.
func (kern *kernel) plan(transA bool, m, n, k int) (kcBlk, mcBlk, ncBlk int, micro []microKernel, ldp int) {
	kcBlk = blocks(k, kern.kc, 1)
	mcBlk = blocks(m, kern.mc, kern.mr)
	ncBlk = blocks(n, kern.nc, kern.nr)
	if transA {
		return kcBlk, mcBlk, ncBlk, kern.microT, aStride(min(mcBlk, m))
	}
	return kcBlk, mcBlk, ncBlk, kern.microN, aStride(kcBlk)
}

// sgemmPacked runs the five loops of Goto's algorithm around kern's micro-kernel,
// packing every block of B. Sgemm runs sgemmStream instead; sgemmPacked stays as the
// reference that sgemmStream must match bit for bit (results recorded before the
// change were computed with it).
// A blocks are copied, not rearranged: row-major A stays row-major and transposed A
// stays transposed, each micro-kernel variant reading its own layout, so packing A is
// a few memmoves. The copy's stride is chosen so that the rows of a tile fall in
// different L1 sets (see aStride).
func sgemmPacked(kern *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	mr, nr := kern.mr, kern.nr
	kcBlk, mcBlk, ncBlk, micro, ldp := kern.plan(transA, m, n, k)
	bp := grow(ws.b, kcBlk*((min(ncBlk, n)+nr-1)/nr*nr))
	ap := grow(ws.a, ldp*max(kcBlk, min(mcBlk, m)))
	ws.a, ws.b = ap, bp
	var tiles [64]tile // mcBlk/mr+1 tiles at most; kern.mc <= 63*mr is checked in tests
	for jc := 0; jc < n; jc += ncBlk {
		nc := min(ncBlk, n-jc)
		for pc := 0; pc < k; pc += kcBlk {
			kc := min(kcBlk, k-pc)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			packB(kern, bp, transB, b, ldb, pc, kc, jc, nc, &ws.t)
			for ic := 0; ic < m; ic += mcBlk {
				mc := min(mcBlk, m-ic)
				ts := splitTiles(tiles[:0], mc, mr)
				if transA {
					for p := 0; p < kc; p++ {
						copy(ap[p*ldp:p*ldp+mc], a[(pc+p)*lda+ic:])
					}
				} else {
					for i := 0; i < mc; i++ {
						copy(ap[i*ldp:i*ldp+kc], a[(ic+i)*lda+pc:])
					}
				}
				for jr := 0; jr < nc; jr += nr {
					bpanel := unsafe.Pointer(&bp[jr*kc])
					w := min(nr, nc-jr)
					for _, t := range ts {
						off := t.row * ldp
						if transA {
							off = t.row
						}
						ci := unsafe.Pointer(&c[(ic+t.row)*ldc+jc+jr])
						micro[t.rows-1](kc, unsafe.Pointer(&ap[off]), ldp, bpanel, nr, ci, ldc, alpha, bet, w, bpanel, nr*4, nil)
					}
				}
			}
		}
	}
}

// sgemmStream is sgemmPacked with B read where it lies when that pays, and with the
// memory traffic of B overlapped with the arithmetic.
//
// When op(B) is B itself (not transposed), all of M is one row block (so each panel
// of B is used by one sweep of row tiles only) and B's row stride spreads a panel's
// rows over the sets of L2 (see spreadStride), the first row tile's micro-kernel
// reads each full nr-wide panel straight from B with its row stride and stores it,
// packed, into a one-panel buffer that stays in L1 for the other row tiles; only the
// narrower last panel of a block is packed beforehand. For a wide, short product such
// as M=64, K=288, N=12544, packing B meant a separate pass over 14 MB a call, waiting
// on memory, for a handful of row tiles of reuse; now each panel is read from memory
// once, already prefetched, by a kernel that computes while it copies. Otherwise B is
// packed a kc x nc block at a time as in sgemmPacked.
//
// Either way each micro-kernel prefetches, step by step, the rows of the panel that
// comes next (from B when that panel will be read in place or packed next, from the
// packed block when it is already there), so that panel is in cache when it is needed.
//
// The loops, blocks, A layout and micro-kernels are those of sgemmPacked and the B
// values read are the same, so every element of C is the same sequence of
// floating-point operations and the result is bit-identical.
func sgemmStream(kern *kernel, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ws := workspaces.Get().(*workspace)
	defer workspaces.Put(ws)
	mr, nr := kern.mr, kern.nr
	kcBlk, mcBlk, ncBlk, micro, ldp := kern.plan(transA, m, n, k)
	direct := !transB && mcBlk >= m && spreadStride(ldb, kcBlk)
	bp := grow(ws.b, kcBlk*((min(ncBlk, n)+nr-1)/nr*nr))
	ap := grow(ws.a, ldp*max(kcBlk, min(mcBlk, m)))
	ws.a, ws.b = ap, bp
	var cp []float32 // one packed panel, when direct
	if direct {
		cp = grow(ws.p, kcBlk*nr)
		ws.p = cp
	}
	// When all of op(A) is one block, its copy made for the first column block
	// serves every other one.
	oneA := kcBlk >= k && mcBlk >= m
	// A small op(A) in one block is read where it lies, with its own row stride: its
	// rows share few L1 sets anyway, and the copy was 6% of the thread time of a
	// grouped 1x1 convolution on 7x7 planes (A = 48 x 12 weights a call). The
	// micro-kernels read the same values, so the result is bit-identical.
	rowsA := m
	if transA {
		rowsA = k
	}
	if oneA && rowsA*lda <= smallA {
		ap, ldp, oneA = a, lda, false
	}
	copyA := &ap[0] != &a[0]
	var tiles [64]tile // mcBlk/mr+1 tiles at most; kern.mc <= 63*mr is checked in tests
	for jc := 0; jc < n; jc += ncBlk {
		nc := min(ncBlk, n-jc)
		full := nc / nr // panels read in place when direct
		for pc := 0; pc < k; pc += kcBlk {
			kc := min(kcBlk, k-pc)
			bet := beta
			if pc > 0 {
				bet = 1
			}
			if !direct {
				packB(kern, bp, transB, b, ldb, pc, kc, jc, nc, &ws.t)
			} else if full*nr < nc {
				packB(kern, bp[full*nr*kc:], false, b, ldb, pc, kc, jc+full*nr, nc-full*nr, &ws.t)
			}
			// panel returns the address and row stride (in floats) of the panel of
			// this block that starts at column jr.
			panel := func(jr int) (unsafe.Pointer, int) {
				if direct && jr < full*nr {
					return unsafe.Pointer(&b[pc*ldb+jc+jr]), ldb
				}
				return unsafe.Pointer(&bp[jr*kc]), nr
			}
			for ic := 0; ic < m; ic += mcBlk {
				mc := min(mcBlk, m-ic)
				ts := splitTiles(tiles[:0], mc, mr)
				if copyA && (!oneA || jc == 0) {
					if transA {
						for p := 0; p < kc; p++ {
							copy(ap[p*ldp:p*ldp+mc], a[(pc+p)*lda+ic:])
						}
					} else {
						for i := 0; i < mc; i++ {
							copy(ap[i*ldp:i*ldp+kc], a[(ic+i)*lda+pc:])
						}
					}
				}
				for jr := 0; jr < nc; jr += nr {
					w := min(nr, nc-jr)
					bpanel, bld := panel(jr)
					// A panel read in place from B is copied, packed, by the first
					// row tile into cp, which the others read from L1. All of them
					// prefetch the panel that comes next, the next one of this block
					// or the first of the next B block (direct means one row block
					// and B not transposed): the first tile alone, issuing them in a
					// quarter of the time, was 15% slower on M64K288N12544.
					var bcopy, pf unsafe.Pointer
					pfld := ldb
					if direct && jr < full*nr {
						bcopy = unsafe.Pointer(&cp[0])
						switch {
						case jr+nr < nc:
							pf, pfld = panel(jr + nr)
						case pc+kcBlk < k:
							pf = unsafe.Pointer(&b[(pc+kcBlk)*ldb+jc])
						case jc+ncBlk < n:
							pf = unsafe.Pointer(&b[jc+ncBlk])
						default:
							pf = bpanel
						}
					}
					for _, t := range ts {
						off := t.row * ldp
						if transA {
							off = t.row
						}
						ci := unsafe.Pointer(&c[(ic+t.row)*ldc+jc+jr])
						micro[t.rows-1](kc, unsafe.Pointer(&ap[off]), ldp, bpanel, bld, ci, ldc, alpha, bet, w, pf, pfld*4, bcopy)
						if bcopy != nil {
							bpanel, bld, bcopy = bcopy, nr, nil
						}
					}
				}
			}
		}
	}
}

// smallA is the most floats of a stored A, rows times row stride, that sgemmStream
// reads in place when it is one block: 2,048 floats, 8 KiB, a sixth of L1.
const smallA = 2048

// spreadStride reports whether kc rows of B with row stride ldb floats spread over
// the sets of L2 well enough to be read in place: at most 8 rows may share a set,
// half the ways of a 16-way L2. Rows ldb*4 bytes apart fall on span/g distinct set
// positions, g being the largest power of two dividing ldb*4 (at most span), where
// span = 64 KiB is the bytes a 1 MiB 16-way L2 maps once over its sets (AMD Zen 4 and
// 5; Intel's 2 MiB L2 spans 128 KiB and is more forgiving). M=64, K=288, N=12544 has
// rows 50,176 bytes apart: 64 positions for 288 rows, 4.5 rows a set position.
func spreadStride(ldb, kc int) bool {
	const span = 64 << 10
	g := min(1<<bits.TrailingZeros(uint(ldb*4)), span)
	return span/g*8 >= kc
}

// aStride returns the row stride for a packed A block whose rows hold n floats: n
// rounded up to a whole number of 64-byte lines, made odd in lines so that
// consecutive rows map to different L1 sets (a stride that is a multiple of 4 KiB
// would put all 14 rows of a tile in one 12-way set).
func aStride(n int) int {
	lines := (n + 15) / 16
	if lines%2 == 0 {
		lines++
	}
	return lines * 16
}

// tile is one row panel of a packed A block.
type tile struct {
	row, rows int // first row within the block and number of rows
}

// splitTiles cuts mc rows into the fewest tiles of at most mr rows, with heights
// differing by at most one: 64 rows with mr=14 become 13,13,13,13,12 rather than
// 14,14,14,14,8, which keeps every tile's accumulators busy.
func splitTiles(ts []tile, mc, mr int) []tile {
	nt := (mc + mr - 1) / mr
	base, extra := mc/nt, mc%nt
	row := 0
	for i := 0; i < nt; i++ {
		h := base
		if i < extra {
			h++
		}
		ts = append(ts, tile{row: row, rows: h})
		row += h
	}
	return ts
}

// packB packs rows p0..p0+kc-1, columns j0..j0+nc-1 of op(B) into nr-wide panels of
// dst (dst[q*kc*nr + p*nr + j] = op(B)[p0+p][j0+q*nr+j]), padding the last panel with
// zeros. t is scratch for packBTPanel.
func packB(kern *kernel, dst []float32, transB bool, b []float32, ldb, p0, kc, j0, nc int, t *[]float32) {
	nr := kern.nr
	if transB {
		// op(B)[p][j] = b[j*ldb+p]: each column of a panel is contiguous in b.
		for q := 0; q*nr < nc; q++ {
			w := min(nr, nc-q*nr)
			d := dst[q*kc*nr : (q+1)*kc*nr]
			if kern.packBT != nil {
				packBTPanel(kern, d, b[(j0+q*nr)*ldb+p0:], ldb, kc, w, t)
				continue
			}
			for j := 0; j < w; j++ {
				row := (j0 + q*nr + j) * ldb
				src := b[row+p0 : row+p0+kc]
				dj := d[j:]
				for p, v := range src {
					dj[p*nr] = v
				}
			}
			if w < nr {
				for p := 0; p < kc; p++ {
					clear(d[p*nr+w : p*nr+nr])
				}
			}
		}
		return
	}
	full := nc / nr
	if kern.packB != nil && full > 0 {
		kern.packB(unsafe.Pointer(&dst[0]), unsafe.Pointer(&b[p0*ldb+j0]), kc, full, ldb)
	} else {
		for q := 0; q < full; q++ {
			d := dst[q*kc*nr : (q+1)*kc*nr]
			for p := 0; p < kc; p++ {
				row := (p0+p)*ldb + j0 + q*nr
				copy(d[p*nr:p*nr+nr], b[row:row+nr])
			}
		}
	}
	if w := nc - full*nr; w > 0 {
		// One clear of the panel, then a copy a row: half the runtime calls of
		// clearing each row's padding on its own.
		d := dst[full*kc*nr : (full+1)*kc*nr]
		clear(d)
		for p := 0; p < kc; p++ {
			row := (p0+p)*ldb + j0 + full*nr
			copy(d[p*nr:p*nr+w], b[row:row+w])
		}
	}
}

// packBTPanel packs one panel of a transposed B with kern.packBT (nr = 32): the w <= 32
// rows of b, ldb apart, each holding kc values of K, become the kc x 32 panel d, whose
// columns past w are zeros. packBT transposes whole 32 x 16 blocks only, so a partial
// panel is first staged in *t as 32 rows padded with zeros, and the last kc%16 values
// of K go through a zero-padded 32 x 16 tile: the scalar copy this replaces cost 20%
// of the backward pass of a grouped 1x1 convolution on 7x7 planes (M12 N48 K49).
func packBTPanel(kern *kernel, d, b []float32, ldb, kc, w int, t *[]float32) {
	const nr, blk = 32, 16
	full := kc / blk * blk
	ldt := full + blk // staging row stride: room for the tail tile's 16 columns
	rows, stride := b, ldb
	need := 2 * nr * blk // the tail tile and its transpose
	if w < nr {
		need += nr * ldt
	}
	if cap(*t) < need {
		*t = make([]float32, need)
	}
	buf := (*t)[:need]
	tile, out := buf[:nr*blk], buf[nr*blk:2*nr*blk]
	if w < nr {
		st := buf[2*nr*blk:]
		for j := 0; j < w; j++ {
			copy(st[j*ldt:j*ldt+kc], b[j*ldb:j*ldb+kc])
			clear(st[j*ldt+kc : (j+1)*ldt])
		}
		clear(st[w*ldt:])
		rows, stride = st, ldt
	}
	if full > 0 {
		kern.packBT(unsafe.Pointer(&d[0]), unsafe.Pointer(&rows[0]), full/blk, stride)
	}
	r := kc - full
	if r == 0 {
		return
	}
	clear(tile)
	for j := 0; j < w; j++ {
		copy(tile[j*blk:j*blk+r], rows[j*stride+full:])
	}
	kern.packBT(unsafe.Pointer(&out[0]), unsafe.Pointer(&tile[0]), 1, blk)
	copy(d[full*nr:kc*nr], out[:r*nr])
}
