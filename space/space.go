package space

import (
	"fmt"

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
}

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
