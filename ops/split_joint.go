package ops

// A SplitApply whose parts are all depthwise convolutions on the flat kernels
// (MixConv) runs each pass of its parts as one pass over the samples: each worker
// runs every part on a sample before it goes on to the next. Run part by part, each
// part makes its own pass over the batch; joint, the parts of a sample share what
// the worker computed for it, which matters when their input is an expansion left to
// be recomputed (recompute.go): the worker recomputes each sample once for all the
// parts, not once per part. And the parts' input gradients of a sample are all in
// the worker's scratch at the end of it, so an expansion's backward can run from
// them (fold.go) as from a single depthwise convolution's.
//
// Every part computes each value with the same kernels in the same order as in its
// own pass, and each worker takes the same samples (jointParts requires the chunks
// to hold whole samples, which a part's own pass then splits alike), so the results
// are bit for bit those of the parts run one by one. On their own, without the
// recomputation and the fold they make possible, they changed nothing measurable on
// reference_net.py's training step (1.000 on/off over 100 paired steps).

// jointPasses turns the joint passes on; tests switch them off to compare.
var jointPasses = true

// jointParts returns the parts as Conv2Ds when they can run joint passes over n
// samples at input shape in: every part is a depthwise convolution on the flat
// kernels, run in place, and every chunk of a pass over the n samples' channels
// holds whole samples, in the joint pass and in each part's own. Else nil.
func (s *SplitApply) jointParts(n int, in Shape) []*Conv2D {
	if !jointPasses || len(s.Layers) < 2 || s.copyParts {
		return nil
	}
	ins, _, _, err := s.partShapes(in)
	if err != nil {
		return nil
	}
	s.joint = s.joint[:0]
	for i, l := range s.Layers {
		c, ok := unblock(l).(*Conv2D)
		if !ok || !c.depthwiseInPlace(ins[i]) || c.pathFor(ins[i]) != pathFlat || !wholeSamples(n, ins[i].C) {
			s.joint = s.joint[:0]
			return nil
		}
		s.joint = append(s.joint, c)
	}
	if !wholeSamples(n, in.C) {
		s.joint = s.joint[:0]
		return nil
	}
	return s.joint
}

// wholeSamples reports whether each chunk of a parallelFor over n samples of c units
// each holds whole samples, and whether it splits them among as many workers as one
// over n units would.
func wholeSamples(n, c int) bool {
	units := n * c
	w := workers(units)
	if w != workers(n) {
		return false
	}
	for k := 1; k < w; k++ {
		if k*units/w%c != 0 {
			return false
		}
	}
	return true
}

// forwardJoint is forward's run of the parts as one pass (see jointParts), from the
// channels of x to those of y.
func (s *SplitApply) forwardJoint(parts []*Conv2D, x, y planes, ins, outs []Shape) {
	for i, ci, co := 0, 0, 0; i < len(parts); ci, co, i = ci+ins[i].C, co+outs[i].C, i+1 {
		l := parts[i]
		l.startForward(x.from(ci), y.from(co), s.n, ins[i], outs[i])
		l.dwFlatFwdPrepare()
		l.preparePass(passFlatFwd)
	}
	s.runJoint(true)
	for _, l := range parts {
		l.pass = convPass{}
	}
}

// backwardJoint is backward's run of the parts as one pass, from the channels of dy
// to those of dx.
func (s *SplitApply) backwardJoint(parts []*Conv2D, dy, dx planes, ins, outs []Shape) {
	for i, ci, co := 0, 0, 0; i < len(parts); ci, co, i = ci+ins[i].C, co+outs[i].C, i+1 {
		l := parts[i]
		l.pass = convPass{n: l.n, in: l.in, out: outs[i], x: l.xv, y: dx.from(ci), dy: dy.from(co)}
		l.dwFlatBwdPrepare()
		l.preparePass(passFlatBwd)
	}
	s.runJoint(false)
	for _, l := range parts {
		l.dwFlatBwdFinish(workers(s.n * s.in.C))
		l.pass = convPass{}
	}
}

// runJoint runs the joint pass forward or backward over the samples.
func (s *SplitApply) runJoint(fwd bool) {
	if s.jointFn == nil {
		s.jointFn = s.jointChunk
	}
	s.jointFwd = fwd
	parallelFor(s.n*s.in.C, s.jointFn)
}

// jointChunk runs the parts on the samples of units [lo, hi) of the joint pass, one
// sample after the other, as worker wk.
func (s *SplitApply) jointChunk(wk, lo, hi int) {
	c := s.in.C
	if !s.jointFwd {
		for _, l := range s.joint {
			l.dwFlatBwdStart(wk)
		}
	}
	for smp := lo / c; smp < hi/c; smp++ {
		for _, l := range s.joint {
			k := l.cfg.In
			if s.jointFwd {
				l.dwFlatFwdChunk(wk, smp*k, (smp+1)*k)
			} else {
				l.dwFlatBwdUnits(wk, smp*k, (smp+1)*k)
			}
		}
	}
	if !s.jointFwd {
		for _, l := range s.joint {
			l.dwFlatBwdEnd(wk)
		}
	}
}
