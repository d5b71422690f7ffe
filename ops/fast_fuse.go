package ops

// This file holds the cross-layer fusions that Sequential runs between a convolution
// and the batch norm around it. The reference network is memory-bound: an expanded
// activation of its first block is 25 MB at batch 128, larger than the second-level
// caches, so each pass over it costs more than the arithmetic done on it. Two passes
// per batch norm are saved in the forward pass:
//
//   - A convolution followed by a batch norm in training mode computes the per-plane
//     statistics of its output (bnStatsPlanes) right after writing each sample's
//     planes, while they are in cache, instead of the batch norm reading them again.
//   - A batch norm (with its fused clamp activation and shuffle) followed by a
//     convolution writes no output: the convolution applies the normalization to one
//     sample of the batch norm's input at a time, into a per-worker scratch that
//     stays in cache, and runs its kernels on that. Backward recomputes the sample
//     the same way.
//
// Both compute every value with the kernels and in the order of the unfused layers,
// so the results are bit for bit those of the layers run one by one.

// fuseConvBN turns the fusions of this file on; tests switch it off to compare.
var fuseConvBN = true

// bnInput is a batch norm's normalization, clamp and shuffle as a convolution applies
// it to its input: the convolution's input channel o (of the whole tensor of c
// channels) is clamp(z[src(o)]*ca[src(o)] + cb[src(o)], lo, hi), where src undoes
// the shuffle over groups.
//
// In the backward pass, when red is set, the convolution also writes the batch
// norm's reductions of its input gradient to red (see reduce), which needs the batch
// norm's mean and whether its activation masks the gradient.
type bnInput struct {
	ca, cb []float32
	lo, hi float32
	groups int
	c      int
	mean   []float32
	mask   bool
	red    []float32
}

// apply writes into dst the count input planes, hw values each and ld values apart,
// of channels [c0, c0+count) of sample s, reading the batch norm's input z.
func (t *bnInput) apply(dst []float32, ld int, z []float32, s, c0, count, hw int) {
	base := s * t.c * hw
	g := t.groups
	if g <= 1 {
		bnActFwdPlanes(z[base+c0*hw:], dst, hw, count, hw, ld, t.ca[c0:], t.cb[c0:], t.lo, t.hi)
		return
	}
	// Channel o of the shuffled tensor is channel (o%g)*per + o/g of z: the outputs
	// of one residue r are g planes apart and read consecutive channels of z.
	per := t.c / g
	for r := 0; r < g; r++ {
		o := c0 + (r-c0%g+g)%g
		if o >= c0+count {
			continue
		}
		k := (c0 + count - o + g - 1) / g
		src := r*per + o/g
		bnActFwdPlanes(z[base+src*hw:], dst[(o-c0)*ld:], hw, k, hw, g*ld, t.ca[src:], t.cb[src:], t.lo, t.hi)
	}
}

// startPass prepares the per-worker scratch of the input and output-gradient
// transforms, if any, for a pass: no worker holds a transformed sample yet.
func (l *Conv2D) startPass() {
	w := runtimeWorkers()
	if l.src != nil {
		l.src.recomputeReset()
	}
	if l.rec.valid {
		l.recomputeReset()
	}
	if l.xin != nil {
		l.xsc = perWorker(l.xsc, w, l.pass.in.Size())
		l.xscS = resetSamples(l.xscS, w)
	}
	if l.dyin != nil {
		l.dsc = perWorker(l.dsc, w, l.pass.out.Size())
		l.dscS = resetSamples(l.dscS, w)
	}
}

// resetSamples returns s with at least w entries, all -1: no sample.
func resetSamples(s []int, w int) []int {
	for len(s) < w {
		s = append(s, -1)
	}
	for i := range s {
		s[i] = -1
	}
	return s
}

// inputOf returns the planes that hold sample s of the convolution's input for
// worker wk, and the sample's index in them: the pass's input itself, or, with an
// input transform, the worker's scratch holding the transformed sample.
func (l *Conv2D) inputOf(wk, s int) (planes, int) {
	p := &l.pass
	if l.xin == nil {
		return p.x, s
	}
	sc := l.xsc[wk]
	if l.xscS[wk] != s {
		l.inputInto(wk, sc, p.in.H*p.in.W, s)
		l.xscS[wk] = s
	}
	return planes{d: sc, c: p.in.C}, 0
}

