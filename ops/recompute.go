package ops

import "nas/ops/internal/gpw"

// This file holds a third fusion of Sequential (after those of fast_fuse.go): an
// expansion that is never written. In an inverted residual block a 1x1 convolution
// expands the channels, a batch norm with its clamp (and a shuffle) normalizes them,
// and a depthwise convolution reads the result, which fast_fuse.go already leaves
// unwritten. The expansion itself is the largest tensor of the block, written once
// and read three times a step (by the depthwise convolution forward and backward and
// by the batch norm's backward apply). Where it has few input channels per group and
// at least twice as many output channels as input ones (recomputes), as in
// reference_net.py's first two blocks (25.7 and 9.6 MB at batch 128, 16 and 6
// channels per group in), a sample of it costs less to compute again on the gpw
// kernels than to read back from memory (see recomputeMaxIn).
//
// So when Sequential finds that pattern, the expansion's forward pass computes each
// sample into a per-worker scratch only to take the statistics of its planes, and
// writes nothing; every later reader of the expansion, the depthwise convolution in
// both passes and the expansion's own backward (the batch norm's apply, see bnGrad,
// unless the depthwise convolution runs that backward itself, fold.go, from the
// sample it has just recomputed), recomputes the sample it needs with the same
// kernels on the same operands (recomputed), so every value is bit for bit the one
// the layers run one by one produce. The expansion's output tensor is still returned, with its shape, but holds
// nothing meaningful; only the fused layers' passes read it, through recomputed.

// recomputeConv turns the fusion of this file on; tests switch it off to compare.
var recomputeConv = true

// convRecompute is what a convolution whose output is recomputed keeps of its last
// forward pass, and its per-worker scratch.
type convRecompute struct {
	// on asks the next Forward to write no output; set by Sequential for the
	// duration of one Forward. valid says the last Forward wrote none.
	on, valid bool
	x         planes // the forward input
	in, out   Shape
	xin       *bnInput    // the normalization the forward applied to x, or nil
	xsc       [][]float32 // per worker: the transformed input sample
	ysc       [][]float32 // per worker: the recomputed output sample
	ys        []int       // per worker: the sample ysc holds, or -1
	msc       [][]float32 // per worker: scratch of recomputeMomentsChunk
	// mom holds per worker the sums over its samples of M per group and of S (see
	// recomputeMoments), when momValid says the last Forward took them: the
	// folded backward (fold.go) needs their sums over the batch.
	mom      [][]float64
	momValid bool
}

// recomputeMaxIn is the most input channels per group of a convolution whose output
// is recomputed: a value of the output costs that many multiply-adds each time. On
// reference_net.py's training step at batch 128 (BenchmarkRecomputeConv, on/off) the
// second block's grouped expansion (6 channels per group, 14x14 planes) recomputed
// took 1.5% off a step in the median of six runs (0.969-1.019, single runs are
// within the machine's noise). The first block's dense one (16 channels, 28x28)
// recomputed too gained nothing (1.000, and 1.002 and 0.999 on 2026-11-27) while the
// expansion's own backward recomputed it once more; since the depthwise convolution
// runs that backward (fold.go) on the sample it has just recomputed, both blocks
// recomputed took 3-7% off a step (0.929, 0.967, 0.950, 0.952, 0.950, 0.959, median
// 0.951), and the first 16
// evaluations of the default search trained in 106.8 and 105.3 s against 107.6 and
// 106.0 s with 8 as the bound, with the same values (24 as the bound: 103.6 and
// 103.0 s against 102.7 s with 16).
const recomputeMaxIn = 16

// recomputes reports whether a Forward of l at input shape in can leave its output
// to be recomputed: a pointwise convolution on the gpw kernels in both passes, with
// few input channels per group, that at least doubles the channels. Each
// recomputation reads the input again, so a convolution that does not expand reads
// about as much as it saves: with the doubling not required (the search's IGC and
// reducing 1x1s were recomputed too) the default search trained 1.9% longer than
// without recomputing; with it, 0.2% less (the commit message has the runs).
func (l *Conv2D) recomputes(in Shape) bool {
	c := l.cfg
	return l.pathFor(in) == pathPointwise && l.gpwApplies(in.H*in.W) && c.In/c.Groups <= recomputeMaxIn && c.Out >= 2*c.In
}

// recomputeReset empties the per-worker scratch of the recomputed samples at the
// start of a pass that reads them: the operands may have changed since the last one.
func (l *Conv2D) recomputeReset() {
	r := &l.rec
	w := runtimeWorkers()
	r.ys = resetSamples(r.ys, w)
	r.ysc = perWorker(r.ysc, w, r.out.Size())
	if r.xin != nil {
		r.xsc = perWorker(r.xsc, w, r.in.Size())
	}
}

// recomputeForward is the forward pass of a convolution whose output is recomputed:
// with a batch norm after it in training mode (yst), a pass over the samples that
// writes the statistics of its planes, from the moments of each sample's input
// (recomputeMoments) or by computing it into scratch; else nothing.
func (l *Conv2D) recomputeForward(x planes, n int, in, out Shape) {
	r := &l.rec
	r.valid, r.x, r.in, r.out, r.xin = true, x, in, out, l.xin
	r.momValid = false
	l.gpwState(true)
	if l.yst == nil {
		return
	}
	l.pass = convPass{n: n, in: in, out: out, x: x}
	if recomputeMoments && l.bias == nil {
		c := l.cfg
		cig, cog := c.In/c.Groups, c.Out/c.Groups
		w := runtimeWorkers()
		r.msc = perWorker(r.msc, w, gpw.LanesLen(cig, cig)+cig*cig+cog*cig)
		for len(r.mom) < w {
			r.mom = append(r.mom, nil)
		}
		for wk := range r.mom {
			r.mom[wk] = growZero64(r.mom[wk], c.Groups*cig*cig+c.In)
		}
		l.parallel(n, passRecomputeMoments)
		r.momValid = true
	} else {
		l.parallel(n, passRecomputeFwd)
	}
	l.pass = convPass{}
}

