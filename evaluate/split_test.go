package evaluate

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// labelsWithCounts returns labels with the given number of samples per class, in an
// order shuffled with seed.
func labelsWithCounts(counts []int, seed uint64) []uint8 {
	var labels []uint8
	for c, n := range counts {
		for range n {
			labels = append(labels, uint8(c))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	rng.Shuffle(len(labels), func(i, j int) { labels[i], labels[j] = labels[j], labels[i] })
	return labels
}

func TestHoldOutStratified(t *testing.T) {
	for _, tc := range []struct {
		counts []int
		n      int
		want   []int // validation samples per class
	}{
		{[]int{50, 30, 20}, 10, []int{5, 3, 2}}, // exact shares
		// Shares 3.5, 2.1, 1.4: floors 3, 2, 1 leave one for the largest remainder.
		{[]int{50, 30, 20}, 7, []int{4, 2, 1}},
		// Shares 1/3 each: the one left over goes to the lowest class.
		{[]int{10, 10, 10}, 1, []int{1, 0, 0}},
		{[]int{10, 10, 10}, 0, []int{0, 0, 0}},
		{[]int{3, 0, 5}, 8, []int{3, 0, 5}}, // everything, with an empty class
	} {
		labels := labelsWithCounts(tc.counts, 1)
		rest, val := holdOut(labels, len(tc.counts), tc.n, 42)
		got := make([]int, len(tc.counts))
		for _, i := range val {
			got[labels[i]]++
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("holdOut(counts %v, n %d): validation samples per class %v, want %v", tc.counts, tc.n, got, tc.want)
		}
		if !slices.IsSorted(rest) || !slices.IsSorted(val) {
			t.Errorf("holdOut(counts %v, n %d): results not in increasing order", tc.counts, tc.n)
		}
		all := slices.Concat(rest, val)
		slices.Sort(all)
		for i, k := range all {
			if int(k) != i {
				t.Errorf("holdOut(counts %v, n %d): rest and validation are not a partition of 0..%d", tc.counts, tc.n, len(labels)-1)
				break
			}
		}
	}
}

func TestHoldOutSeeded(t *testing.T) {
	labels := labelsWithCounts([]int{100, 80, 60}, 7)
	rest1, val1 := holdOut(labels, 3, 24, 5)
	rest2, val2 := holdOut(labels, 3, 24, 5)
	if !slices.Equal(rest1, rest2) || !slices.Equal(val1, val2) {
		t.Errorf("holdOut with seed 5 twice: different splits")
	}
	_, val3 := holdOut(labels, 3, 24, 6)
	if slices.Equal(val1, val3) {
		t.Errorf("holdOut with seeds 5 and 6: the same validation split %v", val1)
	}
}
