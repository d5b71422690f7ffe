package ops

import "nas/ops/internal/gpw"

// pwGpwMax is the largest per-group channel count, the smaller of input and output
// channels per group, for which the pointwise kernels run on package gpw's
// register-blocked kernels rather than Sgemm or the flat depthwise kernels, on planes
// of more than pwBatchMaxHW values (smaller ones run batched). Measured in thread CPU
// time at batch 128 on reference_net.py's grouped 1x1 layers (BenchmarkConvCPU; see
// the commit message for the figures).
const pwGpwMax = 24

// pwGpw holds the packed weights and per-worker partial sums of the gpw kernels.
type pwGpw struct {
	fwd, bwd []float32   // the weights packed per group for Y = W X and dX = W^T dY
	lanes    [][]float32 // per worker: the weight gradient's 16-lane partial sums per group
	ahead    []gpw.Ahead // per worker: what its kernels prefetch for its next sample
}

// gpwAhead returns worker wk's prefetch runs, emptied, making one per worker of the
// pass if need be.
func (st *pwGpw) gpwAhead(wk int) *gpw.Ahead {
	for len(st.ahead) <= wk {
		st.ahead = append(st.ahead, gpw.Ahead{})
	}
	a := &st.ahead[wk]
	a.Reset()
	return a
}

// gpwNext reports whether unit u, of sample s and group g, is the first of its sample
// and the chunk ending at hi also runs the next sample: then the chunk's kernels
// prefetch that sample's operands while they compute this one's, so that the
// memory-bound passes at its start (the input transform, the batch norm's gradient)
// find them in the L2 cache.
func gpwNext(u, g, hi, groups int) bool { return g == 0 && u+groups < hi }

// gpwApplies reports whether the pointwise kernels run on package gpw for planes of
// hw values.
func (l *Conv2D) gpwApplies(hw int) bool {
	c := l.cfg
	return l.pwSamples == 0 && gpw.Accelerated() && hw > pwBatchMaxHW &&
		min(c.In, c.Out)/c.Groups <= pwGpwMax
}

// gpwSwap reports whether the weight gradient is taken as X dY^T rather than dY X^T:
// whichever needs fewer of WeightGrad's tiles.
func gpwSwap(cig, cog int) bool {
	tiles := func(ma, mb int) int {
		return (ma + gpw.TileRows - 1) / gpw.TileRows * ((mb + gpw.TileCols - 1) / gpw.TileCols)
	}
	return tiles(cig, cog) < tiles(cog, cig)
}

// gpwLanesLen returns the length of one group's weight-gradient partial sums.
func gpwLanesLen(cig, cog int) int {
	if gpwSwap(cig, cog) {
		return gpw.LanesLen(cig, cog)
	}
	return gpw.LanesLen(cog, cig)
}

// gpwState returns the layer's gpw state with the weights packed for forward (Y = W X,
// when fwd) or backward (dX = W^T dY).
func (l *Conv2D) gpwState(fwd bool) *pwGpw {
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	if l.pwg == nil {
		l.pwg = &pwGpw{
			fwd: make([]float32, c.Groups*gpw.PackedLen(cog, cig)),
			bwd: make([]float32, c.Groups*gpw.PackedLen(cig, cog)),
		}
	}
	wd := l.weight.Value.Float32s()
	for g := 0; g < c.Groups; g++ {
		wg := wd[g*cog*cig:]
		if fwd {
			n := gpw.PackedLen(cog, cig)
			gpw.Pack(l.pwg.fwd[g*n:(g+1)*n], wg, cog, cig, cig, 1)
		} else {
			n := gpw.PackedLen(cig, cog)
			gpw.Pack(l.pwg.bwd[g*n:(g+1)*n], wg, cig, cog, 1, cig)
		}
	}
	return l.pwg
}

// pointwiseGpwForward computes Y_g = W_g X_g per (sample, group) unit on gpw.Apply.
func (l *Conv2D) pointwiseGpwForward() {
	st := l.gpwState(true)
	st.gpwAhead(runtimeWorkers() - 1)
	l.parallel(l.pass.n*l.cfg.Groups, passPointwiseGpwFwd)
}

func (l *Conv2D) pointwiseGpwFwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	ah := &l.pwg.ahead[wk]
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		if gpwNext(u, g, hi, c.Groups) {
			ah.Reset()
			ah.Add(p.x.span(s+1, 0, p.in.C, hw))
			ah.Add(p.y.span(s+1, 0, p.out.C, hw))
		}
		x, si := l.inputOf(wk, s)
		l.gpwForwardGroup(p.y.span(s, g*cog, cog, hw), x.span(si, g*cig, cig, hw), g, hw, ah)
		l.outStats(s, g*cog, cog)
	}
	ah.Reset()
}

