package ops

import (
	"fmt"

	"nas/ops/internal/dwconv"
)

// dwState holds what the flat depthwise kernels need for one input shape: the plans
// (built once per shape), the weights reordered into plan order, and per-worker
// scratch and weight gradients, so that steps at a stable shape do not allocate.
type dwState struct {
	in, out Shape
	s2      bool           // stride 2: without direct, x and dx are split into four phase planes
	direct  *dwconv.S2Plan // stride 2: the forward pass, weight gradient and dx read x and dy directly (nil: through phases)
	fwd     *dwconv.Plan   // x (or its phases) -> y; also the weight-gradient plan of phased stride 2
	bwd     []*dwconv.Plan // dy -> dx (stride 1) or dy -> each phase of dx (nil: no tap)
	ps      int            // values in one phase plane
	wf      []float32      // forward weights, Out x fwd taps
	wb      [][]float32    // backward weights per bwd plan, Out x its taps
	scratch [][]float32    // per worker: the phases of x, then those of dx
	dwp     [][]float32    // per worker weight gradients: phased stride 2 in fwd plan order; direct stride 2 16 partial sums per weight, stride 1 16 per tap of bwd[0], each summed into dwp[i] at the end of the chunk
	db      [][]float32    // per worker bias gradients
}

// dwStateFor returns the flat depthwise state for input shape in, building it when
// the shape changes.
func (l *Conv2D) dwStateFor(in Shape) *dwState {
	if l.dws != nil && l.dws.in == in {
		return l.dws
	}
	st, err := newDWState(l.cfg, in)
	if err != nil {
		// pathFor only picks the flat kernels where flatApplies holds, and then
		// every grid is valid.
		panic(fmt.Sprintf("ops: conv %+v on %v: %v", l.cfg, in, err))
	}
	l.dws = st
	return st
}

func newDWState(c ConvConfig, in Shape) (*dwState, error) {
	l := Conv2D{cfg: c}
	out, err := l.OutShape(in)
	if err != nil {
		return nil, err
	}
	st := &dwState{in: in, out: out, s2: c.StrideH == 2}
	og := dwconv.Grid{Rows: out.H, Cols: out.W, Pitch: out.W}
	var fwd []dwconv.Tap
	bwd := make([][]dwconv.Tap, 1)
	src := dwconv.Grid{Rows: in.H, Cols: in.W, Pitch: in.W}
	if st.s2 {
		src = dwconv.Phases(in.H, in.W)
		st.ps = src.Rows * src.Pitch
		bwd = make([][]dwconv.Tap, 4)
	}
	for kh := 0; kh < c.KH; kh++ {
		for kw := 0; kw < c.KW; kw++ {
			a, b, w := kh*c.DilH-c.PadH, kw*c.DilW-c.PadW, kh*c.KW+kw
			if !st.s2 {
				fwd = append(fwd, dwconv.Tap{DR: a, DC: b, W: w})
				bwd[0] = append(bwd[0], dwconv.Tap{DR: -a, DC: -b, W: w})
				continue
			}
			// Input row 2*oh+a is row oh+floor(a/2) of the row phase a mod 2.
			q := 2*(a&1) + b&1
			fwd = append(fwd, dwconv.Tap{Base: q * st.ps, DR: a >> 1, DC: b >> 1, W: w})
			bwd[q] = append(bwd[q], dwconv.Tap{DR: -(a >> 1), DC: -(b >> 1), W: w})
		}
	}
	if st.fwd, err = dwconv.NewPlan(og, src, fwd); err != nil {
		return nil, err
	}
	if st.s2 && dwconv.S2Applies(in.W) && c.KW <= 9 {
		if st.direct, err = dwconv.NewS2Plan(in.H, in.W, out.H, out.W, c.KH, c.KW, c.PadH, c.PadW, c.DilH, c.DilW); err != nil {
			return nil, err
		}
	}
	st.bwd = make([]*dwconv.Plan, len(bwd))
	st.wb = make([][]float32, len(bwd))
	for q, taps := range bwd {
		if len(taps) == 0 {
			continue
		}
		dst := src
		if !st.s2 {
			dst = dwconv.Grid{Rows: in.H, Cols: in.W, Pitch: in.W}
		}
		if st.bwd[q], err = dwconv.NewPlan(dst, og, taps); err != nil {
			return nil, err
		}
		st.wb[q] = make([]float32, c.Out*len(taps))
	}
	st.wf = make([]float32, c.Out*len(fwd))
	return st, nil
}

