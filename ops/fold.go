package ops

import (
	"gorgonia.org/tensor"

	"nas/ops/internal/gpw"
)

// This file holds a fourth fusion of Sequential: the backward passes of an
// expansion and of the depthwise convolution after it run as one pass over the
// samples. In an inverted residual block, 1x1 convolution P, batch norm B (with its
// clamp and shuffle) and depthwise convolution D, the depthwise convolution's input
// gradient da is the largest tensor of the backward pass (25.7 MB in
// reference_net.py's first block at batch 128): D writes it, and P reads it back with
// B's input y to apply B's backward,
//
//	dy_P = gm*a + (y*b + e)    gm = da where the clamp passed it, else 0,
//
// whose coefficients b and e depend on reductions of gm over the whole batch, so P
// could not start on a sample before D had finished them all. But y = W x (P has no
// bias), so the part of P's gradients that b and e contribute is a function of x's
// moments over the batch alone:
//
//	dW_c  = sum gm_c*a_c x^T + b_c W_c M + e_c S     M = sum x x^T, S = sum x
//	dx    = W^T (gm*a) + A x + v                     A = sum_c b_c W_c^T W_c, v = sum_c e_c W_c
//
// (sums over the samples and positions, c over P's output channels, W_c the weights
// of channel c within its group). So D, as soon as it has written a sample's da into
// a per-worker scratch, runs P's backward on that sample with gm*a alone (foldSample),
// while da, B's input (whose clamp mask is gm's) and x are in cache, computing gm*a
// and B's reductions in one pass over them, and adds the sample's x x^T and x into M
// and S;
// once D's pass and B's reductions are done, foldFinish adds the b and e terms to P's
// weight gradient and, in one pass over the small input gradient, to dx. Neither da
// nor P's copy of B's input gradient is ever written to memory.
//
// D may also be a MixConv whose parts run joint passes (split_joint.go): each part
// writes its channels of the sample's da into the scratch, and the last part runs
// P's backward on the sample. On reference_net.py's third and fourth blocks
// that took about 1% off a training step (BenchmarkFoldBack against the fold of
// the first two blocks alone: 0.990 in 100 paired steps; 0.980, 1.031, 1.005 in
// runs of 40, the machine's noise).
//
// The results are those of the layers run one by one within float32 rounding, not
// bit for bit: the sums run in another order (TestFoldedBackward compares them).

// foldBack turns the fusion of this file on; tests switch it off to compare.
var foldBack = true

// foldState is a folded pair's backward in progress: D runs P's backward per sample.
type foldState struct {
	// parts are D's convolutions: D alone, or a MixConv's parts, whose joint pass
	// (split_joint.go) runs them sample by sample; last runs P's backward on each
	// sample. n and in are the samples and D's input shape, w the pass's workers.
	parts []*Conv2D
	alone [1]*Conv2D // parts of a depthwise convolution alone
	last  *Conv2D
	n, w  int
	in    Shape

	p  *Conv2D
	bn *BatchNorm2D
	ka []float32   // B's a per channel, as k = (a, 0, 0): gm*a, B's apply with b and e zero
	da [][]float32 // per worker: the sample's input gradient of D
	g  [][]float32 // per worker: the sample's gm*a, P's output gradient
	ml [][]float32 // per worker: M's 16-lane partial sums per group (gpw.WeightGrad)
	s  [][]float64 // per worker: S (In)
	m  []float64   // M per group (cig x cig), summed over the workers
	t  [][]float32 // per worker: one group's A x of a sample, or M of a worker
	// rec says that M and S are the sums P's forward pass took (recompute.go), so
	// the samples need not add them again.
	rec bool

	// The correction pass over the samples (foldFinish): per group A, packed for
	// gpw.Apply, and v, and a gradient to add, if any.
	a, ap, v []float32
	addend   []float32
	a64, w64 []float64 // A summed in float64, and one channel's weights
	kv       []float32 // per input channel 1, 1 and v: dx + (A x + v) as bnActBackApplyPlanes
	// one and zero hold 1 and 0 per channel of P's input: the scales and offsets of
	// the kernel that takes them per plane.
	one, zero []float32
	finish    func(chunk, lo, hi int)
}

