package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gorgonia.org/tensor"

	"nas/ops/internal/gemm"
)

// DGCConfig describes a dynamic group convolution. Zero strides and dilations mean 1.
type DGCConfig struct {
	In, Out int // input and output channels
	KH, KW  int // kernel height and width
	// StrideH and StrideW are the strides; 0 means 1.
	StrideH, StrideW int
	// PadH and PadW are the zero paddings added on each side.
	PadH, PadW int
	// DilH and DilW are the dilations; 0 means 1.
	DilH, DilW int
	// Heads is the number of groups, each with its own saliency generator and Out/Heads
	// output channels; it must divide Out. If Heads is 0, 4 are used (the reference's
	// --heads default).
	Heads int
	// Keep is the fraction of the input channels each head convolves per sample, in
	// (0, 1] (the reference's gate_factor). If Keep is 0, 0.25 is used (the reference's
	// --gate-factor default; its ResNet-18 uses 0.45).
	Keep float64
	// SqueezeRate sets the hidden width of each saliency generator to In/SqueezeRate,
	// and to In/(SqueezeRate/2) when In < 80, as the reference's HeadConv does; the
	// width is at least 1. If SqueezeRate is 0, 16 is used (the reference's default).
	SqueezeRate int
	// Lasso is the weight of the reference's lasso term on the saliencies: the mean
	// saliency of each head over the batch and the channels, summed over the heads
	// and added to the loss (main.py's --group-lasso-lambda, 1e-5 by default). If
	// Lasso is 0, there is none. Backward adds the term's gradient to the one it
	// propagates, so that it reaches the generators and, through the channel means,
	// the layer's input, as the reference's autograd does.
	Lasso float64
}

// DynamicGroupConv is a dynamic group convolution (Su et al., "Dynamic Group
// Convolution for Accelerating Convolutional Neural Networks", ECCV 2020; reference
// implementation hellozhuo/dgc layers.py, DynamicMultiHeadConv and HeadConv).
//
// Each of its Heads heads has a saliency generator: the input is averaged over each
// channel, passed through FC (In -> hidden, no bias), ReLU, FC (hidden -> In, with
// bias) and ReLU, giving one saliency per input channel and sample. The head drops
// the round(In*(1-Keep)) channels of lowest saliency (every channel whose saliency is
// at most the largest of them, as the reference's mask_d.le(clamp_max) does) and
// convolves the others, each multiplied by its saliency, with its Out/Heads filters:
// the multiplication is how the loss's gradient reaches the saliency generator. The
// heads' outputs are interleaved as the reference's final transpose leaves them:
// output channel j*Heads+h is filter j of head h.
//
// On output maps of at least dgcGatherMinHW values the layer gathers each sample's
// kept channels and their weights, so that a head's convolution costs what Cost
// says. On smaller maps, where copying the weights for every sample would cost more
// than the convolution, it does as the reference does: it convolves all channels,
// the dropped ones zeroed, over tiles of samples with the weights read once per
// tile. The reference's pre-activation (batch norm and ReLU inside
// DynamicMultiHeadConv) is left to the surrounding network.
//
// A trainer that calls SetProgress gets the reference's schedule: no channel is
// dropped during the first twelfth of training, then more and more until three
// quarters, and round(In*(1-Keep)) from then on. A layer whose SetProgress is never
// called drops round(In*(1-Keep)) channels from the start, the trained state.
//
// Its parameters are the convolution weight of shape (Out, In, KH, KW), whose rows
// [h*Out/Heads, (h+1)*Out/Heads) are head h's filters, and the saliency generators'
// fc1 (Heads, hidden, In), fc2 (Heads, In, hidden) and fc2_bias (Heads, In).
type DynamicGroupConv struct {
	cfg      DGCConfig
	conv     ConvConfig // the convolution's geometry, for im2col
	hidden   int        // the saliency generators' hidden width
	keep     int        // the channels a head keeps when trained: In - round(In*(1-Keep))
	drop     int        // the channels a head drops now (SetProgress)
	weight   *Param
	fc1, fc2 *Param
	fc2b     *Param

	x       []float32 // the input of the last Forward
	n       int
	in, out Shape
	y, dx   buffer
	// Per sample of the last Forward: channel means (n*In), the generators' hidden
	// activations (n*Heads*hidden) and saliencies (n*Heads*In), and per (sample,
	// head) the kept channels (stride In) and their number.
	pooled, hid, sal []float32
	kept             []int32
	nkept            []int32

	// yd, dyd and dxd are the output of the running Forward and the output and input
	// gradients of the running Backward, which the chunk functions read and write.
	yd, dyd, dxd []float32
	ws           []*dgcScratch
	fwdFn        func(chunk, lo, hi int)
	bwdFn        func(chunk, lo, hi int)
	noIm2col     bool // 1x1, stride 1, no padding: the gathered input is its own im2col
	// tile is the number of samples of a tile on the masked path of small output
	// maps, or 0 for the gathered path (set by Forward for its shapes).
	tile int
	// force overrides the choice of path; tests use it to check both.
	force dgcPath
}

