package ops

import (
	"fmt"
	"math"

	"gorgonia.org/tensor"
)

// PoolConfig describes a square 2-d pooling window, as PyTorch's nn.MaxPool2d and
// nn.AvgPool2d take it.
type PoolConfig struct {
	// K is the window's height and width.
	K int
	// Stride is the step between windows; 0 means K, PyTorch's default.
	Stride int
	// Pad is the implicit padding on each side: -inf for max pooling, zeros for
	// average pooling. As in PyTorch it must be at most K/2.
	Pad int
	// CeilMode rounds the output size up instead of down, adding a last window that
	// overhangs the padded input, as long as it starts inside the input or its left
	// padding (PyTorch's ceil_mode=True; SqueezeNet and GoogLeNet use it).
	CeilMode bool
	// ExcludePad makes average pooling divide by the number of input values in the
	// window, not counting padding (PyTorch's count_include_pad=False). The default,
	// false, counts the padding as PyTorch does by default; a ceil-mode overhang past
	// the padding is never counted. Max pooling does not accept it.
	ExcludePad bool
}

// withDefaults fills in the stride and checks the configuration.
func (c PoolConfig) withDefaults(what string) (PoolConfig, error) {
	if c.Stride == 0 {
		c.Stride = c.K
	}
	switch {
	case c.K <= 0:
		return c, fmt.Errorf("%s: window %d must be positive", what, c.K)
	case c.Stride < 0:
		return c, fmt.Errorf("%s: stride %d must not be negative", what, c.Stride)
	case c.Pad < 0 || c.Pad > c.K/2:
		// PyTorch: "pad should be at most half of effective kernel size".
		return c, fmt.Errorf("%s: padding %d must be between 0 and half the window %d", what, c.Pad, c.K)
	}
	return c, nil
}

// poolOutSize is PyTorch's pooling_output_shape (aten/src/ATen/native/Pool.h) for
// one dimension without dilation: floor or ceil of (in+2*pad-k)/stride, plus one, and
// in ceil mode the last window is dropped if it would start past the input and its
// left padding.
func poolOutSize(in, k, stride, pad int, ceil bool) int {
	num := in + 2*pad - k
	if ceil {
		num += stride - 1
	}
	o := floorDiv(num, stride) + 1
	if ceil && (o-1)*stride >= in+pad {
		o--
	}
	return o
}

// floorDiv divides rounding towards minus infinity, as PyTorch's div_rtn.
func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func (c PoolConfig) outShape(what string, in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("%s: input shape %v is empty", what, in)
	}
	h := poolOutSize(in.H, c.K, c.Stride, c.Pad, c.CeilMode)
	w := poolOutSize(in.W, c.K, c.Stride, c.Pad, c.CeilMode)
	if h <= 0 || w <= 0 {
		return Shape{}, fmt.Errorf("%s: input %v too small for a %dx%d window with padding %d", what, in, c.K, c.K, c.Pad)
	}
	return Shape{in.C, h, w}, nil
}

// describe formats the window as "3x3/2 pad1 ceil".
func (c PoolConfig) describe() string {
	s := fmt.Sprintf("%dx%d/%d", c.K, c.K, c.Stride)
	if c.Pad > 0 {
		s += fmt.Sprintf(" pad%d", c.Pad)
	}
	if c.CeilMode {
		s += " ceil"
	}
	if c.ExcludePad {
		s += " excl-pad"
	}
	return s
}

// window returns the input rows (or columns) [lo, hi) that output position o of a
// pooling covers, clipped to the input, and the extent hi-lo before clipping to the
// input but after clipping to the padding, which PyTorch's average pooling divides by
// when it counts padding.
func (c PoolConfig) window(o, in int) (lo, hi, padded int) {
	lo = o*c.Stride - c.Pad
	hi = min(lo+c.K, in+c.Pad)
	padded = hi - lo
	return max(lo, 0), min(hi, in), padded
}

