package ops

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"

	"nas/ops/internal/gemm"
)

// ConvConfig describes a 2-d convolution. Zero strides, dilations and groups mean 1.
type ConvConfig struct {
	In, Out int // input and output channels
	KH, KW  int // kernel height and width; k x 1 and 1 x k give flattened convolutions
	// StrideH and StrideW are the strides; 0 means 1.
	StrideH, StrideW int
	// PadH and PadW are the zero paddings added on each side.
	PadH, PadW int
	// DilH and DilW are the dilations; 0 means 1.
	DilH, DilW int
	// Groups splits the channels into independent groups; 0 means 1, In means depthwise.
	Groups int
	// Bias adds a learned bias per output channel.
	Bias bool
}

// Conv2D is a grouped, strided, padded and dilated 2-d convolution (PyTorch's
// nn.Conv2d). Its weight has shape (Out, In/Groups, KH, KW).
//
// Forward and Backward pick a kernel by configuration and input shape (pathFor):
// depthwise convolutions (Groups == In) run the masked flat kernels of package
// dwconv or direct loops over rows, 1x1 convolutions multiply the NCHW planes without
// im2col, and everything else unfolds the input with im2col for Sgemm. All of them
// split the batch (and, at batch 1, the groups or channels) over GOMAXPROCS workers
// and reduce the parameter gradients in worker order.
type Conv2D struct {
	cfg          ConvConfig
	weight, bias *Param

	xv     planes // the input of the last Forward (or forwardRun)
	n      int
	in     Shape
	out    buffer
	dx     buffer
	col    [][]float32 // per worker im2col buffer
	dw, db [][]float32 // per worker parameter gradients

	// cols holds the forward columns of every (sample, group) when colsCached.
	cols       []float32
	colsCached bool
	// force overrides the choice of kernel; tests use it to compare paths.
	force convPath
	dws   *dwState // depthwise plans and scratch for the last input shape
	stg   staging  // the current pass's staging of what it writes (stream.go)
	pwf   *pwFlat  // pointwise plans for the last input shape
	// pwSamples, when not zero, sets the samples per unit of the pointwise Sgemm
	// kernels instead of pwBatchSamples (1: the per-sample kernels, more: the
	// batched ones, never the flat ones); tests and benchmarks use it to compare.
	pwSamples int
	pwb       [][]float32 // per worker scratch of the batched pointwise kernels
	pwg       *pwGpw      // packed weights and scratch of the gpw pointwise kernels

	// pass holds the arguments of the running pass and chunkFn, made once, runs its
	// chunks (conv_pass.go).
	pass    convPass
	chunkFn func(chunk, lo, hi int)

	// xin, when set by Sequential for the duration of one Forward or Backward, says
	// that the tensor handed to Forward was a batch norm's input and the
	// convolution's input is xin applied to it, one sample at a time into the
	// per-worker scratch xsc, which holds sample xscS[wk] of the current pass
	// (fast_fuse.go). Backward recomputes the samples the same way.
	xin  *bnInput
	xsc  [][]float32
	xscS []int
	// yst, when set by Sequential for the duration of one Forward, receives the
	// per-plane statistics of the output for the batch norm that follows.
	yst []float32
	// dyin, when set by Sequential for the duration of one Backward, says that the
	// gradient handed to Backward is at the output of the batch norm after the
	// convolution, which left its backward apply to the convolution: dsc holds it
	// per worker for sample dscS[wk] (fast_fuse.go).
	dyin *bnGrad
	dsc  [][]float32
	dscS []int

	// noDX, set through skipInputGrad for a network's first layer in a training
	// step, makes Backward leave the input gradient uncomputed (input_grad.go) on
	// the im2col, pointwise and flat depthwise kernels; the flat depthwise kernels
	// then sum the weight gradient alone in the same order (bit for bit). The
	// generic depthwise loops in Go (pathDirect) still compute it.
	noDX bool

	// rec is what the last Forward kept when it left its output to be recomputed,
	// and src, set by Sequential for the duration of one Forward or Backward, is the
	// convolution that recomputes the input of this one (recompute.go).
	rec convRecompute
	src *Conv2D

	// fold, set by Sequential for the duration of one Backward of a depthwise
	// convolution (or of a MixConv's part), runs the backward of the 1x1
	// convolution before it sample by sample (fold.go); foldC0 is the channel of the
	// depthwise layer's input where this convolution's start, and foldSt holds the
	// state between steps (in a MixConv's first part for all of them).
	fold   *foldState
	foldC0 int
	foldSt foldState

	// dxOmit, set by Sequential for one Backward, has the backward pass write no
	// input gradient: the convolution before the batch norm before this one
	// recomputes each sample of it (dx_recompute.go), from dxsc, per worker, which
	// holds the sample dxS says (-1: none).
	dxOmit bool
	dxsc   [][]float32
	dxS    []int
}

