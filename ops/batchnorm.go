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

// forwardChannels normalizes channels [lo, hi) of xd into yd.
func (l *BatchNorm2D) forwardChannels(lo, hi int, xd, yd []float32) {
	n, c, hw := l.n, l.c, l.in.H*l.in.W
	count := n * hw
	gamma, beta := l.weight.Value.Float32s(), l.bias.Value.Float32s()
	for ch := lo; ch < hi; ch++ {
		var mean float32
		var invstd float64
		if l.trainStats {
			// Two passes, mean then squared deviations, as PyTorch's CPU kernel does;
			// rows sum in float32 lanes and the rows in float64.
			var s float64
			for i := 0; i < n; i++ {
				s += float64(sumRow(xd[(i*c+ch)*hw : (i*c+ch+1)*hw]))
			}
			m := s / float64(count)
			mean = float32(m)
			var q float64
			for i := 0; i < n; i++ {
				q += float64(sqDevRow(xd[(i*c+ch)*hw:(i*c+ch+1)*hw], mean))
			}
			invstd = 1 / math.Sqrt(q/float64(count)+l.Eps)
			mom := l.Momentum
			l.runMean[ch] = float32((1-mom)*float64(l.runMean[ch]) + mom*m)
			l.runVar[ch] = float32((1-mom)*float64(l.runVar[ch]) + mom*q/float64(count-1))
		} else {
			mean = l.runMean[ch]
			invstd = 1 / math.Sqrt(float64(l.runVar[ch])+l.Eps)
		}
		l.mean[ch], l.invstd[ch] = mean, invstd
		// y = x*a + b with a = gamma*invstd, b = beta - mean*a, PyTorch's fused form.
		a := float32(float64(gamma[ch]) * invstd)
		b := beta[ch] - mean*a
		for i := 0; i < n; i++ {
			o := (i*c + ch) * hw
			affineRow(yd[o:o+hw], xd[o:o+hw], a, b)
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
// their parameter gradients.
func (l *BatchNorm2D) backwardChannels(lo, hi int, dyd, dxd []float32) {
	n, c, hw := l.n, l.c, l.in.H*l.in.W
	count := float64(n * hw)
	xd := l.x.Float32s()
	gamma := l.weight.Value.Float32s()
	gw, gb := l.weight.Grad.Float32s(), l.bias.Grad.Float32s()
	for ch := lo; ch < hi; ch++ {
		mean, invstd := l.mean[ch], l.invstd[ch]
		// sum(dy) and sum((x-mean)*dy), the two reductions of PyTorch's
		// batch_norm_backward_cpu_template.
		var sdy, dot float64
		for i := 0; i < n; i++ {
			o := (i*c + ch) * hw
			s, d := dotDevRow(xd[o:o+hw], dyd[o:o+hw], mean)
			sdy += float64(s)
			dot += float64(d)
		}
		gw[ch] += float32(dot * invstd)
		gb[ch] += float32(sdy)
		a := float64(gamma[ch]) * invstd
		if !l.trainStats {
			af := float32(a)
			for i := 0; i < n; i++ {
				o := (i*c + ch) * hw
				scaleRow(dxd[o:o+hw], dyd[o:o+hw], af)
			}
			continue
		}
		// dx = (dy - (x-mean)*k - sum(dy)/count) * a with k = dot*invstd^2/count,
		// written as dy*a + x*b + e.
		k := dot * invstd * invstd / count
		af, bf := float32(a), float32(-k*a)
		ef := float32((float64(mean)*k - sdy/count) * a)
		for i := 0; i < n; i++ {
			o := (i*c + ch) * hw
			bnBackRow(dxd[o:o+hw], dyd[o:o+hw], xd[o:o+hw], af, bf, ef)
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
