package ops

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// BatchNorm2D is batch normalization over the channels of an NCHW tensor (PyTorch's
// nn.BatchNorm2d, Ioffe and Szegedy 2015). In training mode it normalizes each channel
// with the batch's mean and biased variance and updates the running statistics, using
// the unbiased variance for the running variance as PyTorch does; in evaluation mode it
// normalizes with the running statistics. Its parameters are gamma ("weight") and beta
// ("bias"); the running statistics are state, not parameters.
type BatchNorm2D struct {
	// Eps is added to the variance before its square root; NewBatchNorm2D sets 1e-5.
	Eps float64
	// Momentum is the weight of the batch statistics in the running averages:
	// running = (1-Momentum)*running + Momentum*batch. NewBatchNorm2D sets 0.1.
	Momentum float64

	c            int
	weight, bias *Param
	runMean      []float32
	runVar       []float32
	training     bool

	// State of the last Forward, for Backward.
	x          *tensor.Dense
	n          int
	in         Shape
	trainStats bool      // whether the last Forward used batch statistics
	mean       []float32 // per channel mean used by the last Forward
	invstd     []float64 // per channel 1/sqrt(var+eps) used by the last Forward
	acc1, acc2 []float64 // per channel sums of a pass
	ca, cb     []float32 // per channel coefficients y = x*ca + cb of the last Forward
	k          []float32 // per channel coefficients of the backward pass, 3 each
	scratch    []float32 // per plane results of the kernels, 3 per channel
	out, dx    buffer

	// The current pass's arguments, read by fwdPass and bwdPass: the passes are
	// made once, so that a parallel pass allocates no closure.
	passIn, passOut []float32
	passFuse        bnFuse
	fwdPass         func(chunk, lo, hi int)
	bwdPass         func(chunk, lo, hi int)
	statsPass       func(chunk, lo, hi int)
	redPass         func(chunk, lo, hi int)
	coefPass        func(chunk, lo, hi int)
	backCoefPass    func(chunk, lo, hi int)
	passSums        bool // the per-plane sums of the pass are in stats or red
	chanPass        func(chunk, lo, hi int)
	chanBackPass    func(chunk, lo, hi int)

	// Sequential's fusions with the convolutions around the batch norm
	// (fast_fuse.go): stats holds per-plane statistics that the convolution before
	// computed (used by the next Forward when preStats is set), noApply makes Forward
	// compute the coefficients but write no output for a convolution after it that
	// applies them itself, as described by fin.
	stats    []float32
	preStats bool
	noApply  bool
	fin      bnInput
	// In Backward, red holds the per-plane reductions that the convolution after
	// the batch norm computed (used when preReduced is set), and noApplyBack makes
	// Backward compute the parameter gradients and coefficients but write no input
	// gradient, which the convolution before applies itself as bout describes.
	red         []float32
	preReduced  bool
	noApplyBack bool
	bout        bnGrad
	// addend, when set by Sequential for one Forward of a batch norm run alone
	// (no activation or shuffle fused), is added to the output as it is written:
	// the identity shortcut of a Residual whose body ends with this batch norm.
	addend []float32
}

var (
	_ Layer         = (*BatchNorm2D)(nil)
	_ Parameterized = (*BatchNorm2D)(nil)
	_ ModeSetter    = (*BatchNorm2D)(nil)
)

// NewBatchNorm2D returns a batch norm over c channels in training mode with PyTorch's
// defaults: eps 1e-5, momentum 0.1, gamma 1, beta 0, running mean 0 and running
// variance 1. It panics if c is not positive, like make with a negative length.
func NewBatchNorm2D(c int) *BatchNorm2D {
	if c <= 0 {
		panic(fmt.Sprintf("ops: NewBatchNorm2D(%d): channels must be positive", c))
	}
	l := &BatchNorm2D{
		Eps: 1e-5, Momentum: 0.1, c: c,
		weight: newParam("weight", c), bias: newParam("bias", c),
		runMean: make([]float32, c), runVar: make([]float32, c),
		training: true,
		mean:     make([]float32, c), invstd: make([]float64, c),
		acc1: make([]float64, c), acc2: make([]float64, c),
		ca: make([]float32, c), cb: make([]float32, c),
		k: make([]float32, 3*c), scratch: make([]float32, 3*c),
	}
	for i := range l.runVar {
		l.runVar[i] = 1
		l.weight.Value.Float32s()[i] = 1
	}
	return l
}