var _ Layer = (*Conv2D)(nil)

// NewConv2D returns a convolution with zero weights; Init draws PyTorch's default.
func NewConv2D(c ConvConfig) (*Conv2D, error) {
	c.StrideH, c.StrideW = max(c.StrideH, 1), max(c.StrideW, 1)
	c.DilH, c.DilW = max(c.DilH, 1), max(c.DilW, 1)
	c.Groups = max(c.Groups, 1)
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("conv: channels %d -> %d must be positive", c.In, c.Out)
	case c.KH <= 0 || c.KW <= 0:
		return nil, fmt.Errorf("conv: kernel %dx%d must be positive", c.KH, c.KW)
	case c.PadH < 0 || c.PadW < 0:
		return nil, fmt.Errorf("conv: padding %dx%d must not be negative", c.PadH, c.PadW)
	case c.In%c.Groups != 0 || c.Out%c.Groups != 0:
		return nil, fmt.Errorf("conv: %d groups do not divide channels %d -> %d", c.Groups, c.In, c.Out)
	}
	l := &Conv2D{cfg: c, weight: newParam("weight", c.Out, c.In/c.Groups, c.KH, c.KW)}
	if c.Bias {
		l.bias = newParam("bias", c.Out)
	}
	return l, nil
}

// Conv returns a square k x k convolution with "same" padding (k-1)/2, the form most
// networks use.
func Conv(in, out, k, stride, groups int, bias bool) (*Conv2D, error) {
	return NewConv2D(ConvConfig{In: in, Out: out, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadH: (k - 1) / 2, PadW: (k - 1) / 2, Groups: groups, Bias: bias})
}

// Config returns the convolution's configuration with defaults filled in.
func (l *Conv2D) Config() ConvConfig { return l.cfg }

// Weight returns the weight parameter, of shape (Out, In/Groups, KH, KW).
func (l *Conv2D) Weight() *Param { return l.weight }

// Bias returns the bias parameter, or nil if the convolution has none.
func (l *Conv2D) Bias() *Param { return l.bias }

// Params implements Parameterized.
func (l *Conv2D) Params() []*Param {
	if l.bias != nil {
		return []*Param{l.weight, l.bias}
	}
	return []*Param{l.weight}
}

// Init draws weights and bias from U(-1/sqrt(fan_in), 1/sqrt(fan_in)), PyTorch's default.
func (l *Conv2D) Init(rng *rand.Rand) {
	c := l.cfg
	b := kaimingBound(c.In / c.Groups * c.KH * c.KW)
	uniform(l.weight.Value.Float32s(), b, rng)
	if l.bias != nil {
		uniform(l.bias.Value.Float32s(), b, rng)
	}
}

// OutShape implements Layer.
func (l *Conv2D) OutShape(in Shape) (Shape, error) {
	c := l.cfg
	if in.C != c.In {
		return Shape{}, fmt.Errorf("conv: input has %d channels, want %d", in.C, c.In)
	}
	h := (in.H+2*c.PadH-c.DilH*(c.KH-1)-1)/c.StrideH + 1
	w := (in.W+2*c.PadW-c.DilW*(c.KW-1)-1)/c.StrideW + 1
	if h <= 0 || w <= 0 || !in.valid() {
		return Shape{}, fmt.Errorf("conv: input %v too small for a %dx%d kernel", in, c.KH, c.KW)
	}
	return Shape{c.Out, h, w}, nil
}

// Cost implements Layer: H_out*W_out*C_out*(C_in/groups)*k_h*k_w MACs.
func (l *Conv2D) Cost(in Shape) Cost {
	c := l.cfg
	out, _ := l.OutShape(in)
	p := int64(c.Out * c.In / c.Groups * c.KH * c.KW)
	if c.Bias {
		p += int64(c.Out)
	}
	return Cost{MACs: int64(out.Size()) * int64(c.In/c.Groups*c.KH*c.KW), Params: p}
}

// Forward implements Layer.
func (l *Conv2D) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	y := l.out.get(n, out)
	l.forward(whole(x.Float32s(), in.C), whole(y.Float32s(), out.C), n, in, out)
	return y, nil
}