// planeJob holds the arguments of a per-plane kernel of a cheap op (pooling,
// upsampling): its source and destination values and shapes. Layers keep it in a
// field so that running the kernel with runPlanes does not allocate a closure.
//
// srcIn and dstIn, when their data is set, place the source's or the destination's
// planes among the channels of a larger tensor (a SplitApply part's channels, see
// Sequential.forwardEdges); srcPlane and dstPlane read them. Without, plane p is
// the p-th run of the slice.
type planeJob struct {
	src, dst     []float32
	in, out      Shape
	srcIn, dstIn planes
}

// srcPlane returns source plane p (channel p%in.C of sample p/in.C), size values.
func (j *planeJob) srcPlane(p, size int) []float32 { return j.plane(j.src, j.srcIn, p, size) }

// dstPlane returns destination plane p, size values.
func (j *planeJob) dstPlane(p, size int) []float32 { return j.plane(j.dst, j.dstIn, p, size) }

func (j *planeJob) plane(d []float32, in planes, p, size int) []float32 {
	if in.d == nil {
		return d[p*size : (p+1)*size]
	}
	return in.span(p/j.in.C, p%j.in.C, 1, size)
}

// planeState is the state shared by the layers that work one plane (one channel of one
// sample) at a time: the batch size and input shape of the last Forward, the output
// and input-gradient buffers, and the job their plane kernels read.
type planeState struct {
	n   int
	in  Shape
	out buffer
	dx  buffer
	job planeJob
}

// startForward records a Forward of n samples of shape in and sets the job from x
// to the layer's output, which it returns; with x nil the caller sets the job's
// source.
func (p *planeState) startForward(x *tensor.Dense, n int, in, out Shape) *tensor.Dense {
	p.n, p.in = n, in
	y := p.out.get(n, out)
	p.job = planeJob{dst: y.Float32s(), in: in, out: out}
	if x != nil {
		p.job.src = x.Float32s()
	}
	return y
}

// startBackward checks dy against the output of l's last Forward and sets the job
// from dy to the input-gradient buffer, which it returns; what names the layer in
// errors.
func (p *planeState) startBackward(l Layer, what string, dy *tensor.Dense) (*tensor.Dense, error) {
	out, err := l.OutShape(p.in)
	if err != nil {
		return nil, fmt.Errorf("%s: backward before forward: %w", what, err)
	}
	if err := checkGrad(dy, p.n, out); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	dx := p.dx.get(p.n, p.in)
	p.job = planeJob{src: dy.Float32s(), dst: dx.Float32s(), in: p.in, out: out}
	return dx, nil
}

// parallelMinWork is the number of inner-loop steps below which runPlanes runs a
// kernel on the calling goroutine: starting goroutines costs a few microseconds, the
// time of some ten thousand additions.
const parallelMinWork = 1 << 14

// runPlanes runs kernel(l, lo, hi) over the planes [0, planes), with parallelFor when
// work, the kernel's number of inner-loop steps, pays for it, and inline otherwise.
// kernel is a method expression such as (*MaxPool2D).forwardPlanes, so the inline
// path allocates nothing.
func runPlanes[L any](l *L, planes, work int, kernel func(l *L, lo, hi int)) {
	if work < parallelMinWork {
		kernel(l, 0, planes)
		return
	}
	parallelFor(planes, func(_, lo, hi int) { kernel(l, lo, hi) })
}

// MaxPool2D takes the maximum over each window of each channel (PyTorch's
// nn.MaxPool2d). Backward routes each output gradient to the position of its
// window's maximum, the first one in row-major order on ties, as PyTorch does.
type MaxPool2D struct {
	cfg PoolConfig

	planeState
	arg []int32 // per output value, the index of its maximum within its input plane
}

var _ Layer = (*MaxPool2D)(nil)

// NewMaxPool2D returns a max pooling layer.
func NewMaxPool2D(c PoolConfig) (*MaxPool2D, error) {
	c, err := c.withDefaults("max pool")
	if err != nil {
		return nil, err
	}
	if c.ExcludePad {
		return nil, fmt.Errorf("max pool: ExcludePad applies to average pooling only")
	}
	return &MaxPool2D{cfg: c}, nil
}

