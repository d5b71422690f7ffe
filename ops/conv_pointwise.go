package ops

import (
	"fmt"

	"nas/ops/internal/dwconv"
	"nas/ops/internal/gemm"
)

// pwFlatMaxFwd and pwFlatMaxBwd are the per-group channel counts up to which the
// pointwise kernels run on the dwconv flat kernels rather than Sgemm where neither
// the gpw nor the batched kernels take the pass (pwKernelFor): the input channels per
// group forward, the smaller of input and output channels per group backward.
// Measured in thread CPU time on the reference network's grouped 1x1 layers before
// the gpw kernels existed: with 6 channels per group the flat kernels were about
// twice as fast as Sgemm, with 12 or more slower.
const (
	pwFlatMaxFwd = 8
	pwFlatMaxBwd = 8
)

// pwKernel names the kernels a pointwise pass runs on.
type pwKernel int

const (
	pwOnSgemm   pwKernel = iota // one Sgemm per (sample, group): pointwiseFwdChunk, pointwiseBwdChunk
	pwOnGpw                     // the gpw kernels per (sample, group): conv_pointwise_gpw.go
	pwOnBatched                 // one Sgemm per group and block of samples: conv_pointwise_batch.go
	pwOnFlat                    // the dwconv flat kernels per (sample, group)
)

// pwKernelFor returns the kernels of a forward or backward pointwise pass over n
// samples of planes of hw values, and for pwOnBatched the samples per block. In order:
// planes of more than pwBatchMaxHW values with few channels per group run on gpw
// (gpwApplies); forward, small planes run batched when the batch makes more than one
// sample per block, then groups of few input channels on the flat kernels; backward,
// groups of few channels run on the flat kernels before batching, which measured
// slower there. Everything else, and every pass of a layer whose pwSamples is set
// to 1, runs on Sgemm per sample.
func (l *Conv2D) pwKernelFor(backward bool, n, hw int) (pwKernel, int) {
	c := l.cfg
	if l.gpwApplies(hw) {
		return pwOnGpw, 1
	}
	flat := l.pwSamples == 0 && dwconv.Accelerated()
	if backward && flat && min(c.In, c.Out)/c.Groups <= pwFlatMaxBwd {
		return pwOnFlat, 1
	}
	if bs := l.pwBatchSamples(n, hw, backward); bs > 1 {
		return pwOnBatched, bs
	}
	if !backward && flat && c.In/c.Groups <= pwFlatMaxFwd {
		return pwOnFlat, 1
	}
	return pwOnSgemm, 1
}

// pointwiseForward runs a 1x1, stride-1, unpadded convolution without im2col: in NCHW
// the cin/g input planes of one sample and group already form a (cin/g) x HW matrix,
// so each (sample, group) unit is one product Y_g = W_g * X_g, on the kernels
// pwKernelFor picks.
func (l *Conv2D) pointwiseForward() {
	p := &l.pass
	k, bs := l.pwKernelFor(false, p.n, p.in.H*p.in.W)
	switch k {
	case pwOnGpw:
		l.pointwiseGpwForward()
	case pwOnBatched:
		p.bs = bs
		l.pointwiseBatchForward()
	case pwOnFlat:
		l.pointwiseFlatForward()
	default:
		l.parallel(p.n*l.cfg.Groups, passPointwiseFwd)
	}
}

func (l *Conv2D) pointwiseFwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		x, si := l.inputOf(wk, s)
		xs := x.span(si, g*cig, cig, hw)
		ys := p.y.span(s, g*cog, cog, hw)
		gemm.Sgemm(false, false, cog, hw, cig, 1, wd[g*cog*cig:], cig, xs, hw, 0, ys, hw)
		l.addBias(ys, g*cog, cog, hw)
		l.outStats(s, g*cog, cog)
	}
}

// pointwiseBackward computes dW_g += dY_g * X_g^T and dX_g = W_g^T * dY_g per unit
// on the kernels pwKernelFor picks.
func (l *Conv2D) pointwiseBackward() {
	c, p := l.cfg, &l.pass
	k, bs := l.pwKernelFor(true, p.n, p.in.H*p.in.W)
	switch k {
	case pwOnGpw:
		l.pointwiseGpwBackward()
		return
	case pwOnFlat:
		l.pointwiseFlatBackward()
		return
	case pwOnBatched:
		p.bs = bs
		l.pointwiseBatchBackward()
		return
	}
	units := l.pass.n * c.Groups
	l.gradBuffers(units)
	l.parallel(units, passPointwiseBwd)
	if pwSwapDW(c) {
		l.reduceGradsT(workers(units))
		return
	}
	l.reduceGrads(workers(units))
}

// pwSwapDW reports whether pointwiseBwdChunk computes the weight gradient of each
// group transposed, dW_g^T = X_g * dY_g^T, which is when there are more output than
// input channels per group: Sgemm's tiles are 14 rows by 32 columns, so a product
// with few columns (as 16 input channels are) leaves most of each tile empty. Measured
// in thread CPU time per call (M x N, K = 784): 64 x 16 takes 36.7 us, 16 x 64 18.2 us;
// at K = 196, 96 x 24 13.9 us against 24 x 96 8.4 us. Every element is the same
// sequence of fused multiply-adds either way, so the result is bit-identical.
func pwSwapDW(c ConvConfig) bool { return c.Out > c.In }

