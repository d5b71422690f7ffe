package space

import (
	"fmt"
	"strings"
)

// Family is a stage's block family.
type Family int

// The block families of the space.
const (
	// InvertedResidual is MobileNetV2's expand-depthwise-project block with grouped
	// pointwise convolutions, MixConv kernels and an octave split (ops.NewInvertedResidual).
	InvertedResidual Family = iota
	// ShuffleV1 is ShuffleNet V1's unit: grouped 1x1, shuffle, depthwise, grouped 1x1.
	ShuffleV1
	// ShuffleV2 is ShuffleNet V2's unit: channel split, branch, concatenation, shuffle.
	ShuffleV2
	// IGC is IGCV3's interleaved bottleneck: grouped 1x1 expansion, permutation,
	// depthwise, grouped 1x1 projection, permutation.
	IGC
	// Fire is SqueezeNet's squeeze/expand module, after a max pool when it downsamples.
	Fire
	// Flattened replaces the spatial convolution by k x 1 and 1 x k filters.
	Flattened
	// ScaleAgg is ScaleNet's residual bottleneck whose 3x3 convolution is a scale
	// aggregation layer (Li et al. 2019; ops.NewScaleBottleneck): its bottleneck has a
	// quarter of the stage's output channels, the scale aggregation layer Expand times
	// the bottleneck's channels split evenly over the scales that Kernels selects
	// (kernel 3, 5, 7, 9 select pooling factors 1, 2, 4, 7, the reference's scales).
	// Not in the default space (Config.Families).
	ScaleAgg
	numFamilies
)

var familyNames = [...]string{"inverted_residual", "shufflenet_v1", "shufflenet_v2", "igc", "fire", "flattened", "scalenet"}

// DefaultFamilies are the families of the default space, in the order Sample draws
// them: every family but ScaleAgg.
var DefaultFamilies = []Family{InvertedResidual, ShuffleV1, ShuffleV2, IGC, Fire, Flattened}

// AllFamilies are all the block families.
var AllFamilies = []Family{InvertedResidual, ShuffleV1, ShuffleV2, IGC, Fire, Flattened, ScaleAgg}

// String returns the family's name as the genome's JSON writes it.
func (f Family) String() string {
	if f < 0 || f >= numFamilies {
		return fmt.Sprintf("Family(%d)", int(f))
	}
	return familyNames[f]
}

