package space

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"nas/ops"
)

// allGenes is every opt-in choice: all families, all grouping modes, and float,
// 8-, 4- and 2-bit weights.
func allGenes(c Config) Config {
	c.Families = AllFamilies
	c.Groupings = []Grouping{FixedGroups, LearnedGroups, DynamicGroups}
	c.Bits = []int{32, 8, 4, 2}
	return c
}

// mnistProxy is the proxy the CLI trains by default: MNIST's 28x28x1 images, 10
// classes, width 0.25 (cmd/nas defaultProxyWidth).
var mnistProxy = BuildOptions{Input: ops.Shape{C: 1, H: 28, W: 28}, Classes: 10, ProxyWidth: 0.25}

// geneCounts counts, over the stages of the genomes seen, each family, grouping mode
// and bit width, so that a property test can check that it saw them all.
type geneCounts struct {
	families  map[Family]int
	groupings map[Grouping]int
	bits      map[int]int
}

func (c *geneCounts) add(g Genome) {
	if c.families == nil {
		c.families, c.groupings, c.bits = map[Family]int{}, map[Grouping]int{}, map[int]int{}
	}
	for _, st := range g.Stages {
		c.families[st.Family]++
		c.groupings[st.Grouping]++
		c.bits[st.Bits]++
	}
}

// TestExtendedDrawsAreValid is the property test of the space with every extension:
// sampled, mutated and crossed genomes are canonical, decode to networks within the
// budget at the target shape and build at the MNIST proxy, and every family, mode and
// bit width occurs. The target is 56x56x3, twice MNIST's side as the CLI's 224 is
// eight times, so that the proxy derivation drops one stride and the proxy's stages
// see the target's map sizes; its budget, 24M MACs, is the small space's 8M at
// 32x32 scaled by about (56/32)^2, so that networks are as small and cheap to build.
func TestExtendedDrawsAreValid(t *testing.T) {
	s, err := New(allGenes(Config{Budget: 24_000_000, Target: ops.Shape{C: 3, H: 56, W: 56}, Classes: 10, Head: 256}))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(21, 22))
	var seen geneCounts
	check := func(g Genome, what string) {
		t.Helper()
		checkGenome(t, s, g, what)
		if _, err := s.Build(g, mnistProxy); err != nil {
			t.Fatalf("%s: genome %v does not build at the MNIST proxy: %v", what, g, err)
		}
		seen.add(g)
	}
	pop := make([]Genome, 0, 64)
	for len(pop) < 64 {
		g, err := s.Sample(rng)
		if err != nil {
			t.Fatal(err)
		}
		check(g, "sample")
		pop = append(pop, g)
	}
	n := 1400 // with two genomes per crossover, some 2,100 genomes
	if testing.Short() {
		n = 200
	}
	for i := range n {
		a, b := pop[rng.IntN(len(pop))], pop[rng.IntN(len(pop))]
		if i%2 == 0 {
			m, err := s.Mutate(a, rng)
			if err != nil {
				t.Fatal(err)
			}
			check(m, "mutation")
			pop[rng.IntN(len(pop))] = m
			continue
		}
		x, y, err := s.Crossover(a, b, rng)
		if err != nil {
			t.Fatal(err)
		}
		check(x, "crossover")
		check(y, "crossover")
	}
	for _, f := range AllFamilies {
		if seen.families[f] == 0 {
			t.Errorf("no stage of family %s in %d draws", f, n+64)
		}
	}
	for _, m := range s.Config().Groupings {
		if seen.groupings[m] == 0 {
			t.Errorf("no stage with grouping mode %s in %d draws", m, n+64)
		}
	}
	for _, b := range []int{0, 8, 4, 2} {
		if seen.bits[b] == 0 {
			t.Errorf("no stage with %d-bit weights (0: float) in %d draws", b, n+64)
		}
	}
	t.Logf("stages by family %v, grouping %v, bits %v", seen.families, seen.groupings, seen.bits)
}