// recomputeMoments has the forward pass of a recomputed convolution take the
// statistics of its output planes from its input's moments instead of computing the
// output: y_o = W_o x (no bias) has sum W_o . S and sum of squares W_o^T M W_o over
// a plane, S and M the sums of x and x x^T, which cost In/Groups multiply-adds a
// value against Out/Groups for y. The statistics then differ from those of the
// computed planes by rounding (TestRecomputeMoments); tests switch it off to compare
// with the layers run one by one bit for bit.
var recomputeMoments = true

// recomputeMomentsChunk writes, for samples [lo, hi), the statistics of each output
// plane as bnStatsPlanes would from the computed plane: its mean c, sum(y-c) and
// sum((y-c)^2), here from the sample's S and M per group, in float64.
func (l *Conv2D) recomputeMomentsChunk(wk, lo, hi int) {
	r, c := &l.rec, l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := r.in.H * r.in.W
	h := float64(hw)
	ll, pl := gpw.LanesLen(cig, cig), gpw.PackedLen(cog, cig)
	sc := r.msc[wk]
	lanes, m, wm := sc[:ll], sc[ll:ll+cig*cig], sc[ll+cig*cig:ll+cig*cig+cog*cig]
	wd := l.weight.Value.Float32s()
	for s := lo; s < hi; s++ {
		x := r.x.span(s, 0, r.in.C, hw)
		if r.xin != nil {
			x = r.xsc[wk]
			r.xin.apply(x, hw, r.x.d, s, r.x.c0, r.in.C, hw)
		}
		for g := 0; g < c.Groups; g++ {
			xs := x[g*cig*hw : (g+1)*cig*hw]
			clear(lanes)
			gpw.WeightGrad(lanes, xs, hw, cig, xs, hw, cig, hw)
			clear(m)
			gpw.ReduceLanes(m, cig, 1, lanes, cig, cig)
			// wm = W_g M: row o holds (M W_o)^T, M being symmetric.
			gpw.Apply(wm, cig, l.pwg.fwd[g*pl:(g+1)*pl], m, cig, cog, cig, cig)
			var sx [recomputeMaxIn]float64
			mom := r.mom[wk]
			for i := 0; i < cig; i++ {
				sx[i] = float64(sumRow(xs[i*hw : (i+1)*hw]))
				mom[c.Groups*cig*cig+g*cig+i] += sx[i]
			}
			for i, v := range m {
				mom[g*cig*cig+i] += float64(v)
			}
			st := l.yst[3*(s*r.out.C+g*cog):]
			for o := 0; o < cog; o++ {
				w := wd[(g*cog+o)*cig : (g*cog+o+1)*cig]
				var sy, syy float64
				for i := 0; i < cig; i++ {
					sy += float64(w[i]) * sx[i]
					syy += float64(w[i]) * float64(wm[o*cig+i])
				}
				mean := float32(sy / h)
				cm := float64(mean)
				st[3*o], st[3*o+1], st[3*o+2] = mean, float32(sy-h*cm), float32(max(syy-2*cm*sy+h*cm*cm, 0))
			}
		}
	}
}

func (l *Conv2D) recomputeFwdChunk(wk, lo, hi int) {
	r, c := &l.rec, l.cfg
	hw, cog := r.out.H*r.out.W, c.Out/c.Groups
	for s := lo; s < hi; s++ {
		y := l.recomputed(wk, s)
		// Per group, as outStats is called in pointwiseGpwFwdChunk.
		for g := 0; g < c.Groups; g++ {
			i := s*r.out.C + g*cog
			bnStatsPlanes(y[g*cog*hw:(g+1)*cog*hw], hw, cog, hw, l.yst[3*i:3*(i+cog)])
		}
	}
}

// recomputed returns the output planes of sample s for worker wk, computed as the
// gpw forward pass computes them (gpwForwardGroup), once per sample and pass.
func (l *Conv2D) recomputed(wk, s int) []float32 {
	r := &l.rec
	y := r.ysc[wk]
	if r.ys[wk] == s {
		return y
	}
	c := l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := r.in.H * r.in.W
	x := r.x.span(s, 0, r.in.C, hw)
	if r.xin != nil {
		x = r.xsc[wk]
		r.xin.apply(x, hw, r.x.d, s, r.x.c0, r.in.C, hw)
	}
	for g := 0; g < c.Groups; g++ {
		l.gpwForwardGroup(y[g*cog*hw:(g+1)*cog*hw], x[g*cig*hw:(g+1)*cig*hw], g, hw, nil)
	}
	r.ys[wk] = s
	return y
}

// srcOf returns the batch norm input that the input transform of sample s reads for
// worker wk, and the sample's index in it: the pass's input, or the sample
// recomputed by the convolution that produced it (src).
func (l *Conv2D) srcOf(wk, s int) ([]float32, int) {
	if l.src != nil {
		return l.src.recomputed(wk, s), 0
	}
	return l.pass.x.d, s
}
