package search

import (
	"cmp"
	"slices"
)

// hypervolume returns the area dominated by pts in the normalised objective space
// (MACs/budget, accuracy), bounded by the reference point (1, 0): the budget and
// zero accuracy. Points at or beyond the reference in either objective add
// nothing. The computation is exact: sweeping the points by increasing MACs, each
// strip between one point's MACs and the next's is as high as the best accuracy
// seen so far (Zitzler and Thiele's S metric in two dimensions).
func hypervolume(pts []point, budget int64) float64 {
	type xy struct{ x, y float64 }
	var in []xy
	for _, p := range pts {
		x := float64(p.macs) / float64(budget)
		if x < 1 && p.acc > 0 && p.viol == 0 {
			in = append(in, xy{x, p.acc})
		}
	}
	slices.SortFunc(in, func(a, b xy) int { return cmp.Compare(a.x, b.x) })
	hv, best := 0.0, 0.0
	for i, p := range in {
		best = max(best, p.y)
		next := 1.0
		if i+1 < len(in) {
			next = in[i+1].x
		}
		hv += (next - p.x) * best
	}
	return hv
}