// dgcPath names the way DynamicGroupConv computes its heads' convolutions.
type dgcPath int

const (
	dgcAuto     dgcPath = iota // by output map size (dgcGatherMinHW)
	dgcGathered                // kept channels and weights gathered per sample
	dgcMasked                  // all channels, the dropped ones zeroed, per tile of samples
)

// dgcGatherMinHW is the smallest output map (out.H*out.W values) on which the layer
// gathers kept channels and weights per sample: the copy of a head's weights is then
// at most 1/64 of the head's multiply-adds.
const dgcGatherMinHW = 64

// dgcTileFloats bounds the im2col matrix of a tile of samples on the masked path:
// 64K values (256 KB), which stay in the L2 cache while the weights stream past.
const dgcTileFloats = 64 << 10

// dgcScratch is one worker's scratch memory and parameter gradients.
type dgcScratch struct {
	sorted      []float32 // In
	xg, dxg     []float32 // In*in.H*in.W: gathered, scaled input channels
	col, dcol   []float32 // In*KH*KW*out.H*out.W
	wg, dwg     []float32 // Out/Heads*In*KH*KW: gathered filters
	dsal, dpool []float32 // In
	dhid        []float32 // hidden
	// The masked path: a tile's im2col matrix and its gradient (In*KH*KW rows of
	// tile*out.H*out.W), one sample's (col1), a head's outputs or output gradients
	// over the tile (yt), the channels' scales (scale: saliency or 0) and the tile's
	// channel-mean gradients (dpoolT, tile*In).
	cols, dcols, col1, yt []float32
	scale, dpoolT         []float32
	dw, dfc1, dfc2        []float32
	dfc2b                 []float32
}

var (
	_ Layer         = (*DynamicGroupConv)(nil)
	_ Parameterized = (*DynamicGroupConv)(nil)
	_ Initializer   = (*DynamicGroupConv)(nil)
	_ Describer     = (*DynamicGroupConv)(nil)
	_ Scheduled     = (*DynamicGroupConv)(nil)
)

// NewDynamicGroupConv returns a dynamic group convolution with zero parameters; Init
// draws the reference's initial values.
func NewDynamicGroupConv(c DGCConfig) (*DynamicGroupConv, error) {
	c.StrideH, c.StrideW = max(c.StrideH, 1), max(c.StrideW, 1)
	c.DilH, c.DilW = max(c.DilH, 1), max(c.DilW, 1)
	if c.Heads == 0 {
		c.Heads = 4
	}
	if c.Keep == 0 {
		c.Keep = 0.25
	}
	if c.SqueezeRate == 0 {
		c.SqueezeRate = 16
	}
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("dynamic group conv: channels %d -> %d must be positive", c.In, c.Out)
	case c.KH <= 0 || c.KW <= 0:
		return nil, fmt.Errorf("dynamic group conv: kernel %dx%d must be positive", c.KH, c.KW)
	case c.PadH < 0 || c.PadW < 0:
		return nil, fmt.Errorf("dynamic group conv: padding %dx%d must not be negative", c.PadH, c.PadW)
	case c.Heads < 0 || c.Out%c.Heads != 0:
		return nil, fmt.Errorf("dynamic group conv: %d heads do not divide %d output channels", c.Heads, c.Out)
	case !(c.Keep > 0 && c.Keep <= 1):
		return nil, fmt.Errorf("dynamic group conv: keep ratio %v must be in (0, 1]", c.Keep)
	case c.SqueezeRate < 0:
		return nil, fmt.Errorf("dynamic group conv: squeeze rate %d must be positive", c.SqueezeRate)
	case !(c.Lasso >= 0) || math.IsInf(c.Lasso, 0):
		return nil, fmt.Errorf("dynamic group conv: lasso weight %v must be finite and not negative", c.Lasso)
	}
	// layers.py: inactive_channels = round(in_channels * (1 - gate_factor)), Python's
	// round half to even.
	keep := c.In - int(math.RoundToEven(float64(c.In)*(1-c.Keep)))
	if keep < 1 {
		return nil, fmt.Errorf("dynamic group conv: keep ratio %v keeps no channel of %d", c.Keep, c.In)
	}
	rate := c.SqueezeRate
	if c.In < 80 {
		rate /= 2 // layers.py HeadConv: squeeze_rate // 2 below 80 input channels
	}
	hidden := max(1, c.In/max(rate, 1))
	l := &DynamicGroupConv{
		cfg: c, hidden: hidden, keep: keep, drop: c.In - keep,
		conv: ConvConfig{In: c.In, Out: c.Out / c.Heads, KH: c.KH, KW: c.KW, StrideH: c.StrideH, StrideW: c.StrideW,
			PadH: c.PadH, PadW: c.PadW, DilH: c.DilH, DilW: c.DilW, Groups: 1},
		weight: newParam("weight", c.Out, c.In, c.KH, c.KW),
		fc1:    newParam("fc1", c.Heads, hidden, c.In),
		fc2:    newParam("fc2", c.Heads, c.In, hidden),
		fc2b:   newParam("fc2_bias", c.Heads, c.In),
	}
	l.noIm2col = c.KH == 1 && c.KW == 1 && c.StrideH == 1 && c.StrideW == 1 && c.PadH == 0 && c.PadW == 0
	return l, nil
}

