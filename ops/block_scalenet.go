package ops

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"

	"gorgonia.org/tensor"
)

// This file holds ScaleNet's scale aggregation (Li et al. 2019, "Data-Driven Neuron
// Allocation for Scale Aggregation Networks", CVPR), as its reference implementation
// Eli-YiLi/ScaleNet pytorch/scalenet.py (class SABlock) computes it, and the
// paper's allocation of a block's channels to its scales from batch-norm scales.

// scaleNetScales are the max-pooling factors of the reference's four branches:
// SABlock's self.scales = [None, 2, 4, 7], None meaning no pooling.
var scaleNetScales = []int{1, 2, 4, 7}

// ScaleAggConfig describes a scale aggregation layer: parallel branches that each
// max-pool the input by a factor, convolve it, upsample it back and batch-normalize
// it, concatenated along the channels and passed through a ReLU.
type ScaleAggConfig struct {
	// In is the number of input channels.
	In int
	// Out lists each branch's output channels. A 0 drops that branch, as the
	// reference does for scales that the allocation left without channels; at
	// least one must be positive.
	Out []int
	// Scales lists each branch's max-pooling factor (kernel and stride), 1 meaning
	// no pooling; nil means the reference's 1, 2, 4, 7. It must be as long as Out.
	Scales []int
	// Side is the feature-map side the layer is designed for. As in the reference,
	// it picks branch i's kernel: 3x3 with padding 1 when Side/2^i > 1, else 1x1
	// (the reference's "kernel size == 1 if featuremap size == 1"). 0 means 3x3 for
	// every branch.
	Side int
}

// withDefaults fills in the scales and checks the configuration.
func (c ScaleAggConfig) withDefaults() (ScaleAggConfig, error) {
	if c.Scales == nil {
		c.Scales = scaleNetScales
	}
	c.Out, c.Scales = slices.Clone(c.Out), slices.Clone(c.Scales)
	switch {
	case c.In <= 0:
		return c, fmt.Errorf("scale aggregation: %d input channels must be positive", c.In)
	case len(c.Out) != len(c.Scales):
		return c, fmt.Errorf("scale aggregation: %d branch widths %v for %d scales %v", len(c.Out), c.Out, len(c.Scales), c.Scales)
	case c.Side < 0:
		return c, fmt.Errorf("scale aggregation: side %d must not be negative", c.Side)
	}
	total := 0
	for i, o := range c.Out {
		if o < 0 {
			return c, fmt.Errorf("scale aggregation: branch %d has %d channels, want 0 or more", i, o)
		}
		if c.Scales[i] < 1 {
			return c, fmt.Errorf("scale aggregation: branch %d pools by %d, want 1 or more", i, c.Scales[i])
		}
		total += o
	}
	if total == 0 {
		return c, fmt.Errorf("scale aggregation: branch widths %v leave no channels", c.Out)
	}
	return c, nil
}

// kernel returns branch i's kernel side by the reference's rule (see Side).
func (c ScaleAggConfig) kernel(i int) int {
	if c.Side == 0 || c.Side > 1<<i {
		return 3
	}
	return 1
}

// ScaleAggregation is ScaleNet's scale aggregation layer (Eli-YiLi/ScaleNet
// pytorch/scalenet.py SABlock's conv2/bn2 part): branch i max-pools the input by its
// factor (F.max_pool2d(x, s, s)), convolves it to its own channel count without
// bias, upsamples the result back to the input's size, nearest when the sizes divide
// and bilinear otherwise (F.upsample, align_corners False), and batch-normalizes it;
// the branches are concatenated along the channels and pass through a ReLU (applied
// per branch here, which is the same).
//
// A pooling factor larger than the input's height or width pools that whole side
// instead, to a single row or column. The reference never does so at its 224x224
// input, where its largest factor, 7, meets 7x7 maps at the least, and PyTorch would
// reject the window; it lets the layer run at the small inputs of proxies.
type ScaleAggregation struct {
	cfg      ScaleAggConfig
	branches []Layer // the *ScaleBranch of each branch with channels, in order
	index    []int   // the configuration index of each branch in branches

	n     int
	in    Shape
	outs  []*tensor.Dense
	out   buffer
	parts []buffer
	grads []*tensor.Dense
	dx    buffer
}

var (
	_ Layer       = (*ScaleAggregation)(nil)
	_ Container   = (*ScaleAggregation)(nil)
	_ ShapeWalker = (*ScaleAggregation)(nil)
	_ Describer   = (*ScaleAggregation)(nil)
)

