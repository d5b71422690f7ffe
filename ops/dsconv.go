package ops

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// DSConvConfig describes a DSConv convolution: a ConvConfig plus the quantisation.
type DSConvConfig struct {
	ConvConfig
	// Bits is b, the width of the signed integers that hold the weights, 2 to 8.
	// If Bits is 0, 4 is used, the width at which the paper reports less than 1%
	// loss of accuracy without retraining.
	Bits int
	// BlockSize is B, the number of input channels of a group that share one kernel
	// distribution shift; the last block of a group holds the rest when B does not
	// divide In/Groups. If BlockSize is 0, 32 is used, block_size's default in the
	// reference's complete_module/resnet.py.
	BlockSize int
	// CDS adds the channel distribution shift: a learned scale per output channel,
	// initialised to 1, multiplying that channel's reconstructed weights. The
	// shift's additive half is the convolution's bias (Bias).
	CDS bool
}

// DSConv is the distribution-shifting convolution of Nascimento, Fawcett and
// Prisacariu, "DSConv: Efficient Convolution Operator" (ICCV 2019), trained with
// quantisation in the loop. Reference implementation: github.com/ActiveVisionLab/DSConv,
// DSConv2d.py (the layer: weight times the kernel shift expanded over its block)
// and Quantizer.py (how a block becomes integers and a shift).
//
// The layer keeps float32 shadow weights of shape (Out, In/Groups, KH, KW). Each
// Forward quantises them per block: the In/Groups input channels of a group are cut
// into blocks of BlockSize, and every (output channel, block, kernel row, kernel
// column) holds one block of up to BlockSize values v. As Quantizer.quantize_block
// does, the value m of largest magnitude (the maximum when |max| > |min|, else the
// minimum) is mapped to the most negative integer, q = rint(v * -2^(b-1)/m),
// rounding half to even; and the kernel distribution shift (KDS) is the least-squares
// scale alpha = <v,q>/<q,q> of Quantizer._finding_alpha_ (the "L2" rule). Unlike the
// reference, q is clamped to [-2^(b-1), 2^(b-1)-1]: a value of the sign opposite to
// m and nearly as large rounds to 2^(b-1), which does not fit in b bits. A block of
// zeros gives q = 0 and alpha = 0. The convolution (Conv2D) then runs on the
// reconstructed weights cds[o]*alpha*q, with cds = 1 without CDS.
//
// Blocks are those of the shape of DSConv2d's alpha, (Out, ceil(In/Groups / B), KH,
// KW), whose blocks run over input channels only; DSConvEngine.tensor_to_block
// instead hands quantize_block all output channels and taps of a block at once.
// Blocks start every B channels, as in tensor_to_block; DSConv2d.get_weight_res
// spaces them by In/Groups / blocks instead, which differs when B does not divide.
//
// Backward uses the straight-through estimator: the rounding and the KDS are treated
// as the identity, so the shadow weights receive cds[o] times the gradient of the
// reconstructed weights, as if those were cds[o]*w, and no gradient flows into the
// choice of m, q or alpha. The CDS receives its exact gradient, the sum over its
// channel of the reconstructed-weight gradient times alpha*q. (The reference's
// DSConv2d trains its weight and alpha as plain floats, without requantising; this
// layer follows the paper's integer constraint instead, re-deriving the integers and
// shifts from the shadow weights at every step.)
//
// Cost counts the MACs of the equivalent convolution and the trainable values
// (shadow weights, bias, CDS); StorageBits counts the deployed form: b bits per
// weight and 32 per shift and bias.
type DSConv struct {
	cfg    DSConvConfig
	blocks int // blocks per group: ceil(In/Groups / BlockSize)

	// conv runs the convolution. Its weight Value holds the reconstructed weights
	// and its Grad their gradient, both private to the layer; its bias is the
	// layer's bias.
	conv   *Conv2D
	weight *Param // the float shadow weights
	cds    *Param // the channel distribution shift, or nil

	q   []int8    // the integers of the last quantisation, shaped like weight
	kds []float32 // the kernel distribution shifts, (Out, blocks, KH, KW)
	wq  []float32 // alpha*q per weight, before the CDS
	blk []float32 // scratch for one block's values
}

var (
	_ Layer          = (*DSConv)(nil)
	_ Parameterized  = (*DSConv)(nil)
	_ Initializer    = (*DSConv)(nil)
	_ CompactStorage = (*DSConv)(nil)
)