// Config returns the pooling configuration with defaults filled in.
func (l *MaxPool2D) Config() PoolConfig { return l.cfg }

// Describe names the layer and its window, such as "MaxPool2D 3x3/2 ceil".
func (l *MaxPool2D) Describe() string { return "MaxPool2D " + l.cfg.describe() }

// OutShape implements Layer.
func (l *MaxPool2D) OutShape(in Shape) (Shape, error) { return l.cfg.outShape("max pool", in) }

// Cost implements Layer: pooling is free under the package's cost convention.
func (l *MaxPool2D) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *MaxPool2D) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	y := l.startForward(x, n, in, out)
	if m := n * out.Size(); cap(l.arg) < m {
		l.arg = make([]int32, m)
	} else {
		l.arg = l.arg[:m]
	}
	runPlanes(l, n*in.C, n*out.Size()*l.cfg.K*l.cfg.K, (*MaxPool2D).forwardPlanes)
	l.job = planeJob{}
	return y, nil
}

func (l *MaxPool2D) forwardPlanes(lo, hi int) {
	c, in, out := l.cfg, l.job.in, l.job.out
	ip, op := in.H*in.W, out.H*out.W
	negInf := float32(math.Inf(-1))
	for p := lo; p < hi; p++ {
		xp, yp, ap := l.job.src[p*ip:(p+1)*ip], l.job.dst[p*op:(p+1)*op], l.arg[p*op:(p+1)*op]
		for oh := 0; oh < out.H; oh++ {
			h0, h1, _ := c.window(oh, in.H)
			for ow := 0; ow < out.W; ow++ {
				w0, w1, _ := c.window(ow, in.W)
				// Strict > keeps the first maximum; a NaN wins, as in PyTorch's
				// max_pool2d kernel (aten/src/ATen/native/cpu/MaxPoolKernel.cpp).
				m, at := negInf, h0*in.W+w0
				for ih := h0; ih < h1; ih++ {
					row := xp[ih*in.W:]
					for iw := w0; iw < w1; iw++ {
						if v := row[iw]; v > m || v != v {
							m, at = v, ih*in.W+iw
						}
					}
				}
				yp[oh*out.W+ow], ap[oh*out.W+ow] = m, int32(at)
			}
		}
	}
}

// Backward implements Layer.
func (l *MaxPool2D) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := l.startBackward(l, "max pool", dy)
	if err != nil {
		return nil, err
	}
	n, in := l.n, l.in
	runPlanes(l, n*in.C, n*in.Size(), (*MaxPool2D).backwardPlanes)
	l.job = planeJob{}
	return dx, nil
}

func (l *MaxPool2D) backwardPlanes(lo, hi int) { argmaxBackward(&l.job, l.arg, lo, hi) }

// argmaxBackward writes the input gradient of planes [lo, hi) of a max pooling job:
// each output value's gradient goes to the input value arg recorded as its window's
// maximum (an index within its input plane), and every other input gets zero.
func argmaxBackward(job *planeJob, arg []int32, lo, hi int) {
	ip, op := job.in.H*job.in.W, job.out.H*job.out.W
	clear(job.dst[lo*ip : hi*ip])
	for p := lo; p < hi; p++ {
		dxp := job.dst[p*ip : (p+1)*ip]
		for i, g := range job.src[p*op : (p+1)*op] {
			dxp[arg[p*op+i]] += g
		}
	}
}

