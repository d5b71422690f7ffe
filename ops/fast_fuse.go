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

// bnInput is a batch norm's normalization, clamp and shuffle as a convolution applies
// it to its input: the convolution's input channel o (of the whole tensor of c
// channels) is clamp(z[src(o)]*ca[src(o)] + cb[src(o)], lo, hi), where src undoes
// the shuffle over groups.
type bnInput struct {
	ca, cb []float32
	lo, hi float32
	groups int
	c      int
}

// apply writes into dst the count input planes, hw values each, of channels
// [c0, c0+count) of sample s, reading the batch norm's input z.
func (t *bnInput) apply(dst, z []float32, s, c0, count, hw int) {
	base := s * t.c * hw
	g := t.groups
	if g <= 1 {
		bnActFwdPlanes(z[base+c0*hw:], dst, hw, count, hw, hw, t.ca[c0:], t.cb[c0:], t.lo, t.hi)
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
		bnActFwdPlanes(z[base+src*hw:], dst[(o-c0)*hw:], hw, k, hw, g*hw, t.ca[src:], t.cb[src:], t.lo, t.hi)
	}
}

// startPass prepares the per-worker scratch of the input transform, if any, for a
// pass over the current input: no worker holds a transformed sample yet.
func (l *Conv2D) startPass() {
	if l.xin == nil {
		return
	}
	w := runtimeWorkers()
	l.xsc = perWorker(l.xsc, w, l.pass.in.Size())
	for len(l.xscS) < w {
		l.xscS = append(l.xscS, -1)
	}
	for i := range l.xscS {
		l.xscS[i] = -1
	}
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
		l.xin.apply(sc, p.x.d, s, p.x.c0, p.in.C, p.in.H*p.in.W)
		l.xscS[wk] = s
	}
	return planes{d: sc, c: p.in.C}, 0
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
