package search

import "slices"

// halve scores a generation's new candidates by successive halving (Jamieson and
// Talwalkar 2016; Li et al.'s Hyperband): all at the first rung, then, rung by
// rung, the best Keep fraction of those scored at the rung before, as the
// strategy ranks them, each again at the next. A candidate's objective is its score
// at the highest rung it reached; comparisons between candidates put the rung
// first (see dominates), so scores at different fidelities are never weighed
// against each other. The evaluation cap truncates the rungs.
func (r *runner) halve(cohort []*individual) error {
	reqs := make([]request, len(cohort))
	for i, ind := range cohort {
		reqs[i] = request{ind: ind, rung: 0}
	}
	if err := r.evaluate(reqs); err != nil {
		return err
	}
	return r.promote(cohort)
}

// promote runs the rungs after the first for a cohort scored at rung 0.
func (r *runner) promote(cohort []*individual) error {
	for rung := 1; rung < len(r.cfg.Fidelities); rung++ {
		var below []*individual
		for _, ind := range cohort {
			if ind.rung == rung-1 && ind.res.Failed == "" {
				below = append(below, ind)
			}
		}
		k := min(promoted(len(below), r.cfg.Keep), r.remaining())
		if k == 0 {
			return nil
		}
		best := r.model.rankForPromotion(below)[:k]
		// Ask in cohort order, so that Seqs follow the order candidates were made.
		slices.Sort(best)
		reqs := make([]request, k)
		for i, b := range best {
			reqs[i] = request{ind: below[b], rung: rung}
		}
		if err := r.evaluate(reqs); err != nil {
			return err
		}
	}
	return nil
}