// Channels returns the number of channels the batch norm normalizes.
func (l *BatchNorm2D) Channels() int { return l.c }

// Weight returns gamma, of shape (C).
func (l *BatchNorm2D) Weight() *Param { return l.weight }

// Bias returns beta, of shape (C).
func (l *BatchNorm2D) Bias() *Param { return l.bias }

// RunningMean returns the running mean per channel. The slice is the layer's own
// state: writing to it (to load a checkpoint) changes the layer.
func (l *BatchNorm2D) RunningMean() []float32 { return l.runMean }

// RunningVar returns the running (unbiased) variance per channel, the layer's own
// state like RunningMean.
func (l *BatchNorm2D) RunningVar() []float32 { return l.runVar }

// Training reports whether the layer is in training mode.
func (l *BatchNorm2D) Training() bool { return l.training }

// Params implements Parameterized.
func (l *BatchNorm2D) Params() []*Param { return []*Param{l.weight, l.bias} }

// SetTraining implements ModeSetter.
func (l *BatchNorm2D) SetTraining(training bool) { l.training = training }

// OutShape implements Layer.
func (l *BatchNorm2D) OutShape(in Shape) (Shape, error) {
	if in.C != l.c || !in.valid() {
		return Shape{}, fmt.Errorf("batchnorm: input %v, want %d channels", in, l.c)
	}
	return in, nil
}

// Cost implements Layer: no MACs, gamma and beta as parameters.
func (l *BatchNorm2D) Cost(Shape) Cost { return Cost{Params: int64(2 * l.c)} }

// channelPass runs f, a pass over the channels that combines the per-sample sums of
// each (the coefficients forward and backward), on all channels at once when they
// hold at most bnCoefSerialMax sums, else in parallel: each channel's sums are the
// same either way. The work of such a pass is a few microseconds on reference_net.py
// at batch 128 (128 samples of 16 to 384 channels), less than a parallelFor
// costs in handing the helper its chunk and waiting for it to finish: the 36 passes
// of a training step took 6-50 us each in parallel, 0.7 ms a step in all. On one
// goroutine they took 1.4-1.8% off a step (on/off 0.982 and 0.986 over 100 paired
// steps), which makes 63 parallel passes instead of 103.
func (l *BatchNorm2D) channelPass(f func(chunk, lo, hi int)) {
	if l.n*l.c <= bnCoefSerialMax {
		runFlushed(f, 0, 0, l.c)
		return
	}
	parallelFor(l.c, f)
}

// bnCoefSerialMax is the most per-sample sums of a channel pass that channelPass runs
// on one goroutine: 128 samples of 512 channels. Tests lower it to run the passes in
// parallel.
var bnCoefSerialMax = 1 << 16

// bnParallelMin is the number of values below which batch norm runs on one goroutine:
// under it, starting goroutines costs more than the work. Tests change it to compare
// the two paths.
var bnParallelMin = 1 << 14

// Forward implements Layer.
func (l *BatchNorm2D) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	return l.forwardFused(x, bnFuse{}, &l.out)
}

