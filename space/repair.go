package space

import (
	"math"
	"slices"
)

// canonical returns g with every gene valid and every gene its family ignores set
// to one fixed value, so that equal architectures have equal genomes. It repairs
// deterministically: an invalid value becomes the nearest valid one.
func (s *Space) canonical(g Genome) Genome {
	g = g.Clone()
	if len(g.Stages) != len(s.cfg.Skeleton) {
		stages := make([]Stage, len(s.cfg.Skeleton))
		for i := range stages {
			if i < len(g.Stages) {
				stages[i] = g.Stages[i]
			} else {
				stages[i] = Stage{Depth: s.cfg.Skeleton[i].Depth}
			}
		}
		g.Stages = stages
	}
	g.WidthMult = quantize(clamp(g.WidthMult, MinWidthMult, WidthMults[len(WidthMults)-1]))
	in := s.stemChannelsBase()
	for i := range g.Stages {
		st := &g.Stages[i]
		sk := s.cfg.Skeleton[i]
		if st.Family < 0 || st.Family >= numFamilies {
			st.Family = InvertedResidual
		}
		// ShuffleNet units add (V1) or split (V2) at stride 1, so they need the
		// stage's input and output channels to match there; stages that change
		// their width at stride 1 use inverted residual blocks instead.
		if (st.Family == ShuffleV1 || st.Family == ShuffleV2) && sk.Stride == 1 && in != sk.Channels {
			st.Family = InvertedResidual
		}
		st.Depth = min(max(st.Depth, 1), MaxDepth)
		st.Width = nearestFloat(Widths, st.Width)
		st.Expand = nearestInt(Expands, st.Expand)
		st.Groups = nearestInt(GroupCounts, st.Groups)
		st.Alpha = nearestFloat(Alphas, st.Alpha)
		st.Kernels = validKernels(st.Kernels)
		if st.Interleave < 0 || st.Interleave >= numInterleaves {
			st.Interleave = NoInterleave
		}
		switch st.Family {
		case InvertedResidual:
			if st.Groups == 1 {
				st.Interleave = NoInterleave
			}
			if st.Interleave == IGCPermutation {
				// An inverted residual with IGC's permutations is IGCV3's block.
				st.Family = IGC
			}
		case IGC:
			st.Interleave = IGCPermutation
			st.Groups = max(st.Groups, 2)
		case ShuffleV1:
			st.Interleave, st.Expand, st.Alpha = Shuffle, 1, 0
			st.Kernels = st.Kernels[:1]
		case ShuffleV2:
			st.Interleave, st.Expand, st.Alpha, st.Groups = Shuffle, 1, 0, 1
			st.Kernels = []int{3}
		case Fire:
			st.Interleave, st.Alpha, st.Groups = NoInterleave, 0, 1
			st.Kernels = []int{3}
		case Flattened:
			st.Interleave, st.Expand, st.Alpha, st.Groups = NoInterleave, 1, 0, 1
			st.Kernels = st.Kernels[:1]
		case ScaleAgg:
			// Kernels select the scales and Expand widens the scale aggregation layer;
			// its convolutions are not grouped.
			st.Interleave, st.Alpha, st.Groups = NoInterleave, 0, 1
		}
		if st.Grouping < 0 || st.Grouping >= numGroupings || !groupedPointwise(*st) {
			// Only grouped pointwise convolutions have groups to learn or choose.
			st.Grouping = FixedGroups
		}
		st.Bits = validBits(st.Bits)
		if st.Grouping != FixedGroups {
			// The learned or dynamic layers replace every convolution of the block
			// that DSConv would quantise: what is left is depthwise (see quantizeConvs).
			st.Bits = 0
		}
		in = sk.Channels
	}
	return g
}

// groupedPointwise reports whether a stage's blocks have grouped pointwise
// convolutions, those a grouping mode applies to: the expansion and projection of
// inverted residual and IGC blocks and ShuffleNet V1's two 1x1 convolutions, when
// there is more than one group.
func groupedPointwise(st Stage) bool {
	switch st.Family {
	case InvertedResidual, IGC, ShuffleV1:
		return st.Groups > 1
	}
	return false
}

// validBits returns the nearest of the bit widths a stage can have: 0 (float), or 2
// to 8; 32 and anything nearer to it than to 8 is float.
func validBits(b int) int {
	switch {
	case b == 0 || b >= 20:
		return 0
	case b < 2:
		return 2
	}
	return min(b, 8)
}

// stemChannelsBase is the stem's base channels, used by canonical only to decide
// where channel counts change at stride 1 in the base skeleton.
func (s *Space) stemChannelsBase() int { return s.cfg.Stem }

// validKernels returns the kernels that are in KernelSizes, sorted and without
// repeats; none becomes [3].
func validKernels(ks []int) []int {
	var out []int
	for _, k := range KernelSizes {
		if slices.Contains(ks, k) {
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		out = []int{3}
	}
	return out
}

func nearestInt(choices []int, v int) int {
	best := choices[0]
	for _, c := range choices {
		if abs(c-v) < abs(best-v) {
			best = c
		}
	}
	return best
}

func nearestFloat(choices []float64, v float64) float64 {
	if math.IsNaN(v) {
		return choices[0]
	}
	best := choices[0]
	for _, c := range choices {
		if math.Abs(c-v) < math.Abs(best-v) {
			best = c
		}
	}
	return best
}

func clamp(v, lo, hi float64) float64 {
	if math.IsNaN(v) {
		return lo
	}
	return math.Min(math.Max(v, lo), hi)
}

// quantize rounds a width multiplier to 1/1000, so that genomes repaired on
// different machines hash alike.
func quantize(v float64) float64 { return math.Round(v*1000) / 1000 }

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

func lcm(a, b int) int { return a / gcd(a, b) * b }

// minChannels is the fewest channels a layer gets, MobileNet's min_value of 8.
const minChannels = 8

// makeDivisible rounds v to the nearest multiple of d, at least minChannels rounded
// up to a multiple of d, and not more than 10% below v: MobileNet's _make_divisible.
func makeDivisible(v float64, d int) int {
	n := max((minChannels+d-1)/d*d, int(v+float64(d)/2)/d*d)
	if float64(n) < 0.9*v {
		n += d
	}
	return n
}
