package search

import (
	"math"
	mathrand "math/rand" // eaopt's Genome methods take math/rand (v1) generators
	"math/rand/v2"
	"slices"
	"testing"

	"nas/ops"
	"nas/space"
)

func TestDominates(t *testing.T) {
	inf := math.Inf(1)
	for _, c := range []struct {
		name string
		a, b point
		want bool
	}{
		{"better in both", point{acc: 0.8, macs: 100}, point{acc: 0.7, macs: 200}, true},
		{"better accuracy, equal MACs", point{acc: 0.8, macs: 100}, point{acc: 0.7, macs: 100}, true},
		{"equal accuracy, fewer MACs", point{acc: 0.8, macs: 100}, point{acc: 0.8, macs: 150}, true},
		{"equal", point{acc: 0.8, macs: 100}, point{acc: 0.8, macs: 100}, false},
		{"trade-off", point{acc: 0.9, macs: 300}, point{acc: 0.8, macs: 100}, false},
		{"worse in both", point{acc: 0.7, macs: 200}, point{acc: 0.8, macs: 100}, false},
		// Deb et al. 2002, IV-B: feasibility first, whatever the objectives.
		{"feasible over infeasible", point{acc: 0.1, macs: 900}, point{acc: 0.99, macs: 10, viol: 0.01}, true},
		{"infeasible under feasible", point{acc: 0.99, macs: 10, viol: 0.01}, point{acc: 0.1, macs: 900}, false},
		{"smaller violation", point{acc: 0.1, viol: 0.1}, point{acc: 0.9, viol: 0.5}, true},
		{"larger violation", point{acc: 0.9, viol: 0.5}, point{acc: 0.1, viol: 0.1}, false},
		{"equal violations", point{acc: 0.9, macs: 1, viol: 0.5}, point{acc: 0.1, macs: 9, viol: 0.5}, false},
		{"over budget over failed", point{viol: 3}, point{viol: inf}, true},
		{"failed and failed", point{viol: inf}, point{viol: inf}, false},
		// Scores at different fidelities are not weighed against each other.
		{"higher rung", point{acc: 0.3, macs: 900, rung: 1}, point{acc: 0.9, macs: 100, rung: 0}, true},
		{"lower rung", point{acc: 0.9, macs: 100, rung: 0}, point{acc: 0.3, macs: 900, rung: 1}, false},
		{"infeasible at a higher rung", point{acc: 0.9, macs: 100, rung: 1, viol: 0.1}, point{acc: 0.3, macs: 900}, false},
	} {
		if got := dominates(c.a, c.b); got != c.want {
			t.Errorf("%s: dominates(%+v, %+v) = %v, want %v", c.name, c.a, c.b, got, c.want)
		}
	}
}

func TestNondominatedSort(t *testing.T) {
	pts := []point{
		{acc: 0.9, macs: 900}, // 0: front 0
		{acc: 0.5, macs: 100}, // 1: front 0
		{acc: 0.7, macs: 500}, // 2: front 0
		{acc: 0.6, macs: 600}, // 3: dominated by 2 -> front 1
		{acc: 0.4, macs: 200}, // 4: dominated by 1 -> front 1
		{acc: 0.3, macs: 700}, // 5: dominated by 3 and 4 -> front 2
		// 6: the best objectives but over budget -> last
		{acc: 0.99, macs: 10, viol: 0.2},
		{acc: 0.9, macs: 900}, // 7: equal to 0 -> front 0
	}
	fronts, rank := nondominatedSort(pts)
	want := [][]int{{0, 1, 2, 7}, {3, 4}, {5}, {6}}
	if !slices.EqualFunc(fronts, want, slices.Equal) {
		t.Fatalf("fronts = %v, want %v", fronts, want)
	}
	wantRank := []int{0, 0, 0, 1, 1, 2, 3, 0}
	if !slices.Equal(rank, wantRank) {
		t.Errorf("ranks = %v, want %v", rank, wantRank)
	}
}

func TestCrowding(t *testing.T) {
	pts := []point{{acc: 0.1, macs: 100}, {acc: 1.0, macs: 1000}, {acc: 0.4, macs: 300}, {acc: 0.6, macs: 600}}
	got := crowding(pts, []int{0, 1, 2, 3})
	inf := math.Inf(1)
	// By hand: accuracy spans 0.9 and MACs 900; point 2's neighbours are 0 and 3,
	// point 3's are 2 and 1.
	want := []float64{inf, inf, (0.6-0.1)/0.9 + (600-100)/900.0, (1.0-0.4)/0.9 + (1000-300)/900.0}
	// 1e-12: a few roundings of numbers near 1.
	for i := range want {
		if got[i] != want[i] && math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("crowding of point %d = %v, want %v", i, got[i], want[i])
		}
	}
	if two := crowding(pts, []int{0, 1}); !math.IsInf(two[0], 1) || !math.IsInf(two[1], 1) {
		t.Errorf("crowding of a front of two = %v, want both +Inf", two)
	}
}

