package ops

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gorgonia.org/tensor"
)

// Scheduled is implemented by layers whose behaviour follows the progress of
// training, such as LearnedGroupConv's condensation. A trainer calls SetProgress
// before each step's forward pass with the fraction of the run's steps done so far,
// from 0 on the first step towards 1, as ShichenLiu/CondenseNet main.py passes
// progress = (epoch*len(loader) + i) / (epochs*len(loader)) to the model.
type Scheduled interface {
	SetProgress(done float64)
}

// Regularizer is implemented by layers that add a penalty of their own to the loss.
// A trainer calls Regularize after the step's Backward and before the optimizer
// step; Regularize adds the penalty's gradient into its parameters' Grad tensors and
// returns the penalty's value (already weighted), which the trainer may report.
type Regularizer interface {
	Regularize() float64
}

// LearnedGroupConfig describes a learned group convolution.
type LearnedGroupConfig struct {
	// In and Out are the input and output channels; Groups and Condense divide In,
	// Groups divides Out.
	In, Out int
	// Groups is the number of groups G of the converted convolution; 0 means 1.
	Groups int
	// Condense is the condensation factor C: each group keeps In/C input channels
	// after C-1 condensation stages. 0 means Groups, the reference's default.
	Condense int
	// Dropout is the drop probability applied before the convolution during
	// training; 0 means none (the reference's --dropout-rate default).
	Dropout float64
	// Lasso is the weight of the group-lasso penalty (the reference's
	// --group-lasso-lambda); 0 means none, the reference's default.
	Lasso float64
	// PriceConverted makes Cost report PrunedCost, the cost of the converted layer
	// after the last condensation stage, which is what a budget should price: the
	// layer trains in its dense masked form but deploys converted. The layer then
	// reports no child shapes (ChildShapes returns nil), so that a network's layer
	// table shows it as one row at that cost rather than its training form's rows.
	// False, the default, prices the training form.
	PriceConverted bool
}

// LearnedGroupConv is CondenseNet's learned group convolution (Huang et al., CVPR
// 2018; ShichenLiu/CondenseNet layers.py LearnedGroupConv): batch norm, ReLU,
// optional dropout and a 1x1 convolution whose weights are multiplied by a mask.
// Output channel o belongs to group o mod G, as in the reference, and all outputs of
// a group share one set of kept input channels.
//
// During the first half of training the mask is condensed in C-1 stages (see
// SetProgress): at each, every group drops the In/C of its remaining input channels
// whose weights have the smallest L1 norm over the group's outputs, so that each
// group ends with In/C inputs. A group-lasso penalty (Regularize) pushes whole
// group-input columns towards zero before they are dropped. Convert returns the
// inference form, an index-select and a standard group convolution.
//
// Its children are the batch norm, the ReLU, the dropout if any and the dense
// convolution, so parameters are named "norm", "conv" by index as for a Sequential.
// Forward zeroes the dropped weights of the convolution before running, and
// Backward zeroes their gradients. Momentum gathered before a connection was dropped
// can still move its stored weight after the drop, but every Forward zeroes it again,
// so a dropped connection never contributes to an output or a gradient.
type LearnedGroupConv struct {
	cfg  LearnedGroupConfig
	norm *BatchNorm2D
	conv *Conv2D
	body *Sequential

	// keep[g*In+j] reports whether group g still uses input channel j.
	keep []bool
	// count is how many input channels each group has dropped, stage the last
	// condensation stage reached (0 to C-1).
	count, stage int
	imp          []float64 // per input importance, scratch for condense
	order        []int     // candidate inputs, scratch for condense
}

var (
	_ Layer       = (*LearnedGroupConv)(nil)
	_ Container   = (*LearnedGroupConv)(nil)
	_ ShapeWalker = (*LearnedGroupConv)(nil)
	_ Initializer = (*LearnedGroupConv)(nil)
	_ Scheduled   = (*LearnedGroupConv)(nil)
	_ Regularizer = (*LearnedGroupConv)(nil)
	_ Describer   = (*LearnedGroupConv)(nil)
)