// MarshalText implements encoding.TextMarshaler.
func (f Family) MarshalText() ([]byte, error) {
	if f < 0 || f >= numFamilies {
		return nil, fmt.Errorf("invalid block family %d", int(f))
	}
	return []byte(f.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (f *Family) UnmarshalText(b []byte) error {
	for i, n := range familyNames {
		if strings.EqualFold(string(b), n) {
			*f = Family(i)
			return nil
		}
	}
	return fmt.Errorf("unknown block family %q: want one of %s", b, strings.Join(familyNames[:], ", "))
}

// Interleave is how channels cross between the groups of grouped convolutions.
type Interleave int

// The interleavings.
const (
	// NoInterleave keeps each group's channels in its group.
	NoInterleave Interleave = iota
	// Shuffle is ShuffleNet's channel shuffle after the first grouped convolution.
	Shuffle
	// IGCPermutation is IGC's permutation after both the primary and the secondary
	// group convolution (Zhang et al. 2017; IGCV3).
	IGCPermutation
	numInterleaves
)

var interleaveNames = [...]string{"none", "shuffle", "igc"}

// String returns the interleaving's name.
func (i Interleave) String() string {
	if i < 0 || i >= numInterleaves {
		return fmt.Sprintf("Interleave(%d)", int(i))
	}
	return interleaveNames[i]
}

// MarshalText implements encoding.TextMarshaler.
func (i Interleave) MarshalText() ([]byte, error) {
	if i < 0 || i >= numInterleaves {
		return nil, fmt.Errorf("invalid interleaving %d", int(i))
	}
	return []byte(i.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (i *Interleave) UnmarshalText(b []byte) error {
	for k, n := range interleaveNames {
		if strings.EqualFold(string(b), n) {
			*i = Interleave(k)
			return nil
		}
	}
	return fmt.Errorf("unknown interleaving %q: want one of %s", b, strings.Join(interleaveNames[:], ", "))
}

// Grouping is how a stage's grouped pointwise (1x1) convolutions form their groups.
type Grouping int

// The grouping modes.
const (
	// FixedGroups is an ordinary group convolution: output group g sees input group g.
	FixedGroups Grouping = iota
	// LearnedGroups is CondenseNet's learned group convolution (ops.LearnedGroupConv)
	// with Groups groups and condensation factor Groups, the paper's G = C: training
	// prunes each group to a learned 1/C of the inputs, and the layer is priced as
	// its converted form (PrunedCost), as cheap as a Groups-group convolution.
	LearnedGroups
	// DynamicGroups is a dynamic group convolution (ops.DynamicGroupConv) with Groups
	// heads, each choosing per sample the input channels it convolves; it is priced
	// at its expected cost plus its saliency heads.
	DynamicGroups
	numGroupings
)

var groupingNames = [...]string{"fixed", "learned", "dynamic"}

// String returns the grouping mode's name.
func (m Grouping) String() string {
	if m < 0 || m >= numGroupings {
		return fmt.Sprintf("Grouping(%d)", int(m))
	}
	return groupingNames[m]
}

// MarshalText implements encoding.TextMarshaler.
func (m Grouping) MarshalText() ([]byte, error) {
	if m < 0 || m >= numGroupings {
		return nil, fmt.Errorf("invalid grouping mode %d", int(m))
	}
	return []byte(m.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (m *Grouping) UnmarshalText(b []byte) error {
	for k, n := range groupingNames {
		if strings.EqualFold(string(b), n) {
			*m = Grouping(k)
			return nil
		}
	}
	return fmt.Errorf("unknown grouping mode %q: want one of %s", b, strings.Join(groupingNames[:], ", "))
}

// Stage is the grouping strategy of one stage of the skeleton.
type Stage struct {
	Family Family `json:"family"`
	// Depth is the number of blocks, 1 to MaxDepth.
	Depth int `json:"depth"`
	// Width scales the stage's base channels (one of Widths).
	Width float64 `json:"width"`
	// Expand is the expansion ratio of inverted residual and IGC blocks, the
	// expand/squeeze ratio of Fire, and the width of a scale aggregation layer over
	// its bottleneck's (one of Expands).
	Expand int `json:"expand"`
	// Groups is the group count of the pointwise convolutions (one of GroupCounts).
	Groups int `json:"groups"`
	// Kernels are the spatial kernel sizes that share the channels, MixConv style:
	// a non-empty increasing subset of 3, 5, 7, 9. In a scale aggregation stage they
	// select the scales instead (see ScaleAgg).
	Kernels []int `json:"kernels"`
	// Alpha is the octave split: the share of the spatial convolution's channels
	// processed at half resolution (one of Alphas).
	Alpha float64 `json:"alpha"`
	// Interleave is how channels cross the pointwise groups.
	Interleave Interleave `json:"interleave"`
	// Grouping is how the grouped pointwise convolutions of inverted residual, IGC
	// and ShuffleNet V1 blocks form their groups; the zero value is FixedGroups,
	// which the JSON form omits, as genomes written before the gene existed did.
	Grouping Grouping `json:"grouping,omitempty"`
	// Bits is the width of the integers that hold the weights of the stage's
	// convolutions, trained as DSConv (ops.DSConv), 2 to 8; 0 means ordinary 32-bit
	// float weights, which the JSON form omits. Depthwise convolutions and the
	// inner convolutions of learned, dynamic and scale aggregation layers keep
	// float weights (see quantizeConvs).
	Bits int `json:"bits,omitempty"`
}

// Genome is one architecture of the space: a global width multiplier over the
// skeleton and one grouping strategy per stage. Its JSON form is stored with every
// candidate.
type Genome struct {
	// WidthMult scales every layer's channels, as MobileNet's width multiplier; the
	// budget repair shrinks it.
	WidthMult float64 `json:"width_mult"`
	Stages    []Stage `json:"stages"`
}

// Clone returns a deep copy of g.
func (g Genome) Clone() Genome {
	c := Genome{WidthMult: g.WidthMult, Stages: make([]Stage, len(g.Stages))}
	for i, s := range g.Stages {
		s.Kernels = append([]int(nil), s.Kernels...)
		c.Stages[i] = s
	}
	return c
}

// String is a compact one-line form of g for logs.
func (g Genome) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "w%.3g", g.WidthMult)
	for _, s := range g.Stages {
		fmt.Fprintf(&b, " [%s d%d x%.3g e%d g%d k%v a%g %s", s.Family, s.Depth, s.Width, s.Expand, s.Groups, s.Kernels, s.Alpha, s.Interleave)
		// The new genes only when set, so that logs of the default space read as before.
		if s.Grouping != FixedGroups {
			fmt.Fprintf(&b, " %s", s.Grouping)
		}
		if s.Bits != 0 {
			fmt.Fprintf(&b, " b%d", s.Bits)
		}
		b.WriteByte(']')
	}
	return b.String()
}
