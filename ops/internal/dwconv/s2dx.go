package dwconv

import "fmt"

// s2dx is the input-gradient part of an S2Plan: the transposed stride-2
// convolution written straight into the input-gradient plane. An input-gradient
// vector holds G whole input rows (G = 2 when two rows fit in 16 lanes, else 1,
// with a row wider than 16 split into two halves). Input row r gets the output
// gradient row (r + padH - kh*dilH)/2 through kernel row kh when that is a whole
// row inside the plane; each such kernel row is one entry of the vector, which
// loads those output-gradient rows into A (the top input row) and B (the bottom
// one, G = 2). Each kernel column is then one two-source permutation of A||B with
// a zeroing lane mask: lane l takes output column (c + padW - kw*dilW)/2 of its
// row for input column c, or zero where that is not a whole column inside the plane.
//
// When dilW is odd, kernel columns 2s and 2s+1 feed input columns of opposite
// parity, so their lanes are disjoint: one permutation (pidx) serves both, and two
// fused multiply-adds masked to each column's lanes (km) add their terms into the
// one accumulator of the pair. Per lane this adds the same terms in the same order
// as one accumulator per column, with half the permutations.
type s2dx struct {
	g, vecs int
	halves  bool     // w > 16: vectors 2r and 2r+1 are the halves of input row r
	pairs   bool     // dilW is odd: columns 2s and 2s+1 share a permutation
	vec     []int32  // per vector: entries, first idx row (phase*KW), dx offset, store mask
	ent     []int32  // per entry: weight-row offset in bytes, A offset, B offset, A mask | B mask<<16
	idx     []int32  // per (phase, kernel column): 16 lanes of indices into A||B
	pidx    []int32  // per (phase, column pair s), at row phase*KW+s: idx of column 2s or 2s+1 per lane
	km      []uint16 // per (phase, kernel column): lanes that take a value
}

// newS2dx builds the input-gradient tables of p.
func newS2dx(p *S2Plan, padH, padW, dilH, dilW int) s2dx {
	h, w, oh, ow, kh, kw := p.H, p.W, p.OH, p.OW, p.KH, p.KW
	d := s2dx{g: 1}
	phases := 1
	switch {
	case 2*w <= 16:
		d.g = 2
	case w > 16:
		phases = 2
		d.halves = true
	}
	// col returns the output column of input column c through kernel column k,
	// or -1 when there is none.
	col := func(c, k int) int {
		t := c + padW - k*dilW
		if c < 0 || c >= w || t < 0 || t&1 != 0 || t/2 >= ow {
			return -1
		}
		return t / 2
	}
	// row returns the output row of input row r through kernel row k, or -1.
	row := func(r, k int) int {
		t := r + padH - k*dilH
		if r >= h || t < 0 || t&1 != 0 || t/2 >= oh {
			return -1
		}
		return t / 2
	}
	d.idx = make([]int32, phases*kw*16)
	d.km = make([]uint16, phases*kw)
	for ph := 0; ph < phases; ph++ {
		for k := 0; k < kw; k++ {
			for l := 0; l < 16; l++ {
				g, c := 0, 16*ph+l
				if d.g == 2 {
					g, c = l/w, l%w
					if g >= 2 {
						continue
					}
				}
				if oc := col(c, k); oc >= 0 {
					d.idx[(ph*kw+k)*16+l] = int32(16*g + oc)
					d.km[ph*kw+k] |= 1 << l
				}
			}
		}
	}
	if dilW%2 == 1 {
		d.pairs = true
		d.pidx = make([]int32, len(d.idx))
		for ph := 0; ph < phases; ph++ {
			for k := 0; k < kw; k++ {
				dst := d.pidx[(ph*kw+k/2)*16:]
				for l := 0; l < 16; l++ {
					if d.km[ph*kw+k]>>l&1 != 0 {
						dst[l] = d.idx[(ph*kw+k)*16+l]
					}
				}
			}
		}
	}
	rowsPer := d.g
	if d.g == 1 {
		d.vecs = h * phases
	} else {
		d.vecs = (h + 1) / 2
	}
	for v := 0; v < d.vecs; v++ {
		r, ph := v*rowsPer, 0
		if phases == 2 {
			r, ph = v/2, v%2
		}
		n := 0
		for k := 0; k < kh; k++ {
			a, b := row(r, k), -1
			if d.g == 2 {
				b = row(r+1, k)
			}
			if a < 0 && b < 0 {
				continue
			}
			var ao, bo, am, bm int
			if a >= 0 {
				ao, am = a*ow, int(laneMask(ow))
			}
			if b >= 0 {
				bo, bm = b*ow, int(laneMask(ow))
			}
			d.ent = append(d.ent, int32(4*k*kw), int32(ao), int32(bo), int32(am|bm<<16))
			n++
		}
		off, store := r*w+16*ph, laneMask(min(16, w-16*ph))
		if d.g == 2 {
			store = laneMask(min(2, h-r) * w)
		}
		d.vec = append(d.vec, int32(n), int32(ph*kw), int32(4*off), int32(store))
	}
	if len(d.ent) == 0 { // the assembly takes the address of the first entry
		d.ent = make([]int32, 4)
	}
	return d
}

