package space

import (
	"math/rand/v2"
)

// Repair returns g made canonical and brought within the budget: if its deployment
// network is over the budget, its width multiplier is shrunk by bisection (as
// MobileNet and EfficientNet scale networks) to the largest that fits; if even the
// smallest width is over, the deepest stages lose blocks one at a time until it
// fits. It never samples anew, and the result always fits, since New checked the
// smallest architecture.
func (s *Space) Repair(g Genome) (Genome, error) {
	g = s.canonical(g)
	for {
		c, err := s.Cost(g)
		if err != nil {
			return g, err
		}
		if c.MACs <= int64(s.cfg.Budget) {
			return g, nil
		}
		lo := g
		lo.WidthMult = MinWidthMult
		if c, err := s.Cost(lo); err != nil {
			return g, err
		} else if c.MACs <= int64(s.cfg.Budget) {
			return s.bisectWidth(g)
		}
		// Even the narrowest is over: shorten the deepest stage (the last of the
		// deepest on ties), keeping the width.
		deepest := -1
		for i, st := range g.Stages {
			if st.Depth > 1 && (deepest < 0 || st.Depth >= g.Stages[deepest].Depth) {
				deepest = i
			}
		}
		if deepest < 0 {
			// All stages at depth 1 and still over: fall back to the space's cheapest
			// architecture, which fits.
			return s.minimal.Clone(), nil
		}
		g.Stages[deepest].Depth--
	}
}

// bisectWidth finds, to 1/1000, the largest width multiplier at most g's whose
// network fits the budget, given that MinWidthMult fits.
func (s *Space) bisectWidth(g Genome) (Genome, error) {
	lo, hi := MinWidthMult, g.WidthMult
	for hi-lo > 0.001 {
		mid := quantize((lo + hi) / 2)
		if mid <= lo || mid >= hi {
			break
		}
		t := g
		t.WidthMult = mid
		c, err := s.Cost(t)
		if err != nil {
			return g, err
		}
		if c.MACs <= int64(s.cfg.Budget) {
			lo = mid
		} else {
			hi = mid
		}
	}
	g.WidthMult = lo
	return g, nil
}

// Sample draws a genome uniformly over the genes' choices and repairs it into the
// budget. It draws only from rng.
func (s *Space) Sample(rng *rand.Rand) (Genome, error) {
	g := Genome{WidthMult: pick(rng, WidthMults)}
	for range s.cfg.Skeleton {
		g.Stages = append(g.Stages, s.randomStage(rng))
	}
	return s.Repair(g)
}

// randomStage draws every gene of a stage. The genes the default space lacks come
// last and are drawn only when the space gives them more than one value, so that
// the default space draws as it did before they existed.
func (s *Space) randomStage(rng *rand.Rand) Stage {
	st := Stage{
		Family:     choose(rng, s.cfg.Families),
		Depth:      1 + rng.IntN(MaxDepth),
		Width:      pick(rng, Widths),
		Expand:     pick(rng, Expands),
		Groups:     pick(rng, GroupCounts),
		Alpha:      pick(rng, Alphas),
		Interleave: Interleave(rng.IntN(int(numInterleaves))),
	}
	// A random non-empty subset of the kernel sizes.
	for st.Kernels == nil {
		for _, k := range KernelSizes {
			if rng.IntN(2) == 0 {
				st.Kernels = append(st.Kernels, k)
			}
		}
	}
	st.Grouping = choose(rng, s.cfg.Groupings)
	if b := choose(rng, s.cfg.Bits); b != 32 {
		st.Bits = b
	}
	return st
}

func pick[T any](rng *rand.Rand, choices []T) T { return choices[rng.IntN(len(choices))] }

// choose is pick for the genes a space configures: a single choice is returned
// without drawing from rng (rng.IntN(1) would consume a value).
func choose[T any](rng *rand.Rand, choices []T) T {
	if len(choices) == 1 {
		return choices[0]
	}
	return pick(rng, choices)
}

// Mutate returns a copy of g with one to three genes redrawn, repaired into the
// budget. g is not modified.
func (s *Space) Mutate(g Genome, rng *rand.Rand) (Genome, error) {
	g = s.canonical(g)
	n := 1 + rng.IntN(3)
	for range n {
		if rng.IntN(8) == 0 {
			g.WidthMult = pick(rng, WidthMults)
			continue
		}
		st := &g.Stages[rng.IntN(len(g.Stages))]
		r := s.randomStage(rng)
		// The eight genes of the default space, then the grouping mode and the bit
		// width when the space draws them.
		genes := 8
		if s.drawsGrouping() {
			genes++
		}
		if s.drawsBits() {
			genes++
		}
		switch k := rng.IntN(genes); {
		case k == 0:
			st.Family = r.Family
		case k == 1:
			st.Depth = r.Depth
		case k == 2:
			st.Width = r.Width
		case k == 3:
			st.Expand = r.Expand
		case k == 4:
			st.Groups = r.Groups
		case k == 5:
			st.Kernels = r.Kernels
		case k == 6:
			st.Alpha = r.Alpha
		case k == 7:
			st.Interleave = r.Interleave
		case k == 8 && s.drawsGrouping():
			st.Grouping = r.Grouping
		default:
			st.Bits = r.Bits
		}
	}
	return s.Repair(g)
}

// Crossover returns two children of a and b that take each stage whole from one
// parent or the other (uniform crossover over stages) and the width multiplier of
// one of them, both repaired into the budget.
func (s *Space) Crossover(a, b Genome, rng *rand.Rand) (Genome, Genome, error) {
	x, y := s.canonical(a), s.canonical(b)
	for i := range x.Stages {
		if rng.IntN(2) == 0 {
			x.Stages[i], y.Stages[i] = y.Stages[i], x.Stages[i]
		}
	}
	if rng.IntN(2) == 0 {
		x.WidthMult, y.WidthMult = y.WidthMult, x.WidthMult
	}
	x, err := s.Repair(x)
	if err != nil {
		return x, y, err
	}
	y, err = s.Repair(y)
	return x, y, err
}
