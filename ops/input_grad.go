package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// inputGradSkipper is implemented by layers that can leave their input gradient
// uncomputed in the next backward pass, when nothing will read it: the first layer
// of a network in a training step. skipInputGrad reports whether the layer will
// skip it; a layer that skips returns a gradient tensor of the right shape whose
// values are unspecified, until skipInputGrad(false).
type inputGradSkipper interface {
	skipInputGrad(skip bool) bool
}

var (
	_ inputGradSkipper = (*Sequential)(nil)
	_ inputGradSkipper = (*Block)(nil)
	_ inputGradSkipper = (*Conv2D)(nil)
)

// skipInputGrad implements inputGradSkipper: the input gradient of a sequence is its
// first layer's.
func (s *Sequential) skipInputGrad(skip bool) bool {
	if len(s.Layers) == 0 {
		return false
	}
	l, ok := s.Layers[0].(inputGradSkipper)
	return ok && l.skipInputGrad(skip)
}

// skipInputGrad implements inputGradSkipper through the body.
func (b *Block) skipInputGrad(skip bool) bool {
	l, ok := b.Body.(inputGradSkipper)
	return ok && l.skipInputGrad(skip)
}

// skipInputGrad implements inputGradSkipper: the convolution still computes its
// parameter gradients (and, fused with a batch norm after it, that batch norm's input
// gradient, which it needs for them), but not the gradient with respect to its input.
func (l *Conv2D) skipInputGrad(skip bool) bool {
	l.noDX = skip
	return true
}

// BackwardParams is Backward for a training step: it adds the parameters' gradients
// for the gradient dy at the output of the last Forward, and skips the gradient with
// respect to the network's input where the first layer can (a convolution), which
// nothing reads and which costs that layer about half of its backward pass.
func (n *Network) BackwardParams(dy *tensor.Dense) error {
	if sk, ok := n.root.(inputGradSkipper); ok && sk.skipInputGrad(true) {
		defer sk.skipInputGrad(false)
	}
	if _, err := n.root.Backward(dy); err != nil {
		return fmt.Errorf("network: backward: %w", err)
	}
	return nil
}