// Backward implements Layer.
func (l *Conv2D) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	n, in := l.n, l.in
	out, _ := l.OutShape(in)
	if err := checkGrad(dy, n, out); err != nil {
		return nil, fmt.Errorf("conv: %w", err)
	}
	dx := l.dx.get(n, in)
	l.backward(whole(dy.Float32s(), out.C), whole(dx.Float32s(), in.C), out)
	return dx, nil
}

// im2colForward is the general path: per sample and group, unfold the input into
// columns and multiply by the weights. It runs in parallel over (sample, group) units
// and keeps the columns for Backward when they fit in colCacheBytes.
func (l *Conv2D) im2colForward() {
	p, c := &l.pass, l.cfg
	kk := c.In / c.Groups * c.KH * c.KW
	hw := p.out.H * p.out.W
	units := p.n * c.Groups
	cache := units*kk*hw*4 <= colCacheBytes
	if cache {
		l.cols = grow(l.cols, units*kk*hw)
	} else {
		l.cols = l.cols[:0]
		l.ensureCol(kk * hw)
	}
	l.colsCached = cache
	l.parallel(units, passIm2colFwd)
}

func (l *Conv2D) im2colFwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	in, out := p.in, p.out
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	kk := cig * c.KH * c.KW
	hw := out.H * out.W
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		var col []float32
		if l.colsCached {
			col = l.cols[u*kk*hw : (u+1)*kk*hw]
		} else {
			col = l.col[wk]
		}
		x, si := l.inputOf(wk, s)
		xs := x.d[x.off(si, g*cig, in.H*in.W):]
		ys := p.y.span(s, g*cog, cog, hw)
		im2col(xs, cig, in, out, c, col)
		gemm.Sgemm(false, false, cog, hw, kk, 1, wd[g*cog*kk:], kk, col, hw, 0, ys, hw)
		l.addBias(ys, g*cog, cog, hw)
		l.outStats(s, g*cog, cog)
	}
}

// addBias adds the bias of channels first..first+count to ys, count planes of hw values.
func (l *Conv2D) addBias(ys []float32, first, count, hw int) {
	if l.bias == nil {
		return
	}
	bd := l.bias.Value.Float32s()
	for o := 0; o < count; o++ {
		b := bd[first+o]
		for i, row := 0, ys[o*hw:(o+1)*hw]; i < len(row); i++ {
			row[i] += b
		}
	}
}

// im2colBackward is the adjoint of im2colForward, reusing its cached columns.
func (l *Conv2D) im2colBackward() {
	p, c := &l.pass, l.cfg
	l.ensureCol(c.In / c.Groups * c.KH * c.KW * p.out.H * p.out.W)
	units := p.n * c.Groups
	l.gradBuffers(units)
	l.parallel(units, passIm2colBwd)
	l.reduceGrads(workers(units))
}

func (l *Conv2D) im2colBwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	in, out := p.in, p.out
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	kk := cig * c.KH * c.KW
	hw := out.H * out.W
	dw, db, dcol := l.dw[wk], l.db[wk], l.col[wk]
	for u := lo; u < hi; u++ {
		s, g := u/c.Groups, u%c.Groups
		dy, sd := l.dyOf(wk, s)
		dys := dy.span(sd, g*cog, cog, hw)
		var col []float32
		if l.colsCached {
			col = l.cols[u*kk*hw : (u+1)*kk*hw]
		} else {
			col = dcol[:kk*hw]
			x, si := l.inputOf(wk, s)
			im2col(x.d[x.off(si, g*cig, in.H*in.W):], cig, in, out, c, col)
		}
		gemm.Sgemm(false, true, cog, kk, hw, 1, dys, hw, col, hw, 1, dw[g*cog*kk:], kk)
		if l.bias != nil {
			biasGrad(db, dys, g*cog, cog, hw)
		}
		if l.noDX {
			continue
		}
		gemm.Sgemm(true, false, kk, hw, cog, 1, wd[g*cog*kk:], kk, dys, hw, 0, dcol, hw)
		dxs := p.y.span(s, g*cig, cig, in.H*in.W)
		clear(dxs)
		col2im(dcol, cig, in, out, c, dxs)
		l.gradStats(wk, s, g*cig, cig)
	}
}

