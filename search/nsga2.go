package search

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// point is a candidate as NSGA-II compares it: its objectives (maximise accuracy,
// minimise MACs), its constraint violation and the rung at which it was scored.
type point struct {
	acc  float64
	macs int64
	// viol is the constraint violation: 0 for a feasible candidate, its excess over
	// the budget as a fraction of the budget otherwise, +Inf if it failed.
	viol float64
	rung int
}

// violation returns the constraint violation of a candidate of cost macs with
// result r under budget.
func violation(macs int64, budget int64, r Result) float64 {
	if r.Failed != "" {
		return math.Inf(1)
	}
	if macs <= budget {
		return 0
	}
	return float64(macs-budget) / float64(budget)
}

// dominates reports whether a constrained-dominates b (Deb et al. 2002, section
// IV-B): a feasible candidate dominates an infeasible one; of two infeasible ones,
// the smaller violation dominates; of two feasible ones, the one scored at the
// higher rung dominates (scores at different fidelities are not comparable, and a
// higher rung is reached only by candidates promoted as the best of their rung),
// and at equal rungs Pareto dominance on (accuracy, MACs) decides. Each step is a
// strict partial order refining the classes of the one before, so the whole is a
// strict partial order, as non-dominated sorting needs.
func dominates(a, b point) bool {
	if a.viol != b.viol {
		return a.viol < b.viol
	}
	if a.viol > 0 {
		return false
	}
	if a.rung != b.rung {
		return a.rung > b.rung
	}
	return a.acc >= b.acc && a.macs <= b.macs && (a.acc > b.acc || a.macs < b.macs)
}

// nondominatedSort returns the fronts of pts, best first, as indices in increasing
// order (Deb et al. 2002, fast non-dominated sort), and each point's rank (0 for
// the first front).
func nondominatedSort(pts []point) (fronts [][]int, rank []int) {
	n := len(pts)
	rank = make([]int, n)
	dominated := make([][]int, n) // S_p: the points p dominates
	count := make([]int, n)       // n_p: how many points dominate p
	var cur []int
	for p := range n {
		for q := range n {
			switch {
			case dominates(pts[p], pts[q]):
				dominated[p] = append(dominated[p], q)
			case dominates(pts[q], pts[p]):
				count[p]++
			}
		}
		if count[p] == 0 {
			cur = append(cur, p)
		}
	}
	for r := 0; len(cur) > 0; r++ {
		fronts = append(fronts, cur)
		var next []int
		for _, p := range cur {
			rank[p] = r
			for _, q := range dominated[p] {
				if count[q]--; count[q] == 0 {
					next = append(next, q)
				}
			}
		}
		slices.Sort(next)
		cur = next
	}
	return fronts, rank
}

// crowding returns the crowding distance of each point of one front (Deb et al.
// 2002, section III-B): the boundary points of each objective get +Inf, the others
// the sum over objectives of the normalised gap between their neighbours.
func crowding(pts []point, front []int) []float64 {
	d := make([]float64, len(front))
	if len(front) <= 2 {
		for i := range d {
			d[i] = math.Inf(1)
		}
		return d
	}
	order := make([]int, len(front)) // positions in front
	objectives := []func(p point) float64{
		func(p point) float64 { return p.acc },
		func(p point) float64 { return float64(p.macs) },
	}
	for _, f := range objectives {
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(f(pts[front[i]]), f(pts[front[j]])) })
		lo, hi := f(pts[front[order[0]]]), f(pts[front[order[len(order)-1]]])
		d[order[0]], d[order[len(order)-1]] = math.Inf(1), math.Inf(1)
		if hi == lo {
			continue
		}
		for k := 1; k < len(order)-1; k++ {
			d[order[k]] += (f(pts[front[order[k+1]]]) - f(pts[front[order[k-1]]])) / (hi - lo)
		}
	}
	return d
}

// rankCrowd holds NSGA-II's order of a set of points: each point's front rank and
// crowding distance within its front.
type rankCrowd struct {
	rank  []int
	crowd []float64
}

// better is the crowded-comparison operator (Deb et al. 2002, section III-C): the
// lower rank wins, and at equal rank the larger crowding distance.
func (rc rankCrowd) better(i, j int) bool {
	if rc.rank[i] != rc.rank[j] {
		return rc.rank[i] < rc.rank[j]
	}
	return rc.crowd[i] > rc.crowd[j]
}

// rankAndCrowd sorts pts into fronts and computes every point's crowding distance.
func rankAndCrowd(pts []point) (rankCrowd, [][]int) {
	fronts, rank := nondominatedSort(pts)
	rc := rankCrowd{rank: rank, crowd: make([]float64, len(pts))}
	for _, f := range fronts {
		for k, d := range crowding(pts, f) {
			rc.crowd[f[k]] = d
		}
	}
	return rc, fronts
}

// order returns the indices of pts from best to worst by the crowded comparison,
// ties in index order.
func (rc rankCrowd) order() []int {
	idx := make([]int, len(rc.rank))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(i, j int) int {
		switch {
		case rc.better(i, j):
			return -1
		case rc.better(j, i):
			return 1
		}
		return 0
	})
	return idx
}

// survivors is NSGA-II's environmental selection (Deb et al. 2002, section III-C):
// whole fronts of pts in rank order while they fit in n, then the most crowded-apart
// points of the front that does not fit. It returns the chosen indices in
// increasing order and the rank and crowding of every point, computed on pts.
func survivors(pts []point, n int) ([]int, rankCrowd) {
	rc, fronts := rankAndCrowd(pts)
	var chosen []int
	for _, f := range fronts {
		if len(chosen)+len(f) <= n {
			chosen = append(chosen, f...)
			continue
		}
		rest := slices.Clone(f)
		slices.SortStableFunc(rest, func(i, j int) int { return cmp.Compare(rc.crowd[j], rc.crowd[i]) })
		chosen = append(chosen, rest[:n-len(chosen)]...)
		break
	}
	slices.Sort(chosen)
	return chosen, rc
}

// tournament is binary tournament selection on the crowded comparison: it draws
// two of idx, with replacement, and returns the better, the first drawn on a tie.
func tournament(rc rankCrowd, idx []int, rng *rand.Rand) int {
	a, b := idx[rng.IntN(len(idx))], idx[rng.IntN(len(idx))]
	if rc.better(b, a) {
		return b
	}
	return a
}