// forwardFused is Forward followed by the activation and shuffle of f, writing into
// out (the buffer of the last layer fused in).
func (l *BatchNorm2D) forwardFused(x *tensor.Dense, f bnFuse, out *buffer) (*tensor.Dense, error) {
	n, in, _, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	if l.training && n*in.H*in.W < 2 {
		return nil, fmt.Errorf("batchnorm: training needs more than 1 value per channel, got %d x %v", n, in)
	}
	if l.addend != nil && (l.noApply || f.act != ActNone || f.shuffleGroups() > 1 || len(l.addend) != n*in.Size()) {
		// Sequential sets addend only on a batch norm run alone that writes its
		// output: anything else would drop or misplace the shortcut.
		return nil, fmt.Errorf("batchnorm: internal error: residual addend on a fused or unwritten output")
	}
	if !fusableAct(f.act) || in.C%f.shuffleGroups() != 0 {
		return nil, fmt.Errorf("batchnorm: cannot fuse activation %v and %d shuffle groups over %d channels", f.act, f.groups, in.C)
	}
	l.x, l.n, l.in, l.trainStats = x, n, in, l.training
	y := out.get(n, in)
	xd, yd := x.Float32s(), y.Float32s()
	if len(xd) < bnParallelMin {
		l.forwardChannels(0, l.c, xd, yd, f)
		return y, nil
	}
	if n < runtimeWorkers() {
		// Too few samples to go round (batch-1 inference): the workers split the
		// channels.
		if l.chanPass == nil {
			l.chanPass = func(_, lo, hi int) { l.forwardChannels(lo, hi, l.passIn, l.passOut, l.passFuse) }
		}
		l.passIn, l.passOut, l.passFuse = xd, yd, f
		parallelFor(l.c, l.chanPass)
		l.passIn, l.passOut = nil, nil
		return y, nil
	}
	// In parallel, the passes over the data split the samples as the convolutions
	// around the batch norm do, so that each worker reads and writes the samples in
	// its own caches; the per-plane statistics are combined per channel in sample
	// order in a pass over the channels, as forwardChannels does, so the results are
	// the same bits.
	if l.fwdPass == nil {
		l.statsPass = func(_, lo, hi int) { l.statsSamples(lo, hi, l.passIn) }
		l.coefPass = func(_, lo, hi int) { l.coefficients(lo, hi, l.passIn, l.passSums) }
		l.fwdPass = func(_, lo, hi int) { l.applySamples(0, l.c, lo, hi, l.passIn, l.passOut, l.passFuse) }
	}
	l.passIn, l.passOut, l.passFuse = xd, yd, f
	perSample := l.preStats
	if l.trainStats && !perSample {
		l.stats = grow(l.stats, 3*n*l.c)
		parallelFor(n, l.statsPass)
		perSample = true
	}
	l.passSums = perSample
	l.channelPass(l.coefPass)
	if !l.noApply {
		parallelFor(n, l.fwdPass)
	}
	l.passIn, l.passOut = nil, nil
	return y, nil
}

// statsSamples writes the per-plane statistics of samples [lo, hi) to l.stats, as a
// convolution before the batch norm would (see preStats).
func (l *BatchNorm2D) statsSamples(lo, hi int, xd []float32) {
	c, hw := l.c, l.in.H*l.in.W
	for i := lo; i < hi; i++ {
		bnStatsPlanes(xd[i*c*hw:(i+1)*c*hw], hw, c, hw, l.stats[3*i*c:3*(i+1)*c])
	}
}

// channelRuns calls fn for the runs of channels [lo, hi) that a shuffle over groups
// keeps a constant distance apart: channels from..to-1 of one group go to output
// channels dst, dst+groups, ... .
func channelRuns(lo, hi, c, groups int, fn func(from, to, dst int)) {
	per := c / groups
	for ch := lo; ch < hi; {
		gi := ch / per
		end := min(hi, (gi+1)*per)
		fn(ch, end, (ch-gi*per)*groups+gi)
		ch = end
	}
}

// forwardChannels normalizes channels [lo, hi) of xd into yd. Every pass walks the
// samples in order and, within a sample, the channels' contiguous planes, so memory is
// read sequentially even when the planes are small (4x4 at the end of a network).
func (l *BatchNorm2D) forwardChannels(lo, hi int, xd, yd []float32, f bnFuse) {
	l.coefficients(lo, hi, xd, l.preStats)
	if !l.noApply {
		l.applySamples(lo, hi, 0, l.n, xd, yd, f)
	}
}

