package ops

// planes is a run of channels of an NCHW tensor: channels [c0, c0+C) of each sample
// of d, which holds c channels per sample. A whole tensor is the run from c0 = 0 over
// all of its channels; SplitApply hands depthwise convolutions the run of their
// part, so that they read and write the parts in place rather than copies of them.
type planes struct {
	d     []float32
	c, c0 int
}

// whole returns the run of all c channels of d.
func whole(d []float32, c int) planes { return planes{d: d, c: c} }

// off returns the offset in p.d of channel ch of the run in sample s, whose planes
// hold hw values each.
func (p planes) off(s, ch, hw int) int { return (s*p.c + p.c0 + ch) * hw }

// from returns the run of p's channels from its channel ch on.
func (p planes) from(ch int) planes { return planes{d: p.d, c: p.c, c0: p.c0 + ch} }

// span returns the count planes of hw values from channel ch of sample s.
func (p planes) span(s, ch, count, hw int) []float32 {
	o := p.off(s, ch, hw)
	return p.d[o : o+count*hw]
}

// passKind names the chunk body that Conv2D.runChunk runs.
type passKind int

const (
	passIm2colFwd passKind = iota
	passIm2colBwd
	passPointwiseFwd
	passPointwiseBwd
	passPointwiseFlatFwd
	passPointwiseFlatBwd
	passPointwiseBatchFwd
	passPointwiseBatchBwd
	passPointwiseGpwFwd
	passPointwiseGpwBwd
	passFlatFwd
	passFlatBwd
	passDirectFwd
	passDirectBwd
	passRecomputeFwd
	passRecomputeMoments
)

// convPass holds the arguments of the pass a Conv2D is running, read by its chunk
// bodies: the layer's one chunk function is made once, so that a parallel pass
// allocates no closure (a closure over the arguments would escape to parallelFor).
type convPass struct {
	kind    passKind
	n       int
	in, out Shape
	// x is the forward input; y the forward output, or the input gradient backward;
	// dy the output gradient backward.
	x, y, dy planes
	limit    int // depthwise flat: the most channels per kernel call
	bs       int // batched pointwise: the samples per unit
	// stage asks that the pass write y through l.stg, at most this many values of
	// it per unit (0: directly).
	stage int
}

// parallel runs the pass kind over units with parallelFor and then drops the pass's
// references to tensors, which the layer does not own.
func (l *Conv2D) parallel(units int, kind passKind) {
	l.preparePass(kind)
	parallelFor(units, l.chunkFn)
}

// preparePass readies the pass kind for its chunks: its staging and the per-worker
// scratch of its transforms.
func (l *Conv2D) preparePass(kind passKind) {
	if l.chunkFn == nil {
		l.chunkFn = l.runChunk
	}
	l.pass.kind = kind
	l.stg.on = false
	if l.pass.stage > 0 {
		l.stg.prepare(len(l.pass.y.d), l.pass.stage)
	}
	l.startPass()
}

// runChunk runs units [lo, hi) of the current pass as chunk wk.
func (l *Conv2D) runChunk(wk, lo, hi int) {
	switch l.pass.kind {
	case passIm2colFwd:
		l.im2colFwdChunk(wk, lo, hi)
	case passIm2colBwd:
		l.im2colBwdChunk(wk, lo, hi)
	case passPointwiseFwd:
		l.pointwiseFwdChunk(wk, lo, hi)
	case passPointwiseBwd:
		l.pointwiseBwdChunk(wk, lo, hi)
	case passPointwiseFlatFwd:
		l.pointwiseFlatFwdChunk(wk, lo, hi)
	case passPointwiseFlatBwd:
		l.pointwiseFlatBwdChunk(wk, lo, hi)
	case passPointwiseBatchFwd:
		l.pointwiseBatchFwdChunk(wk, lo, hi)
	case passPointwiseBatchBwd:
		l.pointwiseBatchBwdChunk(wk, lo, hi)
	case passPointwiseGpwFwd:
		l.pointwiseGpwFwdChunk(wk, lo, hi)
	case passPointwiseGpwBwd:
		l.pointwiseGpwBwdChunk(wk, lo, hi)
	case passFlatFwd:
		l.dwFlatFwdChunk(wk, lo, hi)
	case passFlatBwd:
		l.dwFlatBwdChunk(wk, lo, hi)
	case passDirectFwd:
		l.dwDirectFwdChunk(wk, lo, hi)
	case passDirectBwd:
		l.dwDirectBwdChunk(wk, lo, hi)
	case passRecomputeFwd:
		l.recomputeFwdChunk(wk, lo, hi)
	case passRecomputeMoments:
		l.recomputeMomentsChunk(wk, lo, hi)
	}
}

// forward runs the forward pass from x to y, n samples of shapes in and out, on the
// kernel pathFor picks, and keeps x for backward.
func (l *Conv2D) forward(x, y planes, n int, in, out Shape) {
	if l.rec.on {
		l.xv, l.n, l.in = x, n, in
		l.recomputeForward(x, n, in, out)
		return
	}
	l.startForward(x, y, n, in, out)
	switch l.pathFor(in) {
	case pathFlat:
		l.dwFlatForward()
	case pathDirect:
		l.parallel(n*l.cfg.Out, passDirectFwd)
	case pathPointwise:
		l.pointwiseForward()
	case pathPointwiseFlat:
		l.pointwiseFlatForward()
	default:
		l.im2colForward()
	}
	l.pass = convPass{}
}

// startForward begins a forward pass from x to y, n samples of shapes in and out:
// it keeps x for backward and sets the pass's arguments.
func (l *Conv2D) startForward(x, y planes, n int, in, out Shape) {
	l.xv, l.n, l.in = x, n, in
	l.rec.valid = false
	l.pass = convPass{n: n, in: in, out: out, x: x, y: y}
}

// backward runs the backward pass of the last forward for the output gradient dy,
// writing the input gradient into dx and adding the parameter gradients.
func (l *Conv2D) backward(dy, dx planes, out Shape) {
	l.pass = convPass{n: l.n, in: l.in, out: out, x: l.xv, y: dx, dy: dy}
	switch l.pathFor(l.in) {
	case pathFlat:
		l.dwFlatBackward()
	case pathDirect:
		l.dwDirectBackward()
	case pathPointwise:
		l.pointwiseBackward()
	case pathPointwiseFlat:
		l.pointwiseFlatBackward()
	default:
		l.im2colBackward()
	}
	if !l.dxOmit {
		// An omitted input gradient is recomputed from the pass's arguments.
		l.pass = convPass{}
	}
}

// depthwiseInPlace reports whether the convolution runs on channel runs of larger
// tensors (forwardRun and backwardRun) at input shape in: depthwise convolutions on
// the flat or direct kernels, which address each input and output plane on its own.
func (l *Conv2D) depthwiseInPlace(in Shape) bool {
	if l.cfg.Groups != l.cfg.In {
		return false
	}
	p := l.pathFor(in)
	return p == pathFlat || p == pathDirect
}
