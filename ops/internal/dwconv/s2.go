package dwconv

import "fmt"

// S2Plan is a depthwise convolution at stride 2 that reads its input plane directly,
// without splitting it into phases. An output vector holds G whole output rows
// (G = 2 when two rows fit in 16 lanes, else 1). For each kernel row it loads the
// input rows it needs into two 16-lane registers A and B (two rows two apart when
// G = 2, the two halves of one row when G = 1), and each kernel column is then one
// two-source permutation of A and B: lane l takes the input column 2*ow + kw*dil -
// pad of its row, or a lane known to be zero where that column is outside the plane.
// The input width must be below 32 and not 16, so that such a zero lane exists.
//
// It is immutable and safe for concurrent use.
type S2Plan struct {
	H, W, OH, OW, KH, KW int
	g, vecs              int
	shift                int      // > 0: ConvPlanes takes vectors two at a time (see s2conv2AVX512)
	rows                 []int32  // per (vector, kernel row): offsets of the A and B loads
	rmask                []uint16 // per (vector, kernel row): lane masks of the A and B loads
	idx                  []int32  // per kernel column: 16 lanes of indices into A||B
	store                []uint16 // per vector: lanes inside the output plane
	wpairs               []int32  // kernel rows k whose weight gradient s2wgrad2AVX512 takes with k+shift (nil: none)
	wsingle              [2]int   // with wpairs: the kernel rows k0..k1-1 left to s2wgradAVX512
	srows                []int32  // with wpairs: the row offsets of kernel rows k0..k1-1, per vector
	srmask               []uint16 // with wpairs: their lane masks
	w33                  bool     // WeightGradPlanes takes all three rows of a 3x3 kernel in one pass (s2wgrad33AVX512)
	dx                   s2dx     // the input gradient's tables
}

// S2Applies reports whether NewS2Plan accepts an input plane w values wide.
func S2Applies(w int) bool { return w > 0 && w < 32 && w != 16 }

// maxS2KW is the widest kernel of an S2Plan: the weight-gradient kernel keeps one
// accumulator register per kernel column.
const maxS2KW = 9

// NewS2Plan returns the stride-2 plan of a kh x kw kernel with the given padding and
// dilation over an h x w input plane whose output is oh x ow.
func NewS2Plan(h, w, oh, ow, kh, kw, padH, padW, dilH, dilW int) (*S2Plan, error) {
	if !S2Applies(w) || h <= 0 || oh <= 0 || ow <= 0 || ow > 16 || kh <= 0 || kw <= 0 || kw > maxS2KW {
		return nil, fmt.Errorf("dwconv: no stride-2 plan for a %dx%d kernel on %dx%d -> %dx%d", kh, kw, h, w, oh, ow)
	}
	p := &S2Plan{H: h, W: w, OH: oh, OW: ow, KH: kh, KW: kw, g: 1}
	zero := int32(31) // B's lane 15: past the row's w-16 values
	if w < 16 {
		zero = 15 // A's lane 15: past the row's w values
		if 2*ow <= 16 {
			p.g = 2
		}
	}
	p.vecs = (oh + p.g - 1) / p.g
	p.idx = make([]int32, kw*16)
	for k := 0; k < kw; k++ {
		for l := 0; l < 16; l++ {
			v := zero
			if r, c := l/ow, l%ow; r < p.g {
				if col := 2*c + k*dilW - padW; col >= 0 && col < w {
					v = int32(16*r + col)
				}
			}
			p.idx[k*16+l] = v
		}
	}
	// With one output row per vector, vector v+1's kernel row k reads the input
	// row of vector v's kernel row k+2/dilH: a pair of vectors shares rows. The
	// tables then hold one vector more (masks 0) for a last pair of an odd count.
	tv := p.vecs
	if p.g == 1 && 2%dilH == 0 && 2/dilH <= kh {
		p.shift = 2 / dilH
		tv++
	}
	p.rows = make([]int32, tv*kh*2)
	p.rmask = make([]uint16, tv*kh*2)
	p.store = make([]uint16, tv)
	for v := 0; v < p.vecs; v++ {
		p.store[v] = laneMask(min(p.g, oh-v*p.g) * ow)
		for k := 0; k < kh; k++ {
			e := 2 * (v*kh + k)
			for half := 0; half < 2; half++ {
				o := v*p.g + half // output row of this load when g == 2
				r := 2*o + k*dilH - padH
				off, m := r*w, laneMask(w)
				if p.g == 1 {
					r = 2*v + k*dilH - padH
					off, m = r*w, laneMask(w)
					if half == 1 {
						off, m = r*w+16, laneMask(w-16)
					}
				}
				if r < 0 || r >= h || o >= oh && p.g == 2 {
					off, m = 0, 0
				}
				p.rows[e+half], p.rmask[e+half] = int32(off), m
			}
		}
	}
	if p.shift > 0 && kw <= maxS2W2KW {
		p.pairWeightRows()
	}
	p.w33 = kh == 3 && kw == 3
	p.dx = newS2dx(p, padH, padW, dilH, dilW)
	return p, nil
}