// inputInto writes the input planes of sample s, hw values each, into dst, ld values
// apart: the transformed sample, with an input transform, straight from the batch
// norm's input; else a copy of the pass's input.
func (l *Conv2D) inputInto(wk int, dst []float32, ld, s int) {
	p := &l.pass
	hw := p.in.H * p.in.W
	if l.xin == nil {
		copyPlanes(dst, ld, p.x.span(s, 0, p.in.C, hw), hw, p.in.C, hw)
		return
	}
	z, zs := l.srcOf(wk, s)
	l.xin.apply(dst, ld, z, zs, p.x.c0, p.in.C, hw)
}

// dyInto writes the output-gradient planes of sample s, hw values each, into dst,
// ld values apart: with the batch norm's backward apply left to the convolution,
// computed straight from the batch norm's output gradient; else a copy of the pass's
// output gradient.
func (l *Conv2D) dyInto(wk int, dst []float32, ld, s int) {
	p := &l.pass
	hw := p.out.H * p.out.W
	if l.dyin == nil {
		copyPlanes(dst, ld, p.dy.span(s, 0, p.out.C, hw), hw, p.out.C, hw)
		return
	}
	z, zs := l.dyin.z, s
	if l.dyin.src != nil {
		z, zs = l.dyin.src.recomputed(wk, s), 0
	}
	dy, ds := p.dy.d, s
	if l.dyin.dx != nil {
		dy, ds = l.dyin.dx.recomputedDX(wk, s), 0
	}
	l.dyin.apply(dst, ld, dy, z, ds, zs, p.dy.c0, p.out.C, hw)
}

// outStats writes the statistics of count output planes from channel ch of sample s
// (of the pass's output planes) for a following batch norm, when one asked for them.
func (l *Conv2D) outStats(s, ch, count int) {
	if l.yst == nil || count == 0 {
		return
	}
	p := &l.pass
	hw := p.out.H * p.out.W
	o := p.y.off(s, ch, hw)
	i := s*p.y.c + p.y.c0 + ch
	bnStatsPlanes(p.y.d[o:o+count*hw], hw, count, hw, l.yst[3*i:3*(i+count)])
}

// In the backward pass the same pairs save three more passes:
//
//   - The convolution that applied a batch norm's normalization to its input also
//     computes the batch norm's two per-plane reductions (bnActBackReducePlanes) of
//     each sample's input gradient as soon as it is written, while it and the
//     sample's batch norm input are in cache.
//   - A batch norm whose input a convolution produced writes no input gradient: that
//     convolution computes it (bnActBackApplyPlanes) one sample at a time into a
//     per-worker scratch from the gradient at the batch norm's output and uses it as
//     its own output gradient.

// reduce writes to red the batch norm's per-plane reductions of sample s for the
// count input-gradient planes of channels [c0, c0+count), channel o's plane at
// da[dbase+o*hw], in the convolution's (shuffled) order of the batch norm's t.c
// channels; z is the batch norm's input, holding the sample at index zs. The results
// land in red[2*(s*t.c+j)], j indexing the batch norm's channels.
func (t *bnInput) reduce(da []float32, dbase int, z []float32, zs, s, c0, count, hw int) {
	base := zs * t.c * hw
	g := max(t.groups, 1)
	per := t.c / g
	for r := 0; r < g; r++ {
		o := c0 + (r-c0%g+g)%g
		if o >= c0+count {
			continue
		}
		k := (c0 + count - o + g - 1) / g
		src := r*per + o/g
		bnActBackReducePlanes(z[base+src*hw:], da[dbase+o*hw:], hw, k, hw, g*hw,
			t.ca[src:], t.cb[src:], t.mean[src:], t.lo, t.hi, t.mask, t.red[2*(s*t.c+src):])
	}
}