// gather writes the weights of every output channel in plan order into dst.
func gather(dst, wd []float32, p *dwconv.Plan, out, kk int) {
	t := p.Taps()
	for o := 0; o < out; o++ {
		for i, wi := range p.Weights {
			dst[o*t+i] = wd[o*kk+wi]
		}
	}
}

// perWorker returns w slices of n values each from bufs, allocating only when needed.
func perWorker(bufs [][]float32, w, n int) [][]float32 {
	for len(bufs) < w {
		bufs = append(bufs, nil)
	}
	for i := 0; i < w; i++ {
		bufs[i] = grow(bufs[i], n)
	}
	return bufs
}

// dwChunk bounds how many planes a worker splits into phases at a time at stride 2,
// so that the phases stay in the first-level cache until the kernels read them;
// dwPhaseValues raises the bound for small planes, whose kernel calls would otherwise
// cost more than their work (7x7 planes: 4x4 phases), to as many planes as keep
// the phases of x and of dx within 32 KiB.
const (
	dwChunk       = 8
	dwPhaseValues = 4096
)

// s2Limit returns how many planes a worker splits into phases at a time at stride 2.
func (st *dwState) s2Limit() int { return max(dwChunk, dwPhaseValues/(4*st.ps)) }

// dwFlatForward runs the flat kernel over (sample, input channel) units in
// parallel, a run of channels per kernel call; with a channel multiplier each unit
// writes its mult output planes.
func (l *Conv2D) dwFlatForward() {
	l.parallel(l.dwFlatFwdPrepare(), passFlatFwd)
}

// dwFlatFwdPrepare readies the pass of dwFlatForward and returns its units.
func (l *Conv2D) dwFlatFwdPrepare() int {
	p, c := &l.pass, l.cfg
	st := l.dwStateFor(p.in)
	gather(st.wf, l.weight.Value.Float32s(), st.fwd, c.Out, c.KH*c.KW)
	units := p.n * c.In
	p.limit = c.In
	if st.s2 && st.direct == nil {
		p.limit = st.s2Limit()
		st.scratch = perWorker(st.scratch, workers(units), 8*p.limit*st.ps)
	}
	return units
}

func (l *Conv2D) dwFlatFwdChunk(wk, lo, hi int) {
	p, c, st := &l.pass, l.cfg, l.dws
	in := p.in
	mult, t := c.Out/c.In, st.fwd.Taps()
	var bd []float32
	if l.bias != nil {
		bd = l.bias.Value.Float32s()
	}
	ihw, ohw := in.H*in.W, p.out.H*p.out.W
	for u := lo; u < hi; {
		// A run of channels of one sample, at most p.limit long.
		s, ch := u/c.In, u%c.In
		cnt := min(hi-u, c.In-ch, p.limit)
		u += cnt
		x, si := l.inputOf(wk, s)
		src, stride := x.span(si, ch, cnt, ihw), ihw
		if st.direct != nil {
			wd, kk := l.weight.Value.Float32s(), c.KH*c.KW
			for m := 0; m < mult; m++ {
				o := ch*mult + m
				var b []float32
				if bd != nil {
					b = bd[o:]
				}
				st.direct.ConvPlanes(p.y.d[p.y.off(s, o, ohw):], src, wd[o*kk:], b,
					dwconv.Strides{Count: cnt, Dst: mult * ohw, Src: ihw, W: mult * kk, B: mult})
			}
			l.outStats(s, ch*mult, cnt*mult)
			continue
		}
		if st.s2 {
			ph := st.scratch[wk][:cnt*4*st.ps]
			for j := 0; j < cnt; j++ {
				dwconv.Deinterleave(ph[j*4*st.ps:], src[j*ihw:(j+1)*ihw], in.H, in.W)
			}
			src, stride = ph, 4*st.ps
		}
		for m := 0; m < mult; m++ {
			o := ch*mult + m
			var b []float32
			if bd != nil {
				b = bd[o:]
			}
			st.fwd.ConvPlanes(p.y.d[p.y.off(s, o, ohw):], src, st.wf[o*t:], b,
				dwconv.Strides{Count: cnt, Dst: mult * ohw, Src: stride, W: mult * t, B: mult}, false)
		}
		l.outStats(s, ch*mult, cnt*mult)
	}
}

