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
	ca, cb     []float32 // per channel coefficients of a pass
	out, dx    buffer
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

// bnParallelMin is the number of values below which batch norm runs on one goroutine:
// under it, starting goroutines costs more than the work.
const bnParallelMin = 1 << 14

// Forward implements Layer.
func (l *BatchNorm2D) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, _, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	if l.training && n*in.H*in.W < 2 {
		return nil, fmt.Errorf("batchnorm: training needs more than 1 value per channel, got %d x %v", n, in)
	}
	l.x, l.n, l.in, l.trainStats = x, n, in, l.training
	y := l.out.get(n, in)
	xd, yd := x.Float32s(), y.Float32s()
	// Each channel is handled by one goroutine, so per-channel sums are deterministic;
	// the closure is built only on the parallel path, so small calls do not allocate.
	if len(xd) < bnParallelMin {
		l.forwardChannels(0, l.c, xd, yd)
	} else {
		parallelFor(l.c, func(_, lo, hi int) { l.forwardChannels(lo, hi, xd, yd) })
	}
	return y, nil
}

// forwardChannels normalizes channels [lo, hi) of xd into yd. Every pass walks the
// samples in order and, within a sample, the channels' contiguous planes, so memory is
// read sequentially even when the planes are small (4x4 at the end of a network).
func (l *BatchNorm2D) forwardChannels(lo, hi int, xd, yd []float32) {
	n, c, hw := l.n, l.c, l.in.H*l.in.W
	count := float64(n * hw)
	gamma, beta := l.weight.Value.Float32s(), l.bias.Value.Float32s()
	mean, invstd := l.mean[lo:hi], l.invstd[lo:hi]
	if l.trainStats {
		// Two passes, mean then squared deviations, as PyTorch's CPU kernel does;
		// planes sum in float32 lanes and the planes in float64.
		s, q := l.acc1[lo:hi], l.acc2[lo:hi]
		clear(s)
		clear(q)
		for i := 0; i < n; i++ {
			xs := xd[(i*c+lo)*hw : (i*c+hi)*hw]
			for j := range s {
				s[j] += float64(sumRow(xs[j*hw : (j+1)*hw]))
			}
		}
		for j := range mean {
			mean[j] = float32(s[j] / count)
		}
		for i := 0; i < n; i++ {
			xs := xd[(i*c+lo)*hw : (i*c+hi)*hw]
			for j := range q {
				q[j] += float64(sqDevRow(xs[j*hw:(j+1)*hw], mean[j]))
			}
		}
		mom := l.Momentum
		rm, rv := l.runMean[lo:hi], l.runVar[lo:hi]
		for j := range q {
			invstd[j] = 1 / math.Sqrt(q[j]/count+l.Eps)
			rm[j] = float32((1-mom)*float64(rm[j]) + mom*s[j]/count)
			rv[j] = float32((1-mom)*float64(rv[j]) + mom*q[j]/(count-1))
		}
	} else {
		for j := range mean {
			mean[j] = l.runMean[lo+j]
			invstd[j] = 1 / math.Sqrt(float64(l.runVar[lo+j])+l.Eps)
		}
	}
	// y = x*a + b with a = gamma*invstd, b = beta - mean*a, PyTorch's fused form.
	ca, cb := l.ca[lo:hi], l.cb[lo:hi]
	for j := range ca {
		ca[j] = float32(float64(gamma[lo+j]) * invstd[j])
		cb[j] = beta[lo+j] - mean[j]*ca[j]
	}
	for i := 0; i < n; i++ {
		o := (i*c + lo) * hw
		xs, ys := xd[o:o+(hi-lo)*hw], yd[o:o+(hi-lo)*hw]
		for j := range ca {
			affineRow(ys[j*hw:(j+1)*hw], xs[j*hw:(j+1)*hw], ca[j], cb[j])
		}
	}
}

// Backward implements Layer. In training mode the gradient flows through the batch
// statistics; in evaluation mode the layer is the affine map x*a + b.
func (l *BatchNorm2D) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if l.x == nil {
		return nil, fmt.Errorf("batchnorm: backward before forward")
	}
	if err := checkGrad(dy, l.n, l.in); err != nil {
		return nil, fmt.Errorf("batchnorm: %w", err)
	}
	dx := l.dx.get(l.n, l.in)
	dyd, dxd := dy.Float32s(), dx.Float32s()
	if len(dyd) < bnParallelMin {
		l.backwardChannels(0, l.c, dyd, dxd)
	} else {
		parallelFor(l.c, func(_, lo, hi int) { l.backwardChannels(lo, hi, dyd, dxd) })
	}
	return dx, nil
}