// maxS2W2KW is the widest kernel whose weight gradient s2wgrad2AVX512 takes: it
// keeps four accumulator registers per kernel column.
const maxS2W2KW = 6

// pairWeightRows sets the kernel rows whose weight gradient is taken two at a time
// (k and k+shift, for each k in a block of shift rows of even index whose partner
// exists) and the tables of the rows left over, which are the last rows of an
// even block at the bottom of the kernel and so contiguous.
func (p *S2Plan) pairWeightRows() {
	k0, k1 := p.KH, p.KH
	for k := p.KH - 1; k >= 0; k-- {
		if (k/p.shift)%2 != 0 {
			continue
		}
		if k+p.shift < p.KH {
			p.wpairs = append(p.wpairs, int32(k))
			continue
		}
		if k0 == p.KH {
			k1 = k + 1
		}
		k0 = k
	}
	if p.wpairs == nil {
		return
	}
	p.wsingle = [2]int{k0, k1}
	if n := k1 - k0; n > 0 {
		p.srows = make([]int32, p.vecs*n*2)
		p.srmask = make([]uint16, p.vecs*n*2)
		for v := 0; v < p.vecs; v++ {
			copy(p.srows[2*v*n:2*(v+1)*n], p.rows[2*(v*p.KH+k0):2*(v*p.KH+k1)])
			copy(p.srmask[2*v*n:2*(v+1)*n], p.rmask[2*(v*p.KH+k0):2*(v*p.KH+k1)])
		}
	}
}

// SrcLen returns the values of one input plane, H*W.
func (p *S2Plan) SrcLen() int { return p.H * p.W }

// DstLen returns the values of one output plane, OH*OW.
func (p *S2Plan) DstLen() int { return p.OH * p.OW }

// Taps returns the number of weights of one plane, KH*KW.
func (p *S2Plan) Taps() int { return p.KH * p.KW }

// ConvPlanes sets, for s.Count planes, dst to bias plus the stride-2 convolution of
// src with the weights w in row-major kernel order (KH x KW); plane j uses dst, src
// and w from j times their strides and bias[j*s.B] (zero if bias is nil).
func (p *S2Plan) ConvPlanes(dst, src, w, bias []float32, s Strides) {
	if s.Count <= 0 {
		return
	}
	kk := p.Taps()
	if s.Dst < 0 || s.Src < 0 || s.W < 0 || s.B < 0 ||
		len(dst) < s.last(s.Dst)+p.DstLen() || len(src) < s.last(s.Src)+p.SrcLen() || len(w) < s.last(s.W)+kk ||
		(bias != nil && len(bias) < s.last(s.B)+1) {
		panic(fmt.Sprintf("dwconv: S2Plan.ConvPlanes %+v with %d dst, %d src, %d weights, %d biases; plane needs %d, %d, %d",
			s, len(dst), len(src), len(w), len(bias), p.DstLen(), p.SrcLen(), kk))
	}
	if useAsm {
		var bp *float32
		if bias != nil {
			bp = &bias[0]
		}
		if p.shift > 0 {
			s2conv2AVX512(&src[0], &dst[0], &w[0], bp, &p.rows[0], &p.rmask[0], &p.idx[0], &p.store[0],
				p.KH, p.KW, p.vecs, 4*p.g*p.OW, s.Count, 4*s.Src, 4*s.Dst, 4*s.W, 4*s.B, p.shift)
			return
		}
		s2convAVX512(&src[0], &dst[0], &w[0], bp, &p.rows[0], &p.rmask[0], &p.idx[0], &p.store[0],
			p.KH, p.KW, p.vecs, 4*p.g*p.OW, s.Count, 4*s.Src, 4*s.Dst, 4*s.W, 4*s.B)
		return
	}
	for j := 0; j < s.Count; j++ {
		var b float32
		if bias != nil {
			b = bias[j*s.B]
		}
		s2convGeneric(p, dst[j*s.Dst:], src[j*s.Src:], w[j*s.W:], b)
	}
}