// InputGradPlanes sets, for s.Count planes, dx to the input gradient of ConvPlanes
// for the output gradient dy and the weights w in row-major kernel order (adds
// into it if accumulate): plane j writes dx[j*s.Dst:] and reads dy from j*s.Src
// and w from j*s.W. Every input value is written, once, in place: no phase planes.
//
// Each value sums its kernel column's terms in one accumulator per column (per
// column pair when dilW is odd, which is the same sums since a pair's lanes are
// disjoint), over the kernel rows in order, and the columns' sums in column order;
// the assembly and the Go twin add the same terms in the same order.
func (p *S2Plan) InputGradPlanes(dx, dy, w []float32, s Strides, accumulate bool) {
	if s.Count <= 0 {
		return
	}
	kk := p.Taps()
	if s.Dst < 0 || s.Src < 0 || s.W < 0 ||
		len(dx) < s.last(s.Dst)+p.SrcLen() || len(dy) < s.last(s.Src)+p.DstLen() || len(w) < s.last(s.W)+kk {
		panic(fmt.Sprintf("dwconv: S2Plan.InputGradPlanes %+v with %d dx, %d dy, %d weights; plane needs %d, %d, %d",
			s, len(dx), len(dy), len(w), p.SrcLen(), p.DstLen(), kk))
	}
	if useAsm && p.dx.pairs && p.dx.halves {
		s2dxPair2AVX512(&dy[0], &dx[0], &w[0], &p.dx.vec[0], &p.dx.ent[0], &p.dx.pidx[0], &p.dx.km[0],
			p.KW, p.dx.vecs, s.Count, 4*s.Src, 4*s.Dst, 4*s.W, accumulate)
		return
	}
	if useAsm && p.dx.pairs {
		s2dxPairAVX512(&dy[0], &dx[0], &w[0], &p.dx.vec[0], &p.dx.ent[0], &p.dx.pidx[0], &p.dx.km[0],
			p.KW, p.dx.vecs, s.Count, 4*s.Src, 4*s.Dst, 4*s.W, accumulate)
		return
	}
	if useAsm {
		s2dxAVX512(&dy[0], &dx[0], &w[0], &p.dx.vec[0], &p.dx.ent[0], &p.dx.idx[0], &p.dx.km[0],
			p.KW, p.dx.vecs, s.Count, 4*s.Src, 4*s.Dst, 4*s.W, accumulate)
		return
	}
	for j := 0; j < s.Count; j++ {
		s2dxGeneric(p, dx[j*s.Dst:], dy[j*s.Src:], w[j*s.W:], accumulate)
	}
}