// coefficients computes the mean, invstd, running statistics and coefficients ca
// and cb of channels [lo, hi): in training from the per-plane statistics in l.stats
// when perSample, else from xd.
func (l *BatchNorm2D) coefficients(lo, hi int, xd []float32, perSample bool) {
	n, c, hw := l.n, l.c, l.in.H*l.in.W
	count := float64(n * hw)
	gamma, beta := l.weight.Value.Float32s(), l.bias.Value.Float32s()
	mean, invstd := l.mean[lo:hi], l.invstd[lo:hi]
	if l.trainStats {
		// One pass over memory: each plane is summed around its own mean while it is
		// in cache (bnStatsPlanes), and the planes' sums of values and of squares
		// are combined in float64.
		s, q := l.acc1[lo:hi], l.acc2[lo:hi]
		clear(s)
		clear(q)
		st := l.scratch[3*lo : 3*hi]
		h := float64(hw)
		for i := 0; i < n; i++ {
			if perSample {
				st = l.stats[3*(i*c+lo) : 3*(i*c+hi)]
			} else {
				bnStatsPlanes(xd[(i*c+lo)*hw:(i*c+hi)*hw], hw, hi-lo, hw, st)
			}
			combineStats(st, h, s, q)
		}
		mom := l.Momentum
		rm, rv := l.runMean[lo:hi], l.runVar[lo:hi]
		for j := range q {
			mu := s[j] / count
			dev := max(q[j]-s[j]*mu, 0) // sum of squared deviations
			mean[j] = float32(mu)
			invstd[j] = 1 / math.Sqrt(dev/count+l.Eps)
			rm[j] = float32((1-mom)*float64(rm[j]) + mom*mu)
			rv[j] = float32((1-mom)*float64(rv[j]) + mom*dev/(count-1))
		}
	} else {
		for j := range mean {
			mean[j] = l.runMean[lo+j]
			invstd[j] = 1 / math.Sqrt(float64(l.runVar[lo+j])+l.Eps)
		}
	}
	// y = x*a + b with a = gamma*invstd, b = beta - mean*a, PyTorch's fused form; the
	// coefficients stay for Backward, which recomputes the activation's mask from x.
	ca, cb := l.ca[lo:hi], l.cb[lo:hi]
	for j := range ca {
		ca[j] = float32(float64(gamma[lo+j]) * invstd[j])
		cb[j] = beta[lo+j] - mean[j]*ca[j]
	}
}

// applySamples writes the output of channels [lo, hi) of samples [s0, s1).
func (l *BatchNorm2D) applySamples(lo, hi, s0, s1 int, xd, yd []float32, f bnFuse) {
	c, hw := l.c, l.in.H*l.in.W
	clo, chi, _ := f.bounds()
	g := f.shuffleGroups()
	for i := s0; i < s1; i++ {
		base := i * c * hw
		channelRuns(lo, hi, c, g, func(from, to, dst int) {
			bnActFwdPlanes(xd[base+from*hw:], yd[base+dst*hw:], hw, to-from, hw, g*hw,
				l.ca[from:to], l.cb[from:to], clo, chi)
		})
		if l.addend != nil {
			// The sample's planes are still in cache: the residual sum costs no
			// pass of its own (the same additions as addTensors, in the same order).
			ys := yd[base+lo*hw : base+hi*hw]
			addRow(ys, ys, l.addend[base+lo*hw:])
		}
	}
}

// Backward implements Layer. In training mode the gradient flows through the batch
// statistics; in evaluation mode the layer is the affine map x*a + b.
func (l *BatchNorm2D) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	return l.backwardFused(dy, bnFuse{})
}