// biasGrad adds the sums of count planes of hw values in dys to db[first:].
func biasGrad(db, dys []float32, first, count, hw int) {
	for o := 0; o < count; o++ {
		var sum float32
		for _, v := range dys[o*hw : (o+1)*hw] {
			sum += v
		}
		db[first+o] += sum
	}
}

// gradBuffers returns cleared per-worker weight and bias gradient buffers for
// parallelFor over units.
func (l *Conv2D) gradBuffers(units int) ([][]float32, [][]float32) {
	w := workers(units)
	nw := l.weight.Size()
	for len(l.dw) < w {
		l.dw = append(l.dw, make([]float32, nw))
		l.db = append(l.db, make([]float32, l.cfg.Out))
	}
	for i := 0; i < w; i++ {
		clear(l.dw[i])
		clear(l.db[i])
	}
	return l.dw, l.db
}

// reduceGrads adds the first w workers' gradients into the parameters, in worker
// order, so the sums are the same on every run with the same GOMAXPROCS.
func (l *Conv2D) reduceGrads(w int) {
	gw := l.weight.Grad.Float32s()
	for wk := 0; wk < w; wk++ {
		for i, v := range l.dw[wk] {
			gw[i] += v
		}
		if l.bias != nil {
			gb := l.bias.Grad.Float32s()
			for i, v := range l.db[wk] {
				gb[i] += v
			}
		}
	}
}

func (l *Conv2D) ensureCol(size int) {
	w := runtimeWorkers()
	for len(l.col) < w {
		l.col = append(l.col, nil)
	}
	for i := range l.col {
		if len(l.col[i]) < size {
			l.col[i] = makeFloats(size)
		}
	}
}

// grow returns s resized to n values, reusing its memory when it is large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) >= n {
		return s[:n]
	}
	return makeFloats(n)
}

// im2col unfolds the cin channels of one sample starting at x into col, a
// (cin*KH*KW) x (out.H*out.W) matrix. Per output row and tap, the columns whose input
// lies inside the plane (colRange) are copied, at stride 1 as one run, and the rest
// are zeros.
func im2col(x []float32, cin int, in, out Shape, c ConvConfig, col []float32) {
	hw := out.H * out.W
	r := 0
	for ch := 0; ch < cin; ch++ {
		xc := x[ch*in.H*in.W:]
		for kh := 0; kh < c.KH; kh++ {
			for kw := 0; kw < c.KW; kw++ {
				row := col[r*hw : (r+1)*hw]
				r++
				off := kw*c.DilW - c.PadW
				a, e := colRange(off, c.StrideW, in.W, out.W)
				for oh := 0; oh < out.H; oh++ {
					ih := oh*c.StrideH - c.PadH + kh*c.DilH
					dst := row[oh*out.W : (oh+1)*out.W]
					if ih < 0 || ih >= in.H {
						clear(dst)
						continue
					}
					src := xc[ih*in.W : (ih+1)*in.W]
					clear(dst[:a])
					clear(dst[e:])
					if a == e {
						continue
					}
					if c.StrideW == 1 {
						copy(dst[a:e], src[a+off:e+off])
						continue
					}
					for ow := a; ow < e; ow++ {
						dst[ow] = src[ow*c.StrideW+off]
					}
				}
			}
		}
	}
}

// col2im adds the columns of col back into the cin channels of dx, the adjoint of
// im2col: each input value receives the same additions in the same order as one by
// one, at stride 1 a run at a time (addRow).
func col2im(col []float32, cin int, in, out Shape, c ConvConfig, dx []float32) {
	hw := out.H * out.W
	r := 0
	for ch := 0; ch < cin; ch++ {
		dc := dx[ch*in.H*in.W:]
		for kh := 0; kh < c.KH; kh++ {
			for kw := 0; kw < c.KW; kw++ {
				row := col[r*hw : (r+1)*hw]
				r++
				off := kw*c.DilW - c.PadW
				a, e := colRange(off, c.StrideW, in.W, out.W)
				if a >= e {
					continue
				}
				for oh := 0; oh < out.H; oh++ {
					ih := oh*c.StrideH - c.PadH + kh*c.DilH
					if ih < 0 || ih >= in.H {
						continue
					}
					dst := dc[ih*in.W : (ih+1)*in.W]
					src := row[oh*out.W : (oh+1)*out.W]
					if c.StrideW == 1 {
						d := dst[a+off : e+off]
						addRow(d, d, src[a:e])
						continue
					}
					for ow := a; ow < e; ow++ {
						dst[ow*c.StrideW+off] += src[ow]
					}
				}
			}
		}
	}
}