// TestExtendedDefaultTarget checks draws of the extended space at the CLI's default
// target (224x224x3, 1000 classes, 300M MACs) and trains one step of a few of them
// at the MNIST proxy.
func TestExtendedDefaultTarget(t *testing.T) {
	s, err := New(allGenes(Config{Budget: 300_000_000}))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 7))
	n := 24
	if testing.Short() {
		n = 6
	}
	trained := 0
	for i := range n {
		g, err := s.Sample(rng)
		if err != nil {
			t.Fatal(err)
		}
		checkGenome(t, s, g, "sample")
		m, err := s.Mutate(g, rng)
		if err != nil {
			t.Fatal(err)
		}
		checkGenome(t, s, m, "mutation")
		if i%4 == 0 {
			trainStep(t, s, m, uint64(i))
			trained++
		}
	}
	t.Logf("%d genomes checked at 224x224x3, %d trained a step at the MNIST proxy", 2*n, trained)
}

// trainStep builds g at the MNIST proxy, initialises it and runs one SGD step on a
// batch of random images: the loss must be finite and the step must change the
// weights.
func trainStep(t *testing.T, s *Space, g Genome, seed uint64) {
	t.Helper()
	net, err := s.Build(g, mnistProxy)
	if err != nil {
		t.Fatalf("genome %v: %v", g, err)
	}
	rng := rand.New(rand.NewPCG(seed, 99))
	net.Init(rng)
	const batch = 4 // the fewest samples that give batch norm a spread in every stage
	x := ops.New(batch, mnistProxy.Input)
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.Float64())
	}
	labels := []int{0, 3, 7, 9}
	before := make([][]float32, len(net.Params()))
	for i, p := range net.Params() {
		before[i] = append([]float32(nil), p.Value.Float32s()...)
	}
	loss, err := net.Step(x, labels, &ops.SoftmaxCrossEntropy{}, &ops.SGD{LR: 0.05, Momentum: 0.9})
	if err != nil {
		t.Fatalf("genome %v: training step: %v", g, err)
	}
	if math.IsNaN(loss) || math.IsInf(loss, 0) || loss <= 0 {
		t.Fatalf("genome %v: loss %v, want a finite positive loss", g, loss)
	}
	changed := 0
	for i, p := range net.Params() {
		for j, v := range p.Value.Float32s() {
			if v != before[i][j] {
				changed++
				break
			}
		}
	}
	if changed == 0 {
		t.Fatalf("genome %v: the step changed no parameter", g)
	}
}

// uniform returns a genome of the small space whose stages are all st.
func uniform(st Stage) Genome {
	g := Genome{WidthMult: 1, Stages: make([]Stage, len(MobileNetV2Skeleton))}
	for i := range g.Stages {
		g.Stages[i] = st
		g.Stages[i].Kernels = append([]int(nil), st.Kernels...)
	}
	return g
}

