package search

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/MaxHalford/eaopt"

	"nas/space"
)

// crossRate is NSGA-II's crossover probability (Deb et al. 2002, section V: pc = 0.9).
const crossRate = 0.9

// narrowRate is the probability that an NSGA-II child is also narrowed: its width
// multiplier scaled by a factor drawn uniformly from [narrowMin, narrowMax), the way
// MobileNet and EfficientNet scale a good architecture down to a smaller budget.
// Without it the children drifted to large networks (in three runs of 8 x 5 at 300M
// MACs their mean cost was 150-200M against random search's 125-130M), leaving the
// cheap end of the front, which weighs most in the hypervolume, to chance.
const (
	narrowRate = 0.3
	narrowMin  = 0.35
	narrowMax  = 0.85
)

// Every NSGA-II child is also mutated by space.Mutate, which redraws one to three of
// a genome's ~57 genes (MobileNetV2's skeleton: 7 stages of 8 genes and the width
// multiplier): about Deb et al.'s rate of 1/n per variable.

// nsgaModel is NSGA-II (Deb et al. 2002) as an eaopt model: binary tournament on
// (rank, crowding distance), uniform stage crossover and mutation from space,
// successive halving of the offspring, and (mu+lambda) environmental selection by
// constrained non-dominated sorting and crowding distance. Its fitness for eaopt is
// rank - c/(1+c) for crowding distance c, which sorts like the crowded comparison.
type nsgaModel struct{ r *runner }

var _ strategy = (*nsgaModel)(nil)

// Validate implements eaopt.Model.
func (m *nsgaModel) Validate() error { return nil }

// Apply implements eaopt.Model: one generation.
func (m *nsgaModel) Apply(pop *eaopt.Population) error {
	r := m.r
	r.gen++
	parents := members(pop)
	rng := rng2(pop.RNG)
	// Rank and crowding are recomputed on the parents: the ranks equal those of
	// the last selection, the crowding of its last, partly kept front differs.
	rc, _ := rankAndCrowd(points(parents))
	all := make([]int, len(parents))
	for i := range all {
		all[i] = i
	}
	n := min(r.cfg.Population, r.remaining())
	children := make([]*individual, 0, n)
	for len(children) < n {
		a, b := parents[tournament(rc, all, rng)], parents[tournament(rc, all, rng)]
		x, y := a.g, b.g
		if rng.Float64() < crossRate {
			var err error
			if x, y, err = r.sp.Crossover(a.g, b.g, rng); err != nil {
				return err
			}
		}
		for _, g := range []space.Genome{x, y} {
			if len(children) == n {
				break
			}
			child, err := r.fresh(func(int) (space.Genome, error) {
				var err error
				if g, err = r.sp.Mutate(g, rng); err != nil || rng.Float64() >= narrowRate {
					return g, err
				}
				return narrow(r.sp, g, rng)
			})
			if err != nil {
				return err
			}
			children = append(children, child)
		}
	}
	if err := r.halve(children); err != nil {
		return err
	}
	union := append(parents, children...)
	chosen, rc := survivors(points(union), r.cfg.Population)
	next := make([]*individual, len(chosen))
	for i, c := range chosen {
		next[i] = union[c]
		next[i].fitness = nsgaFitness(rc, c)
	}
	setMembers(pop, next)
	return r.endGeneration(next)
}

// narrow returns g with its width multiplier scaled down by a random factor (see
// narrowRate), repaired; the space clamps it at space.MinWidthMult.
func narrow(sp *space.Space, g space.Genome, rng *rand.Rand) (space.Genome, error) {
	g = g.Clone()
	g.WidthMult *= narrowMin + (narrowMax-narrowMin)*rng.Float64()
	return sp.Repair(g)
}

// nsgaFitness is the scalar eaopt sorts by: lower rank first, then larger crowding.
func nsgaFitness(rc rankCrowd, i int) float64 {
	c := rc.crowd[i]
	if math.IsInf(c, 1) {
		return float64(rc.rank[i]) - 1
	}
	return float64(rc.rank[i]) - c/(1+c)
}

// rankForPromotion implements strategy: the crowded comparison.
func (m *nsgaModel) rankForPromotion(inds []*individual) []int {
	rc, _ := rankAndCrowd(points(inds))
	return rc.order()
}

// start implements strategy.
func (m *nsgaModel) start(inds []*individual) { setNSGAFitness(inds) }

// setNSGAFitness sets the fitness of inds from their rank and crowding among them.
func setNSGAFitness(inds []*individual) {
	rc, _ := rankAndCrowd(points(inds))
	for i, ind := range inds {
		ind.fitness = nsgaFitness(rc, i)
	}
}