// Config returns the layer's configuration with defaults filled in.
func (l *DynamicGroupConv) Config() DGCConfig { return l.cfg }

// Kept returns the number of input channels each head convolves per sample once
// trained, at most: In - round(In*(1-Keep)).
func (l *DynamicGroupConv) Kept() int { return l.keep }

// Dropped returns the number of input channels each head drops per sample now,
// which SetProgress changes.
func (l *DynamicGroupConv) Dropped() int { return l.drop }

// SetProgress implements Scheduled with the reference's schedule of inactive
// channels (layers.py DynamicMultiHeadConv.forward, in training): none until done
// passes 1/12, then round(In*(1-Keep)*3/2*(done-1/12)) until 3/4, then
// round(In*(1-Keep)). The layer keeps the last value for evaluation, as the
// reference keeps it in a buffer.
func (l *DynamicGroupConv) SetProgress(done float64) {
	full := l.cfg.In - l.keep
	switch {
	case done >= 3.0/4:
		l.drop = full
	case done > 1.0/12:
		l.drop = min(full, int(math.RoundToEven(float64(l.cfg.In)*(1-l.cfg.Keep)*3/2*(done-1.0/12))))
	default:
		l.drop = 0
	}
}

// Hidden returns the hidden width of the saliency generators.
func (l *DynamicGroupConv) Hidden() int { return l.hidden }

// Weight returns the convolution weight, of shape (Out, In, KH, KW).
func (l *DynamicGroupConv) Weight() *Param { return l.weight }

// Params implements Parameterized: the convolution weight, then fc1, fc2 and
// fc2_bias of the saliency generators.
func (l *DynamicGroupConv) Params() []*Param { return []*Param{l.weight, l.fc1, l.fc2, l.fc2b} }

// Init draws the convolution weight from PyTorch's default U(-1/sqrt(fan_in),
// 1/sqrt(fan_in)) with fan_in = In*KH*KW (each head's nn.Conv2d sees all inputs), the
// generators' FC weights from kaiming_normal_ (standard deviation sqrt(2/fan_in))
// and sets fc2's bias to 1, as layers.py's HeadConv does, so that every channel
// starts with a saliency near 1.
func (l *DynamicGroupConv) Init(rng *rand.Rand) {
	c := l.cfg
	uniform(l.weight.Value.Float32s(), kaimingBound(c.In*c.KH*c.KW), rng)
	normal(l.fc1.Value.Float32s(), math.Sqrt(2/float64(c.In)), rng)
	normal(l.fc2.Value.Float32s(), math.Sqrt(2/float64(l.hidden)), rng)
	for i, b := 0, l.fc2b.Value.Float32s(); i < len(b); i++ {
		b[i] = 1
	}
}

// normal fills w with values drawn from N(0, std^2).
func normal(w []float32, std float64, rng *rand.Rand) {
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
}

// Describe names the layer for a network's layer table, such as "DGC 3x3/2 h4 keep 29/64".
func (l *DynamicGroupConv) Describe() string {
	c := l.cfg
	s := fmt.Sprintf("DGC %dx%d/%d h%d keep %d/%d", c.KH, c.KW, c.StrideH, c.Heads, l.keep, c.In)
	if c.StrideH != c.StrideW {
		s = fmt.Sprintf("DGC %dx%d/%dx%d h%d keep %d/%d", c.KH, c.KW, c.StrideH, c.StrideW, c.Heads, l.keep, c.In)
	}
	return s
}