// TestExtendedHashInvariance checks that the new genes change the hash exactly where
// they change the architecture, and that genomes without them hash as before.
func TestExtendedHashInvariance(t *testing.T) {
	s := small(t, 1<<40)
	ir := Stage{Family: InvertedResidual, Depth: 2, Width: 1, Expand: 4, Groups: 4, Kernels: []int{3}}
	tests := []struct {
		name     string
		a, b     Stage
		sameHash bool
	}{
		{"fixed grouping and float weights written out", ir, func() Stage { x := ir; x.Bits = 32; return x }(), true},
		{"grouping of an ungrouped inverted residual", func() Stage { x := ir; x.Groups = 1; return x }(),
			func() Stage { x := ir; x.Groups = 1; x.Grouping = LearnedGroups; return x }(), true},
		{"grouping of Fire", Stage{Family: Fire, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3}},
			Stage{Family: Fire, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3}, Grouping: DynamicGroups}, true},
		{"bits of a learned inverted residual (only depthwise left)",
			func() Stage { x := ir; x.Grouping = LearnedGroups; return x }(),
			func() Stage { x := ir; x.Grouping = LearnedGroups; x.Bits = 4; return x }(), true},
		{"groups, octave and interleave of a scale stage",
			Stage{Family: ScaleAgg, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3, 7}},
			Stage{Family: ScaleAgg, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3, 7}, Groups: 8, Alpha: 0.5,
				Interleave: Shuffle, Grouping: LearnedGroups}, true},
		{"invalid bit width 33 is float", ir, func() Stage { x := ir; x.Bits = 33; return x }(), true},
		{"learned against fixed", ir, func() Stage { x := ir; x.Grouping = LearnedGroups; return x }(), false},
		{"learned against dynamic", func() Stage { x := ir; x.Grouping = LearnedGroups; return x }(),
			func() Stage { x := ir; x.Grouping = DynamicGroups; return x }(), false},
		{"8 against 4 bits", func() Stage { x := ir; x.Bits = 8; return x }(),
			func() Stage { x := ir; x.Bits = 4; return x }(), false},
		{"float against 8 bits on Fire", Stage{Family: Fire, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3}},
			Stage{Family: Fire, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3}, Bits: 8}, false},
		{"scale stage against inverted residual", func() Stage { x := ir; x.Groups = 1; return x }(),
			func() Stage { x := ir; x.Groups = 1; x.Family = ScaleAgg; return x }(), false},
		{"scales of a scale stage", Stage{Family: ScaleAgg, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3, 7}},
			Stage{Family: ScaleAgg, Depth: 1, Width: 1, Expand: 2, Kernels: []int{3, 5}}, false},
	}
	for _, tt := range tests {
		ha, hb := s.Hash(uniform(tt.a)), s.Hash(uniform(tt.b))
		if (ha == hb) != tt.sameHash {
			t.Errorf("%s: hashes %s and %s, want equal %v", tt.name, ha, hb, tt.sameHash)
		}
	}
	// A genome of the default space marshals without the new genes, and JSON without
	// them decodes to their defaults.
	g := s.Canonical(uniform(ir))
	b, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "grouping") || strings.Contains(string(b), "bits") {
		t.Errorf("default genome marshals the new genes: %s", b)
	}
	var back Genome
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back.Stages[0].Grouping != FixedGroups || back.Stages[0].Bits != 0 || s.Hash(back) != s.Hash(g) {
		t.Errorf("JSON %s decodes to grouping %s, bits %d, hash %s; want fixed, 0 and %s",
			b, back.Stages[0].Grouping, back.Stages[0].Bits, s.Hash(back), s.Hash(g))
	}
	// The new genes survive a JSON round trip.
	x := uniform(ir)
	x.Stages[1].Grouping, x.Stages[2].Bits, x.Stages[3].Family = DynamicGroups, 4, ScaleAgg
	b, err = json.Marshal(s.Canonical(x))
	if err != nil {
		t.Fatal(err)
	}
	back = Genome{}
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if s.Hash(back) != s.Hash(x) {
		t.Errorf("hash changed across a JSON round trip: %s", b)
	}
}

