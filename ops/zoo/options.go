package zoo

import (
	"math/bits"

	"nas/ops"
)

// Options say how BuildWith builds a network. The zero value builds it as Build does
// at the network's reference input and class count.
type Options struct {
	// Input is the per-sample input shape; the zero value means the network's
	// reference input, Spec.Input.
	Input ops.Shape
	// Classes is the number of logits; 0 means Spec.Classes.
	Classes int
	// Width is the width multiplier; 0 means 1. Each network scales its channels as
	// its reference implementation does (see its builder's documentation). Only
	// networks whose Spec.Widths is set accept a width other than 1.
	Width float64
	// ProxyStrides is how many of the network's first stride-2 downsamplings (a
	// convolution, a pool or a unit whose strided paths see one input) become stride
	// 1; 0 means none. It is the search's proxy derivation (package space's
	// strides): on an input smaller than the target, turning the first
	// log2(target/input) downsamplings to stride 1 lets the later stages see the
	// target's feature-map sizes (ProxyStridesFor). At most Spec.ProxyStrides.
	ProxyStrides int
}

// ProxyStridesFor returns the number of proxy strides that make an input of shape in
// reach the feature-map sizes a network sees at target after its first downsamplings:
// floor(log2(target.H / in.H)), or 0 when in is not smaller than target. It is how
// package space derives a proxy from its target shape (224/28 = 8: 3; 224/32 = 7: 2).
func ProxyStridesFor(target, in ops.Shape) int {
	ratio := target.H / max(1, in.H)
	if ratio <= 1 {
		return 0
	}
	return bits.Len(uint(ratio)) - 1
}

// strider hands out the strides of a network's downsamplings in the order the
// network applies them, turning the first left stride-2 ones into stride 1
// (Options.ProxyStrides).
type strider struct {
	left int
}

// next returns the stride of a downsampling that the network has at stride s.
func (d *strider) next(s int) int {
	if s == 2 && d.left > 0 {
		d.left--
		return 1
	}
	return s
}

// makeDivisible is torchvision's _make_divisible(v, divisor) (models/_utils.py, from
// tensorflow/models research/slim/nets/mobilenet/mobilenet.py): v rounded to the
// nearest multiple of divisor, at least divisor, and not more than 10% below v.
func makeDivisible(v float64, divisor int) int {
	d := float64(divisor)
	n := max(divisor, int(v+d/2)/divisor*divisor)
	if float64(n) < 0.9*v {
		n += divisor
	}
	return n
}

// lcm returns the least common multiple of a and b, both positive.
func lcm(a, b int) int {
	x, y := a, b
	for y != 0 {
		x, y = y, x%y
	}
	return a / x * b
}
