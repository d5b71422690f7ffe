package ops

import (
	"fmt"
	"math/rand/v2"

	"gorgonia.org/tensor"
)

// Dropout zeroes each value with probability p in training mode and scales the kept
// ones by 1/(1-p) (inverted dropout, Srivastava et al. 2014, as PyTorch's nn.Dropout),
// so that evaluation mode is the identity. The mask is drawn from the layer's own
// *rand.Rand, one draw per value in order, so a seeded run is reproducible; it cannot
// reproduce PyTorch's generator.
type Dropout struct {
	p        float64
	rng      *rand.Rand
	training bool

	n        int
	in       Shape
	ready    bool
	masked   bool      // whether the last Forward applied a mask
	mask     []float32 // 0 or 1/(1-p) per value of the last Forward
	out, dx  buffer
	keepFrom uint32 // a 32-bit draw below it drops the value
}

var (
	_ Layer      = (*Dropout)(nil)
	_ ModeSetter = (*Dropout)(nil)
)

// NewDropout returns a dropout layer in training mode that drops values with
// probability p in [0, 1), drawing its masks from rng (which may be nil only if p is 0).
func NewDropout(p float64, rng *rand.Rand) (*Dropout, error) {
	if !(p >= 0 && p < 1) {
		return nil, fmt.Errorf("dropout: probability %v not in [0, 1)", p)
	}
	if rng == nil && p > 0 {
		return nil, fmt.Errorf("dropout: nil random source")
	}
	// p*2^32 < 2^32 because p < 1; the drop probability is then p to within 2^-32.
	return &Dropout{p: p, rng: rng, training: true, keepFrom: uint32(p * (1 << 32))}, nil
}

// P returns the drop probability.
func (l *Dropout) P() float64 { return l.p }

// SetTraining implements ModeSetter.
func (l *Dropout) SetTraining(training bool) { l.training = training }

// OutShape implements Layer.
func (l *Dropout) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("dropout: invalid input shape %v", in)
	}
	return in, nil
}

// Cost implements Layer: dropout costs nothing.
func (l *Dropout) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *Dropout) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, _, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	l.n, l.in, l.ready = n, in, true
	y := l.out.get(n, in)
	xd, yd := x.Float32s(), y.Float32s()
	l.masked = l.training && l.p > 0
	if !l.masked {
		copy(yd, xd)
		return y, nil
	}
	if cap(l.mask) < len(xd) {
		l.mask = make([]float32, len(xd))
	}
	l.mask = l.mask[:len(xd)]
	scale := float32(1 / (1 - l.p))
	// Two 32-bit draws per 64-bit random number, in order, so the mask depends only
	// on the generator's state.
	var r uint64
	for i := range l.mask {
		if i%2 == 0 {
			r = l.rng.Uint64()
		} else {
			r >>= 32
		}
		if uint32(r) < l.keepFrom {
			l.mask[i] = 0
		} else {
			l.mask[i] = scale
		}
	}
	for i, v := range xd {
		yd[i] = v * l.mask[i]
	}
	return y, nil
}

// Backward implements Layer: the gradient passes through the mask of the last Forward.
func (l *Dropout) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if !l.ready {
		return nil, fmt.Errorf("dropout: backward before forward")
	}
	if err := checkGrad(dy, l.n, l.in); err != nil {
		return nil, fmt.Errorf("dropout: %w", err)
	}
	dx := l.dx.get(l.n, l.in)
	dyd, dxd := dy.Float32s(), dx.Float32s()
	if !l.masked {
		copy(dxd, dyd)
		return dx, nil
	}
	for i, g := range dyd {
		dxd[i] = g * l.mask[i]
	}
	return dx, nil
}
