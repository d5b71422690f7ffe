package search

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"
)

// Strategy is a search strategy.
type Strategy int

// The strategies.
const (
	// NSGA2 is Deb et al.'s NSGA-II (2002) over (accuracy, MACs) under the budget.
	NSGA2 Strategy = iota
	// Evolution is Real et al.'s aging evolution (2019) on accuracy under the budget.
	Evolution
	// Random samples every candidate independently: the baseline.
	Random
	numStrategies
)

var strategyNames = [...]string{"nsga2", "evolution", "random"}

// String returns the strategy's name as the --strategy flag spells it.
func (s Strategy) String() string {
	if s < 0 || s >= numStrategies {
		return fmt.Sprintf("Strategy(%d)", int(s))
	}
	return strategyNames[s]
}

// MarshalText implements encoding.TextMarshaler.
func (s Strategy) MarshalText() ([]byte, error) {
	if s < 0 || s >= numStrategies {
		return nil, fmt.Errorf("invalid strategy %d", int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Strategy) UnmarshalText(b []byte) error {
	for i, n := range strategyNames {
		if strings.EqualFold(string(b), n) {
			*s = Strategy(i)
			return nil
		}
	}
	return fmt.Errorf("unknown strategy %q: want one of %s", b, strings.Join(strategyNames[:], ", "))
}

// Progress is a snapshot of a running search, passed to Config.Progress.
type Progress struct {
	// Generation is the generation being evaluated; 0 is the initial population.
	Generation int
	// Evaluations have finished (trained, cached or replayed); Running are in flight.
	Evaluations, Running int
	// BestAccuracy is the best accuracy of a successful candidate at Fidelity, the
	// highest fidelity reached so far.
	BestAccuracy float64
	Fidelity     Fidelity
	// FrontSize and Hypervolume describe the front after the last finished generation.
	FrontSize   int
	Hypervolume float64
	// Elapsed is the time since Run started; ETA estimates the time left from the
	// rate of evaluations trained so far (0 when unknown).
	Elapsed, ETA time.Duration
}

// Config configures a search. The zero value of each field but Fidelities gives
// the default written beside it.
type Config struct {
	// Strategy is the search strategy; the zero value is NSGA2.
	Strategy Strategy
	// Population is the population size, which is also the number of new
	// candidates of every generation; 0 means 16.
	Population int
	// Generations is the number of generations after the initial population; 0
	// means 10.
	Generations int
	// Evaluations caps the number of evaluations, counting each architecture and
	// fidelity once per run; 0 means no cap.
	Evaluations int
	// Seed determines every random choice of the search.
	Seed uint64
	// Workers is the number of evaluations run at once; 0 means GOMAXPROCS.
	// Aging evolution breeds this many children at a time, so its candidates
	// depend on it.
	Workers int
	// Fidelities are the rungs of successive halving, lowest first: every new
	// candidate is scored at the first, and the best Keep of those scored at one
	// rung are scored again at the next. At least one is required.
	Fidelities []Fidelity
	// Keep is the fraction of a generation's candidates promoted from one rung to
	// the next; 0 means 0.5 (Jamieson and Talwalkar's halving).
	Keep float64
	// Sample is aging evolution's tournament size S; 0 means a quarter of the
	// population, at least 2 (Real et al. 2019 use P=100, S=25).
	Sample int
	// TimeLimit ends the search after this long, cancelling evaluations in flight;
	// 0 means no limit.
	TimeLimit time.Duration
	// Progress, if not nil, is called after every finished evaluation and at the
	// end of every generation. Calls are never concurrent.
	Progress func(Progress)
}

// withDefaults returns c with its defaults filled in, or an error if c is invalid.
func (c Config) withDefaults() (Config, error) {
	if c.Population == 0 {
		c.Population = 16
	}
	if c.Generations == 0 {
		c.Generations = 10
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	if c.Keep == 0 {
		c.Keep = 0.5
	}
	if c.Sample == 0 {
		c.Sample = max(2, c.Population/4)
	}
	switch {
	case c.Strategy < 0 || c.Strategy >= numStrategies:
		return c, fmt.Errorf("search: invalid strategy %d", int(c.Strategy))
	case c.Population < 2:
		return c, fmt.Errorf("search: population %d: want at least 2", c.Population)
	case c.Generations < 0:
		return c, fmt.Errorf("search: %d generations: want at least 0", c.Generations)
	case c.Evaluations < 0:
		return c, fmt.Errorf("search: evaluation cap %d: want 0 (no cap) or more", c.Evaluations)
	case c.Workers < 0:
		return c, fmt.Errorf("search: %d workers: want 0 (all cores) or more", c.Workers)
	case !(c.Keep > 0 && c.Keep <= 1):
		return c, fmt.Errorf("search: keep %v: want a fraction in (0, 1]", c.Keep)
	case c.Sample < 1 || c.Sample > c.Population:
		return c, fmt.Errorf("search: sample size %d: want 1 to the population, %d", c.Sample, c.Population)
	case c.TimeLimit < 0:
		return c, fmt.Errorf("search: time limit %v: want 0 (none) or more", c.TimeLimit)
	case len(c.Fidelities) == 0:
		return c, fmt.Errorf("search: no fidelity: want at least one rung")
	}
	for i, f := range c.Fidelities {
		if err := validateFidelity(f); err != nil {
			return c, fmt.Errorf("search: rung %d: %w", i, err)
		}
	}
	if c.Evaluations > 0 && c.Population > c.Evaluations {
		// The initial population must fit in the cap.
		c.Population = c.Evaluations
		c.Sample = min(c.Sample, c.Population)
	}
	return c, nil
}

// rungSizes returns how many candidates of a generation of n are scored at each rung.
func (c Config) rungSizes(n int) []int {
	sizes := make([]int, len(c.Fidelities))
	for i := range sizes {
		sizes[i] = n
		n = promoted(n, c.Keep)
	}
	return sizes
}

// promoted is how many of n candidates go to the next rung: the Keep fraction,
// rounded up so that at least one always does.
func promoted(n int, keep float64) int {
	if n == 0 {
		return 0
	}
	return max(1, int(math.Ceil(keep*float64(n)-1e-9)))
}

// plannedEvaluations is the number of evaluations of a run that reaches its end.
func (c Config) plannedEvaluations() int {
	per := 0
	for _, n := range c.rungSizes(c.Population) {
		per += n
	}
	total := per * (c.Generations + 1)
	if c.Evaluations > 0 {
		total = min(total, c.Evaluations)
	}
	return total
}
