package dwconv

import "fmt"

// Grid is a plane of Rows x Cols values stored with row pitch Pitch >= Cols.
type Grid struct {
	Rows, Cols, Pitch int
}

// Tap is one kernel tap of a Plan: output (r, c) reads the source plane that starts
// Base values into the source at (r+DR, c+DC), and multiplies it by weight W.
type Tap struct {
	Base, DR, DC int
	W            int
}

// Plan is a flat masked convolution from a source grid to a destination grid of the
// same pitch: dst[i] = bias + sum_t w[t]*src[i+off[t]] over the taps whose source lies
// inside the source grid. It is immutable and safe for concurrent use.
type Plan struct {
	// N is the number of destination values, Rows*Pitch of the destination grid.
	N int
	// Weights lists, for each tap in plan order, the weight index given in its Tap.
	Weights []int
	blocks  int
	off     []int32
	mask    []uint16 // tap-major: mask[t*blocks+b]
	store   []uint16 // per block: lanes below N
	srcLen  int
}

// NewPlan returns the plan of taps from src to dst. Both grids must have the same pitch.
func NewPlan(dst, src Grid, taps []Tap) (*Plan, error) {
	if dst.Pitch != src.Pitch || dst.Cols > dst.Pitch || src.Cols > src.Pitch ||
		dst.Rows <= 0 || src.Rows <= 0 || dst.Cols <= 0 || src.Cols <= 0 {
		return nil, fmt.Errorf("dwconv: grids %+v -> %+v must be non-empty with one pitch", src, dst)
	}
	if len(taps) == 0 {
		return nil, fmt.Errorf("dwconv: no taps")
	}
	p := dst.Pitch
	n := dst.Rows * p
	b := (n + 15) / 16
	pl := &Plan{N: n, blocks: b, off: make([]int32, len(taps)), mask: make([]uint16, len(taps)*b),
		store: make([]uint16, b), Weights: make([]int, len(taps))}
	for i := range pl.store {
		pl.store[i] = laneMask(n - 16*i)
	}
	for t, tp := range taps {
		if tp.Base < 0 {
			return nil, fmt.Errorf("dwconv: tap %d has negative base %d", t, tp.Base)
		}
		pl.off[t] = int32(tp.Base + tp.DR*p + tp.DC)
		pl.Weights[t] = tp.W
		pl.srcLen = max(pl.srcLen, tp.Base+src.Rows*p)
		for i := 0; i < n; i++ {
			r, c := i/p, i%p
			sr, sc := r+tp.DR, c+tp.DC
			if sr >= 0 && sr < src.Rows && sc >= 0 && sc < src.Cols {
				pl.mask[t*b+i/16] |= 1 << (i % 16)
			}
		}
	}
	return pl, nil
}

// laneMask returns a mask of the lowest min(n, 16) lanes (none if n <= 0).
func laneMask(n int) uint16 {
	switch {
	case n <= 0:
		return 0
	case n >= 16:
		return 0xffff
	}
	return uint16(1)<<n - 1
}

// group returns how many planes the grouped assembly kernels take at a time: four
// of one block (conv1AVX512, bwd1AVX512), two of four blocks (conv4AVX512,
// bwd4AVX512), or 1 where no grouped kernel applies.
func (p *Plan) group() int {
	switch p.blocks {
	case 1:
		return 4
	case 4:
		return 2
	}
	return 1
}

// Taps returns the number of taps.
func (p *Plan) Taps() int { return len(p.off) }

// SrcLen returns how many source values the plan reads at most.
func (p *Plan) SrcLen() int { return p.srcLen }

// Conv sets dst[:N] (adds into it if accumulate) to bias plus the convolution of src
// with w, whose values are in plan tap order.
func (p *Plan) Conv(dst, src, w []float32, bias float32, accumulate bool) {
	p.ConvPlanes(dst, src, w, []float32{bias}, Strides{Count: 1}, accumulate)
}

// Strides lays out the planes of one ConvPlanes or WeightGradPlanes call: plane j
// uses each operand from j times its stride, in values (0 reuses one operand).
type Strides struct {
	Count          int
	Dst, Src, W, B int
}

// last returns the offset of the last plane's operand of stride s.
func (s Strides) last(stride int) int { return (s.Count - 1) * stride }

// ConvPlanes runs Conv on s.Count planes in one call, plane j with dst, src and w
// from j times their strides and bias[j*s.B] (zero if bias is nil).
func (p *Plan) ConvPlanes(dst, src, w, bias []float32, s Strides, accumulate bool) {
	if s.Count <= 0 {
		return
	}
	if s.Dst < 0 || s.Src < 0 || s.W < 0 || s.B < 0 ||
		len(dst) < s.last(s.Dst)+p.N || len(src) < s.last(s.Src)+p.srcLen || len(w) < s.last(s.W)+len(p.off) ||
		(bias != nil && len(bias) < s.last(s.B)+1) {
		panic(fmt.Sprintf("dwconv: ConvPlanes %+v with %d dst, %d src, %d weights, %d biases; plane needs %d, %d, %d",
			s, len(dst), len(src), len(w), len(bias), p.N, p.srcLen, len(p.off)))
	}
	if useAsm {
		if q := s.Count &^ (p.group() - 1); p.group() > 1 && q > 0 && s.Dst >= p.N {
			// One-block planes four and four-block planes two at a time
			// (bit-identical to convAVX512), then the rest below.
			var bp *float32
			if bias != nil {
				bp = &bias[0]
			}
			kernel := conv1AVX512
			if p.blocks == 4 {
				kernel = conv4AVX512
			}
			kernel(&src[0], &dst[0], &w[0], bp, &p.off[0], &p.mask[0], &p.store[0], len(p.off),
				q, 4*s.Src, 4*s.Dst, 4*s.W, 4*s.B, accumulate)
			if q == s.Count {
				return
			}
			dst, src, w = dst[q*s.Dst:], src[q*s.Src:], w[q*s.W:]
			if bias != nil {
				bias = bias[q*s.B:]
			}
			s.Count -= q
		}
		var bp *float32
		if bias != nil {
			bp = &bias[0]
		}
		convAVX512(&src[0], &dst[0], &w[0], bp, &p.off[0], &p.mask[0], &p.store[0], len(p.off), p.blocks,
			s.Count, 4*s.Src, 4*s.Dst, 4*s.W, 4*s.B, accumulate)
		return
	}
	for j := 0; j < s.Count; j++ {
		var b float32
		if bias != nil {
			b = bias[j*s.B]
		}
		convGeneric(p, dst[j*s.Dst:], src[j*s.Src:], w[j*s.W:], b, accumulate)
	}
}