// NewLearnedGroupConv returns a learned group convolution with every connection kept
// and zero weights (Init draws them). rng draws the dropout masks and may be nil
// when c.Dropout is 0.
func NewLearnedGroupConv(c LearnedGroupConfig, rng *rand.Rand) (*LearnedGroupConv, error) {
	c.Groups = max(c.Groups, 1)
	if c.Condense == 0 {
		c.Condense = c.Groups
	}
	switch {
	case c.In <= 0 || c.Out <= 0:
		return nil, fmt.Errorf("learned group conv: channels %d -> %d must be positive", c.In, c.Out)
	case c.Condense < 1:
		return nil, fmt.Errorf("learned group conv: condensation factor %d must be positive", c.Condense)
	case c.In%c.Groups != 0 || c.Out%c.Groups != 0:
		return nil, fmt.Errorf("learned group conv: %d groups do not divide channels %d -> %d", c.Groups, c.In, c.Out)
	case c.In%c.Condense != 0:
		return nil, fmt.Errorf("learned group conv: condensation factor %d does not divide %d input channels", c.Condense, c.In)
	case !(c.Lasso >= 0) || math.IsInf(c.Lasso, 0):
		return nil, fmt.Errorf("learned group conv: group-lasso weight %v must be finite and not negative", c.Lasso)
	}
	conv, err := NewConv2D(ConvConfig{In: c.In, Out: c.Out, KH: 1, KW: 1})
	if err != nil {
		return nil, fmt.Errorf("learned group conv: %w", err)
	}
	l := &LearnedGroupConv{cfg: c, norm: NewBatchNorm2D(c.In), conv: conv, keep: make([]bool, c.Groups*c.In)}
	l.body = Seq(l.norm, NewReLU())
	if c.Dropout > 0 {
		d, err := NewDropout(c.Dropout, rng)
		if err != nil {
			return nil, fmt.Errorf("learned group conv: %w", err)
		}
		l.body.Layers = append(l.body.Layers, d)
	}
	l.body.Layers = append(l.body.Layers, conv)
	l.reset()
	return l, nil
}

// reset keeps every connection and returns to stage 0.
func (l *LearnedGroupConv) reset() {
	for i := range l.keep {
		l.keep[i] = true
	}
	l.count, l.stage = 0, 0
}

// Config returns the configuration with defaults filled in.
func (l *LearnedGroupConv) Config() LearnedGroupConfig { return l.cfg }

// Norm returns the batch norm over the input channels.
func (l *LearnedGroupConv) Norm() *BatchNorm2D { return l.norm }

// Conv returns the dense 1x1 convolution whose weights the mask multiplies.
func (l *LearnedGroupConv) Conv() *Conv2D { return l.conv }

// Stage returns the condensation stage reached, from 0 (nothing dropped) to C-1
// (every group keeps In/C input channels).
func (l *LearnedGroupConv) Stage() int { return l.stage }

// Kept reports whether group g still uses input channel j.
func (l *LearnedGroupConv) Kept(g, j int) bool { return l.keep[g*l.cfg.In+j] }

// Children implements Container.
func (l *LearnedGroupConv) Children() []Layer { return l.body.Layers }

// ChildShapes implements ShapeWalker: every child sees the input's shape. With
// PriceConverted it returns nil: the children's costs are the training form's and
// do not add up to the layer's.
func (l *LearnedGroupConv) ChildShapes(in Shape) []Shape {
	if l.cfg.PriceConverted {
		return nil
	}
	return l.body.ChildShapes(in)
}

// Describe implements Describer.
func (l *LearnedGroupConv) Describe() string {
	d := fmt.Sprintf("LearnedGroupConv %d->%d G%d C%d stage %d", l.cfg.In, l.cfg.Out, l.cfg.Groups, l.cfg.Condense, l.stage)
	if l.cfg.PriceConverted {
		d += " (priced converted)"
	}
	return d
}

// Init implements Initializer: it keeps every connection again and returns to stage
// 0; the children draw their own weights.
func (l *LearnedGroupConv) Init(*rand.Rand) { l.reset() }

// OutShape implements Layer.
func (l *LearnedGroupConv) OutShape(in Shape) (Shape, error) {
	out, err := l.body.OutShape(in)
	if err != nil {
		return Shape{}, fmt.Errorf("learned group conv: %w", err)
	}
	return out, nil
}

// Cost implements Layer: the dense convolution that training computes, In*Out
// weights per pixel, and the batch norm; with PriceConverted, PrunedCost, the price
// of the converted layer.
func (l *LearnedGroupConv) Cost(in Shape) Cost {
	if l.cfg.PriceConverted {
		return l.PrunedCost(in)
	}
	return l.body.Cost(in)
}

// PrunedCost returns the price of the converted layer after all C-1 condensation
// stages (CondensingConv in the reference): a batch norm over the G*In/C selected
// channels and a 1x1 convolution from them to Out with G groups, that is
// H*W*Out*In/C MACs and Out*In/C + 2*G*In/C parameters.
func (l *LearnedGroupConv) PrunedCost(in Shape) Cost {
	keep := l.cfg.In / l.cfg.Condense
	return Cost{
		MACs:   int64(in.H*in.W) * int64(l.cfg.Out*keep),
		Params: int64(l.cfg.Out*keep + 2*l.cfg.Groups*keep),
	}
}