// NewScaleAggregation returns a scale aggregation layer with zero convolution
// weights and batch norms at PyTorch's defaults; Init draws the weights.
func NewScaleAggregation(c ScaleAggConfig) (*ScaleAggregation, error) {
	c, err := c.withDefaults()
	if err != nil {
		return nil, err
	}
	l := &ScaleAggregation{cfg: c}
	for i, o := range c.Out {
		if o == 0 {
			continue
		}
		k := c.kernel(i)
		conv, err := NewConv2D(ConvConfig{In: c.In, Out: o, KH: k, KW: k, PadH: k / 2, PadW: k / 2})
		if err != nil {
			return nil, fmt.Errorf("scale aggregation: branch %d: %w", i, err)
		}
		b := &ScaleBranch{factor: c.Scales[i], conv: conv, post: Seq(NewBatchNorm2D(o), NewReLU())}
		if b.factor > 1 {
			b.pool = &ScalePool{factor: b.factor}
		}
		l.branches = append(l.branches, b)
		l.index = append(l.index, i)
	}
	return l, nil
}

// Config returns the layer's configuration with defaults filled in.
func (l *ScaleAggregation) Config() ScaleAggConfig {
	c := l.cfg
	c.Out, c.Scales = slices.Clone(c.Out), slices.Clone(c.Scales)
	return c
}

// Describe names the layer and its branches, such as
// "scale_aggregation 64->[62 9 5 12] /1,2,4,7 side56".
func (l *ScaleAggregation) Describe() string {
	var b strings.Builder
	fmt.Fprintf(&b, "scale_aggregation %d->%v /", l.cfg.In, l.cfg.Out)
	for i, s := range l.cfg.Scales {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, s)
	}
	if l.cfg.Side > 0 {
		fmt.Fprintf(&b, " side%d", l.cfg.Side)
	}
	return b.String()
}

// Children implements Container: the branches with channels, in order. Each is a
// container of its convolution and of its batch norm and ReLU.
func (l *ScaleAggregation) Children() []Layer { return l.branches }

// ChildShapes implements ShapeWalker: every branch sees the input.
func (l *ScaleAggregation) ChildShapes(in Shape) []Shape {
	ss := make([]Shape, len(l.branches))
	for i := range ss {
		ss[i] = in
	}
	return ss
}

// Gammas returns a copy of each branch's batch-norm scale (gamma), indexed like
// Config().Out, nil for a branch without channels: the importances that
// AllocateScaleChannels ranks.
func (l *ScaleAggregation) Gammas() [][]float32 {
	g := make([][]float32, len(l.cfg.Out))
	for j, b := range l.branches {
		g[l.index[j]] = slices.Clone(b.(*ScaleBranch).bn().Weight().Value.Float32s())
	}
	return g
}

// OutShape implements Layer.
func (l *ScaleAggregation) OutShape(in Shape) (Shape, error) {
	out := Shape{0, in.H, in.W}
	for j, b := range l.branches {
		s, err := b.OutShape(in)
		if err != nil {
			return Shape{}, fmt.Errorf("scale aggregation: branch %d: %w", l.index[j], err)
		}
		out.C += s.C
	}
	return out, nil
}

// Cost implements Layer: the branches' convolutions at their pooled sizes and their
// batch norms.
func (l *ScaleAggregation) Cost(in Shape) Cost {
	var c Cost
	for _, b := range l.branches {
		c = c.Add(b.Cost(in))
	}
	return c
}

// Forward implements Layer.
func (l *ScaleAggregation) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	l.n, l.in = n, in
	l.outs = l.outs[:0]
	for j, b := range l.branches {
		y, err := b.Forward(x)
		if err != nil {
			return nil, fmt.Errorf("scale aggregation: branch %d: %w", l.index[j], err)
		}
		l.outs = append(l.outs, y)
	}
	y := l.out.get(n, out)
	concatChannels(y, l.outs)
	return y, nil
}