// dwFlatBackward computes the input gradient and the weight gradient over (sample,
// input channel) units in parallel: at stride 1 in one sweep (Plan.BackwardPlanes),
// at stride 2 straight from x and dy (S2Plan) or through the phase plans;
// per-worker weight gradients are reduced in worker order. With l.noDX it computes
// the weight (and bias) gradient alone, bit for bit the same: at stride 1 with
// Plan.BackwardWeightPlanes, at stride 2 by leaving out the input-gradient calls.
func (l *Conv2D) dwFlatBackward() {
	units := l.dwFlatBwdPrepare()
	l.parallel(units, passFlatBwd)
	l.dwFlatBwdFinish(workers(units))
}

// dwFlatBwdPrepare readies the pass of dwFlatBackward and returns its units.
func (l *Conv2D) dwFlatBwdPrepare() int {
	p, c := &l.pass, l.cfg
	st := l.dwStateFor(p.in)
	wd := l.weight.Value.Float32s()
	kk, t := c.KH*c.KW, st.fwd.Taps()
	for q, bp := range st.bwd {
		if bp != nil && st.direct == nil && !l.noDX {
			gather(st.wb[q], wd, bp, c.Out, kk)
		}
	}
	units := p.n * c.In
	p.limit = c.In
	w := workers(units)
	if st.s2 && st.direct == nil {
		p.limit = st.s2Limit()
		st.scratch = perWorker(st.scratch, w, 8*p.limit*st.ps)
	}
	switch {
	case st.direct != nil:
		st.dwp = perWorker(st.dwp, w, c.Out*kk*16)
	case !st.s2:
		st.dwp = perWorker(st.dwp, w, c.Out*t*16)
	default:
		st.dwp = perWorker(st.dwp, w, c.Out*t)
	}
	st.db = perWorker(st.db, w, c.Out)
	p.stage = 0
	if !l.noDX && l.fold == nil {
		p.stage = p.in.Size()
	}
	return units
}

// dwFlatBwdFinish adds the weight (and bias) gradients of the w workers of the pass
// of dwFlatBackward to the layer's, in worker order.
func (l *Conv2D) dwFlatBwdFinish(w int) {
	c, st := l.cfg, l.dws
	kk, t := c.KH*c.KW, st.fwd.Taps()
	gw := l.weight.Grad.Float32s()
	for wk := 0; wk < w; wk++ {
		switch {
		case st.direct != nil:
			for i := range gw[:c.Out*kk] {
				gw[i] += st.dwp[wk][i]
			}
		case !st.s2:
			bp := st.bwd[0]
			for o := 0; o < c.Out; o++ {
				for i, wi := range bp.Weights {
					gw[o*kk+wi] += st.dwp[wk][o*t+i]
				}
			}
		default:
			for o := 0; o < c.Out; o++ {
				for i, wi := range st.fwd.Weights {
					gw[o*kk+wi] += st.dwp[wk][o*t+i]
				}
			}
		}
		if l.bias != nil {
			gb := l.bias.Grad.Float32s()
			for i, v := range st.db[wk] {
				gb[i] += v
			}
		}
	}
}