// Forward implements Layer.
func (l *LearnedGroupConv) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	l.maskValues(l.conv.weight.Value.Float32s())
	y, err := l.body.Forward(x)
	if err != nil {
		return nil, fmt.Errorf("learned group conv: %w", err)
	}
	return y, nil
}

// Backward implements Layer.
func (l *LearnedGroupConv) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := l.body.Backward(dy)
	if err != nil {
		return nil, fmt.Errorf("learned group conv: %w", err)
	}
	l.maskValues(l.conv.weight.Grad.Float32s())
	return dx, nil
}

// maskValues zeroes the entries of an (Out, In) weight-shaped slice whose connection
// was dropped.
func (l *LearnedGroupConv) maskValues(w []float32) {
	if l.count == 0 {
		return
	}
	in, g := l.cfg.In, l.cfg.Groups
	for o := 0; o < l.cfg.Out; o++ {
		keep, row := l.keep[(o%g)*in:(o%g+1)*in], w[o*in:(o+1)*in]
		for j, k := range keep {
			if !k {
				row[j] = 0
			}
		}
	}
}

// stageAt returns the condensation stage of a training progress, as the reference's
// _check_drop: the first i in [0, C-2] with 2*done < (i+1)/(C-1), else C-1. The
// stages thus fall in the first half of training and the last is reached at half way.
func (l *LearnedGroupConv) stageAt(done float64) int {
	c := l.cfg.Condense
	for i := 0; i < c-1; i++ {
		if done*2 < float64(i+1)/float64(c-1) {
			return i
		}
	}
	return c - 1
}

// SetProgress implements Scheduled: on reaching a new condensation stage, every
// group drops In/C of its remaining input channels (condense). A progress that skips
// stages condenses once per stage passed; the reference, called every step, never
// skips one.
func (l *LearnedGroupConv) SetProgress(done float64) {
	for s := l.stageAt(done); l.stage < s; {
		l.stage++
		l.condense(l.cfg.In / l.cfg.Condense)
	}
}