// AvgPool2D averages each window of each channel (PyTorch's nn.AvgPool2d). With
// padding it divides by the window size clipped to the padded input, or with
// ExcludePad by the number of input values in the window.
type AvgPool2D struct {
	cfg PoolConfig

	planeState
	win poolWindows

	// xin, set by Sequential for one Forward or Backward when the pooling reads a
	// SplitApply part of a batch norm's input (Sequential.convsOf), is that batch
	// norm's normalization, as a convolution's xin is; xsc is the per-worker scratch
	// of the normalized sample, and fedFwd and fedBwd the passes over the samples.
	// xv is the input of the last forwardFrom, whose batch norm input backward
	// reads for the reductions.
	xin            *bnInput
	xsc            [][]float32
	fedFwd, fedBwd func(chunk, lo, hi int)
	xv             planes
}

var _ Layer = (*AvgPool2D)(nil)

// NewAvgPool2D returns an average pooling layer.
func NewAvgPool2D(c PoolConfig) (*AvgPool2D, error) {
	c, err := c.withDefaults("avg pool")
	if err != nil {
		return nil, err
	}
	return &AvgPool2D{cfg: c}, nil
}

// Config returns the pooling configuration with defaults filled in.
func (l *AvgPool2D) Config() PoolConfig { return l.cfg }

// Describe names the layer and its window, such as "AvgPool2D 3x3/1 pad1".
func (l *AvgPool2D) Describe() string { return "AvgPool2D " + l.cfg.describe() }

// OutShape implements Layer.
func (l *AvgPool2D) OutShape(in Shape) (Shape, error) { return l.cfg.outShape("avg pool", in) }

// Cost implements Layer: pooling is free under the package's cost convention.
func (l *AvgPool2D) Cost(Shape) Cost { return Cost{} }

// divisor is the number PyTorch's avg_pool2d divides a window's sum by
// (aten/src/ATen/native/cpu/AvgPoolKernel.cpp): the window clipped to the padded
// input, or with ExcludePad to the input itself.
func (l *AvgPool2D) divisor(h0, h1, hp, w0, w1, wp int) float32 {
	if l.cfg.ExcludePad {
		return float32((h1 - h0) * (w1 - w0))
	}
	return float32(hp * wp)
}

// Forward implements Layer.
func (l *AvgPool2D) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, _, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	return l.forwardFrom(whole(x.Float32s(), in.C), n, in)
}

func (l *AvgPool2D) forwardPlanes(lo, hi int) {
	ip, op := l.job.in.H*l.job.in.W, l.job.out.H*l.job.out.W
	for p := lo; p < hi; p++ {
		l.poolPlane(l.job.srcPlane(p, ip), l.job.dstPlane(p, op))
	}
}

// poolPlane writes the output plane yp of the input plane xp, of the shapes of the
// current job.
func (l *AvgPool2D) poolPlane(xp, yp []float32) {
	in, out := l.job.in, l.job.out
	if l.halves(in, out) {
		// 2x2 windows tiling the plane: the same sum, and a product by 1/4, which
		// rounds as the division by 4 does (both are exact before rounding).
		if useResampleAsm {
			sum2x2AVX512(&xp[0], &yp[0], out.H, out.W, true)
			return
		}
		for oh := 0; oh < out.H; oh++ {
			r0, r1 := xp[2*oh*in.W:(2*oh+1)*in.W], xp[(2*oh+1)*in.W:(2*oh+2)*in.W]
			yr := yp[oh*out.W : (oh+1)*out.W]
			for ow := range yr {
				a, b := r0[2*ow:2*ow+2], r1[2*ow:2*ow+2]
				var sum float32
				sum = sum + a[0] + a[1] + b[0] + b[1]
				yr[ow] = sum * 0.25
			}
		}
		return
	}
	rows, cols, div := l.win.rows, l.win.cols, l.win.div
	for oh, r := range rows {
		yr, dr := yp[oh*out.W:(oh+1)*out.W], div[oh*out.W:(oh+1)*out.W]
		for ow, c := range cols {
			// The window's values in row-major order, from 0, as the general
			// loop adds them; rows of 2 and 3 values unrolled.
			var sum float32
			for ih := r.lo; ih < r.hi; ih++ {
				row := xp[ih*in.W+c.lo : ih*in.W+c.hi]
				switch len(row) {
				case 3:
					sum = sum + row[0] + row[1] + row[2]
				case 2:
					sum = sum + row[0] + row[1]
				default:
					for _, v := range row {
						sum += v
					}
				}
			}
			yr[ow] = sum / dr[ow]
		}
	}
}