// TestExtendedCosts checks the pricing of the new genes: a learned stage costs the
// MACs of its converted form, a G-group convolution (CondenseNet's converted
// CondensingConv), so its MACs equal the fixed stage's; a dynamic stage's grouped
// pointwise convolutions cost their expected MACs plus their saliency heads
// (hellozhuo/dgc: In - round(0.75 In) channels kept per head, heads In -> In/8 -> In
// below 80 channels, In/16 from 80); bit widths change storage, not MACs.
func TestExtendedCosts(t *testing.T) {
	s := small(t, 1<<40)
	fixed := uniform(Stage{Family: InvertedResidual, Depth: 1, Width: 1, Expand: 4, Groups: 4, Kernels: []int{3}})
	cost := func(g Genome) ops.Cost {
		t.Helper()
		c, err := s.Cost(g)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	with := func(f func(st *Stage)) Genome {
		g := fixed.Clone()
		for i := range g.Stages {
			f(&g.Stages[i])
		}
		return g
	}
	fc := cost(fixed)
	if lc := cost(with(func(st *Stage) { st.Grouping = LearnedGroups })); lc.MACs != fc.MACs {
		t.Errorf("learned stages cost %d MACs, want the fixed 4-group stages' %d", lc.MACs, fc.MACs)
	}
	// The dynamic network's MACs: the fixed network's, with each grouped 1x1
	// convolution's MACs replaced by the reference's expected cost.
	net, err := s.Build(fixed, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := fc.MACs
	convs := 0
	for _, r := range net.Layers() {
		if !strings.HasPrefix(r.Kind, "Conv2D 1x1") || !strings.Contains(r.Kind, "g4") {
			continue
		}
		convs++
		in, out := int64(r.In.C), int64(r.Out.C)
		keep := in - int64(math.RoundToEven(float64(in)*0.75))
		rate := int64(16)
		if in < 80 {
			rate = 8
		}
		hidden := max(1, in/rate)
		want += int64(r.Out.H*r.Out.W)*out*keep + 4*2*in*hidden - r.Cost.MACs
	}
	if convs == 0 {
		t.Fatalf("no 4-group 1x1 convolution in the layer table of %v", fixed)
	}
	if dc := cost(with(func(st *Stage) { st.Grouping = DynamicGroups })); dc.MACs != want {
		t.Errorf("dynamic stages cost %d MACs, want %d (%d grouped 1x1 convolutions repriced)", dc.MACs, want, convs)
	}
	// Bits: the same MACs; float storage is 32 bits per parameter; DSConv's is less.
	fb, err := s.StorageBits(fixed)
	if err != nil {
		t.Fatal(err)
	}
	if fb != 32*fc.Params || fb != ops.WeightBits(net.Root()) {
		t.Errorf("float genome stores %d bits, want 32 per parameter, %d, and ops.WeightBits %d",
			fb, 32*fc.Params, ops.WeightBits(net.Root()))
	}
	prev := fb
	for _, bits := range []int{8, 4, 2} {
		q := with(func(st *Stage) { st.Bits = bits })
		if qc := cost(q); qc.MACs != fc.MACs {
			t.Errorf("%d-bit stages cost %d MACs, want the float stages' %d", bits, qc.MACs, fc.MACs)
		}
		qb, err := s.StorageBits(q)
		if err != nil {
			t.Fatal(err)
		}
		if qb >= prev {
			t.Errorf("%d-bit stages store %d bits, want fewer than %d", bits, qb, prev)
		}
		prev = qb
	}
	// A learned genome stores its converted form: fewer bits than its training form.
	lg := with(func(st *Stage) { st.Grouping = LearnedGroups })
	lb, err := s.StorageBits(lg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := s.Build(lg, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if lb != 32*ln.Cost().Params || lb >= ops.WeightBits(ln.Root()) {
		t.Errorf("learned genome stores %d bits, want 32 per converted parameter (%d) and fewer than its training form's %d",
			lb, 32*ln.Cost().Params, ops.WeightBits(ln.Root()))
	}
}

// atLeastOne in TestExtendedLayers wants at least one layer per block, 7 in all.
const atLeastOne = -1

// TestExtendedLayers checks that the genes decode to the layers they name: learned
// and dynamic grouped pointwise convolutions, DSConv wherever a convolution has more
// than one input channel per group, and scale aggregation blocks.
func TestExtendedLayers(t *testing.T) {
	s := small(t, 1<<40)
	count := func(g Genome) map[string]int {
		t.Helper()
		net, err := s.Build(g, mnistProxy)
		if err != nil {
			t.Fatal(err)
		}
		n := map[string]int{}
		ops.Walk(net.Root(), func(_ string, l ops.Layer) {
			switch l := l.(type) {
			case *ops.LearnedGroupConv:
				n["learned"]++
			case *ops.DynamicGroupConv:
				n["dynamic"]++
			case *ops.DSConv:
				n["dsconv"]++
			case *ops.ScaleAggregation:
				n["scale"]++
			case *ops.Conv2D:
				if c := l.Config(); c.KH == 1 && c.KW == 1 && c.Groups > 1 {
					n["grouped 1x1"]++
				}
			}
		})
		return n
	}
	ir := Stage{Family: InvertedResidual, Depth: 1, Width: 1, Expand: 4, Groups: 2, Kernels: []int{3, 5}}
	tests := []struct {
		name string
		st   Stage
		want map[string]int
	}{
		// Seven stages of one block: an expansion and a projection each.
		{"fixed", ir, map[string]int{"grouped 1x1": 14}},
		{"learned", func() Stage { x := ir; x.Grouping = LearnedGroups; return x }(), map[string]int{"learned": 14}},
		{"dynamic", func() Stage { x := ir; x.Grouping = DynamicGroups; return x }(), map[string]int{"dynamic": 14}},
		// Stride-1 stages that change width become inverted residuals (canonical),
		// whose expansion ratio of 1 leaves one grouped 1x1 convolution: at least
		// one learned layer per block, none left fixed.
		{"shufflenet v1 learned", Stage{Family: ShuffleV1, Depth: 1, Width: 1, Groups: 2, Kernels: []int{3}, Grouping: LearnedGroups},
			map[string]int{"learned": atLeastOne}},
		// The grouped 1x1 convolutions become DSConv; the depthwise stay float.
		{"8 bits", func() Stage { x := ir; x.Bits = 8; return x }(), map[string]int{"dsconv": 14}},
		// Scale stages: one scale aggregation per block; 4 bits quantise the two 1x1
		// convolutions and the shortcut's where the width changes.
		{"scale", Stage{Family: ScaleAgg, Depth: 1, Width: 1, Expand: 1, Kernels: []int{3, 5}}, map[string]int{"scale": 7}},
	}
	for _, tt := range tests {
		got := count(s.Canonical(uniform(tt.st)))
		for k, v := range tt.want {
			if got[k] != v && !(v == atLeastOne && got[k] >= 7) {
				t.Errorf("%s: %d %s layers, want %d (all: %v)", tt.name, got[k], k, v, got)
			}
		}
		for _, k := range []string{"learned", "dynamic", "dsconv", "scale", "grouped 1x1"} {
			if _, ok := tt.want[k]; !ok && got[k] != 0 {
				t.Errorf("%s: %d %s layers, want none (all: %v)", tt.name, got[k], k, got)
			}
		}
	}
	sc := count(s.Canonical(uniform(Stage{Family: ScaleAgg, Depth: 1, Width: 1, Expand: 1, Kernels: []int{3}, Bits: 4})))
	if sc["dsconv"] < 2*7 {
		t.Errorf("4-bit scale stages have %d DSConv layers, want at least the two 1x1 convolutions of each of 7 blocks", sc["dsconv"])
	}
}

// TestConfigGenes checks that New refuses bad lists of choices.
func TestConfigGenes(t *testing.T) {
	bad := []struct {
		name string
		cfg  Config
	}{
		{"no inverted residual", Config{Families: []Family{Fire, ScaleAgg}}},
		{"repeated family", Config{Families: []Family{InvertedResidual, Fire, Fire}}},
		{"unknown family", Config{Families: []Family{InvertedResidual, numFamilies}}},
		{"empty families", Config{Families: []Family{}}},
		{"repeated grouping", Config{Groupings: []Grouping{LearnedGroups, LearnedGroups}}},
		{"unknown grouping", Config{Groupings: []Grouping{numGroupings}}},
		{"16 bits", Config{Bits: []int{32, 16}}},
		{"1 bit", Config{Bits: []int{1}}},
		{"repeated bits", Config{Bits: []int{8, 8}}},
	}
	for _, tt := range bad {
		tt.cfg.Budget = 300_000_000
		if _, err := New(tt.cfg); err == nil {
			t.Errorf("New(%s: %+v) succeeded, want an error", tt.name, tt.cfg)
		}
	}
	for _, name := range []string{"fixed", "learned", "dynamic", "LEARNED"} {
		var m Grouping
		if err := m.UnmarshalText([]byte(name)); err != nil || !strings.EqualFold(m.String(), name) {
			t.Errorf("Grouping.UnmarshalText(%q) = %v, %v", name, m, err)
		}
	}
	var m Grouping
	if err := m.UnmarshalText([]byte("random")); err == nil {
		t.Errorf("Grouping.UnmarshalText(%q) succeeded, want an error", "random")
	}
	var f Family
	if err := f.UnmarshalText([]byte("scalenet")); err != nil || f != ScaleAgg {
		t.Errorf("Family.UnmarshalText(%q) = %v, %v; want %v", "scalenet", f, err, ScaleAgg)
	}
}