// Backward implements Layer.
func (l *ScaleAggregation) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if len(l.outs) != len(l.branches) {
		return nil, fmt.Errorf("scale aggregation: backward before forward")
	}
	out, _ := l.OutShape(l.in)
	if err := checkGrad(dy, l.n, out); err != nil {
		return nil, fmt.Errorf("scale aggregation: %w", err)
	}
	for len(l.parts) < len(l.branches) {
		l.parts = append(l.parts, buffer{})
	}
	l.grads = l.grads[:0]
	for j, y := range l.outs {
		_, s, _ := ShapeOf(y)
		l.grads = append(l.grads, l.parts[j].get(l.n, s))
	}
	splitChannels(dy, l.grads)
	var dx *tensor.Dense
	for j, b := range l.branches {
		g, err := b.Backward(l.grads[j])
		if err != nil {
			return nil, fmt.Errorf("scale aggregation: branch %d: %w", l.index[j], err)
		}
		if j == 0 {
			dx = l.dx.get(l.n, l.in)
			copy(dx.Float32s(), g.Float32s())
		} else {
			addInto(dx.Float32s(), g.Float32s())
		}
	}
	return dx, nil
}

// ScaleBranch is one branch of a ScaleAggregation: max pooling by factor (clamped
// to the input's sides), the convolution, resizing back to the input's size, and
// batch norm with ReLU (post).
type ScaleBranch struct {
	factor int
	pool   *ScalePool // nil for factor 1
	conv   *Conv2D
	post   *Sequential // BatchNorm2D, ReLU

	n      int
	in     Shape
	pooled Shape  // the convolution's input: the pooled input
	up     buffer // the convolution's output resized to the input's size
	dconv  buffer // the gradient of the convolution's output
	rs     resizer
	job    planeJob
}

var (
	_ Layer       = (*ScaleBranch)(nil)
	_ Container   = (*ScaleBranch)(nil)
	_ ShapeWalker = (*ScaleBranch)(nil)
	_ Describer   = (*ScaleBranch)(nil)
)

// bn returns the batch norm after the branch's convolution.
func (b *ScaleBranch) bn() *BatchNorm2D { return b.post.Layers[0].(*BatchNorm2D) }

// Factor returns the branch's pooling factor.
func (b *ScaleBranch) Factor() int { return b.factor }

// Describe names the branch by its pooling factor, such as "scale_branch /4".
func (b *ScaleBranch) Describe() string { return fmt.Sprintf("scale_branch /%d", b.factor) }

// Children implements Container: the convolution, then batch norm and ReLU.
func (b *ScaleBranch) Children() []Layer { return []Layer{b.conv, b.post} }

// ChildShapes implements ShapeWalker: the convolution sees the pooled input, the
// batch norm its output resized to the input's size.
func (b *ScaleBranch) ChildShapes(in Shape) []Shape {
	p := b.poolShape(in)
	return []Shape{p, {b.conv.cfg.Out, in.H, in.W}}
}

// poolShape returns the shape of the pooled input.
func (b *ScaleBranch) poolShape(in Shape) Shape {
	if b.pool == nil {
		return in
	}
	return b.pool.outShape(in)
}

// OutShape implements Layer.
func (b *ScaleBranch) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("input shape %v is empty", in)
	}
	if _, err := b.conv.OutShape(b.poolShape(in)); err != nil {
		return Shape{}, err
	}
	return Shape{b.conv.cfg.Out, in.H, in.W}, nil
}

// Cost implements Layer.
func (b *ScaleBranch) Cost(in Shape) Cost {
	return b.conv.Cost(b.poolShape(in)).Add(b.post.Cost(Shape{b.conv.cfg.Out, in.H, in.W}))
}

// Forward implements Layer.
func (b *ScaleBranch) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, _, err := checkInput(b, x)
	if err != nil {
		return nil, err
	}
	b.n, b.in, b.pooled = n, in, b.poolShape(in)
	p := x
	if b.pool != nil {
		if p, err = b.pool.Forward(x); err != nil {
			return nil, err
		}
	}
	c, err := b.conv.Forward(p)
	if err != nil {
		return nil, err
	}
	full := Shape{b.conv.cfg.Out, in.H, in.W}
	if b.pooled.H != in.H || b.pooled.W != in.W {
		b.rs.set(b.pooled.H, b.pooled.W, in.H, in.W)
		u := b.up.get(n, full)
		b.job = planeJob{src: c.Float32s(), dst: u.Float32s(), in: Shape{full.C, b.pooled.H, b.pooled.W}, out: full}
		runPlanes(b, n*full.C, n*full.Size()*b.rs.taps(), (*ScaleBranch).upPlanes)
		c = u
	}
	b.job = planeJob{}
	return b.post.Forward(c)
}

