package ops

import "nas/ops/internal/gpw"

// This file holds a fifth fusion of Sequential: an input gradient that is never
// written. In an inverted residual block, depthwise convolution D, batch norm B (with
// its clamp) and 1x1 projection Q, Q's backward pass writes its input gradient, as
// large as D's output (9.6 MB in reference_net.py's second block at batch 128), and
// D's backward reads it back to apply B's backward, whose coefficients depend on
// reductions of that gradient over the whole batch, which Q computes as it goes. So
// Q's pass cannot hand D the gradient sample by sample; but a sample of it is Q^T
// times Q's output gradient, few multiply-adds a value when Q has few channels per
// group, and cheaper to compute again than to write and read back. Q's pass then
// computes each sample into a per-worker scratch for B's reductions and writes
// nothing (dxOmit), and D's pass, which reads the gradient only through B's apply
// (bnGrad.dx, dyInto), recomputes each sample with the same kernels on the same
// operands (recomputedDX): every value is bit for bit the one the layers run one by
// one produce.

// dxRecompute turns the fusion of this file on; tests switch it off to compare.
var dxRecompute = true

// dxRecomputeMaxOut is the most output channels per group of a projection whose
// input gradient is recomputed: a value of it costs that many multiply-adds each
// time. On reference_net.py's training step at batch 128 (BenchmarkDXRecompute,
// on/off over 100 paired steps) recomputing the second and fourth blocks' (6 and 12
// channels per group) took 1-4% off a step (0.968, 0.978, 0.958, 0.992; with
// dxRecomputeMinBytes, 0.994 and 0.981), and also the first block's (dense, 24
// channels) 1-2% (0.989, 0.980).
const dxRecomputeMaxOut = 12

// dxRecomputeMinBytes is the smallest input gradient that is recomputed rather than
// written: a smaller one stays in cache between the two passes, and recomputing it
// only costs. Without the bound the default search's first 16 evaluations (batch 32,
// proxies a quarter wide) trained 0-6% longer each (median 1.5%, two runs each way,
// the same values); reference_net.py's are 9.6 and 4.8 MB at batch 128. Tests lower
// it to run the fusion on small cases.
var dxRecomputeMinBytes = 4 << 20

// dxOmittable reports whether the backward of run r, a convolution run, can omit
// its input gradient: run r is a 1x1 convolution Q on the gpw kernels that applied the
// normalization of the batch norm B of run r-1, and run r-2 a depthwise convolution
// alone on the flat kernels, or a MixConv whose parts ran joint passes, whose
// backward B leaves its apply to (see Sequential.Backward).
func (s *Sequential) dxOmittable(r int) (*Conv2D, bool) {
	if !dxRecompute || r < 2 {
		return nil, false
	}
	run, mid, prod := s.runs[r], s.runs[r-1], s.runs[r-2]
	if !run.conv || run.pooled || run.fed == nil || !prod.conv || prod.pooled {
		return nil, false
	}
	if bn, ok := s.Layers[mid.start].(*BatchNorm2D); !ok || bn != run.fed {
		return nil, false
	}
	q, ok := unblock(s.Layers[run.start]).(*Conv2D)
	if !ok || q.noDX || q.pathFor(q.in) != pathPointwise || q.cfg.Out/q.cfg.Groups > dxRecomputeMaxOut {
		return nil, false
	}
	if k, _ := q.pwKernelFor(true, q.n, q.in.H*q.in.W); k != pwOnGpw || 4*q.n*q.in.Size() < dxRecomputeMinBytes {
		return nil, false
	}
	switch d := unblock(s.Layers[prod.start]).(type) {
	case *Conv2D:
		if d == q || d.cfg.Groups != d.cfg.In || d.pathFor(d.in) != pathFlat {
			return nil, false
		}
	case *SplitApply:
		if len(d.joint) == 0 {
			return nil, false
		}
	default:
		return nil, false
	}
	return q, true
}

// recomputedDX returns the input-gradient planes of sample s for worker wk, computed
// as the gpw backward pass computes them (pointwiseGpwBwdChunk), once per sample.
func (l *Conv2D) recomputedDX(wk, s int) []float32 {
	sc := l.dxsc[wk]
	if l.dxS[wk] == s {
		return sc
	}
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := l.pass.in.H * l.pass.in.W
	pl := gpw.PackedLen(cig, cog)
	dy, sd := l.dyOf(wk, s)
	for g := 0; g < c.Groups; g++ {
		gpw.Apply(sc[g*cig*hw:(g+1)*cig*hw], hw, l.pwg.bwd[g*pl:(g+1)*pl], dy.span(sd, g*cog, cog, hw), hw, cig, cog, hw)
	}
	l.dxS[wk] = s
	return sc
}

// dxEnd ends the omission of l's input gradient: l holds no pass state.
func (l *Conv2D) dxEnd() {
	l.dxOmit = false
	l.pass = convPass{}
	l.dyin = nil
}