func (l *Conv2D) dwFlatBwdChunk(wk, lo, hi int) {
	l.dwFlatBwdStart(wk)
	l.dwFlatBwdUnits(wk, lo, hi)
	l.dwFlatBwdEnd(wk)
}

// dwFlatBwdStart clears worker wk's gradients before its units of the pass.
func (l *Conv2D) dwFlatBwdStart(wk int) {
	clear(l.dws.dwp[wk])
	clear(l.dws.db[wk])
}

// dwFlatBwdUnits runs units [lo, hi) of the pass of dwFlatBackward as worker wk,
// adding to its gradients.
func (l *Conv2D) dwFlatBwdUnits(wk, lo, hi int) {
	p, c, st := &l.pass, l.cfg, l.dws
	in := p.in
	mult, t := c.Out/c.In, st.fwd.Taps()
	ihw, ohw := in.H*in.W, p.out.H*p.out.W
	dwp, db := st.dwp[wk], st.db[wk]
	ps4 := 4 * st.ps
	for u := lo; u < hi; {
		// A run of channels of one sample, at most p.limit long.
		s, ch := u/c.In, u%c.In
		cnt := min(hi-u, c.In-ch, p.limit)
		u += cnt
		xp, si := l.inputOf(wk, s)
		dyp, sd := l.dyOf(wk, s)
		x := xp.span(si, ch, cnt, ihw)
		xs, xstride := x, ihw
		var dph []float32
		var dx []float32
		switch {
		case l.fold != nil:
			dx = l.fold.da[wk][(l.foldC0+ch)*ihw : (l.foldC0+ch+cnt)*ihw]
		case !l.noDX:
			dx = l.stg.at(wk, p.y.span(s, ch, cnt, ihw))
		}
		if st.s2 && st.direct == nil {
			ph := st.scratch[wk][:cnt*ps4]
			for j := 0; j < cnt; j++ {
				dwconv.Deinterleave(ph[j*ps4:], x[j*ihw:(j+1)*ihw], in.H, in.W)
			}
			xs, xstride = ph, ps4
			dph = st.scratch[wk][p.limit*ps4 : p.limit*ps4+cnt*ps4]
		}
		if l.noDX && !st.s2 {
			// The weight gradient alone, the same lanes in the same order as
			// BackwardPlanes: each input channel's mult output planes in one call.
			for m := 0; m < mult && l.bias != nil; m++ {
				o := ch*mult + m
				dys := dyp.d[dyp.off(sd, o, ohw):]
				for j := 0; j < cnt; j++ {
					biasGrad(db, dys[j*mult*ohw:], o+j*mult, 1, ohw)
				}
			}
			for j := 0; j < cnt; j++ {
				o := (ch + j) * mult
				st.bwd[0].BackwardWeightPlanes(dwp[16*o*t:], dyp.d[dyp.off(sd, o, ohw):], x[j*ihw:],
					dwconv.BackwardStrides{Count: mult, DY: ohw, DWV: 16 * t})
			}
			continue
		}
		for m := 0; m < mult; m++ {
			o := ch*mult + m
			dys := dyp.d[dyp.off(sd, o, ohw):]
			if l.bias != nil {
				for j := 0; j < cnt; j++ {
					biasGrad(db, dys[j*mult*ohw:], o+j*mult, 1, ohw)
				}
			}
			if !st.s2 {
				// One sweep over dy gives dx and the weight gradient (its 16 lanes
				// per tap, in backward plan order).
				st.bwd[0].BackwardPlanes(dx, dwp[16*o*t:], dys, x, st.wb[0][o*t:],
					dwconv.BackwardStrides{Count: cnt, DX: ihw, DY: mult * ohw, X: ihw, W: mult * t, DWV: 16 * mult * t}, m > 0)
				continue
			}
			if st.direct != nil {
				// The weight gradient and dx straight from x and dy: no phases.
				kk := c.KH * c.KW
				st.direct.WeightGradPlanes(dwp[16*o*kk:], x, dys, dwconv.Strides{Count: cnt, Dst: mult * ohw, Src: ihw, W: 16 * mult * kk})
				if l.noDX {
					continue
				}
				st.direct.InputGradPlanes(dx, dys, l.weight.Value.Float32s()[o*kk:],
					dwconv.Strides{Count: cnt, Dst: ihw, Src: mult * ohw, W: mult * kk}, m > 0)
				continue
			}
			st.fwd.WeightGradPlanes(dwp[o*t:], xs, dys, dwconv.Strides{Count: cnt, Dst: mult * ohw, Src: xstride, W: mult * t})
			if l.noDX {
				continue
			}
			for q, bp := range st.bwd {
				if bp == nil {
					if m == 0 {
						for j := 0; j < cnt; j++ {
							clear(dph[j*ps4+q*st.ps : j*ps4+(q+1)*st.ps])
						}
					}
					continue
				}
				pt := bp.Taps()
				bp.ConvPlanes(dph[q*st.ps:], dys, st.wb[q][o*pt:], nil,
					dwconv.Strides{Count: cnt, Dst: ps4, Src: mult * ohw, W: mult * pt}, m > 0)
			}
		}
		if l.noDX {
			continue
		}
		if st.s2 && st.direct == nil {
			dwconv.InterleavePlanes(dx, dph, in.H, in.W, cnt)
		}
		if fs := l.fold; fs != nil {
			if ch+cnt == c.In && l == fs.last {
				// The sample's input gradient is complete: its last channels,
				// of the last part. The expansion's backward runs the batch
				// norm's reductions with its own first pass over it.
				z, zs := l.srcOf(wk, s)
				fs.p.foldSample(fs, wk, s, fs.da[wk], l.xin, z, zs)
			}
			continue
		}
		l.gradStatsOf(wk, dx, s, ch, cnt)
		l.stg.flush(p.y.span(s, ch, cnt, ihw), dx)
	}
}