// evolutionModel is aging evolution (Real et al. 2019, Algorithm 1) as an eaopt
// model: the population is a queue; each child is a mutation of the best of
// Config.Sample members drawn at random (with replacement, as in the paper), and
// each child's arrival retires the oldest member. It breeds Config.Workers children
// at a time from the same queue, so that they train in parallel (the paper's
// workers do the same asynchronously); with one worker it is the sequential
// algorithm. A generation is Config.Population children; successive halving then
// promotes the most accurate of them, whose better-founded scores update the
// members they are. eaopt's fitness is minus the rung and accuracy.
type evolutionModel struct{ r *runner }

var _ strategy = (*evolutionModel)(nil)

// Validate implements eaopt.Model.
func (m *evolutionModel) Validate() error { return nil }

// Apply implements eaopt.Model: one generation of Config.Population children.
func (m *evolutionModel) Apply(pop *eaopt.Population) error {
	r := m.r
	r.gen++
	queue := members(pop) // oldest first
	if len(queue) == 0 {
		return errors.New("search: aging evolution: empty population")
	}
	rng := rng2(pop.RNG)
	n := min(r.cfg.Population, r.remaining())
	var cohort []*individual
	for len(cohort) < n {
		batch := make([]*individual, min(r.cfg.Workers, n-len(cohort)))
		reqs := make([]request, len(batch))
		for i := range batch {
			parent := queue[rng.IntN(len(queue))]
			for range r.cfg.Sample - 1 {
				if c := queue[rng.IntN(len(queue))]; fitter(c, parent) {
					parent = c
				}
			}
			g := parent.g
			child, err := r.fresh(func(int) (space.Genome, error) {
				var err error
				g, err = r.sp.Mutate(g, rng)
				return g, err
			})
			if err != nil {
				return err
			}
			batch[i], reqs[i] = child, request{ind: child, rung: 0}
		}
		if err := r.evaluate(reqs); err != nil {
			return err
		}
		// The children join at the young end and as many of the oldest die.
		queue = append(queue[min(len(batch), len(queue)):], batch...)
		cohort = append(cohort, batch...)
	}
	if err := r.promote(cohort); err != nil {
		return err
	}
	for _, ind := range queue {
		ind.fitness = evolutionFitness(ind)
	}
	setMembers(pop, queue)
	return r.endGeneration(queue)
}

// fitter reports whether a is better than b for aging evolution: the smaller
// constraint violation, then the higher rung, then the higher accuracy, then
// the fewer MACs.
func fitter(a, b *individual) bool {
	pa, pb := a.point(), b.point()
	switch {
	case pa.viol != pb.viol:
		return pa.viol < pb.viol
	case pa.rung != pb.rung:
		return pa.rung > pb.rung
	case pa.acc != pb.acc:
		return pa.acc > pb.acc
	}
	return pa.macs < pb.macs
}

// evolutionFitness orders like fitter for eaopt: lower is fitter.
func evolutionFitness(ind *individual) float64 {
	p := ind.point()
	if p.viol > 0 {
		return 1 + p.viol
	}
	// Accuracy is at most 1, so 2 per rung keeps the rungs apart.
	return -(2*float64(p.rung) + p.acc)
}

// rankForPromotion implements strategy: by fitter.
func (m *evolutionModel) rankForPromotion(inds []*individual) []int {
	idx := make([]int, len(inds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		switch {
		case fitter(inds[i], inds[j]):
			return -1
		case fitter(inds[j], inds[i]):
			return 1
		}
		return 0
	})
	return idx
}

// start implements strategy.
func (m *evolutionModel) start(inds []*individual) {
	for _, ind := range inds {
		ind.fitness = evolutionFitness(ind)
	}
}

// randomModel is random search as an eaopt model: every generation is
// Config.Population fresh samples, with the same successive halving as NSGA-II,
// so that both spend the same evaluations. The population is the last generation.
type randomModel struct{ r *runner }

var _ strategy = (*randomModel)(nil)

// Validate implements eaopt.Model.
func (m *randomModel) Validate() error { return nil }

// Apply implements eaopt.Model: one generation of samples.
func (m *randomModel) Apply(pop *eaopt.Population) error {
	r := m.r
	r.gen++
	rng := rng2(pop.RNG)
	n := min(r.cfg.Population, r.remaining())
	cohort := make([]*individual, n)
	for i := range cohort {
		var err error
		if cohort[i], err = r.fresh(func(int) (space.Genome, error) { return r.sp.Sample(rng) }); err != nil {
			return err
		}
	}
	if err := r.halve(cohort); err != nil {
		return err
	}
	setNSGAFitness(cohort)
	setMembers(pop, cohort)
	return r.endGeneration(cohort)
}

// rankForPromotion implements strategy: the crowded comparison, as NSGA-II.
func (m *randomModel) rankForPromotion(inds []*individual) []int {
	rc, _ := rankAndCrowd(points(inds))
	return rc.order()
}

// start implements strategy.
func (m *randomModel) start(inds []*individual) { setNSGAFitness(inds) }
