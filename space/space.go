package space

import (
	"fmt"
	"slices"
	"strings"

	"nas/ops"
)

// The choices of each gene.
var (
	// Widths are the per-stage channel multipliers.
	Widths = []float64{0.5, 0.75, 1, 1.25, 1.5}
	// Expands are the expansion ratios.
	Expands = []int{1, 2, 3, 4, 6}
	// GroupCounts are the pointwise group counts.
	GroupCounts = []int{1, 2, 3, 4, 8}
	// KernelSizes are the spatial kernel sizes a stage can mix.
	KernelSizes = []int{3, 5, 7, 9}
	// Alphas are the octave splits.
	Alphas = []float64{0, 0.125, 0.25, 0.5}
	// WidthMults are the global width multipliers Sample draws from before the
	// budget repair shrinks them.
	WidthMults = []float64{0.5, 0.75, 1, 1.25, 1.5}
)

// MaxDepth is the most blocks a stage can have.
const MaxDepth = 4

// MinWidthMult is the smallest global width multiplier the budget repair goes to.
const MinWidthMult = 0.1

// StageSpec is one stage of the macro skeleton: its base output channels, the
// stride of its first block, and its depth in the base network.
type StageSpec struct {
	Channels, Stride, Depth int
}

// MobileNetV2Skeleton is the macro skeleton of MobileNetV2 (Sandler et al. 2018,
// Table 2): stem conv 3x3/2 to 32 channels, seven stages, a 1x1 head to 1280.
var MobileNetV2Skeleton = []StageSpec{
	{16, 1, 1}, {24, 2, 2}, {32, 2, 3}, {64, 2, 4}, {96, 1, 3}, {160, 2, 3}, {320, 1, 1},
}

// Config describes a search space. The zero value of each field but Budget gives
// the default written beside it.
type Config struct {
	// Budget is the hard limit on MACs at the target shape. Required.
	Budget Budget
	// Target is the deployment input shape; zero means 224x224x3.
	Target ops.Shape
	// Classes is the number of classes at deployment; 0 means 1000.
	Classes int
	// Skeleton is the macro skeleton; nil means MobileNetV2Skeleton.
	Skeleton []StageSpec
	// Stem is the stem's base channels; 0 means 32.
	Stem int
	// Head is the head's base channels; 0 means 1280.
	Head int
	// Families are the block families Sample and Mutate draw, in the order they
	// draw them; nil means DefaultFamilies. It must hold InvertedResidual, the
	// family of the space's cheapest architecture.
	Families []Family
	// Groupings are the grouping modes Sample and Mutate draw for a stage's grouped
	// pointwise convolutions; nil means {FixedGroups}.
	Groupings []Grouping
	// Bits are the weight widths Sample and Mutate draw for a stage's convolutions:
	// 32 for float weights or 2 to 8 for DSConv; nil means {32}.
	Bits []int
}

// A gene whose list holds one value is not drawn: Sample and Mutate consume no
// randomness for it, so that the default space draws exactly as it did before the
// gene existed (testdata/default_draws.json pins that).

// drawsGrouping reports whether s draws a grouping mode for each stage.
func (s *Space) drawsGrouping() bool { return len(s.cfg.Groupings) > 1 }

// drawsBits reports whether s draws a bit width for each stage.
func (s *Space) drawsBits() bool { return len(s.cfg.Bits) > 1 }

// Space is a validated search space under a budget.
type Space struct {
	cfg Config
	// minimal is the cheapest genome of the space and its cost at the target.
	minimal     Genome
	minimalCost ops.Cost
}

// ErrBudgetUnreachable is wrapped by New when nothing in the space meets the budget.
var ErrBudgetUnreachable = fmt.Errorf("budget unreachable")