// backwardFused is Backward for the output of forwardFused with the same f: dy is
// the gradient at the shuffled, activated output.
func (l *BatchNorm2D) backwardFused(dy *tensor.Dense, f bnFuse) (*tensor.Dense, error) {
	if l.x == nil {
		return nil, fmt.Errorf("batchnorm: backward before forward")
	}
	if err := checkGrad(dy, l.n, l.in); err != nil {
		return nil, fmt.Errorf("batchnorm: %w", err)
	}
	dx := l.dx.get(l.n, l.in)
	dyd, dxd := dy.Float32s(), dx.Float32s()
	if len(dyd) < bnParallelMin {
		l.backwardChannels(0, l.c, dyd, dxd, f)
		return dx, nil
	}
	if l.n < runtimeWorkers() {
		if l.chanBackPass == nil {
			l.chanBackPass = func(_, lo, hi int) { l.backwardChannels(lo, hi, l.passIn, l.passOut, l.passFuse) }
		}
		l.passIn, l.passOut, l.passFuse = dyd, dxd, f
		parallelFor(l.c, l.chanBackPass)
		l.passIn, l.passOut = nil, nil
		return dx, nil
	}
	// As in forwardFused: the passes over the data split the samples, the sums run
	// per channel in sample order in a pass over the channels.
	if l.bwdPass == nil {
		l.redPass = func(_, lo, hi int) { l.reduceSamples(lo, hi, l.passIn, l.passFuse) }
		l.backCoefPass = func(_, lo, hi int) { l.backCoefficients(lo, hi, l.passIn, l.passSums, l.passFuse) }
		l.bwdPass = func(_, lo, hi int) { l.applyBackSamples(0, l.c, lo, hi, l.passIn, l.passOut, l.passFuse) }
	}
	l.passIn, l.passOut, l.passFuse = dyd, dxd, f
	reduced := l.preReduced
	if !reduced {
		l.red = grow(l.red, 2*l.n*l.c)
		parallelFor(l.n, l.redPass)
		reduced = true
	}
	l.passSums = reduced
	l.channelPass(l.backCoefPass)
	if !l.noApplyBack {
		parallelFor(l.n, l.bwdPass)
	}
	l.passIn, l.passOut = nil, nil
	return dx, nil
}

// reduceSamples writes the per-plane reductions of samples [lo, hi) to l.red, as
// the convolution after the batch norm would (see preReduced).
func (l *BatchNorm2D) reduceSamples(lo, hi int, dyd []float32, f bnFuse) {
	for i := lo; i < hi; i++ {
		l.reduceSample(i, 0, l.c, dyd, f, l.red[2*i*l.c:])
	}
}

// reduceSample writes the two per-plane reductions of channels [lo, hi) of sample i
// (see bnActBackReducePlanes) to out, channel j's at out[2*(j-lo)].
func (l *BatchNorm2D) reduceSample(i, lo, hi int, dyd []float32, f bnFuse, out []float32) {
	c, hw := l.c, l.in.H*l.in.W
	xd := l.x.Float32s()
	clo, chi, mask := f.bounds()
	g := f.shuffleGroups()
	base := i * c * hw
	channelRuns(lo, hi, c, g, func(from, to, dst int) {
		bnActBackReducePlanes(xd[base+from*hw:], dyd[base+dst*hw:], hw, to-from, hw, g*hw,
			l.ca[from:to], l.cb[from:to], l.mean[from:to], clo, chi, mask, out[2*(from-lo):])
	})
}

// backwardChannels computes the input gradient of channels [lo, hi) into dxd and adds
// their parameter gradients, walking memory in order like forwardChannels.
func (l *BatchNorm2D) backwardChannels(lo, hi int, dyd, dxd []float32, f bnFuse) {
	l.backCoefficients(lo, hi, dyd, l.preReduced, f)
	if !l.noApplyBack {
		l.applyBackSamples(lo, hi, 0, l.n, dyd, dxd, f)
	}
}