// gpwForwardGroup writes into ys the output planes of group g, hw values each, from
// its input planes xs, prefetching from ah (which may be nil): the forward pass and
// the recomputed samples (recompute.go) run this one computation, so they agree bit
// for bit.
func (l *Conv2D) gpwForwardGroup(ys, xs []float32, g, hw int, ah *gpw.Ahead) {
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	pl := gpw.PackedLen(cog, cig)
	gpw.ApplyAhead(ys, hw, l.pwg.fwd[g*pl:(g+1)*pl], xs, hw, cog, cig, hw, ah)
	l.addBias(ys, g*cog, cog, hw)
}

// pointwiseGpwBackward accumulates each worker's weight gradient as 16-lane partial
// sums over its units (gpw.WeightGrad), reduces them in a fixed order at the end of
// its chunk, and computes dX_g = W_g^T dY_g per unit on gpw.Apply.
func (l *Conv2D) pointwiseGpwBackward() {
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	st := l.gpwState(false)
	units := l.pass.n * c.Groups
	l.gradBuffers(units)
	st.lanes = perWorker(st.lanes, workers(units), c.Groups*gpwLanesLen(cig, cog))
	st.gpwAhead(runtimeWorkers() - 1)
	if l.dxOmit {
		l.dxsc = perWorker(l.dxsc, runtimeWorkers(), l.pass.in.Size())
		l.dxS = resetSamples(l.dxS, runtimeWorkers())
	}
	l.parallel(units, passPointwiseGpwBwd)
	l.reduceGrads(workers(units))
}

func (l *Conv2D) pointwiseGpwBwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	dw, db := l.dw[wk], l.db[wk]
	ll, pl := gpwLanesLen(cig, cog), gpw.PackedLen(cig, cog)
	lanes := l.pwg.lanes[wk][:c.Groups*ll]
	clear(lanes)
	swap := gpwSwap(cig, cog)
	ah := &l.pwg.ahead[wk]
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		if gpwNext(u, g, hi, c.Groups) {
			ah.Reset()
			ah.Add(p.x.span(s+1, 0, p.in.C, hw))
			if l.dyin != nil {
				n := l.dyin.c * p.out.H * p.out.W
				ah.Add(l.dyin.z[(s+1)*n : (s+2)*n])
			}
			ah.Add(p.dy.span(s+1, 0, p.out.C, hw))
		}
		x, si := l.inputOf(wk, s)
		xs := x.span(si, g*cig, cig, hw)
		dy, sd := l.dyOf(wk, s)
		dys := dy.span(sd, g*cog, cog, hw)
		lg := lanes[g*ll : (g+1)*ll]
		if swap {
			gpw.WeightGradAhead(lg, xs, hw, cig, dys, hw, cog, hw, ah)
		} else {
			gpw.WeightGradAhead(lg, dys, hw, cog, xs, hw, cig, hw, ah)
		}
		if l.bias != nil {
			biasGrad(db, dys, g*cog, cog, hw)
		}
		if l.noDX {
			continue
		}
		if l.dxOmit {
			// The batch norm's reductions alone, from the worker's scratch.
			dx := l.dxsc[wk][g*cig*hw : (g+1)*cig*hw]
			gpw.ApplyAhead(dx, hw, l.pwg.bwd[g*pl:(g+1)*pl], dys, hw, cig, cog, hw, ah)
			l.gradStatsOf(wk, dx, s, g*cig, cig)
			continue
		}
		gpw.ApplyAhead(p.y.span(s, g*cig, cig, hw), hw, l.pwg.bwd[g*pl:(g+1)*pl], dys, hw, cig, cog, hw, ah)
		l.gradStats(wk, s, g*cig, cig)
	}
	l.gpwReduceLanes(dw, lanes)
	ah.Reset()
}

// gpwReduceLanes adds a worker's weight-gradient partial sums of every group, lanes,
// to its weight gradient dw, in the layout of the weights.
func (l *Conv2D) gpwReduceLanes(dw, lanes []float32) {
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	ll := gpwLanesLen(cig, cog)
	swap := gpwSwap(cig, cog)
	for g := 0; g < c.Groups; g++ {
		lg, dg := lanes[g*ll:(g+1)*ll], dw[g*cog*cig:(g+1)*cog*cig]
		if swap {
			gpw.ReduceLanes(dg, 1, cig, lg, cig, cog)
		} else {
			gpw.ReduceLanes(dg, cig, 1, lg, cog, cig)
		}
	}
}