// forwardFrom is Forward from channels of a larger tensor: x holds n samples of
// shape in among its channels. The output is the layer's own, as Forward's. With
// l.xin set, x holds a batch norm's input and the pooling reads its normalization
// (see Sequential.convsOf), one sample at a time into a per-worker scratch.
func (l *AvgPool2D) forwardFrom(x planes, n int, in Shape) (*tensor.Dense, error) {
	out, err := l.OutShape(in)
	if err != nil {
		return nil, err
	}
	y := l.startForward(nil, n, in, out)
	l.job.srcIn, l.xv = x, x
	l.windows(in, out)
	if l.xin == nil {
		runPlanes(l, n*in.C, n*out.Size()*l.cfg.K*l.cfg.K, (*AvgPool2D).forwardPlanes)
		l.job = planeJob{}
		return y, nil
	}
	l.xsc = perWorker(l.xsc, runtimeWorkers(), in.Size())
	if l.fedFwd == nil {
		l.fedFwd = func(wk, lo, hi int) {
			in, hw := l.job.in, l.job.in.H*l.job.in.W
			op := l.job.out.H * l.job.out.W
			for s := lo; s < hi; s++ {
				sc := l.xsc[wk]
				l.xin.apply(sc, hw, l.job.srcIn.d, s, l.job.srcIn.c0, in.C, hw)
				for ch := range in.C {
					l.poolPlane(sc[ch*hw:(ch+1)*hw], l.job.dst[(s*in.C+ch)*op:(s*in.C+ch+1)*op])
				}
			}
		}
	}
	parallelFor(n, l.fedFwd)
	l.job = planeJob{}
	return y, nil
}

// backwardInto is Backward into channels of a larger tensor: it writes the input
// gradient of the last forwardFrom into dx's channels. With l.xin set, and its red,
// it also writes the batch norm's reductions of that gradient, one sample at a time
// after its planes, as a convolution that applies a batch norm does (gradStats).
func (l *AvgPool2D) backwardInto(dy *tensor.Dense, dx planes) error {
	out, err := l.OutShape(l.in)
	if err != nil {
		return fmt.Errorf("avg pool: backward before forward: %w", err)
	}
	if err := checkGrad(dy, l.n, out); err != nil {
		return fmt.Errorf("avg pool: %w", err)
	}
	l.backwardRun(dy, dx, out)
	return nil
}

// backwardRun is backwardInto once dy is checked against the output shape out.
func (l *AvgPool2D) backwardRun(dy *tensor.Dense, dx planes, out Shape) {
	l.job = planeJob{src: dy.Float32s(), in: l.in, out: out, dstIn: dx}
	if l.xin == nil || l.xin.red == nil {
		runPlanes(l, l.n*l.in.C, l.n*out.Size()*l.cfg.K*l.cfg.K, (*AvgPool2D).backwardPlanes)
		l.job = planeJob{}
		return
	}
	l.job.srcIn = l.xv
	if l.fedBwd == nil {
		l.fedBwd = func(_, lo, hi int) {
			c, hw := l.job.in.C, l.job.in.H*l.job.in.W
			op := l.job.out.H * l.job.out.W
			d := l.job.dstIn
			for s := lo; s < hi; s++ {
				for ch := range c {
					l.unpoolPlane(d.span(s, ch, 1, hw), l.job.src[(s*c+ch)*op:(s*c+ch+1)*op])
				}
				l.xin.reduce(d.d, s*d.c*hw, l.job.srcIn.d, s, s, d.c0, c, hw)
			}
		}
	}
	parallelFor(l.n, l.fedBwd)
	l.job = planeJob{}
}