// dwFlatBwdEnd ends worker wk's units of the pass.
func (l *Conv2D) dwFlatBwdEnd(wk int) {
	st := l.dws
	dwp := st.dwp[wk]
	// The 16 lanes of each weight's (or tap's) partial sums, summed here in parallel
	// rather than by dwFlatBackward after the pass, into the first of dwp's values.
	if st.direct != nil || !st.s2 {
		for i := 0; i < len(dwp)/16; i++ {
			dwp[i] = sum16(dwp[16*i:])
		}
	}
	if fs := l.fold; fs != nil && l == fs.last {
		// Likewise the weight-gradient lanes of the expansion's folded backward.
		fs.p.gpwReduceLanes(fs.p.dw[wk], fs.p.pwg.lanes[wk])
	}
}

// sum16 returns the sum of v[0:16] in order: the lanes of one weight's partial sums.
func sum16(v []float32) float32 {
	var g float32
	for _, x := range v[:16] {
		g += x
	}
	return g
}

// colRange returns the output columns [lo, hi) of a row of outW whose input column
// ow*s+off lies inside [0, w): the interior where a tap needs no bounds test. Both
// lie in [0, outW], also where the padding reaches past every column (lo = hi).
func colRange(off, s, w, outW int) (int, int) {
	lo := 0
	if off < 0 {
		lo = min(outW, (-off+s-1)/s)
	}
	hi := 0
	if m := w - 1 - off; m >= 0 {
		hi = min(outW, m/s+1)
	}
	return lo, max(lo, hi)
}