// WeightGrad adds to dw[t], for each tap t in plan order, the sum over the destination
// of dy[i]*src[i+off[t]]: the gradient of Conv's weights for an output gradient dy.
func (p *Plan) WeightGrad(dw, src, dy []float32) {
	p.WeightGradPlanes(dw, src, dy, Strides{Count: 1})
}

// WeightGradPlanes runs WeightGrad on s.Count planes in one call, plane j with dw,
// src and dy from j times the strides s.W, s.Src and s.Dst.
func (p *Plan) WeightGradPlanes(dw, src, dy []float32, s Strides) {
	if s.Count <= 0 {
		return
	}
	if s.Dst < 0 || s.Src < 0 || s.W < 0 ||
		len(dy) < s.last(s.Dst)+p.N || len(src) < s.last(s.Src)+p.srcLen || len(dw) < s.last(s.W)+len(p.off) {
		panic(fmt.Sprintf("dwconv: WeightGradPlanes %+v with %d dy, %d src, %d weights; plane needs %d, %d, %d",
			s, len(dy), len(src), len(dw), p.N, p.srcLen, len(p.off)))
	}
	if useAsm {
		wgradAVX512(&src[0], &dy[0], &dw[0], &p.off[0], &p.mask[0], len(p.off), p.blocks,
			s.Count, 4*s.Src, 4*s.Dst, 4*s.W)
		return
	}
	for j := 0; j < s.Count; j++ {
		wgradGeneric(p, dw[j*s.W:], src[j*s.Src:], dy[j*s.Dst:])
	}
}

// Phases returns the grid of one phase plane of an h x w plane split by Deinterleave:
// (h+1)/2 rows of (w+1)/2 columns.
func Phases(h, w int) Grid {
	return Grid{Rows: (h + 1) / 2, Cols: (w + 1) / 2, Pitch: (w + 1) / 2}
}

// Deinterleave splits the h x w plane src into four phase planes in dst, each of
// Phases(h, w): phase 2*a+b holds src[2r+a][2c+b] at (r, c), and the positions past
// the plane's edge hold zero. dst needs 4*rows*pitch values.
func Deinterleave(dst, src []float32, h, w int) {
	g := Phases(h, w)
	if len(src) < h*w || len(dst) < 4*g.Rows*g.Pitch {
		panic(fmt.Sprintf("dwconv: Deinterleave %dx%d with %d src, %d dst", h, w, len(src), len(dst)))
	}
	if useAsm {
		deinterleaveAVX512(&src[0], &dst[0], h, w, g.Rows, g.Pitch)
	} else {
		deinterleaveGeneric(dst, src, h, w, g.Rows, g.Pitch)
	}
	if h%2 == 1 { // the odd-row phases have one row fewer
		ps := g.Rows * g.Pitch
		clear(dst[2*ps+(g.Rows-1)*g.Pitch : 2*ps+g.Rows*g.Pitch])
		clear(dst[3*ps+(g.Rows-1)*g.Pitch : 3*ps+g.Rows*g.Pitch])
	}
}

// Interleave is the inverse of Deinterleave: it writes every value of the h x w plane
// dst from the four phase planes in src, ignoring the phases' padding.
func Interleave(dst, src []float32, h, w int) { InterleavePlanes(dst, src, h, w, 1) }

// InterleavePlanes runs Interleave on count planes in one call: plane j reads the
// four phases from src[j*4*rows*pitch:] and writes dst[j*h*w:], for the rows and
// pitch of Phases(h, w). One call per run of planes saves a call per plane, which
// costs as much as the work on 7x7 planes.
func InterleavePlanes(dst, src []float32, h, w, count int) {
	if count <= 0 {
		return
	}
	g := Phases(h, w)
	ps4 := 4 * g.Rows * g.Pitch
	if len(dst) < count*h*w || len(src) < count*ps4 {
		panic(fmt.Sprintf("dwconv: InterleavePlanes %d x %dx%d with %d dst, %d src", count, h, w, len(dst), len(src)))
	}
	if useAsm {
		interleaveAVX512(&src[0], &dst[0], h, w, g.Rows, g.Pitch, count)
		return
	}
	for j := 0; j < count; j++ {
		interleaveGeneric(dst[j*h*w:], src[j*ps4:], h, w, g.Rows, g.Pitch)
	}
}

// Accelerated reports whether the kernels run in AVX-512 assembly.
func Accelerated() bool { return useAsm }

// SetAccelerated turns the assembly kernels off (or back on, where the CPU has them)
// and returns the previous setting, so that tests can run the Go twins on any machine.
// It must not be called while kernels run.
func SetAccelerated(on bool) bool {
	old := useAsm
	useAsm = on && hasAVX512
	return old
}