// s2dxGeneric is the pure-Go twin of s2dxAVX512 and s2dxPairAVX512 for one plane.
func s2dxGeneric(p *S2Plan, dx, dy, w []float32, accumulate bool) {
	d := &p.dx
	if d.pairs {
		s2dxPairGeneric(p, dx, dy, w, accumulate)
		return
	}
	var a [32]float32
	var acc [maxS2KW][16]float32
	e := 0
	for v := 0; v < d.vecs; v++ {
		n, ph, off, sm := int(d.vec[4*v]), int(d.vec[4*v+1]), int(d.vec[4*v+2])/4, uint16(d.vec[4*v+3])
		acc = [maxS2KW][16]float32{}
		for ; n > 0; n-- {
			wr := w[d.ent[e]/4:]
			s2dxLoadHalves(&a, dy, d.ent[e:e+4])
			e += 4
			for c := 0; c < p.KW; c++ {
				ix, km, wt := d.idx[(ph+c)*16:], d.km[ph+c], wr[c]
				for l := range acc[c] {
					var x float32
					if km>>l&1 != 0 {
						x = a[ix[l]]
					}
					acc[c][l] += wt * x
				}
			}
		}
		for c := 1; c < p.KW; c++ {
			for l := range acc[0] {
				acc[0][l] += acc[c][l]
			}
		}
		s2dxStore(dx[off:], &acc[0], sm, accumulate)
	}
}

// s2dxPairGeneric is the pure-Go twin of s2dxPairAVX512 and s2dxPair2AVX512 for one plane: kernel
// columns 2s and 2s+1 read one permutation and add into one accumulator, each on
// its own lanes.
func s2dxPairGeneric(p *S2Plan, dx, dy, w []float32, accumulate bool) {
	d := &p.dx
	var a [32]float32
	var x [16]float32
	var acc [(maxS2KW + 1) / 2][16]float32
	ns := (p.KW + 1) / 2
	e := 0
	for v := 0; v < d.vecs; v++ {
		n, ph, off, sm := int(d.vec[4*v]), int(d.vec[4*v+1]), int(d.vec[4*v+2])/4, uint16(d.vec[4*v+3])
		acc = [(maxS2KW + 1) / 2][16]float32{}
		for ; n > 0; n-- {
			wr := w[d.ent[e]/4:]
			s2dxLoadHalves(&a, dy, d.ent[e:e+4])
			e += 4
			for c := 0; c < p.KW; c++ {
				s := c / 2
				if c%2 == 0 {
					ix := d.pidx[(ph+s)*16:]
					for l := range x {
						x[l] = a[ix[l]&31]
					}
				}
				km, wt := d.km[ph+c], wr[c]
				for l := range x {
					if km>>l&1 != 0 {
						acc[s][l] += wt * x[l]
					}
				}
			}
		}
		for s := 1; s < ns; s++ {
			for l := range acc[0] {
				acc[0][l] += acc[s][l]
			}
		}
		s2dxStore(dx[off:], &acc[0], sm, accumulate)
	}
}

// s2dxLoadHalves fills a with the two halves of dy that the entry ent (its four
// words: weight-row offset, A offset, B offset, masks) names, as the twins'
// masked loads: lane l of half h is dy[offset h + l] where bit 16h+l of the masks
// is set, and zero elsewhere.
func s2dxLoadHalves(a *[32]float32, dy []float32, ent []int32) {
	m := uint32(ent[3])
	for half := 0; half < 2; half++ {
		o := int(ent[1+half])
		for l := 0; l < 16; l++ {
			a[16*half+l] = 0
			if m>>(16*half+l)&1 != 0 {
				a[16*half+l] = dy[o+l]
			}
		}
	}
}

// s2dxStore writes (or, with accumulate, adds) the lanes of acc that the store
// mask sm selects to dx[l], as the twins' masked stores.
func s2dxStore(dx []float32, acc *[16]float32, sm uint16, accumulate bool) {
	for l := 0; l < 16; l++ {
		if sm>>l&1 == 0 {
			continue
		}
		if accumulate {
			dx[l] += acc[l]
		} else {
			dx[l] = acc[l]
		}
	}
}