// OutShape implements Layer.
func (l *DynamicGroupConv) OutShape(in Shape) (Shape, error) {
	c := l.cfg
	if in.C != c.In {
		return Shape{}, fmt.Errorf("dynamic group conv: input has %d channels, want %d", in.C, c.In)
	}
	h := (in.H+2*c.PadH-c.DilH*(c.KH-1)-1)/c.StrideH + 1
	w := (in.W+2*c.PadW-c.DilW*(c.KW-1)-1)/c.StrideW + 1
	if h <= 0 || w <= 0 || !in.valid() {
		return Shape{}, fmt.Errorf("dynamic group conv: input %v too small for a %dx%d kernel", in, c.KH, c.KW)
	}
	return Shape{c.Out, h, w}, nil
}

// Cost implements Layer. The MACs are the expected cost at the configured keep
// ratio, H_out*W_out*Out*Kept()*KH*KW (each head convolves Kept() channels per
// sample; ties at the threshold can make it fewer), plus the saliency generators'
// FC layers, Heads*2*In*hidden, as the package's convention prices linear layers.
// The parameters are all weights: the full convolution weight (every input channel
// can be chosen) and the generators' weights and biases.
func (l *DynamicGroupConv) Cost(in Shape) Cost {
	c := l.cfg
	out, _ := l.OutShape(in)
	kk := int64(c.KH * c.KW)
	heads := int64(c.Heads) * int64(2*c.In*l.hidden)
	return Cost{
		MACs:   int64(out.Size())*int64(l.keep)*kk + heads,
		Params: int64(c.Out)*int64(c.In)*kk + heads + int64(c.Heads*c.In),
	}
}

// scratch returns the per-worker scratch for w workers at the current shapes.
func (l *DynamicGroupConv) scratch(w int) {
	c := l.cfg
	kk := c.KH * c.KW
	hwIn, hwOut := l.in.H*l.in.W, l.out.H*l.out.W
	cog := c.Out / c.Heads
	for len(l.ws) < w {
		l.ws = append(l.ws, &dgcScratch{})
	}
	rows := c.In * kk
	for _, s := range l.ws[:w] {
		if l.tile > 0 {
			s.cols = grow(s.cols, rows*l.tile*hwOut)
			s.dcols = grow(s.dcols, rows*l.tile*hwOut)
			s.col1 = grow(s.col1, rows*hwOut)
			s.yt = grow(s.yt, cog*l.tile*hwOut)
			s.scale = grow(s.scale, c.In)
			s.dpoolT = grow(s.dpoolT, l.tile*c.In)
		}
		s.sorted = grow(s.sorted, c.In)
		s.xg = grow(s.xg, c.In*hwIn)
		s.dxg = grow(s.dxg, c.In*hwIn)
		if !l.noIm2col {
			s.col = grow(s.col, c.In*kk*hwOut)
			s.dcol = grow(s.dcol, c.In*kk*hwOut)
		}
		s.wg = grow(s.wg, cog*c.In*kk)
		s.dwg = grow(s.dwg, cog*c.In*kk)
		s.dsal = grow(s.dsal, c.In)
		s.dpool = grow(s.dpool, c.In)
		s.dhid = grow(s.dhid, l.hidden)
	}
}

// Forward implements Layer.
func (l *DynamicGroupConv) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	c := l.cfg
	l.x, l.n, l.in, l.out = x.Float32s(), n, in, out
	y := l.y.get(n, out)
	l.pooled = grow(l.pooled, n*c.In)
	l.hid = grow(l.hid, n*c.Heads*l.hidden)
	l.sal = grow(l.sal, n*c.Heads*c.In)
	l.kept = growInt32(l.kept, n*c.Heads*c.In)
	l.nkept = growInt32(l.nkept, n*c.Heads)
	l.tile = 0
	if hw := out.H * out.W; l.force == dgcMasked || (l.force == dgcAuto && hw < dgcGatherMinHW) {
		l.tile = max(1, dgcTileFloats/(c.In*c.KH*c.KW*hw))
	}
	l.scratch(workers(n))
	if l.fwdFn == nil {
		l.fwdFn, l.bwdFn = l.forwardChunk, l.backwardChunk
	}
	l.yd = y.Float32s()
	parallelFor(n, l.fwdFn)
	l.yd = nil
	return y, nil
}

// growInt32 returns s resized to n values, reusing its memory when it is large enough.
func growInt32(s []int32, n int) []int32 {
	if cap(s) >= n {
		return s[:n]
	}
	return make([]int32, n)
}