func TestSurvivors(t *testing.T) {
	pts := []point{
		{acc: 0.9, macs: 900}, {acc: 0.5, macs: 100}, // front 0
		{acc: 0.3, macs: 150}, {acc: 0.5, macs: 500}, {acc: 0.8, macs: 950}, // front 1
	}
	// Front 1 has 3 members and one slot left: point 3 sits between the others, so
	// a boundary point (crowding +Inf) takes it, the first in index order on ties.
	got, rc := survivors(pts, 3)
	if want := []int{0, 1, 2}; !slices.Equal(got, want) {
		t.Errorf("survivors(pts, 3) = %v, want %v", got, want)
	}
	if !rc.better(0, 2) || !rc.better(2, 3) || rc.better(3, 2) {
		t.Errorf("crowded comparison: ranks %v crowding %v; want 0 before 2 before 3", rc.rank, rc.crowd)
	}
	if got, _ := survivors(pts, 5); !slices.Equal(got, []int{0, 1, 2, 3, 4}) {
		t.Errorf("survivors(pts, 5) = %v, want all", got)
	}
}

func TestHypervolume(t *testing.T) {
	const budget = 1000
	for _, c := range []struct {
		name string
		pts  []point
		want float64
	}{
		{"empty", nil, 0},
		// (1 - 0.5) * 0.8
		{"one point", []point{{acc: 0.8, macs: 500}}, 0.4},
		// (0.6 - 0.2) * 0.5 + (1 - 0.6) * 0.9
		{"two points", []point{{acc: 0.9, macs: 600}, {acc: 0.5, macs: 200}}, 0.56},
		{"a dominated point adds nothing", []point{{acc: 0.9, macs: 600}, {acc: 0.5, macs: 200}, {acc: 0.3, macs: 400}}, 0.56},
		{"a duplicate adds nothing", []point{{acc: 0.8, macs: 500}, {acc: 0.8, macs: 500}}, 0.4},
		{"over the budget adds nothing", []point{{acc: 0.8, macs: 500}, {acc: 0.99, macs: 1200}}, 0.4},
		{"infeasible adds nothing", []point{{acc: 0.8, macs: 500}, {acc: 0.99, macs: 100, viol: 0.5}}, 0.4},
		{"at the reference adds nothing", []point{{acc: 0.8, macs: 500}, {acc: 0.99, macs: 1000}, {acc: 0, macs: 1}}, 0.4},
		// (0.25 - 0) * 0.2 + (0.5 - 0.25) * 0.6 + (1 - 0.5) * 0.8
		{"three points from zero MACs", []point{{acc: 0.2, macs: 0}, {acc: 0.6, macs: 250}, {acc: 0.8, macs: 500}}, 0.6},
	} {
		// 1e-12: a few roundings of products of numbers below 1.
		if got := hypervolume(c.pts, budget); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: hypervolume(%+v) = %v, want %v", c.name, c.pts, got, c.want)
		}
	}
}

func TestFidelityKey(t *testing.T) {
	for _, c := range []struct {
		f    Fidelity
		want string
	}{
		{Fidelity{TrainSize: 1000, Epochs: 1, Width: 0.5}, "n1000-e1-w0.5"},
		{Fidelity{TrainSize: 50000, Epochs: 10, Width: 1}, "n50000-e10-w1"},
		{Fidelity{TrainSize: 2, Epochs: 3, Width: 0.125}, "n2-e3-w0.125"},
	} {
		if got := c.f.Key(); got != c.want {
			t.Errorf("%+v.Key() = %q, want %q", c.f, got, c.want)
		}
	}
}