// Backward implements Layer.
func (l *AvgPool2D) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := l.startBackward(l, "avg pool", dy)
	if err != nil {
		return nil, err
	}
	l.backwardRun(dy, whole(dx.Float32s(), l.in.C), l.job.out)
	return dx, nil
}

func (l *AvgPool2D) backwardPlanes(lo, hi int) {
	ip, op := l.job.in.H*l.job.in.W, l.job.out.H*l.job.out.W
	for p := lo; p < hi; p++ {
		l.unpoolPlane(l.job.dstPlane(p, ip), l.job.srcPlane(p, op))
	}
}

// unpoolPlane writes the input-gradient plane dxp of the output-gradient plane dyp,
// of the shapes of the current job.
func (l *AvgPool2D) unpoolPlane(dxp, dyp []float32) {
	in, out := l.job.in, l.job.out
	if l.halves(in, out) {
		if useResampleAsm {
			dup2x2AVX512(&dyp[0], &dxp[0], out.H, out.W, true)
			return
		}
		clear(dxp)
		for oh := 0; oh < out.H; oh++ {
			r0, r1 := dxp[2*oh*in.W:(2*oh+1)*in.W], dxp[(2*oh+1)*in.W:(2*oh+2)*in.W]
			for ow, v := range dyp[oh*out.W : (oh+1)*out.W] {
				g := v * 0.25
				a, b := r0[2*ow:2*ow+2], r1[2*ow:2*ow+2]
				a[0] += g
				a[1] += g
				b[0] += g
				b[1] += g
			}
		}
		return
	}
	rows, cols, div := l.win.rows, l.win.cols, l.win.div
	clear(dxp)
	for oh, r := range rows {
		gr, dr := dyp[oh*out.W:(oh+1)*out.W], div[oh*out.W:(oh+1)*out.W]
		for ow, c := range cols {
			g := gr[ow] / dr[ow]
			for ih := r.lo; ih < r.hi; ih++ {
				row := dxp[ih*in.W+c.lo : ih*in.W+c.hi]
				for i := range row {
					row[i] += g
				}
			}
		}
	}
}

// halves reports whether the pooling's windows are 2x2 squares that tile the input
// of shape in exactly, each divided by 4 whether or not it counts padding.
func (l *AvgPool2D) halves(in, out Shape) bool {
	c := l.cfg
	return avgPoolHalves && c.K == 2 && c.Stride == 2 && c.Pad == 0 && in.H == 2*out.H && in.W == 2*out.W
}

// avgPoolHalves lets AvgPool2D take 2x2 tiling windows on their own loops; tests
// switch it off to compare them with the general ones.
var avgPoolHalves = true

// poolWindows holds an average pooling's windows for one input shape: the input
// rows and columns each output row and column covers, clipped to the input, and the
// divisor of each output value.
type poolWindows struct {
	in         Shape
	rows, cols []span
	div        []float32
}

// span is the range [lo, hi) of input rows or columns.
type span struct{ lo, hi int }

// windows sets l.win to the layer's windows for input shape in (output shape out),
// computing them only when the shape changes.
func (l *AvgPool2D) windows(in, out Shape) {
	w := &l.win
	if w.div != nil && w.in == in {
		return
	}
	c := l.cfg
	w.in = in
	w.rows, w.cols = make([]span, out.H), make([]span, out.W)
	colPad := make([]int, out.W)
	for ow := range w.cols {
		w0, w1, wp := c.window(ow, in.W)
		w.cols[ow], colPad[ow] = span{w0, w1}, wp
	}
	w.div = make([]float32, out.H*out.W)
	for oh := range w.rows {
		h0, h1, hp := c.window(oh, in.H)
		w.rows[oh] = span{h0, h1}
		for ow, cs := range w.cols {
			w.div[oh*out.W+ow] = l.divisor(h0, h1, hp, cs.lo, cs.hi, colPad[ow])
		}
	}
}

// GlobalAvgPool averages each channel over its whole plane, from (N, C, H, W) to
// (N, C, 1, 1) (PyTorch's nn.AdaptiveAvgPool2d(1)), the pooling before a
// classifier.
type GlobalAvgPool struct {
	planeState
}

