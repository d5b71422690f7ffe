package space

import (
	"encoding/json"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"nas/ops"
)

// small is a cheap space for property tests that need thousands of draws: CIFAR's
// shape and a narrow head, so that building each network allocates little.
func small(t testing.TB, budget Budget) *Space {
	t.Helper()
	s, err := New(Config{Budget: budget, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// checkGenome fails unless g is canonical, decodes to a network that runs a
// forward shape check at the target and fits the budget.
func checkGenome(t *testing.T, s *Space, g Genome, what string) {
	t.Helper()
	if h1, h2 := s.Hash(g), s.Hash(s.Canonical(g)); h1 != h2 {
		t.Fatalf("%s: genome %v is not canonical", what, g)
	}
	net, err := s.Build(g, BuildOptions{})
	if err != nil {
		t.Fatalf("%s: genome %v does not decode: %v", what, g, err)
	}
	if c := net.Cost(); c.MACs > int64(s.Budget()) {
		t.Fatalf("%s: genome %v costs %d MACs, over the budget %d", what, g, c.MACs, s.Budget())
	}
	if out := net.OutShape(); out.Size() != s.Config().Classes {
		t.Fatalf("%s: genome %v outputs %v, want %d classes", what, g, out, s.Config().Classes)
	}
}

// TestEveryDrawIsValid is the space's property test: thousands of sampled, mutated
// and crossed genomes all decode to valid networks within the budget.
func TestEveryDrawIsValid(t *testing.T) {
	s := small(t, 8_000_000)
	rng := rand.New(rand.NewPCG(11, 12))
	pop := make([]Genome, 0, 64)
	draws := 0
	for len(pop) < 64 {
		g, err := s.Sample(rng)
		if err != nil {
			t.Fatal(err)
		}
		checkGenome(t, s, g, "sample")
		pop = append(pop, g)
		draws++
	}
	n := 1500
	if testing.Short() {
		n = 200
	}
	for i := 0; i < n; i++ {
		a, b := pop[rng.IntN(len(pop))], pop[rng.IntN(len(pop))]
		var err error
		if i%2 == 0 {
			m, err2 := s.Mutate(a, rng)
			if err2 != nil {
				t.Fatal(err2)
			}
			checkGenome(t, s, m, "mutation")
			pop[rng.IntN(len(pop))] = m
		} else {
			x, y, err2 := s.Crossover(a, b, rng)
			if err = err2; err != nil {
				t.Fatal(err)
			}
			checkGenome(t, s, x, "crossover")
			checkGenome(t, s, y, "crossover")
		}
		draws++
	}
	t.Logf("%d draws valid", draws)
}

// TestDefaultSpaceDraws checks a few hundred draws in the default space at its real
// target shape and budget.
func TestDefaultSpaceDraws(t *testing.T) {
	s, err := New(Config{Budget: 300_000_000})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	n := 60
	if testing.Short() {
		n = 10
	}
	for i := 0; i < n; i++ {
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
	}
}

func TestHashInvariance(t *testing.T) {
	s := small(t, 50_000_000)
	base := Genome{WidthMult: 1, Stages: make([]Stage, len(MobileNetV2Skeleton))}
	for i := range base.Stages {
		base.Stages[i] = Stage{Family: InvertedResidual, Depth: 2, Width: 1, Expand: 4, Groups: 1, Kernels: []int{3}}
	}
	h := s.Hash(base)
	// Genes a family ignores do not change the hash.
	same := []func(g *Genome){
		func(g *Genome) { g.Stages[0].Interleave = Shuffle },           // no groups: nothing to interleave
		func(g *Genome) { g.Stages[1].Kernels = []int{3, 3} },          // repeated kernel
		func(g *Genome) { g.WidthMult = 1.0000001 },                    // below the quantum
		func(g *Genome) { g.Stages[2].Depth = 1; g.Stages[2].Depth++ }, // the same value reached otherwise
	}
	for i, f := range same {
		g := base.Clone()
		f(&g)
		if got := s.Hash(g); got != h {
			t.Errorf("change %d: hash %s, want %s (irrelevant gene)", i, got, h)
		}
	}
	fire := base.Clone()
	fire.Stages[3].Family = Fire
	fire2 := fire.Clone()
	fire2.Stages[3].Groups, fire2.Stages[3].Alpha, fire2.Stages[3].Kernels = 8, 0.5, []int{5, 7}
	if s.Hash(fire) != s.Hash(fire2) {
		t.Errorf("fire stage: groups, octave split and kernels changed the hash, but Fire ignores them")
	}
	// Genes that matter change it.
	differ := []func(g *Genome){
		func(g *Genome) { g.Stages[0].Depth = 3 },
		func(g *Genome) { g.Stages[1].Kernels = []int{3, 5} },
		func(g *Genome) { g.Stages[2].Groups = 2 },
		func(g *Genome) { g.Stages[4].Alpha = 0.25 },
		func(g *Genome) { g.WidthMult = 0.75 },
		func(g *Genome) { g.Stages[5].Family = IGC },
	}
	for i, f := range differ {
		g := base.Clone()
		f(&g)
		if got := s.Hash(g); got == h {
			t.Errorf("change %d: hash unchanged, want a different architecture's hash", i)
		}
	}
	// The hash survives a JSON round trip, as the database stores genomes.
	b, err := json.Marshal(base)
	if err != nil {
		t.Fatal(err)
	}
	var back Genome
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if s.Hash(back) != h {
		t.Errorf("hash changed across a JSON round trip: %s", b)
	}
}

func TestRepairShrinksWidthByBisection(t *testing.T) {
	s, err := New(Config{Budget: 150_000_000})
	if err != nil {
		t.Fatal(err)
	}
	g := Genome{WidthMult: 1.5, Stages: make([]Stage, len(MobileNetV2Skeleton))}
	for i, sk := range MobileNetV2Skeleton {
		g.Stages[i] = Stage{Family: InvertedResidual, Depth: sk.Depth, Width: 1, Expand: 6, Groups: 1, Kernels: []int{3}}
	}
	r, err := s.Repair(g)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := s.Cost(r)
	if c.MACs > 150_000_000 || r.WidthMult >= 1.5 {
		t.Fatalf("repaired to width %v, %d MACs; want under 150M with a smaller width", r.WidthMult, c.MACs)
	}
	// The bisection stops within 0.002 of the boundary: a slightly wider network is over.
	wider := r.Clone()
	wider.WidthMult += 0.002
	if c2, _ := s.Cost(wider); c2.MACs <= 150_000_000 && c2.MACs != c.MACs {
		t.Errorf("width %v fits (%d MACs) but the repair stopped at %v", wider.WidthMult, c2.MACs, r.WidthMult)
	}
	for i := range r.Stages {
		if r.Stages[i].Depth != g.Stages[i].Depth || r.Stages[i].Expand != 6 {
			t.Errorf("stage %d changed beyond the width: %+v", i, r.Stages[i])
		}
	}
}

func TestUnreachableBudget(t *testing.T) {
	_, err := New(Config{Budget: 1000})
	if !errors.Is(err, ErrBudgetUnreachable) {
		t.Fatalf("New(budget 1000 MACs) = %v, want ErrBudgetUnreachable", err)
	}
	if msg := err.Error(); len(msg) < 20 {
		t.Errorf("error %q should give the smallest reachable cost", msg)
	}
}

// TestProxyKeepsGrouping builds one genome at the target and at MNIST's proxy shape:
// the proxy keeps every block and grouping choice, and its later stages see the
// target's feature-map sizes.
func TestProxyKeepsGrouping(t *testing.T) {
	s, err := New(Config{Budget: 300_000_000})
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Sample(rand.New(rand.NewPCG(5, 6)))
	if err != nil {
		t.Fatal(err)
	}
	target, err := s.Build(g, BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	proxy, err := s.Build(g, BuildOptions{Input: ops.Shape{C: 1, H: 28, W: 28}, Classes: 10})
	if err != nil {
		t.Fatal(err)
	}
	narrow, err := s.Build(g, BuildOptions{Input: ops.Shape{C: 1, H: 28, W: 28}, Classes: 10, ProxyWidth: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	// The convolutions, their kernels and their groups, without their strides (the
	// proxy derivation changes strides and drops the max pools that stood for them).
	convs := func(n *ops.Network) []string {
		var ks []string
		for _, l := range n.Layers() {
			if f := strings.Fields(l.Kind); len(f) >= 2 && f[0] == "Conv2D" {
				f[1], _, _ = strings.Cut(f[1], "/")
				ks = append(ks, strings.Join(f, " "))
			}
		}
		return ks
	}
	tk, pk := convs(target), convs(proxy)
	if strings.Join(tk, ",") != strings.Join(pk, ",") {
		t.Fatalf("proxy convolutions differ from the target's:\nproxy  %v\ntarget %v", pk, tk)
	}
	if proxy.Cost().MACs >= target.Cost().MACs || narrow.Cost().MACs >= proxy.Cost().MACs {
		t.Errorf("MACs: target %d, proxy %d, proxy at width 0.5 %d: want each below the one before",
			target.Cost().MACs, proxy.Cost().MACs, narrow.Cost().MACs)
	}
	if len(convs(narrow)) != len(tk) {
		t.Errorf("the proxy at width 0.5 has %d convolutions, the target %d", len(convs(narrow)), len(tk))
	}
	// 224/28 = 8: the first three stride-2 downsamplings become stride 1, so the
	// strides left are those of stages 4 and 6, as at the target.
	if got := s.strides(ops.Shape{C: 1, H: 28, W: 28}, Genome{Stages: make([]Stage, 7)}); got[0] != 1 || got[2] != 1 || got[3] != 1 || got[4] != 2 || got[6] != 2 {
		t.Errorf("proxy strides %v, want the stem, stage 2 and 3 at 1, stages 4 and 6 at 2", got)
	}
}

// TestStrideOneShuffleKeepsDivisibility covers a skeleton whose first stage keeps
// the stem's width at stride 1 as a ShuffleNet stage: the stem must then also suit
// the next stage's groups.
func TestStrideOneShuffleKeepsDivisibility(t *testing.T) {
	s, err := New(Config{Budget: 50_000_000, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Stem: 8,
		Skeleton: []StageSpec{{8, 1, 1}, {16, 2, 1}, {32, 2, 1}}})
	if err != nil {
		t.Fatal(err)
	}
	for _, fam := range []Family{ShuffleV1, ShuffleV2} {
		for _, groups := range GroupCounts {
			g := Genome{WidthMult: 1, Stages: []Stage{
				{Family: fam, Depth: 2, Width: 1, Expand: 1, Groups: 2, Kernels: []int{3}},
				{Family: InvertedResidual, Depth: 1, Width: 1, Expand: 2, Groups: groups, Kernels: []int{3}},
				{Family: InvertedResidual, Depth: 1, Width: 1, Expand: 2, Groups: 1, Kernels: []int{3}},
			}}
			if _, err := s.Build(g, BuildOptions{}); err != nil {
				t.Errorf("%s stage then %d groups: %v", fam, groups, err)
			}
		}
	}
}
