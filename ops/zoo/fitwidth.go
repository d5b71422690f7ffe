package zoo

import (
	"fmt"

	"nas/ops"
)

// Width search range and resolution of FitWidth.
const (
	// minFitWidth is the narrowest width FitWidth tries: at 0.1 MobileNetV2's
	// channels are already at their floor of 8 (torchvision's _make_divisible), so
	// narrower widths would not be cheaper.
	minFitWidth = 100
	// maxFitWidth is the widest width FitWidth tries, twice the published width.
	maxFitWidth = 2000
	// widthSteps is the resolution of FitWidth's widths: thousandths.
	widthSteps = 1000
)

// FitWidth returns the largest width multiplier, in thousandths between 0.1 and 2,
// at which the network called name, built with the options o (o.Width is ignored),
// costs at most budget MACs, and its cost there: the network "scaled into the same
// budget" as a search's candidates. o.Input is normally the target shape, such as
// 224x224x3, with o.Classes its classes and no proxy strides. The cost of every
// supported network grows with the width (each channel count is a non-decreasing
// function of it), so bisection finds the largest such width. A budget below the
// network's cost at width 0.1 is an error; a network without width support gives an
// error wrapping ErrUnsupported.
func FitWidth(name string, budget int64, o Options) (float64, ops.Cost, error) {
	s, err := Lookup(name)
	if err != nil {
		return 0, ops.Cost{}, err
	}
	if !s.Widths {
		return 0, ops.Cost{}, fmt.Errorf("zoo: %s: fitting a width: %w (widths: %s)", name, ErrUnsupported, supporting(true))
	}
	if budget <= 0 {
		return 0, ops.Cost{}, fmt.Errorf("zoo: %s: budget %d MACs must be positive", name, budget)
	}
	cost := func(k int) (ops.Cost, error) {
		o.Width = float64(k) / widthSteps
		n, err := BuildWith(name, o)
		if err != nil {
			return ops.Cost{}, err
		}
		return n.Cost(), nil
	}
	lo, hi := minFitWidth, maxFitWidth
	loCost, err := cost(lo)
	if err != nil {
		return 0, ops.Cost{}, err
	}
	if loCost.MACs > budget {
		return 0, ops.Cost{}, fmt.Errorf("zoo: %s: budget %d MACs is below the cost at width %v (%d MACs)",
			name, budget, float64(lo)/widthSteps, loCost.MACs)
	}
	hiCost, err := cost(hi)
	if err != nil {
		return 0, ops.Cost{}, err
	}
	if hiCost.MACs <= budget {
		return float64(hi) / widthSteps, hiCost, nil
	}
	// Invariant: cost(lo) <= budget < cost(hi).
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		c, err := cost(mid)
		if err != nil {
			return 0, ops.Cost{}, err
		}
		if c.MACs <= budget {
			lo, loCost = mid, c
		} else {
			hi = mid
		}
	}
	return float64(lo) / widthSteps, loCost, nil
}