// foldable reports whether the backward of run r, a convolution run, can run the
// backward of run r-2 with it (see the file comment): run r is a depthwise
// convolution alone on the flat kernels, or a MixConv whose parts ran joint passes
// (split_joint.go), that applied the normalization of its input batch norm (run
// r-1, in training mode), run r-2 a 1x1 convolution without bias on the gpw kernels,
// and every chunk of D's pass holds whole samples. It returns D's convolutions.
func (s *Sequential) foldable(r int) (parts []*Conv2D, p *Conv2D, bn *BatchNorm2D, ok bool) {
	if !foldBack || r < 2 {
		return nil, nil, nil, false
	}
	run, mid, prod := s.runs[r], s.runs[r-1], s.runs[r-2]
	if !run.conv || run.pooled || run.fed == nil || !prod.conv || prod.pooled {
		return nil, nil, nil, false
	}
	bn, ok = s.Layers[mid.start].(*BatchNorm2D)
	if !ok || bn != run.fed || !bn.trainStats {
		return nil, nil, nil, false
	}
	switch d := unblock(s.Layers[run.start]).(type) {
	case *Conv2D:
		if d.cfg.Groups != d.cfg.In || d.pathFor(d.in) != pathFlat || !wholeSamples(d.n, d.cfg.In) {
			return nil, nil, nil, false
		}
		d.foldSt.alone[0] = d
		parts = d.foldSt.alone[:]
	case *SplitApply:
		parts = d.joint
	}
	p, ok = unblock(s.Layers[prod.start]).(*Conv2D)
	if len(parts) == 0 || !ok || p.bias != nil || p.noDX {
		return nil, nil, nil, false
	}
	for _, d := range parts {
		if d == p || d.noDX {
			return nil, nil, nil, false
		}
	}
	if p.pathFor(p.in) != pathPointwise {
		return nil, nil, nil, false
	}
	if k, _ := p.pwKernelFor(true, p.n, p.in.H*p.in.W); k != pwOnGpw {
		return nil, nil, nil, false
	}
	return parts, p, bn, true
}

// foldPrepare readies p's backward pass to run sample by sample from that of D, whose
// convolutions are parts (d the first), with fed the batch norm whose normalization
// p applied to its input, if any, and src the convolution that recomputes p's
// input, if any.
func (d *Conv2D) foldPrepare(parts []*Conv2D, p *Conv2D, bn *BatchNorm2D, fed *BatchNorm2D, src *Conv2D) {
	fs := &d.foldSt
	fs.parts, fs.last = parts, parts[len(parts)-1]
	fs.n, fs.in = d.n, d.in
	fs.in.C = 0
	for _, l := range parts {
		l.fold, l.foldC0 = fs, fs.in.C
		fs.in.C += l.cfg.In
	}
	fs.w = workers(fs.n * fs.in.C)
	fs.p, fs.bn = p, bn
	fs.rec = p.rec.valid && p.rec.momValid
	c := bn.c
	fs.ka = grow(fs.ka, 3*c)
	gamma := bn.weight.Value.Float32s()
	for j := 0; j < c; j++ {
		fs.ka[3*j], fs.ka[3*j+1], fs.ka[3*j+2] = float32(float64(gamma[j])*bn.invstd[j]), 0, 0
	}
	nc := p.cfg.In
	fs.one, fs.zero = grow(fs.one, nc), grow(fs.zero, nc)
	for j := 0; j < nc; j++ {
		fs.one[j], fs.zero[j] = 1, 0
	}

	pc := p.cfg
	cig := pc.In / pc.Groups
	out, _ := p.OutShape(p.in)
	dx := p.dx.get(p.n, p.in)
	p.xin, p.src = nil, src
	if fed != nil {
		fed.red = grow(fed.red, 2*fed.n*fed.c)
		fed.fin.red = fed.red
		p.xin = &fed.fin
	}
	p.pass = convPass{n: p.n, in: p.in, out: out, x: p.xv, y: whole(dx.Float32s(), p.in.C)}
	p.startPass()
	st := p.gpwState(false)
	w := fs.w
	p.gradBuffers(w)
	st.lanes = perWorker(st.lanes, w, pc.Groups*gpwLanesLen(cig, pc.Out/pc.Groups))
	for wk := 0; wk < w; wk++ {
		clear(st.lanes[wk])
	}
	fs.da = perWorker(fs.da, w, fs.in.Size())
	fs.g = perWorker(fs.g, w, out.Size())
	fs.t = perWorker(fs.t, w, max(cig*p.in.H*p.in.W, cig*cig))
	for len(fs.s) < w {
		fs.s = append(fs.s, nil)
	}
	for wk := 0; wk < w; wk++ {
		fs.s[wk] = growZero64(fs.s[wk], pc.In)
	}
	if !fs.rec {
		fs.ml = perWorker(fs.ml, w, pc.Groups*gpw.LanesLen(cig, cig))
		for wk := 0; wk < w; wk++ {
			clear(fs.ml[wk])
		}
	}
}