// New validates cfg and returns its space. It fails at once, with the smallest
// reachable cost, if no architecture of the space fits the budget.
func New(cfg Config) (*Space, error) {
	if cfg.Target == (ops.Shape{}) {
		cfg.Target = ops.Shape{C: 3, H: 224, W: 224}
	}
	if cfg.Classes == 0 {
		cfg.Classes = 1000
	}
	if cfg.Skeleton == nil {
		cfg.Skeleton = MobileNetV2Skeleton
	}
	if cfg.Stem == 0 {
		cfg.Stem = 32
	}
	if cfg.Head == 0 {
		cfg.Head = 1280
	}
	if cfg.Families == nil {
		cfg.Families = DefaultFamilies
	}
	if cfg.Groupings == nil {
		cfg.Groupings = []Grouping{FixedGroups}
	}
	if cfg.Bits == nil {
		cfg.Bits = []int{32}
	}
	cfg.Families, cfg.Groupings, cfg.Bits = slices.Clone(cfg.Families), slices.Clone(cfg.Groupings), slices.Clone(cfg.Bits)
	if err := cfg.checkGenes(); err != nil {
		return nil, err
	}
	switch {
	case cfg.Budget <= 0:
		return nil, fmt.Errorf("space: budget %d: must be positive", cfg.Budget)
	case cfg.Target.C <= 0 || cfg.Target.H < 8 || cfg.Target.W < 8:
		return nil, fmt.Errorf("space: target shape %v: want at least 8x8 and one channel", cfg.Target)
	case cfg.Classes < 2:
		return nil, fmt.Errorf("space: %d classes: want at least 2", cfg.Classes)
	case len(cfg.Skeleton) == 0:
		return nil, fmt.Errorf("space: empty skeleton")
	}
	for i, s := range cfg.Skeleton {
		if s.Channels <= 0 || (s.Stride != 1 && s.Stride != 2) || s.Depth <= 0 {
			return nil, fmt.Errorf("space: skeleton stage %d %+v: want positive channels and depth, stride 1 or 2", i, s)
		}
	}
	sp := &Space{cfg: cfg}
	sp.minimal = sp.minimalGenome()
	c, err := sp.Cost(sp.minimal)
	if err != nil {
		return nil, fmt.Errorf("space: the smallest architecture does not build at %v: %w", cfg.Target, err)
	}
	sp.minimalCost = c
	if c.MACs > int64(cfg.Budget) {
		return nil, fmt.Errorf("space: %w: %s is below the smallest architecture's %s (%d MACs) at %v",
			ErrBudgetUnreachable, cfg.Budget, Budget(c.MACs), c.MACs, cfg.Target)
	}
	return sp, nil
}

// checkGenes validates the lists of choices of the genes a space may extend.
func (c *Config) checkGenes() error {
	if len(c.Families) == 0 || len(c.Groupings) == 0 || len(c.Bits) == 0 {
		return fmt.Errorf("space: empty list of families %v, grouping modes %v or bit widths %v", c.Families, c.Groupings, c.Bits)
	}
	for i, f := range c.Families {
		if f < 0 || f >= numFamilies || slices.Index(c.Families, f) != i {
			return fmt.Errorf("space: families %v: want distinct families of %v", c.Families, AllFamilies)
		}
	}
	if !slices.Contains(c.Families, InvertedResidual) {
		return fmt.Errorf("space: families %v: want %s among them, the family of the cheapest architecture", c.Families, InvertedResidual)
	}
	for i, m := range c.Groupings {
		if m < 0 || m >= numGroupings || slices.Index(c.Groupings, m) != i {
			return fmt.Errorf("space: grouping modes %v: want distinct modes of %s", c.Groupings, strings.Join(groupingNames[:], ", "))
		}
	}
	for i, b := range c.Bits {
		if (b != 32 && (b < 2 || b > 8)) || slices.Index(c.Bits, b) != i {
			return fmt.Errorf("space: bit widths %v: want distinct widths, each 32 (float) or 2 to 8 (DSConv)", c.Bits)
		}
	}
	return nil
}

// Config returns the space's configuration with defaults filled in.
func (s *Space) Config() Config { return s.cfg }

// Budget returns the space's MACs budget.
func (s *Space) Budget() Budget { return s.cfg.Budget }

// MinimalCost returns the cost of the cheapest architecture of the space.
func (s *Space) MinimalCost() ops.Cost { return s.minimalCost }

// minimalGenome is the cheapest architecture: depth 1, the narrowest widths, no
// expansion, a single 3x3 kernel and inverted residual blocks at the smallest
// width multiplier.
func (s *Space) minimalGenome() Genome {
	g := Genome{WidthMult: MinWidthMult}
	for range s.cfg.Skeleton {
		g.Stages = append(g.Stages, Stage{Family: InvertedResidual, Depth: 1, Width: Widths[0], Expand: 1,
			Groups: 1, Kernels: []int{3}, Interleave: NoInterleave})
	}
	return s.canonical(g)
}
