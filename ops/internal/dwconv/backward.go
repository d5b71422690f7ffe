package dwconv

import "fmt"

// BackwardStrides lays out the planes of one BackwardPlanes call: plane j uses each
// operand from j times its stride, in values (0 reuses one operand).
type BackwardStrides struct {
	Count             int
	DX, DY, X, W, DWV int
}

// BackwardPlanes is the whole backward pass of a stride-1 convolution in one sweep
// over each plane. p must be the backward plan of that convolution, from the output
// gradient grid to the input grid of the same pitch, whose tap t reads dy at
// i+off[t] for input value i. For each of s.Count planes it sets dx[:N] (adds into
// it if accumulate) to the convolution of dy with w, as ConvPlanes without a bias
// does, and adds dy[i+off[t]]*x[i] to lane i mod 16 of dwv[16*t:16*t+16] for every
// input value i whose tap lane is inside dy: 16 partial sums of the weight gradient
// per tap, which the caller adds up. Each dy value is read once per tap for both
// sums, so the output gradient is swept once instead of twice.
//
// Per lane, the partial sums run over the blocks of 16 input values in order; the
// assembly and the Go twin add the same terms in the same order.
func (p *Plan) BackwardPlanes(dx, dwv, dy, x, w []float32, s BackwardStrides, accumulate bool) {
	if s.Count <= 0 {
		return
	}
	t := len(p.off)
	if s.DX < 0 || s.DY < 0 || s.X < 0 || s.W < 0 || s.DWV < 0 ||
		len(dx) < s.DX*(s.Count-1)+p.N || len(x) < s.X*(s.Count-1)+p.N ||
		len(dy) < s.DY*(s.Count-1)+p.srcLen || len(w) < s.W*(s.Count-1)+t ||
		len(dwv) < s.DWV*(s.Count-1)+16*t {
		panic(fmt.Sprintf("dwconv: BackwardPlanes %+v with %d dx, %d dwv, %d dy, %d x, %d weights; plane needs %d, %d, %d, %d, %d",
			s, len(dx), len(dwv), len(dy), len(x), len(w), p.N, 16*t, p.srcLen, p.N, t))
	}
	if useAsm {
		if q := s.Count &^ (p.group() - 1); p.group() > 1 && q > 0 && s.DX >= p.N && s.DWV >= 16*t {
			// One-block planes four and four-block planes two at a time
			// (bit-identical to bwdAVX512), then the rest below.
			kernel := bwd1AVX512
			if p.blocks == 4 {
				kernel = bwd4AVX512
			}
			kernel(&dy[0], &dx[0], &x[0], &w[0], &dwv[0], &p.off[0], &p.mask[0], &p.store[0], t,
				q, 4*s.DY, 4*s.DX, 4*s.X, 4*s.W, 4*s.DWV, accumulate)
			if q == s.Count {
				return
			}
			dx, dwv, dy, x, w = dx[q*s.DX:], dwv[q*s.DWV:], dy[q*s.DY:], x[q*s.X:], w[q*s.W:]
			s.Count -= q
		}
		if t == 9 && !noBwd9 {
			bwd9AVX512(&dy[0], &dx[0], &x[0], &w[0], &dwv[0], &p.off[0], &p.mask[0], &p.store[0], p.blocks,
				s.Count, 4*s.DY, 4*s.DX, 4*s.X, 4*s.W, 4*s.DWV, accumulate)
			return
		}
		bwdAVX512(&dy[0], &dx[0], &x[0], &w[0], &dwv[0], &p.off[0], &p.mask[0], &p.store[0], t, p.blocks,
			s.Count, 4*s.DY, 4*s.DX, 4*s.X, 4*s.W, 4*s.DWV, accumulate)
		return
	}
	for j := 0; j < s.Count; j++ {
		bwdGeneric(p, dx[j*s.DX:], dwv[j*s.DWV:], dy[j*s.DY:], x[j*s.X:], w[j*s.W:], accumulate)
	}
}