// growZero64 returns s resized to n values, all 0.
func growZero64(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

// foldSample runs p's backward for sample s as worker wk: gm*a per group and the
// reductions of the batch norm B between p and D in one pass over da, the gradient
// at B's output (all of D's input planes of the sample), and z, B's input holding
// the sample at zs (xin, the normalization D applied, reduceApply), which D leaves to
// it; then p's weight-gradient lanes and input gradient, and the sample's moments of
// x. D's clamp mask of gm comes from z as D's forward pass computed it.
func (p *Conv2D) foldSample(fs *foldState, wk, s int, da []float32, xin *bnInput, z []float32, zs int) {
	pc, pp := p.cfg, &p.pass
	cig, cog := pc.In/pc.Groups, pc.Out/pc.Groups
	hw := pp.in.H * pp.in.W
	ll, pl := gpwLanesLen(cig, cog), gpw.PackedLen(cig, cog)
	lanes := p.pwg.lanes[wk]
	swap := gpwSwap(cig, cog)
	x, si := p.inputOf(wk, s)
	g := fs.g[wk]
	// One pass with the reductions (1.6-2.3% off a training step of reference_net
	// at batch 128 against a second pass over da: on/off 0.985, 0.977, 0.984 over
	// 100 paired steps, with a temporary switch).
	xin.reduceApply(da, z, zs, s, hw, g, fs.ka)
	sum, ml := fs.s[wk], gpw.LanesLen(cig, cig)
	for gr := 0; gr < pc.Groups; gr++ {
		xs := x.span(si, gr*cig, cig, hw)
		dys := g[gr*cog*hw : (gr+1)*cog*hw]
		lg := lanes[gr*ll : (gr+1)*ll]
		if swap {
			gpw.WeightGradAhead(lg, xs, hw, cig, dys, hw, cog, hw, nil)
		} else {
			gpw.WeightGradAhead(lg, dys, hw, cog, xs, hw, cig, hw, nil)
		}
		gpw.ApplyAhead(pp.y.span(s, gr*cig, cig, hw), hw, p.pwg.bwd[gr*pl:(gr+1)*pl], dys, hw, cig, cog, hw, nil)
		if fs.rec {
			continue
		}
		gpw.WeightGradAhead(fs.ml[wk][gr*ml:(gr+1)*ml], xs, hw, cig, xs, hw, cig, hw, nil)
		for i := 0; i < cig; i++ {
			sum[gr*cig+i] += float64(sumRow(xs[i*hw : (i+1)*hw]))
		}
	}
}

// foldFinish completes p's backward after d's pass and the batch norm's backward
// (which computed its coefficients b and e): it reduces p's weight-gradient lanes,
// adds the b and e terms to the weight gradient and to the input gradient, and
// addend, if not nil (a Residual's shortcut gradient, of the input gradient's
// shape), to the input gradient too, and runs the reductions of the batch norm
// before p, if p applied one. It returns p's input gradient.
func (d *Conv2D) foldFinish(addend []float32) *tensor.Dense {
	fs := d.fold
	fs.addend = addend
	p := fs.p
	pc := p.cfg
	cig, cog := pc.In/pc.Groups, pc.Out/pc.Groups
	w := fs.w
	// Each worker reduced its lanes at the end of its part of D's pass
	// (dwFlatBwdEnd).
	p.reduceGrads(w)
	mll := gpw.LanesLen(cig, cig)
	fs.m = growZero64(fs.m, pc.Groups*cig*cig)
	if fs.rec {
		// The forward pass's sums, M per group then S, per worker.
		clear(fs.s[0])
		for _, mom := range p.rec.mom {
			for i, v := range mom[:len(fs.m)] {
				fs.m[i] += v
			}
			for i, v := range mom[len(fs.m):] {
				fs.s[0][i] += v
			}
		}
	}
	for wk := 0; wk < w && !fs.rec; wk++ {
		t := fs.t[0][:cig*cig]
		for g := 0; g < pc.Groups; g++ {
			clear(t)
			gpw.ReduceLanes(t, cig, 1, fs.ml[wk][g*mll:(g+1)*mll], cig, cig)
			for i, v := range t {
				fs.m[g*cig*cig+i] += float64(v)
			}
		}
		if wk > 0 {
			for i, v := range fs.s[wk] {
				fs.s[0][i] += v
			}
		}
	}
	m, sum := fs.m, fs.s[0]
	wd := p.weight.Value.Float32s()
	gw := p.weight.Grad.Float32s()
	k := fs.bn.k
	fs.a = grow(fs.a, pc.Groups*cig*cig)
	fs.a64 = growZero64(fs.a64, pc.Groups*cig*cig)
	fs.w64 = growZero64(fs.w64, cig)
	fs.v = grow(fs.v, pc.In)
	clear(fs.v)
	// In float64, the weights of a channel converted once and every inner loop
	// over consecutive values: M is symmetric (its lanes sum the same products for
	// (i, j) and (j, i)), so its row i serves for column i.
	w64 := fs.w64
	for c := 0; c < pc.Out; c++ {
		g := c / cog
		kb, ke := float64(k[3*c+1]), float64(k[3*c+2])
		for j, v := range wd[c*cig : (c+1)*cig] {
			w64[j] = float64(v)
		}
		mg := m[g*cig*cig : (g+1)*cig*cig]
		ag := fs.a64[g*cig*cig : (g+1)*cig*cig]
		for i := 0; i < cig; i++ {
			var wm float64
			for j, v := range mg[i*cig : (i+1)*cig] {
				wm += w64[j] * v
			}
			gw[c*cig+i] += float32(kb*wm + ke*sum[g*cig+i])
			fs.v[g*cig+i] += float32(ke * w64[i])
			kw := kb * w64[i]
			for j, v := range w64 {
				ag[i*cig+j] += kw * v
			}
		}
	}
	for i, v := range fs.a64 {
		fs.a[i] = float32(v)
	}
	fs.kv = grow(fs.kv, 3*pc.In)
	for i := 0; i < pc.In; i++ {
		fs.kv[3*i], fs.kv[3*i+1], fs.kv[3*i+2] = 1, 1, fs.v[i]
	}
	pl := gpw.PackedLen(cig, cig)
	fs.ap = grow(fs.ap, pc.Groups*pl)
	for g := 0; g < pc.Groups; g++ {
		gpw.Pack(fs.ap[g*pl:(g+1)*pl], fs.a[g*cig*cig:], cig, cig, cig, 1)
	}
	if fs.finish == nil {
		fs.finish = d.foldFinishChunk
	}
	p.startPass()
	parallelFor(p.n, fs.finish)
	dx := p.dx.t
	d.foldAbort()
	return dx
}

// foldAbort ends d's folded backward, finished or not: p and d hold no pass state.
func (d *Conv2D) foldAbort() {
	fs := d.fold
	if p := fs.p; p != nil {
		p.pass = convPass{}
		p.xin, p.src = nil, nil
	}
	for _, l := range fs.parts {
		l.fold = nil
	}
	fs.bn, fs.p, fs.parts, fs.last, fs.addend = nil, nil, nil, nil, nil
}

// foldFinishChunk adds A x + v (and the addend) to the input gradient of samples
// [lo, hi), group by group, and runs the reductions of the batch norm before p on
// the result.
func (d *Conv2D) foldFinishChunk(wk, lo, hi int) {
	fs := d.fold
	p := fs.p
	pc, pp := p.cfg, &p.pass
	cig := pc.In / pc.Groups
	hw := pp.in.H * pp.in.W
	pl := gpw.PackedLen(cig, cig)
	t := fs.t[wk][:cig*hw]
	for s := lo; s < hi; s++ {
		x, si := p.inputOf(wk, s)
		for g := 0; g < pc.Groups; g++ {
			dxs := pp.y.span(s, g*cig, cig, hw)
			gpw.Apply(t, hw, fs.ap[g*pl:(g+1)*pl], x.span(si, g*cig, cig, hw), hw, cig, cig, hw)
			if fs.addend != nil {
				o := (s*pc.In + g*cig) * hw
				addRow(t, t, fs.addend[o:o+cig*hw])
			}
			// dx + (A x + v) in one pass: the batch norm's backward apply with no
			// mask computes dy*1 + (x*1 + v).
			bnActBackApplyPlanes(dxs, dxs, t, hw, cig, hw, hw, hw, fs.one, fs.zero, fs.kv[3*g*cig:], 0, 0, false)
		}
		p.gradStats(wk, s, 0, pc.In)
	}
}