// forwardChunk runs the forward pass of samples [lo, hi) as worker wk, writing the
// output to l.yd.
func (l *DynamicGroupConv) forwardChunk(wk, lo, hi int) {
	s := l.ws[wk]
	for b := lo; b < hi; b++ {
		l.selectChannels(s, b)
	}
	if l.tile > 0 {
		l.forwardMasked(s, lo, hi)
		return
	}
	c := l.cfg
	hwIn, hwOut := l.in.H*l.in.W, l.out.H*l.out.W
	cog := c.Out / c.Heads
	kk := c.KH * c.KW
	y := l.yd
	for b := lo; b < hi; b++ {
		xb := l.x[b*c.In*hwIn : (b+1)*c.In*hwIn]
		for h := 0; h < c.Heads; h++ {
			u := b*c.Heads + h
			sal := l.sal[u*c.In : (u+1)*c.In]
			k := int(l.nkept[u])
			kept := l.kept[u*c.In : u*c.In+k]
			ys := y[(b*c.Out+h)*hwOut:]
			if k == 0 {
				for j := 0; j < cog; j++ {
					clear(ys[j*c.Heads*hwOut : j*c.Heads*hwOut+hwOut])
				}
				continue
			}
			col := l.gather(s, h, xb, sal, kept)
			gemm.Sgemm(false, false, cog, hwOut, k*kk, 1, s.wg, k*kk, col, hwOut, 0, ys, c.Heads*hwOut)
		}
	}
}

// selectChannels computes sample b's channel means, and each head's saliencies and kept
// channels.
func (l *DynamicGroupConv) selectChannels(s *dgcScratch, b int) {
	c := l.cfg
	hwIn := l.in.H * l.in.W
	xb := l.x[b*c.In*hwIn : (b+1)*c.In*hwIn]
	pooled := l.pooled[b*c.In : (b+1)*c.In]
	for ch := range pooled {
		var sum float64
		for _, v := range xb[ch*hwIn : (ch+1)*hwIn] {
			sum += float64(v)
		}
		pooled[ch] = float32(sum / float64(hwIn))
	}
	for h := 0; h < c.Heads; h++ {
		u := b*c.Heads + h
		sal := l.sal[u*c.In : (u+1)*c.In]
		l.saliency(h, pooled, l.hid[u*l.hidden:(u+1)*l.hidden], sal)
		l.nkept[u] = int32(l.choose(sal, l.kept[u*c.In:(u+1)*c.In], s.sorted))
	}
}

// forwardMasked is the forward pass of samples [lo, hi) on the masked path: per
// tile of samples and head, the im2col matrix of the inputs with the head's dropped
// channels zeroed and the kept ones scaled times all of the head's filters.
func (l *DynamicGroupConv) forwardMasked(s *dgcScratch, lo, hi int) {
	c := l.cfg
	hwOut := l.out.H * l.out.W
	cog, rows := c.Out/c.Heads, c.In*c.KH*c.KW
	wd := l.weight.Value.Float32s()
	for t0 := lo; t0 < hi; t0 += l.tile {
		t1 := min(hi, t0+l.tile)
		ld := (t1 - t0) * hwOut
		for h := 0; h < c.Heads; h++ {
			for b := t0; b < t1; b++ {
				l.maskedCols(s, b, h, s.cols[(b-t0)*hwOut:], ld)
			}
			gemm.Sgemm(false, false, cog, ld, rows, 1, wd[h*cog*rows:], rows, s.cols, ld, 0, s.yt, ld)
			for b := t0; b < t1; b++ {
				for j := 0; j < cog; j++ {
					copy(l.yd[(b*c.Out+j*c.Heads+h)*hwOut:][:hwOut], s.yt[j*ld+(b-t0)*hwOut:][:hwOut])
				}
			}
		}
	}
}

// maskedCols writes the im2col matrix of sample b's input, with the channels head h
// dropped zeroed and the kept ones multiplied by their saliency, into dst: In*KH*KW
// rows of out.H*out.W values, ld apart.
func (l *DynamicGroupConv) maskedCols(s *dgcScratch, b, h int, dst []float32, ld int) {
	c := l.cfg
	hwIn, hwOut := l.in.H*l.in.W, l.out.H*l.out.W
	u := b*c.Heads + h
	sal := l.sal[u*c.In : (u+1)*c.In]
	clear(s.scale)
	for _, ch := range l.kept[u*c.In : u*c.In+int(l.nkept[u])] {
		s.scale[ch] = sal[ch]
	}
	xb := l.x[b*c.In*hwIn : (b+1)*c.In*hwIn]
	xm := s.xg[:c.In*hwIn]
	for ch, g := range s.scale {
		src, out := xb[ch*hwIn:(ch+1)*hwIn], xm[ch*hwIn:(ch+1)*hwIn]
		if g == 0 {
			clear(out)
			continue
		}
		for i, v := range src {
			out[i] = g * v
		}
	}
	src := xm
	if !l.noIm2col {
		src = s.col1
		im2col(xm, c.In, l.in, l.out, l.conv, src)
	}
	for r := 0; r < c.In*c.KH*c.KW; r++ {
		copy(dst[r*ld:r*ld+hwOut], src[r*hwOut:(r+1)*hwOut])
	}
}

