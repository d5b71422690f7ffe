package search

import (
	"fmt"
	"math"
	mathrand "math/rand" // eaopt v0.4.2's interfaces take math/rand (v1) generators
	"math/rand/v2"
	"slices"

	"github.com/MaxHalford/eaopt"

	"nas/ops"
	"nas/space"
)

// individual is the eaopt.Genome of every strategy: a canonical architecture, its
// cost and its best score so far. eaopt's fitness is a single float64, so the
// objective vector lives here and fitness is only the strategy's scalar order (see
// the models). Scores are computed by the run's pool, never by Evaluate.
type individual struct {
	r    *runner
	g    space.Genome
	hash string
	cost ops.Cost
	// rung is the highest rung at which it was scored, -1 before its first score;
	// res is that score, given by evaluation seq.
	rung int
	res  Result
	seq  int
	// born is the Seq of its first evaluation: its age for aging evolution.
	born    int
	fitness float64
	// err is an error of Mutate or Crossover, whose signatures cannot return one;
	// Evaluate returns it.
	err error
}

var _ eaopt.Genome = (*individual)(nil)

// newIndividual returns an unscored individual for g.
func (r *runner) newIndividual(g space.Genome) (*individual, error) {
	ind := &individual{r: r}
	return ind, ind.set(g)
}

// set makes ind the unscored architecture g.
func (ind *individual) set(g space.Genome) error {
	r := ind.r
	ind.g = r.sp.Canonical(g)
	ind.hash = r.sp.Hash(ind.g)
	ind.rung, ind.res, ind.seq, ind.born, ind.fitness = -1, Result{}, -1, -1, math.Inf(1)
	c, ok := r.costs[ind.hash]
	if !ok {
		var err error
		if c, err = r.sp.Cost(ind.g); err != nil {
			return fmt.Errorf("search: cost of candidate %s: %w", ind.hash, err)
		}
		r.costs[ind.hash] = c
	}
	ind.cost = c
	return nil
}

// point returns ind's objectives as NSGA-II compares them.
func (ind *individual) point() point {
	return point{acc: ind.res.Accuracy, macs: ind.cost.MACs, viol: violation(ind.cost.MACs, ind.r.budget, ind.res), rung: ind.rung}
}

// Evaluate implements eaopt.Genome. It returns the fitness the strategy gave ind.
// The only unscored individuals eaopt asks about are those of the initial
// population, which GA.Initialize evaluates one by one: the first call scores them
// all at once in the pool.
func (ind *individual) Evaluate() (float64, error) {
	if ind.err != nil {
		return 0, ind.err
	}
	if ind.rung < 0 && len(ind.r.initial) > 0 {
		if err := ind.r.startPopulation(); err != nil {
			return 0, err
		}
	}
	if ind.rung < 0 {
		return 0, fmt.Errorf("search: candidate %s was not scored by the strategy", ind.hash)
	}
	return ind.fitness, nil
}

// Mutate implements eaopt.Genome with space.Mutate; ind becomes unscored.
func (ind *individual) Mutate(rng *mathrand.Rand) {
	g, err := ind.r.sp.Mutate(ind.g, rng2(rng))
	if err == nil {
		err = ind.set(g)
	}
	ind.err = err
}

// Crossover implements eaopt.Genome with space.Crossover: ind and mate become the
// two children, unscored. eaopt's Individual.Crossover passes the mate's
// Individual by value, so its Evaluated flag goes stale; the models therefore
// cross genomes themselves and never call this.
func (ind *individual) Crossover(mate eaopt.Genome, rng *mathrand.Rand) {
	m, ok := mate.(*individual)
	if !ok {
		ind.err = fmt.Errorf("search: crossover with a %T", mate)
		return
	}
	x, y, err := ind.r.sp.Crossover(ind.g, m.g, rng2(rng))
	if err == nil {
		err = ind.set(x)
	}
	if err == nil {
		err = m.set(y)
	}
	ind.err = err
}

// Clone implements eaopt.Genome.
func (ind *individual) Clone() eaopt.Genome {
	c := *ind
	c.g = ind.g.Clone()
	return &c
}

// rng2 returns a math/rand/v2 generator seeded from one of eaopt's, so that every
// draw of the search descends from the run seed.
func rng2(r *mathrand.Rand) *rand.Rand { return rand.New(rand.NewPCG(r.Uint64(), r.Uint64())) }

// members returns the individuals of an eaopt population, oldest first, so that
// what a model does with them does not depend on how eaopt sorted them.
func members(pop *eaopt.Population) []*individual {
	inds := make([]*individual, len(pop.Individuals))
	for i, in := range pop.Individuals {
		inds[i] = in.Genome.(*individual)
	}
	slices.SortStableFunc(inds, func(a, b *individual) int { return a.born - b.born })
	return inds
}

// setMembers makes inds, whose fitness the model has set, the population.
func setMembers(pop *eaopt.Population, inds []*individual) {
	pop.Individuals = make(eaopt.Individuals, len(inds))
	for i, ind := range inds {
		pop.Individuals[i] = eaopt.Individual{Genome: ind, Fitness: ind.fitness, Evaluated: true, ID: ind.hash}
	}
}

// points returns the objectives of inds.
func points(inds []*individual) []point {
	pts := make([]point, len(inds))
	for i, ind := range inds {
		pts[i] = ind.point()
	}
	return pts
}

// fresh returns a new individual from the first of up to maxTries genomes given by
// draw (its argument is the try) whose architecture the run has not asked for yet,
// or from the last one; it marks the architecture as asked for. Without it NSGA-II
// wastes slots on copies of its parents, which the in-run cache would serve.
func (r *runner) fresh(draw func(try int) (space.Genome, error)) (*individual, error) {
	const maxTries = 8
	for try := 0; ; try++ {
		g, err := draw(try)
		if err != nil {
			return nil, fmt.Errorf("search: new candidate: %w", err)
		}
		ind, err := r.newIndividual(g)
		if err != nil {
			return nil, err
		}
		if !r.seen[ind.hash] || try == maxTries-1 {
			r.seen[ind.hash] = true
			return ind, nil
		}
	}
}