// Backward implements Layer.
func (b *ScaleBranch) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if b.n == 0 {
		return nil, fmt.Errorf("backward before forward")
	}
	g, err := b.post.Backward(dy)
	if err != nil {
		return nil, err
	}
	in, full := b.in, Shape{b.conv.cfg.Out, b.in.H, b.in.W}
	if b.pooled.H != in.H || b.pooled.W != in.W {
		small := Shape{full.C, b.pooled.H, b.pooled.W}
		d := b.dconv.get(b.n, small)
		b.job = planeJob{src: g.Float32s(), dst: d.Float32s(), in: small, out: full}
		runPlanes(b, b.n*full.C, b.n*full.Size()*b.rs.taps(), (*ScaleBranch).upBackPlanes)
		g = d
	}
	b.job = planeJob{}
	if g, err = b.conv.Backward(g); err != nil {
		return nil, err
	}
	if b.pool != nil {
		return b.pool.Backward(g)
	}
	return g, nil
}

// upPlanes resizes planes [lo, hi) of job.src (job.in's size) to job.dst (job.out's).
func (b *ScaleBranch) upPlanes(lo, hi int) {
	in, out, r := b.job.in, b.job.out, &b.rs
	ip, op := in.H*in.W, out.H*out.W
	for p := lo; p < hi; p++ {
		xp, yp := b.job.src[p*ip:(p+1)*ip], b.job.dst[p*op:(p+1)*op]
		for h := 0; h < out.H; h++ {
			th := r.h[h]
			row := yp[h*out.W : (h+1)*out.W]
			if r.nearest {
				src := xp[th.i0*in.W:]
				for w := range row {
					row[w] = src[r.w[w].i0]
				}
				continue
			}
			r0, r1 := xp[th.i0*in.W:], xp[th.i1*in.W:]
			for w := range row {
				tw := r.w[w]
				row[w] = th.l0*(tw.l0*r0[tw.i0]+tw.l1*r0[tw.i1]) + th.l1*(tw.l0*r1[tw.i0]+tw.l1*r1[tw.i1])
			}
		}
	}
}

// upBackPlanes sums the gradient job.src (job.out's size) back onto the small
// planes [lo, hi) of job.dst (job.in's size), each value with the weight it had.
func (b *ScaleBranch) upBackPlanes(lo, hi int) {
	in, out, r := b.job.in, b.job.out, &b.rs
	ip, op := in.H*in.W, out.H*out.W
	clear(b.job.dst[lo*ip : hi*ip])
	for p := lo; p < hi; p++ {
		dxp, dyp := b.job.dst[p*ip:(p+1)*ip], b.job.src[p*op:(p+1)*op]
		for h := 0; h < out.H; h++ {
			th := r.h[h]
			row := dyp[h*out.W : (h+1)*out.W]
			if r.nearest {
				dst := dxp[th.i0*in.W:]
				for w, g := range row {
					dst[r.w[w].i0] += g
				}
				continue
			}
			d0, d1 := dxp[th.i0*in.W:], dxp[th.i1*in.W:]
			for w, g := range row {
				tw := r.w[w]
				d0[tw.i0] += th.l0 * tw.l0 * g
				d0[tw.i1] += th.l0 * tw.l1 * g
				d1[tw.i0] += th.l1 * tw.l0 * g
				d1[tw.i1] += th.l1 * tw.l1 * g
			}
		}
	}
}

// ScalePool max-pools by a factor, as F.max_pool2d(x, f, f) does (window and stride f,
// floor), except that a factor larger than the input's height or width pools that
// whole side: ScaleNet's pooling, kept working at inputs smaller than the reference's.
// Backward routes each gradient to its window's maximum, the first one in row-major
// order on ties, and a NaN wins, as in PyTorch's max_pool2d.
type ScalePool struct {
	factor int

	planeState
	arg []int32 // per output value, the index of its maximum within its input plane
}

var (
	_ Layer     = (*ScalePool)(nil)
	_ Describer = (*ScalePool)(nil)
)

// Factor returns the pooling factor.
func (l *ScalePool) Factor() int { return l.factor }

// Describe names the layer and its factor, such as "ScalePool /2".
func (l *ScalePool) Describe() string { return fmt.Sprintf("ScalePool /%d", l.factor) }

// outShape returns the pooled shape of a valid input shape.
func (l *ScalePool) outShape(in Shape) Shape {
	kh, kw := min(l.factor, in.H), min(l.factor, in.W)
	if kh < 1 || kw < 1 {
		return in
	}
	return Shape{in.C, in.H / kh, in.W / kw}
}