// reduceGradsT is reduceGrads for per-worker weight gradients that hold each group's
// (Out/Groups) x (In/Groups) block transposed.
func (l *Conv2D) reduceGradsT(w int) {
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	gw := l.weight.Grad.Float32s()
	for wk := 0; wk < w; wk++ {
		dw := l.dw[wk]
		for g := 0; g < c.Groups; g++ {
			blk, dt := gw[g*cog*cig:(g+1)*cog*cig], dw[g*cog*cig:(g+1)*cog*cig]
			for o := 0; o < cog; o++ {
				for i := 0; i < cig; i++ {
					blk[o*cig+i] += dt[i*cog+o]
				}
			}
		}
		if l.bias != nil {
			gb := l.bias.Grad.Float32s()
			for i, v := range l.db[wk] {
				gb[i] += v
			}
		}
	}
}

func (l *Conv2D) pointwiseBwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	dw, db := l.dw[wk], l.db[wk]
	swap := pwSwapDW(c)
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		x, si := l.inputOf(wk, s)
		xs := x.span(si, g*cig, cig, hw)
		dxs := p.y.span(s, g*cig, cig, hw)
		dy, sd := l.dyOf(wk, s)
		dys := dy.span(sd, g*cog, cog, hw)
		if swap {
			gemm.Sgemm(false, true, cig, cog, hw, 1, xs, hw, dys, hw, 1, dw[g*cog*cig:], cog)
		} else {
			gemm.Sgemm(false, true, cog, cig, hw, 1, dys, hw, xs, hw, 1, dw[g*cog*cig:], cig)
		}
		if l.bias != nil {
			biasGrad(db, dys, g*cog, cog, hw)
		}
		if l.noDX {
			continue
		}
		gemm.Sgemm(true, false, cig, hw, cog, 1, wd[g*cog*cig:], cig, dys, hw, 0, dxs, hw)
		l.gradStats(wk, s, g*cig, cig)
	}
}

// pwFlat holds the dwconv plans of a pointwise convolution for one input shape:
// with the cin/g input planes of a group as the taps of a flat plan, one output plane
// is a weighted sum of shifted-by-nothing planes, which the depthwise kernels compute
// without packing, where Sgemm's packing dominates for a few channels per group.
type pwFlat struct {
	hw       int
	fwd, bwd *dwconv.Plan // taps: the cin/g input planes, and the cout/g output planes
	wt       []float32    // the weights transposed per group: (g, cin/g, cout/g)
}

func (l *Conv2D) pwFlatFor(hw int) *pwFlat {
	if l.pwf != nil && l.pwf.hw == hw {
		return l.pwf
	}
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	plan := func(planes int) *dwconv.Plan {
		taps := make([]dwconv.Tap, planes)
		for i := range taps {
			taps[i] = dwconv.Tap{Base: i * hw, W: i}
		}
		g := dwconv.Grid{Rows: 1, Cols: hw, Pitch: hw}
		p, err := dwconv.NewPlan(g, g, taps)
		if err != nil {
			panic(fmt.Sprintf("ops: pointwise conv %+v: %v", c, err)) // the grids are valid by construction
		}
		return p
	}
	l.pwf = &pwFlat{hw: hw, fwd: plan(cig), bwd: plan(cog), wt: make([]float32, c.Out*cig)}
	return l.pwf
}

// pointwiseFlatForward computes each output plane as the sum of the group's input
// planes weighted by that channel's weights, per (sample, group) unit in parallel.
func (l *Conv2D) pointwiseFlatForward() {
	l.pwFlatFor(l.pass.in.H * l.pass.in.W)
	l.parallel(l.pass.n*l.cfg.Groups, passPointwiseFlatFwd)
}

func (l *Conv2D) pointwiseFlatFwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	var bd []float32
	if l.bias != nil {
		bd = l.bias.Value.Float32s()
	}
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		x, si := l.inputOf(wk, s)
		xs := x.span(si, g*cig, cig, hw)
		var b []float32
		if bd != nil {
			b = bd[g*cog:]
		}
		l.pwf.fwd.ConvPlanes(p.y.span(s, g*cog, cog, hw), xs, wd[g*cog*cig:], b,
			dwconv.Strides{Count: cog, Dst: hw, W: cig, B: 1}, false)
		l.outStats(s, g*cog, cog)
	}
}

// pointwiseFlatBackward computes each weight row as the dot products of an output
// gradient plane with the group's input planes, and each input gradient plane as
// the sum of the group's output gradient planes weighted by a weight column.
func (l *Conv2D) pointwiseFlatBackward() {
	c := l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	pf := l.pwFlatFor(l.pass.in.H * l.pass.in.W)
	for g := 0; g < c.Groups; g++ {
		for o := 0; o < cog; o++ {
			for i := 0; i < cig; i++ {
				pf.wt[(g*cig+i)*cog+o] = wd[(g*cog+o)*cig+i]
			}
		}
	}
	units := l.pass.n * c.Groups
	l.gradBuffers(units)
	l.parallel(units, passPointwiseFlatBwd)
	l.reduceGrads(workers(units))
}

func (l *Conv2D) pointwiseFlatBwdChunk(wk, lo, hi int) {
	p, c, pf := &l.pass, l.cfg, l.pwf
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	dw, db := l.dw[wk], l.db[wk]
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		x, si := l.inputOf(wk, s)
		xs := x.span(si, g*cig, cig, hw)
		dy, sd := l.dyOf(wk, s)
		dys := dy.span(sd, g*cog, cog, hw)
		pf.fwd.WeightGradPlanes(dw[g*cog*cig:(g+1)*cog*cig], xs, dys, dwconv.Strides{Count: cog, Dst: hw, W: cig})
		if l.bias != nil {
			biasGrad(db, dys, g*cog, cog, hw)
		}
		if l.noDX {
			continue
		}
		pf.bwd.ConvPlanes(p.y.span(s, g*cig, cig, hw), dys, pf.wt[g*cig*cog:(g+1)*cig*cog], nil,
			dwconv.Strides{Count: cig, Dst: hw, W: cog}, false)
		l.gradStats(wk, s, g*cig, cig)
	}
}