// saliency computes head h's hidden activations and per-channel saliencies from the
// channel means of one sample.
func (l *DynamicGroupConv) saliency(h int, pooled, hid, sal []float32) {
	c, nh := l.cfg, l.hidden
	w1 := l.fc1.Value.Float32s()[h*nh*c.In:]
	w2 := l.fc2.Value.Float32s()[h*c.In*nh:]
	b2 := l.fc2b.Value.Float32s()[h*c.In:]
	for j := range hid {
		var z float32
		for ch, p := range pooled {
			z += w1[j*c.In+ch] * p
		}
		hid[j] = max(z, 0)
	}
	for ch := range sal {
		z := b2[ch]
		for j, v := range hid {
			z += w2[ch*nh+j] * v
		}
		sal[ch] = max(z, 0)
	}
}

// choose writes the channels a head keeps, in increasing order, into kept and
// returns their number: all channels when the layer drops none, else those whose
// saliency is above the largest of the Dropped() smallest.
func (l *DynamicGroupConv) choose(sal []float32, kept []int32, sorted []float32) int {
	drop := l.drop
	if drop == 0 {
		for ch := range kept {
			kept[ch] = int32(ch)
		}
		return len(kept)
	}
	copy(sorted, sal)
	slices.Sort(sorted)
	t := sorted[drop-1]
	k := 0
	for ch, v := range sal {
		if v > t {
			kept[k] = int32(ch)
			k++
		}
	}
	return k
}

// gather fills s.xg with the kept channels of one sample's input xb, each multiplied
// by its saliency, and s.wg with head h's filters restricted to them, and returns the
// im2col matrix of s.xg (s.xg itself for a 1x1 stride-1 convolution).
func (l *DynamicGroupConv) gather(s *dgcScratch, h int, xb, sal []float32, kept []int32) []float32 {
	c := l.cfg
	hwIn := l.in.H * l.in.W
	kk := c.KH * c.KW
	k := len(kept)
	for j, ch := range kept {
		g, src, dst := sal[ch], xb[int(ch)*hwIn:int(ch+1)*hwIn], s.xg[j*hwIn:(j+1)*hwIn]
		for i, v := range src {
			dst[i] = g * v
		}
	}
	cog := c.Out / c.Heads
	wd := l.weight.Value.Float32s()
	for o := 0; o < cog; o++ {
		row := wd[(h*cog+o)*c.In*kk:]
		dst := s.wg[o*k*kk:]
		for j, ch := range kept {
			copy(dst[j*kk:(j+1)*kk], row[int(ch)*kk:int(ch+1)*kk])
		}
	}
	if l.noIm2col {
		return s.xg[:k*hwIn]
	}
	col := s.col[:k*kk*l.out.H*l.out.W]
	im2col(s.xg, k, l.in, l.out, l.conv, col)
	return col
}

// Backward implements Layer.
func (l *DynamicGroupConv) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if err := checkGrad(dy, l.n, l.out); err != nil {
		return nil, fmt.Errorf("dynamic group conv: %w", err)
	}
	dx := l.dx.get(l.n, l.in)
	w := workers(l.n)
	l.scratch(w)
	for _, s := range l.ws[:w] {
		s.dw = zeroedGrad(s.dw, l.weight.Size())
		s.dfc1 = zeroedGrad(s.dfc1, l.fc1.Size())
		s.dfc2 = zeroedGrad(s.dfc2, l.fc2.Size())
		s.dfc2b = zeroedGrad(s.dfc2b, l.fc2b.Size())
	}
	l.dyd, l.dxd = dy.Float32s(), dx.Float32s()
	parallelFor(l.n, l.bwdFn)
	l.dyd, l.dxd = nil, nil
	// Reduce the workers' parameter gradients in worker order, so that the sums are
	// the same on every run with the same GOMAXPROCS.
	for _, s := range l.ws[:w] {
		addTo(l.weight.Grad.Float32s(), s.dw)
		addTo(l.fc1.Grad.Float32s(), s.dfc1)
		addTo(l.fc2.Grad.Float32s(), s.dfc2)
		addTo(l.fc2b.Grad.Float32s(), s.dfc2b)
	}
	return dx, nil
}

// zeroedGrad returns s resized to n zeros.
func zeroedGrad(s []float32, n int) []float32 {
	s = grow(s, n)
	clear(s)
	return s
}

// addTo adds src to dst element by element.
func addTo(dst, src []float32) {
	for i, v := range src {
		dst[i] += v
	}
}