// OutShape implements Layer.
func (l *ScalePool) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("scale pool: input shape %v is empty", in)
	}
	return l.outShape(in), nil
}

// Cost implements Layer: pooling is free under the package's cost convention.
func (l *ScalePool) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *ScalePool) Forward(x *tensor.Dense) (*tensor.Dense, error) {
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
	runPlanes(l, n*in.C, n*in.Size(), (*ScalePool).forwardPlanes)
	l.job = planeJob{}
	return y, nil
}

func (l *ScalePool) forwardPlanes(lo, hi int) {
	in, out := l.job.in, l.job.out
	kh, kw := min(l.factor, in.H), min(l.factor, in.W)
	ip, op := in.H*in.W, out.H*out.W
	negInf := float32(math.Inf(-1))
	for p := lo; p < hi; p++ {
		xp, yp, ap := l.job.src[p*ip:(p+1)*ip], l.job.dst[p*op:(p+1)*op], l.arg[p*op:(p+1)*op]
		for oh := 0; oh < out.H; oh++ {
			for ow := 0; ow < out.W; ow++ {
				m, at := negInf, oh*kh*in.W+ow*kw
				for ih := oh * kh; ih < (oh+1)*kh; ih++ {
					row := xp[ih*in.W:]
					for iw := ow * kw; iw < (ow+1)*kw; iw++ {
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
func (l *ScalePool) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := l.startBackward(l, "scale pool", dy)
	if err != nil {
		return nil, err
	}
	runPlanes(l, l.n*l.in.C, l.n*l.in.Size(), (*ScalePool).backwardPlanes)
	l.job = planeJob{}
	return dx, nil
}

func (l *ScalePool) backwardPlanes(lo, hi int) { argmaxBackward(&l.job, l.arg, lo, hi) }

// resizer holds the source taps of a resize from (ih, iw) to (oh, ow): nearest when
// both sides divide, as the reference chooses, else bilinear without aligned corners.
type resizer struct {
	ih, iw, oh, ow int
	nearest        bool
	h, w           []tap
}

// tap is one output row's (or column's) sources and weights: i0 alone for nearest,
// l0*x[i0] + l1*x[i1] for bilinear.
type tap struct {
	i0, i1 int
	l0, l1 float32
}

// set computes the taps, unless they are those of the last call.
func (r *resizer) set(ih, iw, oh, ow int) {
	if r.h != nil && r.ih == ih && r.iw == iw && r.oh == oh && r.ow == ow {
		return
	}
	r.ih, r.iw, r.oh, r.ow = ih, iw, oh, ow
	r.nearest = oh%ih == 0 && ow%iw == 0
	r.h, r.w = resizeTaps(ih, oh, r.nearest), resizeTaps(iw, ow, r.nearest)
}

// taps returns the number of source values per output value, for runPlanes's work.
func (r *resizer) taps() int {
	if r.nearest {
		return 1
	}
	return 4
}

// resizeTaps returns the taps of one axis from in to out values, computed in float32
// as PyTorch 1.13's CPU kernels do (aten/src/ATen/native/UpSample.h): nearest_idx
// takes floor(dst*in/out), or dst>>1 at twice the size; bilinear without aligned
// corners samples at max(in/out*(dst+0.5)-0.5, 0) between floor of it and the next
// index, clamped to the last.
func resizeTaps(in, out int, nearest bool) []tap {
	t := make([]tap, out)
	scale := float32(in) / float32(out)
	for d := range t {
		if nearest {
			i := d
			switch {
			case out == 2*in:
				i = d >> 1
			case out != in:
				i = min(int(math.Floor(float64(float32(float32(d)*scale)))), in-1)
			}
			t[d] = tap{i0: i, i1: i, l0: 1}
			continue
		}
		src := max(float32(scale*float32(float32(d)+0.5))-0.5, 0)
		i0 := min(int(src), in-1)
		l1 := min(max(src-float32(i0), 0), 1)
		i1 := i0
		if i0 < in-1 {
			i1++
		}
		t[d] = tap{i0: i0, i1: i1, l0: 1 - l1, l1: l1}
	}
	return t
}

// ScaleBottleneckConfig describes ScaleNet's residual block (the reference's
// SABlock): a ResNet bottleneck whose 3x3 convolution is a scale aggregation layer.
type ScaleBottleneckConfig struct {
	// In is the number of input channels; Planes the width of the first 1x1
	// convolution. The block outputs 4*Planes channels (SABlock.expansion).
	In, Planes int
	// Stride is 1 or 2; 0 means 1. A stride of 2 max-pools the input by 2 before
	// everything else, shortcut included, as the reference does; a side of 1 stays
	// 1 (the window is clamped as ScaleAggregation's are), where PyTorch would fail.
	Stride int
	// Out, Scales and Side configure the scale aggregation layer (ScaleAggConfig);
	// its input has Planes channels.
	Out, Scales []int
	Side        int
}

// NewScaleBottleneck returns ScaleNet's residual block as Eli-YiLi/ScaleNet
// pytorch/scalenet.py SABlock computes it: a stride-s max pool when s > 1, then
// 1x1 conv -> BN -> ReLU -> scale aggregation (ScaleAggregation) -> 1x1 conv ->
// BN, plus the shortcut (a 1x1 conv + BN on the pooled input when the stride or the
// width changes, else the identity), then ReLU. No convolution has a bias.
func NewScaleBottleneck(c ScaleBottleneckConfig) (*Block, error) {
	c.Stride = max(c.Stride, 1)
	switch {
	case c.In <= 0 || c.Planes <= 0:
		return nil, fmt.Errorf("scale bottleneck: channels %d -> %d must be positive", c.In, c.Planes)
	case c.Stride > 2:
		return nil, fmt.Errorf("scale bottleneck: stride %d, want 1 or 2", c.Stride)
	}
	sa, err := NewScaleAggregation(ScaleAggConfig{In: c.Planes, Out: c.Out, Scales: c.Scales, Side: c.Side})
	if err != nil {
		return nil, fmt.Errorf("scale bottleneck: %w", err)
	}
	mid := 0
	for _, o := range sa.cfg.Out {
		mid += o
	}
	out := 4 * c.Planes
	conv1, err := convBN(ConvConfig{In: c.In, Out: c.Planes, KH: 1, KW: 1}, ActReLU)
	if err != nil {
		return nil, fmt.Errorf("scale bottleneck: %w", err)
	}
	conv3, err := convBN(ConvConfig{In: mid, Out: out, KH: 1, KW: 1}, ActNone)
	if err != nil {
		return nil, fmt.Errorf("scale bottleneck: %w", err)
	}
	body := Seq(append(append(conv1.Layers, sa), conv3.Layers...)...)
	var short Layer
	if c.Stride != 1 || c.In != out {
		if short, err = convBN(ConvConfig{In: c.In, Out: out, KH: 1, KW: 1}, ActNone); err != nil {
			return nil, fmt.Errorf("scale bottleneck: %w", err)
		}
	}
	var l Layer = &Residual{Body: body, Shortcut: short, Post: NewReLU()}
	if c.Stride > 1 {
		l = Seq(&ScalePool{factor: c.Stride}, l)
	}
	settings := fmt.Sprintf("%d->%d->%v->%d s%d", c.In, c.Planes, sa.cfg.Out, out, c.Stride)
	return &Block{Kind: "scale_bottleneck", Settings: settings, Body: l}, nil
}

// AllocateScaleChannels returns how many of a scale aggregation layer's total
// channels each branch keeps, given the batch-norm scales (gammas) of a trained
// layer with more channels per branch: the total channels of largest |gamma| across
// all branches, ties going to the earlier branch and channel. This is ScaleNet's
// data-driven neuron allocation (Li et al. 2019, section 3.2): the seed network's
// branches start wide, the batch norm after each branch's convolution scales every
// output neuron, and the neurons whose scales are largest are kept, so that the
// scales compete for the budget. A branch may get 0 channels, which drops it
// (ScaleAggConfig.Out). Gammas come from ScaleAggregation.Gammas.
func AllocateScaleChannels(gammas [][]float32, total int) ([]int, error) {
	type neuron struct {
		mag           float64
		branch, index int
	}
	var all []neuron
	for b, g := range gammas {
		for i, v := range g {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("allocate scale channels: gamma %d of branch %d is %v", i, b, v)
			}
			all = append(all, neuron{math.Abs(float64(v)), b, i})
		}
	}
	if total < 0 || total > len(all) {
		return nil, fmt.Errorf("allocate scale channels: budget of %d channels, want 0 to the %d the branches have", total, len(all))
	}
	slices.SortStableFunc(all, func(a, b neuron) int { return cmp.Compare(b.mag, a.mag) })
	counts := make([]int, len(gammas))
	for _, n := range all[:total] {
		counts[n.branch]++
	}
	return counts, nil
}