var _ Layer = (*GlobalAvgPool)(nil)

// NewGlobalAvgPool returns a global average pooling layer.
func NewGlobalAvgPool() *GlobalAvgPool { return &GlobalAvgPool{} }

// Describe implements Describer.
func (l *GlobalAvgPool) Describe() string { return "GlobalAvgPool" }

// OutShape implements Layer.
func (l *GlobalAvgPool) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("global avg pool: input shape %v is empty", in)
	}
	return Shape{in.C, 1, 1}, nil
}

// Cost implements Layer: pooling is free under the package's cost convention.
func (l *GlobalAvgPool) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *GlobalAvgPool) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	y := l.startForward(x, n, in, out)
	runPlanes(l, n*in.C, n*in.Size(), (*GlobalAvgPool).forwardPlanes)
	l.job = planeJob{}
	return y, nil
}

func (l *GlobalAvgPool) forwardPlanes(lo, hi int) {
	ip := l.job.in.H * l.job.in.W
	globalPoolPlanes(l.job.src[lo*ip:hi*ip], l.job.dst[lo:hi], ip)
}

// globalPoolPlanes sets y[p] to the mean of the p-th plane of hw values of x, each
// plane summed in order from its first value to its last. On planes of 16 values (4x4,
// before the reference network's classifier) the AVX-512 kernel transposes 16 planes
// and sums them one per lane, in the same order, so both give the same bits.
func globalPoolPlanes(x, y []float32, hw int) {
	x = x[:len(y)*hw]
	area := float32(hw)
	p := 0
	if g := len(y) / 16; useBNAsm && hw == 16 && g > 0 {
		globalPool16AVX512(&x[0], g, &y[0], area)
		p = 16 * g
	}
	// Four planes at a time: each plane is still summed in order, so the result is
	// the same, but the four independent chains of additions overlap where one
	// chain waits on each addition's latency (the 4x4 planes before a classifier
	// are many and short).
	for ; p+4 <= len(y); p += 4 {
		a := x[p*hw : (p+1)*hw]
		b := x[(p+1)*hw : (p+2)*hw]
		c := x[(p+2)*hw : (p+3)*hw]
		d := x[(p+3)*hw : (p+4)*hw]
		var sa, sb, sc, sd float32
		for i := range a {
			sa += a[i]
			sb += b[i]
			sc += c[i]
			sd += d[i]
		}
		y[p], y[p+1], y[p+2], y[p+3] = sa/area, sb/area, sc/area, sd/area
	}
	for ; p < len(y); p++ {
		var sum float32
		for _, v := range x[p*hw : (p+1)*hw] {
			sum += v
		}
		y[p] = sum / area
	}
}

// Backward implements Layer.
func (l *GlobalAvgPool) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := l.startBackward(l, "global avg pool", dy)
	if err != nil {
		return nil, err
	}
	n, in := l.n, l.in
	runPlanes(l, n*in.C, n*in.Size(), (*GlobalAvgPool).backwardPlanes)
	l.job = planeJob{}
	return dx, nil
}

func (l *GlobalAvgPool) backwardPlanes(lo, hi int) {
	ip := l.job.in.H * l.job.in.W
	globalPoolGradPlanes(l.job.dst[lo*ip:hi*ip], l.job.src[lo:hi], ip)
}

// globalPoolGradPlanes sets each value of the p-th plane of hw values of dx to
// dy[p]/hw.
func globalPoolGradPlanes(dx, dy []float32, hw int) {
	dx = dx[:len(dy)*hw]
	area := float32(hw)
	if useBNAsm && len(dy) > 0 {
		globalPoolBwdAVX512(&dx[0], hw, len(dy), &dy[0], area)
		return
	}
	for p, g := range dy {
		g /= area
		dxp := dx[p*hw : (p+1)*hw]
		for i := range dxp {
			dxp[i] = g
		}
	}
}