// backwardChunk runs the backward pass of samples [lo, hi) as worker wk, reading the
// output gradient from l.dyd and writing the input gradient to l.dxd.
func (l *DynamicGroupConv) backwardChunk(wk, lo, hi int) {
	c := l.cfg
	s := l.ws[wk]
	hwIn, hwOut := l.in.H*l.in.W, l.out.H*l.out.W
	nh := l.hidden
	// The lasso term's gradient with respect to each saliency: Lasso times that of a
	// mean over the batch and the channels.
	lasso := float32(c.Lasso / float64(l.n*c.In))
	if l.tile > 0 {
		l.backwardMasked(s, lo, hi, lasso)
		return
	}
	for b := lo; b < hi; b++ {
		xb := l.x[b*c.In*hwIn : (b+1)*c.In*hwIn]
		dxb := l.dxd[b*c.In*hwIn : (b+1)*c.In*hwIn]
		clear(dxb)
		clear(s.dpool)
		pooled := l.pooled[b*c.In : (b+1)*c.In]
		for h := 0; h < c.Heads; h++ {
			u := b*c.Heads + h
			sal := l.sal[u*c.In : (u+1)*c.In]
			hid := l.hid[u*nh : (u+1)*nh]
			dsal := s.dsal
			for ch := range dsal {
				dsal[ch] = lasso
			}
			kept := l.kept[u*c.In : u*c.In+int(l.nkept[u])]
			l.convBackward(s, h, xb, dxb, l.dyd[(b*c.Out+h)*hwOut:], sal, kept, dsal)
			if lasso != 0 || len(kept) > 0 {
				l.saliencyBackward(s, h, pooled, hid, sal, dsal, s.dpool)
			}
		}
		addPoolGrad(dxb, s.dpool, hwIn)
	}
}

// addPoolGrad adds the gradient of one sample's channel means, dpool, to its input
// gradient dxb of planes of hw values: every head's generator read the means.
func addPoolGrad(dxb, dpool []float32, hw int) {
	inv := 1 / float32(hw)
	for ch, d := range dpool {
		g := d * inv
		for i, dst := 0, dxb[ch*hw:(ch+1)*hw]; i < len(dst); i++ {
			dst[i] += g
		}
	}
}

// backwardMasked is the backward pass of samples [lo, hi) on the masked path, the
// adjoint of forwardMasked, with the saliency generators' backward pass per sample
// and head.
func (l *DynamicGroupConv) backwardMasked(s *dgcScratch, lo, hi int, lasso float32) {
	c := l.cfg
	hwIn, hwOut := l.in.H*l.in.W, l.out.H*l.out.W
	cog, rows := c.Out/c.Heads, c.In*c.KH*c.KW
	nh := l.hidden
	wd := l.weight.Value.Float32s()
	for t0 := lo; t0 < hi; t0 += l.tile {
		t1 := min(hi, t0+l.tile)
		ld := (t1 - t0) * hwOut
		clear(l.dxd[t0*c.In*hwIn : t1*c.In*hwIn])
		dpoolT := s.dpoolT[:(t1-t0)*c.In]
		clear(dpoolT)
		for h := 0; h < c.Heads; h++ {
			for b := t0; b < t1; b++ {
				l.maskedCols(s, b, h, s.cols[(b-t0)*hwOut:], ld)
				for j := 0; j < cog; j++ {
					copy(s.yt[j*ld+(b-t0)*hwOut:][:hwOut], l.dyd[(b*c.Out+j*c.Heads+h)*hwOut:][:hwOut])
				}
			}
			gemm.Sgemm(false, true, cog, rows, ld, 1, s.yt, ld, s.cols, ld, 1, s.dw[h*cog*rows:], rows)
			gemm.Sgemm(true, false, rows, ld, cog, 1, wd[h*cog*rows:], rows, s.yt, ld, 0, s.dcols, ld)
			for b := t0; b < t1; b++ {
				// The masked input's gradient: col2im of the sample's block of dcols.
				dxm := s.dxg[:c.In*hwIn]
				if l.noIm2col {
					for r := 0; r < c.In; r++ {
						copy(dxm[r*hwIn:(r+1)*hwIn], s.dcols[r*ld+(b-t0)*hwOut:][:hwOut])
					}
				} else {
					for r := 0; r < rows; r++ {
						copy(s.col1[r*hwOut:(r+1)*hwOut], s.dcols[r*ld+(b-t0)*hwOut:][:hwOut])
					}
					clear(dxm)
					col2im(s.col1, c.In, l.in, l.out, l.conv, dxm)
				}
				u := b*c.Heads + h
				sal := l.sal[u*c.In : (u+1)*c.In]
				kept := l.kept[u*c.In : u*c.In+int(l.nkept[u])]
				xb := l.x[b*c.In*hwIn : (b+1)*c.In*hwIn]
				dxb := l.dxd[b*c.In*hwIn : (b+1)*c.In*hwIn]
				dsal := s.dsal
				for ch := range dsal {
					dsal[ch] = lasso
				}
				for _, ch := range kept {
					g := dxm[int(ch)*hwIn : int(ch+1)*hwIn]
					xs := xb[int(ch)*hwIn : int(ch+1)*hwIn]
					dst := dxb[int(ch)*hwIn : int(ch+1)*hwIn]
					sc := sal[ch]
					var d float32
					for i, v := range g {
						d += xs[i] * v
						dst[i] += sc * v
					}
					dsal[ch] += d
				}
				if lasso != 0 || len(kept) > 0 {
					l.saliencyBackward(s, h, l.pooled[b*c.In:(b+1)*c.In], l.hid[u*nh:(u+1)*nh], sal, dsal,
						dpoolT[(b-t0)*c.In:(b-t0+1)*c.In])
				}
			}
		}
		for b := t0; b < t1; b++ {
			addPoolGrad(l.dxd[b*c.In*hwIn:(b+1)*c.In*hwIn], dpoolT[(b-t0)*c.In:(b-t0+1)*c.In], hwIn)
		}
	}
}

