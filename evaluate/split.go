package evaluate

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// Split names one of a dataset's three parts.
type Split int

const (
	// Train is the training split: the original training set minus the validation
	// hold-out, cut to Options.TrainLimit.
	Train Split = iota
	// Val is the validation split held out of the original training set. The search
	// selects on it.
	Val
	// Test is the dataset's own test set, read only when asked for, so that a
	// reported test accuracy was never selected on.
	Test
)

var splitNames = [...]string{Train: "train", Val: "val", Test: "test"}

// String returns "train", "val" or "test".
func (s Split) String() string {
	if s >= 0 && int(s) < len(splitNames) {
		return splitNames[s]
	}
	return fmt.Sprintf("Split(%d)", int(s))
}

// MarshalText returns s's name.
func (s Split) MarshalText() ([]byte, error) {
	if s < 0 || int(s) >= len(splitNames) {
		return nil, fmt.Errorf("invalid split %d", int(s))
	}
	return []byte(splitNames[s]), nil
}

// UnmarshalText sets s from its name: "train", "val" or "test".
func (s *Split) UnmarshalText(text []byte) error {
	i := slices.Index(splitNames[:], string(text))
	if i < 0 {
		return fmt.Errorf("unknown split %q: want train, val or test", text)
	}
	*s = Split(i)
	return nil
}

// splitStream is the PCG stream of the validation hold-out's random numbers, so that
// Options.Seed used elsewhere does not give correlated draws.
const splitStream = 0x5eed_5911

// holdOut chooses n of the samples with the given labels for validation, stratified
// by class: each class gives its share of n, n*count/total, rounded by the largest
// remainder method so that the shares add up to n (ties go to the lower class). The
// samples of each class are drawn uniformly with seed. It returns the sample numbers
// of the rest and of the hold-out, each in increasing order.
func holdOut(labels []uint8, classes, n int, seed uint64) (rest, val []int32) {
	total := len(labels)
	byClass := make([][]int32, classes)
	for i, l := range labels {
		byClass[l] = append(byClass[l], int32(i))
	}
	quota := make([]int, classes)
	rem := make([]int, classes) // remainders of n*count/total, in units of 1/total
	left := n
	for c, members := range byClass {
		q := n * len(members)
		quota[c], rem[c] = q/total, q%total
		left -= quota[c]
	}
	order := make([]int, classes)
	for c := range order {
		order[c] = c
	}
	slices.SortStableFunc(order, func(a, b int) int { return rem[b] - rem[a] })
	for _, c := range order[:left] {
		quota[c]++
	}

	rng := rand.New(rand.NewPCG(seed, splitStream))
	held := make([]bool, total)
	for c, members := range byClass {
		// A partial Fisher-Yates shuffle draws quota[c] members without replacement.
		for i := range quota[c] {
			j := i + rng.IntN(len(members)-i)
			members[i], members[j] = members[j], members[i]
			held[members[i]] = true
		}
	}
	rest = make([]int32, 0, total-n)
	val = make([]int32, 0, n)
	for i, h := range held {
		if h {
			val = append(val, int32(i))
		} else {
			rest = append(rest, int32(i))
		}
	}
	return rest, val
}