// noBwd9 makes BackwardPlanes run bwdAVX512 where it would run bwd9AVX512; tests
// set it to compare the two.
var noBwd9 bool

// bwdGeneric is the pure-Go twin of bwdAVX512 (and so of bwd9AVX512) for one plane.
func bwdGeneric(p *Plan, dx, dwv, dy, x, w []float32, accumulate bool) {
	// The blocks in groups of four sum each block's taps in one accumulator; the
	// blocks after the last group alternate two, even and odd taps, as the
	// assembly does to hide the latency of one chain of fused multiply-adds.
	grouped := p.blocks &^ 3
	for b := 0; b < p.blocks; b++ {
		var acc [2][16]float32
		xb := x[16*b : 16*b+min(16, p.N-16*b)]
		for t, o := range p.off {
			m, wt := p.mask[t*p.blocks+b], w[t]
			base := 16*b + int(o)
			dv, a := dwv[16*t:16*t+16], &acc[0]
			if b >= grouped {
				a = &acc[t&1]
			}
			for j := range xb {
				if m>>j&1 != 0 {
					d := dy[base+j]
					a[j] += wt * d
					dv[j] += d * xb[j]
				}
			}
		}
		for j := range xb {
			v := acc[0][j]
			if b >= grouped {
				v += acc[1][j]
			}
			if accumulate {
				dx[16*b+j] += v
			} else {
				dx[16*b+j] = v
			}
		}
	}
}

// BackwardWeightPlanes adds to dwv exactly what BackwardPlanes with the same p, dy,
// x and strides adds, bit for bit, without computing dx: for the first layer of a
// network, whose input gradient nothing reads. s.DX and s.W are not used. Each lane
// sums the same terms in the same order as BackwardPlanes (the blocks of 16 input
// values in order), with the same fused multiply-adds in the assembly and the same
// expression in the Go twin.
func (p *Plan) BackwardWeightPlanes(dwv, dy, x []float32, s BackwardStrides) {
	if s.Count <= 0 {
		return
	}
	t := len(p.off)
	if s.DY < 0 || s.X < 0 || s.DWV < 0 ||
		len(x) < s.X*(s.Count-1)+p.N || len(dy) < s.DY*(s.Count-1)+p.srcLen ||
		len(dwv) < s.DWV*(s.Count-1)+16*t {
		panic(fmt.Sprintf("dwconv: BackwardWeightPlanes %+v with %d dwv, %d dy, %d x; plane needs %d, %d, %d",
			s, len(dwv), len(dy), len(x), 16*t, p.srcLen, p.N))
	}
	if useAsm {
		if s.DWV >= 16*t {
			bwdwAVX512(&dy[0], &x[0], &dwv[0], &p.off[0], &p.mask[0], &p.store[0], t, p.blocks,
				s.Count, 4*s.DY, 4*s.X, 4*s.DWV)
			return
		}
		// Planes whose lanes overlap go one at a time, in order, as BackwardPlanes
		// adds them.
		for j := 0; j < s.Count; j++ {
			bwdwAVX512(&dy[j*s.DY], &x[j*s.X], &dwv[j*s.DWV], &p.off[0], &p.mask[0], &p.store[0], t, p.blocks,
				1, 0, 0, 0)
		}
		return
	}
	for j := 0; j < s.Count; j++ {
		bwdwGeneric(p, dwv[j*s.DWV:], dy[j*s.DY:], x[j*s.X:])
	}
}

// bwdwGeneric is the pure-Go twin of bwdwAVX512 for one plane: the weight-gradient
// half of bwdGeneric, the same expression in the same order.
func bwdwGeneric(p *Plan, dwv, dy, x []float32) {
	for b := 0; b < p.blocks; b++ {
		xb := x[16*b : 16*b+min(16, p.N-16*b)]
		for t, o := range p.off {
			m := p.mask[t*p.blocks+b]
			base := 16*b + int(o)
			dv := dwv[16*t : 16*t+16]
			for j := range xb {
				if m>>j&1 != 0 {
					d := dy[base+j]
					dv[j] += d * xb[j]
				}
			}
		}
	}
}
