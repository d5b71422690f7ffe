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
// reference_net.py's first four blocks (25.7, 9.6, 9.6 and 4.8 MB at batch 128, 16,
// 6, 24 and 12 channels per group in; the last two into MixConvs, split_joint.go),
// a sample of it costs less to compute again on the gpw kernels than to read back
// from memory (see recomputeMaxIn).
//
// So when Sequential finds that pattern, the expansion's forward pass only takes the
// statistics of its planes for the batch norm, from its input's moments
// (recomputeMoments) or by computing each sample into a per-worker scratch, and
// writes nothing; every later reader of the expansion, the depthwise convolution in
// both passes and the expansion's own backward (the batch norm's apply, see bnGrad,
// unless the depthwise convolution runs that backward itself, fold.go, from the
// sample it has just recomputed), recomputes the sample it needs with the same
// kernels on the same operands (recomputed), so every value is bit for bit the one
// the layers run one by one produce (the statistics from moments excepted). The
// expansion's output tensor is still returned, with its shape, but holds nothing
// meaningful; only the fused layers' passes read it, through recomputed.

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
// 0.951), and the first 16 evaluations of the default search trained in 106.8 and
// 105.3 s against 107.6 and 106.0 s with 8 as the bound, with the same values (24 as
// the bound: 103.6 and 103.0 s against 102.7 s with 16). Once MixConvs could be
// recomputed for (split_joint.go), 24 let the third block's dense expansion (24
// channels in, into a MixConv) be recomputed too: 1.3% off a step (0.9865 over 100
// paired steps; 0.985, 1.003, 0.983 over 40), and the search's first 16 evaluations
// trained in 109.0 and 108.4 s against 109.2 and 108.2 s with 16.
const recomputeMaxIn = 24

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
		hw := in.H * in.W
		r.msc = perWorker(r.msc, w, c.Groups*(gpw.LanesLen(cig, cig)+gpw.LanesLen(cig, 1))+cig*cig+cog*cig+hw)
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
// plane that bnStatsPlanes writes from the computed plane (its mean c, sum(y-c) and
// sum((y-c)^2)), here from the input's S and M per group, in float64. It sums the
// moments over blocks of momentSamples samples, whose planes of one channel then
// share the block's mean and the block's two sums split evenly among them: the batch
// norm, which adds the planes' statistics up (combineStats), sees the block's.
func (l *Conv2D) recomputeMomentsChunk(wk, lo, hi int) {
	r, c := &l.rec, l.cfg
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := r.in.H * r.in.W
	ml, sl, pl := gpw.LanesLen(cig, cig), gpw.LanesLen(cig, 1), gpw.PackedLen(cog, cig)
	sc := r.msc[wk]
	lanes, sc := sc[:c.Groups*(ml+sl)], sc[c.Groups*(ml+sl):]
	m, sc := sc[:cig*cig], sc[cig*cig:]
	wm, ones := sc[:cog*cig], sc[cog*cig:cog*cig+hw]
	for i := range ones {
		ones[i] = 1
	}
	wd := l.weight.Value.Float32s()
	mom := r.mom[wk]
	for s0 := lo; s0 < hi; s0 += momentSamples {
		s1 := min(s0+momentSamples, hi)
		clear(lanes)
		for s := s0; s < s1; s++ {
			x := r.x.span(s, 0, r.in.C, hw)
			if r.xin != nil {
				x = r.xsc[wk]
				r.xin.apply(x, hw, r.x.d, s, r.x.c0, r.in.C, hw)
			}
			for g := 0; g < c.Groups; g++ {
				xs, lg := x[g*cig*hw:(g+1)*cig*hw], lanes[g*(ml+sl):]
				gpw.WeightGrad(lg[:ml], xs, hw, cig, xs, hw, cig, hw)
				gpw.WeightGrad(lg[ml:ml+sl], xs, hw, cig, ones, hw, 1, hw)
			}
		}
		k := float64(s1 - s0)
		h := k * float64(hw)
		for g := 0; g < c.Groups; g++ {
			lg := lanes[g*(ml+sl):]
			clear(m)
			gpw.ReduceLanes(m, cig, 1, lg[:ml], cig, cig)
			var sx [recomputeMaxIn]float32
			gpw.ReduceLanes(sx[:cig], 1, 1, lg[ml:ml+sl], cig, 1)
			for i := 0; i < cig; i++ {
				mom[c.Groups*cig*cig+g*cig+i] += float64(sx[i])
			}
			for i, v := range m {
				mom[g*cig*cig+i] += float64(v)
			}
			// wm = W_g M: row o holds (M W_o)^T, M being symmetric.
			gpw.Apply(wm, cig, l.pwg.fwd[g*pl:(g+1)*pl], m, cig, cog, cig, cig)
			for o := 0; o < cog; o++ {
				w := wd[(g*cog+o)*cig : (g*cog+o+1)*cig]
				var sy, syy float64
				for i := 0; i < cig; i++ {
					sy += float64(w[i]) * float64(sx[i])
					syy += float64(w[i]) * float64(wm[o*cig+i])
				}
				mean := float32(sy / h)
				cm := float64(mean)
				d, v := float32((sy-h*cm)/k), float32(max(syy-2*cm*sy+h*cm*cm, 0)/k)
				for s := s0; s < s1; s++ {
					st := l.yst[3*(s*r.out.C+g*cog+o):]
					st[0], st[1], st[2] = mean, d, v
				}
			}
		}
	}
}

// momentSamples is how many samples recomputeMomentsChunk sums the moments of
// before it reduces their 16-lane partial sums and computes the statistics, which
// cost as much per block as per sample (in a profile of reference_net training
// steps, done per sample, they and sumRow took 60% of the pass); each lane then sums
// momentSamples*hw/16 float32 products.
const momentSamples = 4

// recomputeFwdChunk computes samples [lo, hi) into scratch and writes the statistics
// of their planes, when the statistics are not taken from moments.
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