// dwDirectForward is the general depthwise kernel in Go, for any stride, dilation,
// padding and kernel shape: per output row and tap it runs over the output columns
// whose input is inside the plane, so the inner loop has no bounds tests. Its units
// are (sample, output channel) pairs.
func (l *Conv2D) dwDirectFwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	in, out := p.in, p.out
	wd := l.weight.Value.Float32s()
	mult, kk := c.Out/c.In, c.KH*c.KW
	ihw, ohw := in.H*in.W, out.H*out.W
	for u := lo; u < hi; u++ {
		s, o := u/c.Out, u%c.Out
		xp, si := l.inputOf(wk, s)
		x := xp.span(si, o/mult, 1, ihw)
		y := p.y.span(s, o, 1, ohw)
		var b float32
		if l.bias != nil {
			b = l.bias.Value.Float32s()[o]
		}
		for i := range y {
			y[i] = b
		}
		w := wd[o*kk : (o+1)*kk]
		for oh := 0; oh < out.H; oh++ {
			yr := y[oh*out.W : (oh+1)*out.W]
			for kh := 0; kh < c.KH; kh++ {
				ih := oh*c.StrideH - c.PadH + kh*c.DilH
				if ih < 0 || ih >= in.H {
					continue
				}
				xr := x[ih*in.W : (ih+1)*in.W]
				for kw := 0; kw < c.KW; kw++ {
					off := kw*c.DilW - c.PadW
					a, e := colRange(off, c.StrideW, in.W, out.W)
					if a == e {
						continue
					}
					wv := w[kh*c.KW+kw]
					if c.StrideW == 1 {
						ys, xs := yr[a:e], xr[a+off:e+off]
						for i := range ys {
							ys[i] += wv * xs[i]
						}
						continue
					}
					for ow := a; ow < e; ow++ {
						yr[ow] += wv * xr[ow*c.StrideW+off]
					}
				}
			}
		}
		l.outStats(s, o, 1)
	}
}

// dwDirectBackward is the adjoint of dwDirectForward. Units are (sample, input
// channel) pairs, so each unit owns its input-gradient plane; weight gradients are
// summed per worker and reduced in worker order.
func (l *Conv2D) dwDirectBackward() {
	units := l.pass.n * l.cfg.In
	l.gradBuffers(units)
	l.parallel(units, passDirectBwd)
	l.reduceGrads(workers(units))
}

func (l *Conv2D) dwDirectBwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	in, out := p.in, p.out
	wd := l.weight.Value.Float32s()
	mult, kk := c.Out/c.In, c.KH*c.KW
	ihw, ohw := in.H*in.W, out.H*out.W
	dwa, db := l.dw[wk], l.db[wk]
	for u := lo; u < hi; u++ {
		s, ch := u/c.In, u%c.In
		xp, si := l.inputOf(wk, s)
		dyp, sd := l.dyOf(wk, s)
		x, dx := xp.span(si, ch, 1, ihw), p.y.span(s, ch, 1, ihw)
		clear(dx)
		for m := 0; m < mult; m++ {
			o := ch*mult + m
			dy := dyp.span(sd, o, 1, ohw)
			w, dw := wd[o*kk:(o+1)*kk], dwa[o*kk:(o+1)*kk]
			if l.bias != nil {
				biasGrad(db, dy, o, 1, ohw)
			}
			for oh := 0; oh < out.H; oh++ {
				dyr := dy[oh*out.W : (oh+1)*out.W]
				for kh := 0; kh < c.KH; kh++ {
					ih := oh*c.StrideH - c.PadH + kh*c.DilH
					if ih < 0 || ih >= in.H {
						continue
					}
					xr, dxr := x[ih*in.W:(ih+1)*in.W], dx[ih*in.W:(ih+1)*in.W]
					for kw := 0; kw < c.KW; kw++ {
						off := kw*c.DilW - c.PadW
						a, e := colRange(off, c.StrideW, in.W, out.W)
						if a == e {
							continue
						}
						wv := w[kh*c.KW+kw]
						var g float32
						if c.StrideW == 1 {
							ds, xs, dxs := dyr[a:e], xr[a+off:e+off], dxr[a+off:e+off]
							for i, d := range ds {
								g += d * xs[i]
								dxs[i] += wv * d
							}
						} else {
							for ow := a; ow < e; ow++ {
								d := dyr[ow]
								g += d * xr[ow*c.StrideW+off]
								dxr[ow*c.StrideW+off] += wv * d
							}
						}
						dw[kh*c.KW+kw] += g
					}
				}
			}
		}
		l.gradStats(wk, s, ch, 1)
	}
}