// NewDSConv returns a DSConv with zero shadow weights and, with CDS, unit channel
// shifts; Init draws Conv2D's default weights.
func NewDSConv(c DSConvConfig) (*DSConv, error) {
	if c.Bits == 0 {
		c.Bits = 4
	}
	if c.BlockSize == 0 {
		c.BlockSize = 32
	}
	if c.Bits < 2 || c.Bits > 8 {
		return nil, fmt.Errorf("dsconv: %d bits: want 2 to 8", c.Bits)
	}
	if c.BlockSize < 0 {
		return nil, fmt.Errorf("dsconv: block size %d: want a positive number of channels", c.BlockSize)
	}
	conv, err := NewConv2D(c.ConvConfig)
	if err != nil {
		return nil, fmt.Errorf("dsconv: %w", err)
	}
	c.ConvConfig = conv.Config()
	cig := c.In / c.Groups
	l := &DSConv{
		cfg:    c,
		blocks: (cig + c.BlockSize - 1) / c.BlockSize,
		conv:   conv,
		weight: newParam("weight", c.Out, cig, c.KH, c.KW),
		blk:    make([]float32, min(c.BlockSize, cig)),
	}
	n := l.weight.Size()
	l.q = make([]int8, n)
	l.wq = make([]float32, n)
	l.kds = make([]float32, c.Out*l.blocks*c.KH*c.KW)
	if c.CDS {
		l.cds = newParam("cds", c.Out)
		for i, d := 0, l.cds.Value.Float32s(); i < len(d); i++ {
			d[i] = 1
		}
	}
	return l, nil
}

// Config returns the configuration with defaults filled in.
func (l *DSConv) Config() DSConvConfig { return l.cfg }

// Weight returns the float shadow weights, of shape (Out, In/Groups, KH, KW).
func (l *DSConv) Weight() *Param { return l.weight }

// Bias returns the bias, or nil if the convolution has none.
func (l *DSConv) Bias() *Param { return l.conv.bias }

// CDS returns the channel distribution shift, of shape (Out), or nil without CDS.
func (l *DSConv) CDS() *Param { return l.cds }

// Params implements Parameterized: weight, then bias and cds where they exist.
func (l *DSConv) Params() []*Param {
	ps := []*Param{l.weight}
	if l.conv.bias != nil {
		ps = append(ps, l.conv.bias)
	}
	if l.cds != nil {
		ps = append(ps, l.cds)
	}
	return ps
}

// Init draws the shadow weights and bias as Conv2D does (the reference's DSConv2d
// calls _ConvNd.reset_parameters) and sets the CDS to 1.
func (l *DSConv) Init(rng *rand.Rand) {
	c := l.cfg
	b := kaimingBound(c.In / c.Groups * c.KH * c.KW)
	uniform(l.weight.Value.Float32s(), b, rng)
	if l.conv.bias != nil {
		uniform(l.conv.bias.Value.Float32s(), b, rng)
	}
	if l.cds != nil {
		for i, d := 0, l.cds.Value.Float32s(); i < len(d); i++ {
			d[i] = 1
		}
	}
}

// OutShape implements Layer.
func (l *DSConv) OutShape(in Shape) (Shape, error) {
	s, err := l.conv.OutShape(in)
	if err != nil {
		return Shape{}, fmt.Errorf("dsconv: %w", err)
	}
	return s, nil
}

// Cost implements Layer: the MACs of the convolution on the reconstructed weights,
// and the trainable values. The per-block KDS multiplications of an integer
// implementation (one per BlockSize MACs) are not counted, as scalings are not.
func (l *DSConv) Cost(in Shape) Cost {
	c := l.conv.Cost(in)
	if l.cds != nil {
		c.Params += int64(l.cfg.Out)
	}
	return c
}

// StorageBits implements CompactStorage: Bits per weight, 32 per kernel and channel
// distribution shift and per bias.
func (l *DSConv) StorageBits() int64 {
	bits := int64(l.cfg.Bits)*int64(l.weight.Size()) + 32*int64(len(l.kds))
	if l.conv.bias != nil {
		bits += 32 * int64(l.cfg.Out)
	}
	if l.cds != nil {
		bits += 32 * int64(l.cfg.Out)
	}
	return bits
}