// condense drops, in every group, the delta kept input channels of least importance:
// the sum over the group's outputs of the masked weights' magnitudes (the
// reference's _dropping). Ties are broken towards the lower channel index. The
// reference sorts all channels, dropped ones (importance 0) first, and takes the
// next delta; that is the same choice unless a kept channel's weights are exactly 0.
func (l *LearnedGroupConv) condense(delta int) {
	in, g := l.cfg.In, l.cfg.Groups
	w := l.conv.weight.Value.Float32s()
	if len(l.imp) < in {
		l.imp, l.order = make([]float64, in), make([]int, 0, in)
	}
	for grp := 0; grp < g; grp++ {
		keep, imp := l.keep[grp*in:(grp+1)*in], l.imp[:in]
		clear(imp)
		for o := grp; o < l.cfg.Out; o += g {
			for j, v := range w[o*in : (o+1)*in] {
				if keep[j] {
					imp[j] += math.Abs(float64(v))
				}
			}
		}
		l.order = l.order[:0]
		for j, k := range keep {
			if k {
				l.order = append(l.order, j)
			}
		}
		slices.SortFunc(l.order, func(a, b int) int {
			if c := cmp.Compare(imp[a], imp[b]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		})
		for _, j := range l.order[:min(delta, len(l.order))] {
			keep[j] = false
		}
	}
	l.count += delta
	l.maskValues(w)
}

// GroupLasso returns the group-lasso penalty without its weight, the reference's
// lasso_loss: over groups g and input channels j, the sum of
// sqrt(max(sum over g's outputs o of w[o][j]^2, 1e-6)) of the masked weights. It is
// 0 once the last stage is reached (the reference tests its stage against G-1,
// which is C-1 when C = G, its default).
func (l *LearnedGroupConv) GroupLasso() float64 {
	if l.stage >= l.cfg.Condense-1 {
		return 0
	}
	return l.lasso(0)
}

// Regularize implements Regularizer: it adds Lasso times the gradient of GroupLasso
// to the convolution's weight gradient and returns Lasso*GroupLasso(). It does
// nothing when Lasso is 0 or the last stage is reached.
func (l *LearnedGroupConv) Regularize() float64 {
	if l.cfg.Lasso == 0 || l.stage >= l.cfg.Condense-1 {
		return 0
	}
	return l.cfg.Lasso * l.lasso(l.cfg.Lasso)
}

// lassoFloor is the reference's clamp(min=1e-6) of the squared group norms.
const lassoFloor = 1e-6

// lasso returns the unweighted group-lasso sum at any stage and, if lambda is not 0,
// adds lambda times its gradient to the weight gradient: w[o][j]/norm(g, j) for the
// kept weights of the groups whose squared norm is above the clamp (whose gradient
// is 0 below it, as torch.clamp's).
func (l *LearnedGroupConv) lasso(lambda float64) float64 {
	in, g := l.cfg.In, l.cfg.Groups
	w, gw := l.conv.weight.Value.Float32s(), l.conv.weight.Grad.Float32s()
	if len(l.imp) < in {
		l.imp = make([]float64, in)
	}
	sq := l.imp[:in]
	var sum float64
	for grp := 0; grp < g; grp++ {
		clear(sq)
		keep := l.keep[grp*in : (grp+1)*in]
		for o := grp; o < l.cfg.Out; o += g {
			for j, v := range w[o*in : (o+1)*in] {
				if keep[j] {
					sq[j] += float64(v) * float64(v)
				}
			}
		}
		for j, s := range sq {
			norm := math.Sqrt(max(s, lassoFloor))
			sum += norm
			if lambda == 0 || !keep[j] || s < lassoFloor {
				continue
			}
			for o := grp; o < l.cfg.Out; o += g {
				gw[o*in+j] += float32(lambda * float64(w[o*in+j]) / norm)
			}
		}
	}
	return sum
}

// Convert returns the inference form of the layer, the reference's CondensingConv:
// an IndexSelect of each group's kept input channels (groups in order, channels
// ascending within a group, so a channel kept by several groups repeats), batch norm
// over the selection with the statistics and parameters of the channels selected,
// ReLU, a 1x1 convolution with G groups and a channel shuffle over G that puts the
// outputs back in the order of the trained layer. Its outputs equal the trained
// layer's in evaluation mode, where dropout is the identity, so the converted form
// has no dropout. At stage C-1 it costs PrunedCost; before, each group keeps more.
func (l *LearnedGroupConv) Convert() (*Sequential, error) {
	c := l.cfg
	kept := c.In - l.count
	if kept <= 0 {
		return nil, fmt.Errorf("learned group conv: every input channel dropped")
	}
	index := make([]int, 0, c.Groups*kept)
	for grp := 0; grp < c.Groups; grp++ {
		n := 0
		for j := 0; j < c.In; j++ {
			if l.keep[grp*c.In+j] {
				index = append(index, j)
				n++
			}
		}
		if n != kept {
			return nil, fmt.Errorf("learned group conv: group %d keeps %d input channels, want %d", grp, n, kept)
		}
	}
	sel, err := NewIndexSelect(index)
	if err != nil {
		return nil, fmt.Errorf("learned group conv: %w", err)
	}
	bn := NewBatchNorm2D(len(index))
	bn.Eps, bn.Momentum, bn.training = l.norm.Eps, l.norm.Momentum, l.norm.training
	gamma, beta := l.norm.weight.Value.Float32s(), l.norm.bias.Value.Float32s()
	for i, j := range index {
		bn.weight.Value.Float32s()[i] = gamma[j]
		bn.bias.Value.Float32s()[i] = beta[j]
		bn.runMean[i], bn.runVar[i] = l.norm.runMean[j], l.norm.runVar[j]
	}
	conv, err := NewConv2D(ConvConfig{In: len(index), Out: c.Out, KH: 1, KW: 1, Groups: c.Groups})
	if err != nil {
		return nil, fmt.Errorf("learned group conv: %w", err)
	}
	// Converted output grp*dOut+k is trained output k*G+grp; the shuffle undoes it.
	dOut := c.Out / c.Groups
	src, dst := l.conv.weight.Value.Float32s(), conv.weight.Value.Float32s()
	for grp := 0; grp < c.Groups; grp++ {
		for k := 0; k < dOut; k++ {
			row := dst[(grp*dOut+k)*kept : (grp*dOut+k+1)*kept]
			from := src[(k*c.Groups+grp)*c.In:]
			for t, j := range index[grp*kept : (grp+1)*kept] {
				row[t] = from[j]
			}
		}
	}
	sh, err := NewChannelShuffle(c.Groups)
	if err != nil {
		return nil, fmt.Errorf("learned group conv: %w", err)
	}
	return Seq(sel, bn, NewReLU(), conv, sh), nil
}