// backwardChannels computes the input gradient of channels [lo, hi) into dxd and adds
// their parameter gradients, walking memory in order like forwardChannels.
func (l *BatchNorm2D) backwardChannels(lo, hi int, dyd, dxd []float32) {
	n, c, hw := l.n, l.c, l.in.H*l.in.W
	count := float64(n * hw)
	xd := l.x.Float32s()
	gamma := l.weight.Value.Float32s()
	gw, gb := l.weight.Grad.Float32s()[lo:hi], l.bias.Grad.Float32s()[lo:hi]
	mean, invstd := l.mean[lo:hi], l.invstd[lo:hi]
	// sum(dy) and sum((x-mean)*dy), the two reductions of PyTorch's
	// batch_norm_backward_cpu_template.
	sdy, dot := l.acc1[lo:hi], l.acc2[lo:hi]
	clear(sdy)
	clear(dot)
	for i := 0; i < n; i++ {
		o := (i*c + lo) * hw
		xs, gs := xd[o:o+(hi-lo)*hw], dyd[o:o+(hi-lo)*hw]
		for j := range sdy {
			s, d := dotDevRow(xs[j*hw:(j+1)*hw], gs[j*hw:(j+1)*hw], mean[j])
			sdy[j] += float64(s)
			dot[j] += float64(d)
		}
	}
	// dx = (dy - (x-mean)*k - sum(dy)/count) * a with a = gamma*invstd and
	// k = dot*invstd^2/count in training; dx = dy*a in evaluation. Written as
	// dy*a + x*b + e, with b and e in ca, cb and a in acc1 once sdy is used.
	ca, cb := l.ca[lo:hi], l.cb[lo:hi]
	a := l.acc1[lo:hi]
	for j := range ca {
		gw[j] += float32(dot[j] * invstd[j])
		gb[j] += float32(sdy[j])
		aj := float64(gamma[lo+j]) * invstd[j]
		if l.trainStats {
			k := dot[j] * invstd[j] * invstd[j] / count
			ca[j] = float32(-k * aj)
			cb[j] = float32((float64(mean[j])*k - sdy[j]/count) * aj)
		}
		a[j] = aj // sdy[j] is no longer needed
	}
	for i := 0; i < n; i++ {
		o := (i*c + lo) * hw
		xs, gs, ds := xd[o:o+(hi-lo)*hw], dyd[o:o+(hi-lo)*hw], dxd[o:o+(hi-lo)*hw]
		for j := range ca {
			r := j * hw
			if l.trainStats {
				bnBackRow(ds[r:r+hw], gs[r:r+hw], xs[r:r+hw], float32(a[j]), ca[j], cb[j])
			} else {
				scaleRow(ds[r:r+hw], gs[r:r+hw], float32(a[j]))
			}
		}
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

// sqDevRow returns the sum of (x-m)^2 in eight float32 lanes.
func sqDevRow(x []float32, m float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	i := 0
	for ; i+8 <= len(x); i += 8 {
		v := x[i : i+8 : i+8]
		d0, d1, d2, d3 := v[0]-m, v[1]-m, v[2]-m, v[3]-m
		d4, d5, d6, d7 := v[4]-m, v[5]-m, v[6]-m, v[7]-m
		s0 += d0 * d0
		s1 += d1 * d1
		s2 += d2 * d2
		s3 += d3 * d3
		s4 += d4 * d4
		s5 += d5 * d5
		s6 += d6 * d6
		s7 += d7 * d7
	}
	for ; i < len(x); i++ {
		d := x[i] - m
		s0 += d * d
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// dotDevRow returns sum(dy) and sum((x-m)*dy) in four float32 lanes each.
func dotDevRow(x, dy []float32, m float32) (sdy, dot float32) {
	dy = dy[:len(x)]
	var s0, s1, s2, s3, d0, d1, d2, d3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		v, g := x[i:i+4:i+4], dy[i:i+4:i+4]
		s0 += g[0]
		s1 += g[1]
		s2 += g[2]
		s3 += g[3]
		d0 += (v[0] - m) * g[0]
		d1 += (v[1] - m) * g[1]
		d2 += (v[2] - m) * g[2]
		d3 += (v[3] - m) * g[3]
	}
	for ; i < len(x); i++ {
		s0 += dy[i]
		d0 += (x[i] - m) * dy[i]
	}
	return (s0 + s1) + (s2 + s3), (d0 + d1) + (d2 + d3)
}

// affineRow sets y = x*a + b.
func affineRow(y, x []float32, a, b float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] = v*a + b
	}
}

// scaleRow sets y = x*a.
func scaleRow(y, x []float32, a float32) {
	x = x[:len(y)]
	for i, v := range x {
		y[i] = v * a
	}
}

// bnBackRow sets dx = dy*a + x*b + e.
func bnBackRow(dx, dy, x []float32, a, b, e float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i, g := range dy {
		dx[i] = g*a + x[i]*b + e
	}
}