// WeightGradPlanes adds, for s.Count planes, the weight gradient of ConvPlanes for
// the output gradient dy to dwv as 16 partial sums per weight: weight t of plane j
// gets dwv[j*s.W+16*t : j*s.W+16*t+16], whose sum is its gradient. Keeping lanes
// apart saves a horizontal sum per weight and plane; the caller sums them once.
func (p *S2Plan) WeightGradPlanes(dwv, src, dy []float32, s Strides) {
	if s.Count <= 0 {
		return
	}
	kk := p.Taps()
	if s.Dst < 0 || s.Src < 0 || s.W < 0 ||
		len(dy) < s.last(s.Dst)+p.DstLen() || len(src) < s.last(s.Src)+p.SrcLen() || len(dwv) < s.last(s.W)+16*kk {
		panic(fmt.Sprintf("dwconv: S2Plan.WeightGradPlanes %+v with %d dy, %d src, %d partial sums; plane needs %d, %d, %d",
			s, len(dy), len(src), len(dwv), p.DstLen(), p.SrcLen(), 16*kk))
	}
	if useAsm && p.w33 {
		s2wgrad33AVX512(&src[0], &dy[0], &dwv[0], &p.rows[0], &p.rmask[0], &p.idx[0], &p.store[0],
			p.vecs, 4*p.g*p.OW, s.Count, 4*s.Src, 4*s.Dst, 4*s.W)
		return
	}
	if useAsm && p.wpairs != nil {
		s2wgrad2AVX512(&src[0], &dy[0], &dwv[0], &p.rows[0], &p.rmask[0], &p.idx[0], &p.store[0], &p.wpairs[0],
			len(p.wpairs), p.KH, p.KW, p.vecs, 4*p.OW, s.Count, 4*s.Src, 4*s.Dst, 4*s.W, p.shift)
		if k0, k1 := p.wsingle[0], p.wsingle[1]; k1 > k0 {
			s2wgradAVX512(&src[0], &dy[0], &dwv[16*p.KW*k0], &p.srows[0], &p.srmask[0], &p.idx[0], &p.store[0],
				k1-k0, p.KW, p.vecs, 4*p.OW, s.Count, 4*s.Src, 4*s.Dst, 4*s.W)
		}
		return
	}
	if useAsm {
		s2wgradAVX512(&src[0], &dy[0], &dwv[0], &p.rows[0], &p.rmask[0], &p.idx[0], &p.store[0],
			p.KH, p.KW, p.vecs, 4*p.g*p.OW, s.Count, 4*s.Src, 4*s.Dst, 4*s.W)
		return
	}
	for j := 0; j < s.Count; j++ {
		s2wgradGeneric(p, dwv[j*s.W:], src[j*s.Src:], dy[j*s.Dst:])
	}
}

// loadRows sets a to the A and B registers of vector v and kernel row k.
func (p *S2Plan) loadRows(a *[32]float32, src []float32, v, k int) {
	e := 2 * (v*p.KH + k)
	for half := 0; half < 2; half++ {
		off, m := int(p.rows[e+half]), p.rmask[e+half]
		for l := 0; l < 16; l++ {
			a[16*half+l] = 0
			if m>>l&1 != 0 {
				a[16*half+l] = src[off+l]
			}
		}
	}
}

// s2convGeneric is the pure-Go twin of s2convAVX512 and s2conv2AVX512: each kernel column sums into
// an accumulator of its own (the first starts at the bias), which are added in
// column order at the end; separate sums keep the dependency chains short.
func s2convGeneric(p *S2Plan, dst, src, w []float32, bias float32) {
	var a [32]float32
	var acc [maxS2KW][16]float32
	vs := p.g * p.OW
	for v := 0; v < p.vecs; v++ {
		acc = [maxS2KW][16]float32{}
		for l := range acc[0] {
			acc[0][l] = bias
		}
		for k := 0; k < p.KH; k++ {
			p.loadRows(&a, src, v, k)
			for c := 0; c < p.KW; c++ {
				wt, ix := w[k*p.KW+c], p.idx[16*c:16*c+16]
				for l := range acc[c] {
					acc[c][l] += wt * a[ix[l]]
				}
			}
		}
		for c := 1; c < p.KW; c++ {
			for l := range acc[0] {
				acc[0][l] += acc[c][l]
			}
		}
		for l, sm := 0, p.store[v]; l < 16; l++ {
			if sm>>l&1 != 0 {
				dst[v*vs+l] = acc[0][l]
			}
		}
	}
}

// s2wgradGeneric is the pure-Go twin of s2wgradAVX512, s2wgrad2AVX512 (which
// takes kernel rows k and k+shift together) and s2wgrad33AVX512 (which takes all
// three rows of a 3x3 kernel in one pass over dy); all three add the same terms to
// the same accumulators in the same order: per kernel row, each kernel
// column has two accumulators, one summing the even vectors and one the odd ones,
// whose sum is then added to dwv.
func s2wgradGeneric(p *S2Plan, dwv, src, dy []float32) {
	var a [32]float32
	var d [16]float32
	var acc [2][maxS2KW][16]float32
	vs := p.g * p.OW
	for k := 0; k < p.KH; k++ {
		acc = [2][maxS2KW][16]float32{}
		for v := 0; v < p.vecs; v++ {
			p.loadRows(&a, src, v, k)
			for l, sm := 0, p.store[v]; l < 16; l++ {
				d[l] = 0
				if sm>>l&1 != 0 {
					d[l] = dy[v*vs+l]
				}
			}
			for c := 0; c < p.KW; c++ {
				ix, ac := p.idx[16*c:16*c+16], &acc[v&1][c]
				for l := range d {
					ac[l] += d[l] * a[ix[l]]
				}
			}
		}
		for c := 0; c < p.KW; c++ {
			o := 16 * (k*p.KW + c)
			for l := range d {
				dwv[o+l] += acc[0][c][l] + acc[1][c][l]
			}
		}
	}
}