// convBackward back-propagates head h's output gradient dys (rows Heads*out.H*out.W
// apart) of one sample through its convolution of the kept channels, adding the
// filters' gradient to s.dw, the input gradient to dxb and the saliencies' to dsal.
func (l *DynamicGroupConv) convBackward(s *dgcScratch, h int, xb, dxb, dys, sal []float32, kept []int32, dsal []float32) {
	k := len(kept)
	if k == 0 {
		return
	}
	c := l.cfg
	hwIn, hwOut := l.in.H*l.in.W, l.out.H*l.out.W
	cog := c.Out / c.Heads
	kk := c.KH * c.KW
	col := l.gather(s, h, xb, sal, kept)
	ld := c.Heads * hwOut
	// Filters: dW_h[:, kept] += dy_h col^T.
	gemm.Sgemm(false, true, cog, k*kk, hwOut, 1, dys, ld, col, hwOut, 0, s.dwg, k*kk)
	for o := 0; o < cog; o++ {
		row := s.dw[(h*cog+o)*c.In*kk:]
		src := s.dwg[o*k*kk:]
		for j, ch := range kept {
			addTo(row[int(ch)*kk:int(ch+1)*kk], src[j*kk:(j+1)*kk])
		}
	}
	// Gathered input: dxg = col2im(W_h[:, kept]^T dy_h).
	dxg := s.dxg[:k*hwIn]
	if l.noIm2col {
		gemm.Sgemm(true, false, k, hwOut, cog, 1, s.wg, k, dys, ld, 0, dxg, hwOut)
	} else {
		dcol := s.dcol[:k*kk*hwOut]
		gemm.Sgemm(true, false, k*kk, hwOut, cog, 1, s.wg, k*kk, dys, ld, 0, dcol, hwOut)
		clear(dxg)
		col2im(dcol, k, l.in, l.out, l.conv, dxg)
	}
	// The kept channels were scaled by their saliency: the input gets the
	// saliency times dxg, the saliency the inner product of x and dxg.
	for j, ch := range kept {
		g := dxg[j*hwIn : (j+1)*hwIn]
		xs := xb[int(ch)*hwIn : int(ch+1)*hwIn]
		dst := dxb[int(ch)*hwIn : int(ch+1)*hwIn]
		sc := sal[ch]
		var d float32
		for i, v := range g {
			d += xs[i] * v
			dst[i] += sc * v
		}
		dsal[ch] += d
	}
}

// saliencyBackward back-propagates the saliency gradient dsal of head h of one
// sample through its generator, adding the parameter gradients to s's and the
// channel means' gradient to dpool.
func (l *DynamicGroupConv) saliencyBackward(s *dgcScratch, h int, pooled, hid, sal, dsal, dpool []float32) {
	c, nh := l.cfg, l.hidden
	w1 := l.fc1.Value.Float32s()[h*nh*c.In:]
	w2 := l.fc2.Value.Float32s()[h*c.In*nh:]
	dw1 := s.dfc1[h*nh*c.In:]
	dw2 := s.dfc2[h*c.In*nh:]
	db2 := s.dfc2b[h*c.In:]
	dhid := s.dhid
	clear(dhid)
	for ch, d := range dsal {
		if sal[ch] <= 0 || d == 0 {
			continue // ReLU: no gradient where the saliency is 0
		}
		db2[ch] += d
		for j, v := range hid {
			dw2[ch*nh+j] += d * v
			dhid[j] += w2[ch*nh+j] * d
		}
	}
	for j, d := range dhid {
		if hid[j] <= 0 || d == 0 {
			continue
		}
		for ch, p := range pooled {
			dw1[j*c.In+ch] += d * p
			dpool[ch] += w1[j*c.In+ch] * d
		}
	}
}