func TestStrategyText(t *testing.T) {
	for _, s := range strategies {
		b, err := s.MarshalText()
		if err != nil {
			t.Fatal(err)
		}
		var got Strategy
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("UnmarshalText(%q) = %v, %v; want %v", b, got, err, s)
		}
	}
	var s Strategy
	if err := s.UnmarshalText([]byte("NSGA2")); err != nil || s != NSGA2 {
		t.Errorf("UnmarshalText(\"NSGA2\") = %v, %v; want nsga2", s, err)
	}
	if err := s.UnmarshalText([]byte("hill-climbing")); err == nil {
		t.Errorf("UnmarshalText(\"hill-climbing\") succeeded, want an error")
	}
	if _, err := Strategy(7).MarshalText(); err == nil {
		t.Errorf("Strategy(7).MarshalText() succeeded, want an error")
	}
}

func TestConfigDefaults(t *testing.T) {
	c, err := Config{Fidelities: testRungs}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if c.Strategy != NSGA2 || c.Population != 16 || c.Generations != 10 || c.Keep != 0.5 || c.Sample != 4 || c.Workers < 1 {
		t.Errorf("defaults = %+v", c)
	}
	// 16 at rung 0 and 8 at rung 1, for 11 generations.
	if got := c.plannedEvaluations(); got != 264 {
		t.Errorf("planned evaluations = %d, want 264", got)
	}
	for _, c := range []struct {
		name string
		cfg  Config
	}{
		{"no fidelity", Config{}},
		{"bad fidelity", Config{Fidelities: []Fidelity{{TrainSize: 10, Epochs: 0, Width: 1}}}},
		{"population of one", Config{Population: 1, Fidelities: testRungs}},
		{"negative generations", Config{Generations: -1, Fidelities: testRungs}},
		{"keep above one", Config{Keep: 1.5, Fidelities: testRungs}},
		{"negative keep", Config{Keep: -0.5, Fidelities: testRungs}},
		{"negative cap", Config{Evaluations: -3, Fidelities: testRungs}},
		{"negative workers", Config{Workers: -1, Fidelities: testRungs}},
		{"sample above population", Config{Population: 4, Sample: 5, Fidelities: testRungs}},
		{"unknown strategy", Config{Strategy: 9, Fidelities: testRungs}},
		{"negative time limit", Config{TimeLimit: -1, Fidelities: testRungs}},
	} {
		if _, err := c.cfg.withDefaults(); err == nil {
			t.Errorf("%s: %+v accepted, want an error", c.name, c.cfg)
		}
	}
}

func TestPromoted(t *testing.T) {
	for _, c := range []struct {
		n    int
		keep float64
		want int
	}{
		{16, 0.5, 8}, {9, 0.5, 5}, {1, 0.5, 1}, {0, 0.5, 0}, {10, 0.3, 3}, {10, 1, 10}, {3, 0.01, 1},
	} {
		if got := promoted(c.n, c.keep); got != c.want {
			t.Errorf("promoted(%d, %v) = %d, want %d", c.n, c.keep, got, c.want)
		}
	}
}

// TestIndividualGenome exercises the eaopt.Genome methods the models do not use.
func TestIndividualGenome(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	r := &runner{sp: sp, budget: int64(sp.Budget()), costs: map[string]ops.Cost{}}
	rng := mathrand.New(mathrand.NewSource(1))
	a, err := r.newIndividual(mustSample(t, sp, 1))
	if err != nil {
		t.Fatal(err)
	}
	b, err := r.newIndividual(mustSample(t, sp, 2))
	if err != nil {
		t.Fatal(err)
	}
	c := a.Clone().(*individual)
	c.Mutate(rng)
	if c.err != nil || c.hash == a.hash || c.rung != -1 || a.hash != sp.Hash(a.g) {
		t.Errorf("Mutate of a clone: error %v, hash %s (original %s), rung %d; want a new unscored architecture and the original unchanged",
			c.err, c.hash, a.hash, c.rung)
	}
	x, y := a.Clone().(*individual), b.Clone().(*individual)
	x.Crossover(y, rng)
	for _, ind := range []*individual{x, y} {
		if ind.err != nil || ind.hash != sp.Hash(ind.g) || ind.cost.MACs > int64(sp.Budget()) || ind.rung != -1 {
			t.Errorf("Crossover: child %s error %v, %d MACs, rung %d; want a valid unscored child within budget", ind.hash, ind.err, ind.cost.MACs, ind.rung)
		}
	}
	if _, err := x.Evaluate(); err == nil {
		t.Errorf("Evaluate of an unscored child succeeded, want an error")
	}
}

func mustSample(t *testing.T, sp *space.Space, seed uint64) space.Genome {
	t.Helper()
	g, err := sp.Sample(rand.New(rand.NewPCG(seed, 0)))
	if err != nil {
		t.Fatal(err)
	}
	return g
}
