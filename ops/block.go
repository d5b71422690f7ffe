package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Block is a named building block of the grouped-convolution literature (an inverted
// residual, a ShuffleNet unit, a MixConv, ...) built by composing layers. It delegates
// everything to Body and adds a kind and a short description of its settings, which
// the network's per-layer table shows.
type Block struct {
	// Kind names the block, such as "inverted_residual" or "shufflenet_v2".
	Kind string
	// Settings summarises the block's key settings, such as "k3,5 s2 g4"; it may be empty.
	Settings string
	// Body computes the block.
	Body Layer
}

var (
	_ Layer     = (*Block)(nil)
	_ Container = (*Block)(nil)
)

// Children implements Container: the body alone, so parameter paths start with "0.".
func (b *Block) Children() []Layer { return []Layer{b.Body} }

// Describe returns the kind followed by the settings, for the network's layer table.
func (b *Block) Describe() string {
	if b.Settings == "" {
		return b.Kind
	}
	return b.Kind + " " + b.Settings
}

// OutShape implements Layer.
func (b *Block) OutShape(in Shape) (Shape, error) {
	s, err := b.Body.OutShape(in)
	if err != nil {
		return Shape{}, fmt.Errorf("%s: %w", b.Kind, err)
	}
	return s, nil
}

// Cost implements Layer.
func (b *Block) Cost(in Shape) Cost { return b.Body.Cost(in) }

// Forward implements Layer.
func (b *Block) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	y, err := b.Body.Forward(x)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Kind, err)
	}
	return y, nil
}

// Backward implements Layer.
func (b *Block) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := b.Body.Backward(dy)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.Kind, err)
	}
	return dx, nil
}

// Act selects the activation function of a block. The zero value is ActNone.
type Act int

// The activations blocks use.
const (
	// ActNone applies no activation.
	ActNone Act = iota
	// ActReLU is max(0, x).
	ActReLU
	// ActReLU6 is min(max(0, x), 6), MobileNetV2's activation.
	ActReLU6
	// ActHSwish is x*ReLU6(x+3)/6, MobileNetV3's hard swish.
	ActHSwish
	// ActSwish is x*sigmoid(x) (SiLU), MixNet's and EfficientNet's activation.
	ActSwish
	// ActSigmoid is 1/(1+exp(-x)), the gate of squeeze-and-excitation.
	ActSigmoid
	// ActHSigmoid is ReLU6(x+3)/6, MobileNetV3's hard sigmoid gate.
	ActHSigmoid
)

var actNames = [...]string{
	ActNone:     "none",
	ActReLU:     "relu",
	ActReLU6:    "relu6",
	ActHSwish:   "hswish",
	ActSwish:    "swish",
	ActSigmoid:  "sigmoid",
	ActHSigmoid: "hsigmoid",
}

// String returns the activation's name as UnmarshalText accepts it.
func (a Act) String() string {
	if a < 0 || int(a) >= len(actNames) {
		return fmt.Sprintf("Act(%d)", int(a))
	}
	return actNames[a]
}

// MarshalText implements encoding.TextMarshaler.
func (a Act) MarshalText() ([]byte, error) {
	if a < 0 || int(a) >= len(actNames) {
		return nil, fmt.Errorf("unknown activation %d", int(a))
	}
	return []byte(actNames[a]), nil
}

// UnmarshalText implements encoding.TextUnmarshaler, accepting the names String
// returns.
func (a *Act) UnmarshalText(text []byte) error {
	for i, n := range actNames {
		if string(text) == n {
			*a = Act(i)
			return nil
		}
	}
	return fmt.Errorf("unknown activation %q (want one of %v)", text, actNames)
}

func (a Act) valid() bool { return a >= 0 && int(a) < len(actNames) }

// newAct returns a fresh layer computing a, or nil for ActNone (and for values
// outside the enumeration, which constructors reject with valid first).
func newAct(a Act) Layer {
	switch a {
	case ActReLU:
		return NewReLU()
	case ActReLU6:
		return NewReLU6()
	case ActHSwish:
		return NewHSwish()
	case ActSwish:
		return NewSwish()
	case ActSigmoid:
		return NewSigmoid()
	case ActHSigmoid:
		return NewHSigmoid()
	}
	return nil
}

// convBN returns the convolution of cfg without bias, a batch norm over its outputs
// and the activation act (none for ActNone): the conv-BN-act unit of every block.
func convBN(cfg ConvConfig, act Act) (*Sequential, error) {
	if !act.valid() {
		return nil, fmt.Errorf("unknown activation %d", int(act))
	}
	cfg.Bias = false
	c, err := NewConv2D(cfg)
	if err != nil {
		return nil, err
	}
	s := Seq(c, NewBatchNorm2D(cfg.Out))
	if a := newAct(act); a != nil {
		s.Layers = append(s.Layers, a)
	}
	return s, nil
}