// backCoefficients adds the parameter gradients of channels [lo, hi) and computes
// their backward coefficients k, from the per-plane reductions in l.red when
// reduced, else from dyd.
func (l *BatchNorm2D) backCoefficients(lo, hi int, dyd []float32, reduced bool, f bnFuse) {
	n, c, hw := l.n, l.c, l.in.H*l.in.W
	count := float64(n * hw)
	gamma := l.weight.Value.Float32s()
	gw, gb := l.weight.Grad.Float32s()[lo:hi], l.bias.Grad.Float32s()[lo:hi]
	mean, invstd := l.mean[lo:hi], l.invstd[lo:hi]
	// sum(dy) and sum((x-mean)*dy), the two reductions of PyTorch's
	// batch_norm_backward_cpu_template, over the gradient at the batch norm's output.
	sdy, dot := l.acc1[lo:hi], l.acc2[lo:hi]
	clear(sdy)
	clear(dot)
	st := l.scratch[2*lo : 2*hi]
	for i := 0; i < n; i++ {
		r := st
		if reduced {
			r = l.red[2*(i*c+lo) : 2*(i*c+hi)]
		} else {
			l.reduceSample(i, lo, hi, dyd, f, st)
		}
		addPairs(r, sdy, dot)
	}
	// dx = (dy - (x-mean)*k - sum(dy)/count) * a with a = gamma*invstd and
	// k = dot*invstd^2/count in training; dx = dy*a in evaluation. Written as
	// dy*a + (x*b + e), with a, b, e in l.k.
	k := l.k[3*lo : 3*hi]
	for j := range sdy {
		gw[j] += float32(dot[j] * invstd[j])
		gb[j] += float32(sdy[j])
		aj := float64(gamma[lo+j]) * invstd[j]
		var b, e float64
		if l.trainStats {
			kk := dot[j] * invstd[j] * invstd[j] / count
			b = -kk * aj
			e = (float64(mean[j])*kk - sdy[j]/count) * aj
		}
		k[3*j], k[3*j+1], k[3*j+2] = float32(aj), float32(b), float32(e)
	}
}

// applyBackSamples writes the input gradient of channels [lo, hi) of samples
// [s0, s1).
func (l *BatchNorm2D) applyBackSamples(lo, hi, s0, s1 int, dyd, dxd []float32, f bnFuse) {
	c, hw := l.c, l.in.H*l.in.W
	xd := l.x.Float32s()
	clo, chi, mask := f.bounds()
	g := f.shuffleGroups()
	for i := s0; i < s1; i++ {
		base := i * c * hw
		channelRuns(lo, hi, c, g, func(from, to, dst int) {
			bnActBackApplyPlanes(dxd[base+from*hw:], dyd[base+dst*hw:], xd[base+from*hw:], hw, to-from, hw, hw, g*hw,
				l.ca[from:to], l.cb[from:to], l.k[3*from:3*to], clo, chi, mask)
		})
	}
}

// addPairs adds r[2j] to s[j] and r[2j+1] to d[j] in float64, 8 channels at a time
// in the AVX-512 kernel: the sums of a batch norm's per-plane backward reductions.
func addPairs(r []float32, s, d []float64) {
	j := 0
	if n := len(s) &^ 7; useBNAsm && n > 0 {
		_, _ = r[2*n-1], d[n-1]
		bnAddPairsAVX512(&r[0], n, &s[0], &d[0])
		j = n
	}
	for ; j < len(s); j++ {
		s[j] += float64(r[2*j])
		d[j] += float64(r[2*j+1])
	}
}

// combineStats adds to s[j] and q[j] channel j's sum and sum of squares over one
// plane of h values, from the plane's mean c, sum(x-c) and sum((x-c)^2) in
// st[3j:3j+3]: h*c + d and m + c*(2*d + h*c). The AVX-512 kernel does 8 channels at a
// time with the same float64 operations in the same order, so both give the same
// bits.
func combineStats(st []float32, h float64, s, q []float64) {
	j := 0
	if n := len(s) &^ 7; useBNAsm && n > 0 {
		_, _ = st[3*n-1], q[n-1]
		bnCombineAVX512(&st[0], n, h, &s[0], &q[0])
		j = n
	}
	for ; j < len(s); j++ {
		cj, d, m := float64(st[3*j]), float64(st[3*j+1]), float64(st[3*j+2])
		// The conversions keep each product rounded on its own, as the kernel
		// rounds it (Go may otherwise fuse a multiply and an add).
		s[j] += float64(h*cj) + d
		q[j] += m + float64(cj*(2*d+float64(h*cj)))
	}
}

// sumRow returns the sum of x in eight float32 lanes, which keeps the dependency
// chains short and the rounding error of rows of a few thousand values small.
func sumRow(x []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		s0 += v[0]
		s1 += v[1]
		s2 += v[2]
		s3 += v[3]
		s4 += v[4]
		s5 += v[5]
		s6 += v[6]
		s7 += v[7]
	}
	for ; i < len(x); i++ {
		s0 += x[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}