// Quantize quantises the current shadow weights and returns copies of the integers,
// shaped like the weights, and of the kernel distribution shifts, of shape
// (Out, ceil(In/Groups / BlockSize), KH, KW): the form a deployment stores.
func (l *DSConv) Quantize() (q []int8, kds []float32) {
	l.quantize()
	return append([]int8(nil), l.q...), append([]float32(nil), l.kds...)
}

// Dequantized quantises the current shadow weights and returns the weights that
// the convolution uses, cds[o]*alpha*q, shaped (Out, In/Groups, KH, KW): the layer
// as a plain Conv2D with the same configuration, for export.
func (l *DSConv) Dequantized() *tensor.Dense {
	l.quantize()
	w := l.conv.weight.Value
	return tensor.New(tensor.WithShape(w.Shape().Clone()...), tensor.WithBacking(append([]float32(nil), w.Float32s()...)))
}

// Forward implements Layer.
func (l *DSConv) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	if _, _, _, err := checkInput(l, x); err != nil {
		return nil, err
	}
	l.quantize()
	return l.conv.Forward(x)
}

// Backward implements Layer.
func (l *DSConv) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	gr := l.conv.weight.Grad.Float32s()
	clear(gr)
	dx, err := l.conv.Backward(dy)
	if err != nil {
		return nil, fmt.Errorf("dsconv: %w", err)
	}
	gw := l.weight.Grad.Float32s()
	if l.cds == nil {
		for i, g := range gr {
			gw[i] += g
		}
		return dx, nil
	}
	per := len(gr) / l.cfg.Out
	cv, gc := l.cds.Value.Float32s(), l.cds.Grad.Float32s()
	for o := range l.cfg.Out {
		s, sum := cv[o], float32(0)
		for i := o * per; i < (o+1)*per; i++ {
			gw[i] += s * gr[i]
			sum += gr[i] * l.wq[i]
		}
		gc[o] += sum
	}
	return dx, nil
}

// quantize fills q, kds and wq from the shadow weights and writes the
// reconstructed weights into the convolution's weight.
func (l *DSConv) quantize() {
	c := l.cfg
	w := l.weight.Value.Float32s()
	cig, kk := c.In/c.Groups, c.KH*c.KW
	for o := range c.Out {
		for b := range l.blocks {
			lo, hi := b*c.BlockSize, min((b+1)*c.BlockSize, cig)
			for k := range kk {
				blk := l.blk[:hi-lo]
				first := (o*cig+lo)*kk + k
				for i := range blk {
					blk[i] = w[first+i*kk]
				}
				alpha := quantizeBlock(blk, l.q[first:], kk, c.Bits)
				l.kds[(o*l.blocks+b)*kk+k] = alpha
				for i := range blk {
					j := first + i*kk
					l.wq[j] = alpha * float32(l.q[j])
				}
			}
		}
	}
	wr := l.conv.weight.Value.Float32s()
	if l.cds == nil {
		copy(wr, l.wq)
		return
	}
	per := len(wr) / c.Out
	for o, s := range l.cds.Value.Float32s() {
		for i := o * per; i < (o+1)*per; i++ {
			wr[i] = s * l.wq[i]
		}
	}
}

// quantizeBlock quantises the values v of one block to bits-bit signed integers,
// written to q[0], q[stride], ..., and returns the block's kernel distribution
// shift, following Quantizer.quantize_block and _finding_alpha_ of the reference
// (see DSConv). The scale and products are float32, as PyTorch computes them, so
// that the integers match its rounding exactly; the shift's sums are float64.
func quantizeBlock(v []float32, q []int8, stride, bits int) float32 {
	lo, hi := float32(-(int(1) << (bits - 1))), float32(int(1)<<(bits-1)-1)
	maxPos, maxNeg := v[0], v[0]
	for _, x := range v[1:] {
		maxPos, maxNeg = max(maxPos, x), min(maxNeg, x)
	}
	m := maxNeg
	if abs32(maxPos) > abs32(maxNeg) {
		m = maxPos
	}
	if m == 0 {
		for i := range v {
			q[i*stride] = 0
		}
		return 0
	}
	s := lo / m
	var num, den float64
	for i, x := range v {
		r := float32(math.RoundToEven(float64(float32(s * x))))
		if r != r { // 0 * an infinite scale, when m is subnormal
			r = 0
		}
		r = min(max(r, lo), hi)
		q[i*stride] = int8(r)
		num += float64(x) * float64(r)
		den += float64(r) * float64(r)
	}
	return float32(num / den)
}

func abs32(x float32) float32 { return float32(math.Abs(float64(x))) }
