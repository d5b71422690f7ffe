package search

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"nas/ops"
	"nas/space"
)

// tinySpace is a three-stage space at 16x16 whose genomes build in about 0.1 ms,
// so that a test can run searches of hundreds of evaluations. Its smallest
// architecture costs about 28K MACs; a budget of 2M leaves room for a front. Its
// stem (8) differs from the first stage's channels (16): when they are equal,
// space lets that stride-1 stage be a ShuffleNet unit whose output, the stem's
// width, need not divide by the next stage's groups, and the genome does not build.
func tinySpace(t testing.TB, budget space.Budget) *space.Space {
	t.Helper()
	sp, err := space.New(space.Config{
		Budget: budget, Target: ops.Shape{C: 3, H: 16, W: 16}, Classes: 10, Head: 64, Stem: 8,
		Skeleton: []space.StageSpec{{Channels: 16, Stride: 1, Depth: 1}, {Channels: 24, Stride: 2, Depth: 2}, {Channels: 32, Stride: 2, Depth: 2}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return sp
}

// testRungs are two rungs of successive halving.
var testRungs = []Fidelity{{TrainSize: 500, Epochs: 1, Width: 0.5}, {TrainSize: 1000, Epochs: 3, Width: 0.5}}

// fakeEvaluator scores a candidate by a deterministic synthetic accuracy: a
// saturating function of log MACs, a bonus for grouped convolutions with channel
// shuffle, a per-architecture noise drawn from its hash, scaled by a learning
// curve in the epochs. Candidates whose hash ends in one of the digits of failLast
// fail. It sleeps a
// random time up to maxSleep, so that with several workers evaluations finish out
// of order; the sleeps do not change the results.
type fakeEvaluator struct {
	sp       *space.Space
	maxSleep time.Duration
	failLast string

	calls atomic.Int64
	mu    sync.Mutex
	rng   *rand.Rand // for the sleeps only
}

var _ Evaluator = (*fakeEvaluator)(nil)

func newFake(sp *space.Space, maxSleep time.Duration) *fakeEvaluator {
	return &fakeEvaluator{sp: sp, maxSleep: maxSleep, rng: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))}
}

func (f *fakeEvaluator) Evaluate(ctx context.Context, g space.Genome, hash string, fid Fidelity) (Result, error) {
	f.calls.Add(1)
	if f.maxSleep > 0 {
		f.mu.Lock()
		d := time.Duration(f.rng.Int64N(int64(f.maxSleep)))
		f.mu.Unlock()
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
	}
	if strings.ContainsRune(f.failLast, rune(hash[len(hash)-1])) {
		return Result{Failed: "diverged"}, nil
	}
	c, err := f.sp.Cost(g)
	if err != nil {
		return Result{Failed: err.Error()}, nil
	}
	return Result{Accuracy: fakeAccuracy(g, hash, c.MACs, f.sp.Budget(), fid), ProxyMACs: c.MACs / 4}, nil
}

// fakeAccuracy is the synthetic accuracy of the fake evaluator, in [0, 1).
func fakeAccuracy(g space.Genome, hash string, macs int64, budget space.Budget, fid Fidelity) float64 {
	// A logistic curve in log MACs, half way at a tenth of the budget.
	x := math.Log(float64(macs) / (float64(budget) / 10))
	acc := 0.8 / (1 + math.Exp(-1.5*x))
	for _, st := range g.Stages {
		if st.Groups > 1 && st.Interleave != space.NoInterleave {
			acc += 0.04
		}
		if st.Family == space.Fire || st.Family == space.Flattened {
			acc -= 0.04
		}
	}
	u, _ := strconv.ParseUint(hash[:8], 16, 64)
	acc += 0.06 * (float64(u)/float64(1<<32) - 0.5)
	acc *= 1 - 0.3/float64(fid.Epochs+1)
	return min(max(acc, 0), 0.999)
}

// memRecorder is an in-memory Recorder. Its Cached serves the results of shared,
// if set: the cache of earlier runs.
type memRecorder struct {
	mu       sync.Mutex
	results  map[int]Result
	cache    map[string]Result
	shared   *memRecorder
	started  map[int]int // Seq -> calls
	finished map[int]int
	cached   int
	gens     []genRecord
	// afterFinished, if set, is called with the number of results recorded.
	afterFinished func(n int)
}

type genRecord struct {
	gen         int
	pop, front  []Evaluation
	hypervolume float64
}

var _ Recorder = (*memRecorder)(nil)

func newMemRecorder() *memRecorder {
	return &memRecorder{results: map[int]Result{}, cache: map[string]Result{}, started: map[int]int{}, finished: map[int]int{}}
}

func (m *memRecorder) Done(seq int) (Result, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.results[seq]
	return r, ok, nil
}

func (m *memRecorder) Cached(hash string, f Fidelity) (Result, bool, error) {
	if m.shared == nil {
		return Result{}, false, nil
	}
	m.shared.mu.Lock()
	defer m.shared.mu.Unlock()
	r, ok := m.shared.cache[hash+" "+f.Key()]
	return r, ok, nil
}

func (m *memRecorder) Started(e Evaluation) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.started[e.Seq]++
	return nil
}

func (m *memRecorder) Finished(e Evaluation, r Result, cached bool) error {
	m.mu.Lock()
	m.results[e.Seq] = r
	m.cache[e.Hash+" "+e.Fidelity.Key()] = r
	m.finished[e.Seq]++
	if cached {
		m.cached++
	}
	n, hook := len(m.results), m.afterFinished
	m.mu.Unlock()
	if hook != nil {
		hook(n)
	}
	return nil
}

func (m *memRecorder) EndGeneration(gen int, pop, front []Evaluation, hv float64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.gens = append(m.gens, genRecord{gen, pop, front, hv})
	return nil
}

// testConfig is a small search: 8 candidates a generation over two rungs (8 + 4
// evaluations), 4 generations after the initial population: 60 evaluations.
func testConfig(s Strategy, seed uint64) Config {
	return Config{Strategy: s, Population: 8, Generations: 4, Seed: seed, Workers: 2, Fidelities: testRungs}
}