// reduceApply is reduce, for all of sample s's channels, that also writes gm*k[3j]
// of each into g, channel j's plane at g[j*hw] in the batch norm's order (k's other
// two values per channel zero): the gradient a folded expansion's backward starts
// from (foldSample), in the same pass over z and da.
func (t *bnInput) reduceApply(da, z []float32, zs, s, hw int, g, k []float32) {
	base := zs * t.c * hw
	gr := max(t.groups, 1)
	per := t.c / gr
	for r := 0; r < gr; r++ {
		// D's channels r, r+gr, ... read the batch norm's channels r*per, r*per+1, ...
		src := r * per
		bnActBackReduceGPlanes(z[base+src*hw:], da[r*hw:], g[src*hw:], hw, per, hw, gr*hw, hw,
			t.ca[src:], t.cb[src:], t.mean[src:], k[3*src:], t.lo, t.hi, t.mask, t.red[2*(s*t.c+src):])
	}
}

// bnGrad is a batch norm's backward apply as the convolution before it computes it:
// the gradient at the batch norm's input channel j (the convolution's output) is
// bnActBackApplyPlanes of its input z and of the gradient dy at its output, channel
// j of z reading channel dst(j) of dy where a shuffle moved it.
type bnGrad struct {
	z   []float32
	src *Conv2D // when set, z is not written: src recomputes its samples
	// dx, when set, is the convolution after the batch norm, whose input gradient
	// (the gradient at the batch norm's output) is not written: dx recomputes its
	// samples (dx_recompute.go).
	dx *Conv2D

	ca, cb, k []float32
	lo, hi    float32
	mask      bool
	groups    int
	c         int
}

// apply writes into dst the count input-gradient planes of channels [c0, c0+count)
// of sample s, hw values each and ld values apart, from the gradient dy at the batch
// norm's output and the batch norm's input z, which holds the sample at index zs.
func (t *bnGrad) apply(dst []float32, ld int, dy, z []float32, s, zs, c0, count, hw int) {
	base, zbase := s*t.c*hw, zs*t.c*hw
	g := max(t.groups, 1)
	channelRuns(c0, c0+count, t.c, g, func(from, to, d int) {
		bnActBackApplyPlanes(dst[(from-c0)*ld:], dy[base+d*hw:], z[zbase+from*hw:], hw, to-from, ld, hw, g*hw,
			t.ca[from:], t.cb[from:], t.k[3*from:], t.lo, t.hi, t.mask)
	})
}

// gradStats runs the reductions of the batch norm before the convolution, when it
// asked for them, on the input gradient of count channels from channel ch of sample s.
func (l *Conv2D) gradStats(wk, s, ch, count int) {
	if l.xin != nil && l.xin.red != nil && count > 0 {
		p := &l.pass
		l.gradStatsOf(wk, p.y.span(s, ch, count, p.in.H*p.in.W), s, ch, count)
	}
}

// gradStatsOf is gradStats reading the input-gradient planes from da, which holds
// them: the pass's input gradient or a worker's staging scratch.
func (l *Conv2D) gradStatsOf(wk int, da []float32, s, ch, count int) {
	if l.xin == nil || l.xin.red == nil || count == 0 {
		return
	}
	p := &l.pass
	c0 := p.y.c0 + ch
	z, zs := l.srcOf(wk, s)
	l.xin.reduce(da, -c0*p.in.H*p.in.W, z, zs, s, c0, count, p.in.H*p.in.W)
}

// dyOf returns the planes that hold sample s of the output gradient for worker wk
// and the sample's index in them: the pass's output gradient itself, or, when the
// batch norm after the convolution left its input gradient to it, the worker's
// scratch holding that gradient for the sample.
func (l *Conv2D) dyOf(wk, s int) (planes, int) {
	p := &l.pass
	if l.dyin == nil {
		return p.dy, s
	}
	sc := l.dsc[wk]
	if l.dscS[wk] != s {
		l.dyInto(wk, sc, p.out.H*p.out.W, s)
		l.dscS[wk] = s
	}
	return planes{d: sc, c: p.out.C}, 0
}
