package search

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"nas/ops"
	"nas/space"
)

var strategies = []Strategy{NSGA2, Evolution, Random}

// run runs a search and fails the test on error.
func run(t *testing.T, ev Evaluator, rec Recorder, cfg Config) *Outcome {
	t.Helper()
	sp := ev.(*fakeEvaluator).sp
	out, err := Run(context.Background(), sp, ev, rec, cfg)
	if err != nil {
		t.Fatalf("Run(%s, seed %d): %v", cfg.Strategy, cfg.Seed, err)
	}
	return out
}

// sameScores fails unless got and want are the same evaluations with the same
// results, ignoring where the results came from (trained, cached, replayed).
func sameScores(t *testing.T, what string, got, want []Scored) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d evaluations, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Seq != w.Seq || g.Generation != w.Generation || g.Hash != w.Hash || g.Fidelity != w.Fidelity ||
			g.MACs != w.MACs || g.Params != w.Params || g.Rung != w.Rung || g.Result != w.Result {
			t.Fatalf("%s: evaluation %d = seq %d gen %d %s at %s, %d MACs, %+v; want seq %d gen %d %s at %s, %d MACs, %+v",
				what, i, g.Seq, g.Generation, g.Hash, g.Fidelity, g.MACs, g.Result, w.Seq, w.Generation, w.Hash, w.Fidelity, w.MACs, w.Result)
		}
	}
}

// sameOutcome fails unless got and want have the same evaluations, front and
// hypervolumes.
func sameOutcome(t *testing.T, what string, got, want *Outcome) {
	t.Helper()
	sameScores(t, what+": evaluations", got.Evaluations, want.Evaluations)
	sameScores(t, what+": front", got.Front, want.Front)
	if !slices.Equal(got.Hypervolume, want.Hypervolume) {
		t.Fatalf("%s: hypervolumes %v, want %v", what, got.Hypervolume, want.Hypervolume)
	}
}

// TestRunReproducible runs each strategy twice with the same seed and two workers
// whose evaluations finish in random order, and wants the same candidates in the
// same order and the same front; a different seed must give other candidates.
func TestRunReproducible(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range strategies {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(s, 42)
			a := run(t, newFake(sp, 2*time.Millisecond), nil, cfg)
			b := run(t, newFake(sp, 2*time.Millisecond), nil, cfg)
			sameOutcome(t, "same seed", b, a)
			for i := range a.Evaluations {
				if a.Evaluations[i].Cached != b.Evaluations[i].Cached {
					t.Fatalf("evaluation %d: cached %v, then %v", i, a.Evaluations[i].Cached, b.Evaluations[i].Cached)
				}
			}
			cfg.Seed = 43
			c := run(t, newFake(sp, 0), nil, cfg)
			if c.Evaluations[0].Hash == a.Evaluations[0].Hash && c.Evaluations[1].Hash == a.Evaluations[1].Hash {
				t.Errorf("seeds 42 and 43 start with the same candidates %s, %s", a.Evaluations[0].Hash, a.Evaluations[1].Hash)
			}
		})
	}
}

// TestRunWorkerCount: NSGA-II and random search wait for every batch, so their
// outcome does not even depend on the worker count (aging evolution's does).
func TestRunWorkerCount(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range []Strategy{NSGA2, Random} {
		cfg := testConfig(s, 5)
		cfg.Workers = 1
		one := run(t, newFake(sp, 0), nil, cfg)
		cfg.Workers = 3
		three := run(t, newFake(sp, time.Millisecond), nil, cfg)
		sameOutcome(t, fmt.Sprintf("%s with 3 workers vs 1", s), three, one)
	}
}

// TestRunResume interrupts each strategy after K evaluations have been recorded,
// resumes it with the same recorder, and wants the outcome of an uninterrupted
// run, each evaluation recorded exactly once and none that finished trained again.
func TestRunResume(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range strategies {
		t.Run(s.String(), func(t *testing.T) {
			t.Parallel()
			cfg := testConfig(s, 9)
			want := run(t, newFake(sp, 0), nil, cfg)
			// K in the initial population, at a generation's second rung, and late.
			for _, k := range []int{1, 22, 47} {
				rec := newMemRecorder()
				ctx, cancel := context.WithCancel(context.Background())
				rec.afterFinished = func(n int) {
					if n >= k {
						cancel()
					}
				}
				_, err := Run(ctx, sp, newFake(sp, time.Millisecond), rec, cfg)
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("K=%d: interrupted run returned %v, want context.Canceled", k, err)
				}
				rec.afterFinished = nil
				before := len(rec.results)
				if before < k || before >= len(want.Evaluations) {
					t.Fatalf("K=%d: %d evaluations recorded before the resume, want %d to %d", k, before, k, len(want.Evaluations)-1)
				}
				ev := newFake(sp, time.Millisecond)
				got := run(t, ev, rec, cfg)
				sameOutcome(t, fmt.Sprintf("K=%d: resumed vs uninterrupted", k), got, want)
				replayed := 0
				for _, e := range got.Evaluations {
					if e.Replayed {
						replayed++
					}
					if n := rec.finished[e.Seq]; n != 1 {
						t.Fatalf("K=%d: evaluation %d recorded %d times, want once", k, e.Seq, n)
					}
				}
				if replayed != before {
					t.Errorf("K=%d: %d evaluations replayed, want the %d recorded", k, replayed, before)
				}
				if n := int(ev.calls.Load()); n > len(want.Evaluations)-before {
					t.Errorf("K=%d: resume trained %d candidates, want at most %d left", k, n, len(want.Evaluations)-before)
				}
			}
		})
	}
}

// TestRunWithinBudget checks that no evaluated candidate exceeds the budget, also
// under a tight budget that repair must enforce, and that every evaluation's
// cost and hash are the space's.
func TestRunWithinBudget(t *testing.T) {
	for _, budget := range []int64{2_000_000, 150_000} {
		sp := tinySpace(t, spBudget(budget))
		for _, s := range strategies {
			out := run(t, newFake(sp, 0), nil, testConfig(s, 3))
			for _, e := range out.Evaluations {
				c, err := sp.Cost(e.Genome)
				if err != nil {
					t.Fatal(err)
				}
				if e.MACs > budget || c.MACs != e.MACs || c.Params != e.Params || sp.Hash(e.Genome) != e.Hash {
					t.Fatalf("%s, budget %d: evaluation %d (%s) has %d MACs %d params; space says %s, %d MACs %d params",
						s, budget, e.Seq, e.Hash, e.MACs, e.Params, sp.Hash(e.Genome), c.MACs, c.Params)
				}
			}
		}
	}
}

// TestRunCache: within a run each architecture is trained at most once per
// fidelity, repeats are recorded as cached, and a second run whose recorder
// shares the first's cache trains nothing and finds the same.
func TestRunCache(t *testing.T) {
	// Barely above the smallest architecture, repair maps most candidates to a
	// handful of architectures, so repeats are frequent, also within a batch.
	sp := tinySpace(t, spBudget(0))
	for _, s := range strategies {
		first := newMemRecorder()
		ev := newFake(sp, time.Millisecond)
		out := run(t, ev, first, testConfig(s, 11))
		keys := map[string]bool{}
		cached := 0
		for _, e := range out.Evaluations {
			keys[e.Hash+" "+e.Fidelity.Key()] = true
			if e.Cached {
				cached++
			}
		}
		if n := int(ev.calls.Load()); n != len(keys) {
			t.Errorf("%s: %d candidates trained for %d distinct architectures and fidelities", s, n, len(keys))
		}
		if cached == 0 || cached != len(out.Evaluations)-len(keys) || first.cached != cached {
			t.Errorf("%s: %d of %d evaluations cached (%d recorded so), want the %d repeats",
				s, cached, len(out.Evaluations), first.cached, len(out.Evaluations)-len(keys))
		}
		if s != Evolution {
			// A generation's candidates at one rung are one batch for NSGA-II and
			// random search: a repeat within it waits for the first to be trained.
			inBatch := 0
			firstOf := map[string]Scored{}
			for _, e := range out.Evaluations {
				key := e.Hash + " " + e.Fidelity.Key()
				if f, ok := firstOf[key]; !ok {
					firstOf[key] = e
				} else if f.Generation == e.Generation && f.Rung == e.Rung {
					inBatch++
				}
			}
			if inBatch == 0 {
				t.Errorf("%s: no repeat within a batch; the test needs some", s)
			}
		}
		for _, e := range out.Evaluations {
			if first.started[e.Seq] != 1 || first.finished[e.Seq] != 1 {
				t.Fatalf("%s: evaluation %d started %d and finished %d times, want once", s, e.Seq, first.started[e.Seq], first.finished[e.Seq])
			}
		}

		second := newMemRecorder()
		second.shared = first
		ev2 := newFake(sp, 0)
		again := run(t, ev2, second, testConfig(s, 11))
		if n := ev2.calls.Load(); n != 0 {
			t.Errorf("%s: the second run trained %d candidates, want 0 (all in the shared cache)", s, n)
		}
		sameOutcome(t, s.String()+": second run", again, out)
	}
}

// spBudget turns a test budget into the space's type; 0 means just above the
// tiny space's smallest architecture.
func spBudget(b int64) space.Budget {
	if b == 0 {
		return 30_000 // the smallest architecture of tinySpace costs 27,936 MACs
	}
	return space.Budget(b)
}

// TestRunEvaluationCap stops at the cap, counting each architecture and fidelity once.
func TestRunEvaluationCap(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range strategies {
		cfg := testConfig(s, 4)
		cfg.Evaluations = 30
		out := run(t, newFake(sp, 0), nil, cfg)
		keys := map[string]bool{}
		for _, e := range out.Evaluations {
			keys[e.Hash+" "+e.Fidelity.Key()] = true
		}
		// Generations 0 and 1 take 8 + 4 evaluations each, generation 2 the 6 left.
		if len(keys) != 30 || out.Stopped != "evaluation cap" || len(out.Hypervolume) != 3 {
			t.Errorf("%s, cap 30: %d distinct evaluations, %d generations, stopped %q; want 30, 3, \"evaluation cap\"",
				s, len(keys), len(out.Hypervolume), out.Stopped)
		}
	}
}

// TestRunTimeLimit ends a search at its time limit without an error.
func TestRunTimeLimit(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	cfg := testConfig(NSGA2, 1)
	cfg.Generations = 1000
	cfg.TimeLimit = 100 * time.Millisecond
	start := time.Now()
	out, err := Run(context.Background(), sp, newFake(sp, 10*time.Millisecond), nil, cfg)
	// 2 s: far above the limit plus one batch of 10 ms sleeps, far below 1000 generations.
	if err != nil || out.Stopped != "time limit" || time.Since(start) > 2*time.Second {
		t.Fatalf("Run with a 100ms limit: stopped %q after %v, error %v; want \"time limit\", nil", out.Stopped, time.Since(start), err)
	}
	if len(out.Evaluations) == 0 || len(out.Hypervolume) == 0 {
		t.Errorf("Run with a 100ms limit: %d evaluations, %d generations; want some", len(out.Evaluations), len(out.Hypervolume))
	}
}

// TestRunFailedCandidates: a failed candidate is never promoted nor on a front.
func TestRunFailedCandidates(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range strategies {
		ev := newFake(sp, 0)
		ev.failLast = "ab" // one hash in 8
		out := run(t, ev, nil, testConfig(s, 8))
		failed := map[string]bool{}
		for _, e := range out.Evaluations {
			if e.Result.Failed != "" {
				if e.Rung > 0 {
					t.Errorf("%s: evaluation %d promoted %s, which failed", s, e.Seq, e.Hash)
				}
				failed[e.Hash] = true
			}
		}
		if len(failed) == 0 {
			t.Fatalf("%s: no candidate failed; the test needs some", s)
		}
		for _, f := range out.Front {
			if failed[f.Hash] {
				t.Errorf("%s: failed candidate %s on the front", s, f.Hash)
			}
		}
	}
}

// TestRunSuccessiveHalving checks every generation's rungs: all new candidates at
// the first, the best half of them, as the strategy ranks them, at the second;
// and that the front is all at the second rung.
func TestRunSuccessiveHalving(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range strategies {
		r := &runner{budget: int64(sp.Budget())}
		switch s {
		case NSGA2:
			r.model = &nsgaModel{r: r}
		case Evolution:
			r.model = &evolutionModel{r: r}
		case Random:
			r.model = &randomModel{r: r}
		}
		out := run(t, newFake(sp, 0), nil, testConfig(s, 6))
		for gen := range len(out.Hypervolume) {
			var low []*individual
			high := map[string]bool{}
			for _, e := range out.Evaluations {
				if e.Generation != gen {
					continue
				}
				switch e.Rung {
				case 0:
					low = append(low, &individual{r: r, hash: e.Hash, cost: costOf(e), rung: 0, res: e.Result})
				case 1:
					high[e.Hash] = true
				}
			}
			if len(low) != 8 || len(high) != 4 {
				t.Fatalf("%s generation %d: %d at rung 0 and %d at rung 1, want 8 and 4", s, gen, len(low), len(high))
			}
			for _, i := range r.model.rankForPromotion(low)[:4] {
				if !high[low[i].hash] {
					t.Errorf("%s generation %d: %s, among the best 4 at rung 0, was not promoted", s, gen, low[i].hash)
				}
			}
		}
		for _, f := range out.Front {
			if f.Rung != 1 {
				t.Errorf("%s: front member %s at rung %d, want 1", s, f.Hash, f.Rung)
			}
		}
	}
}

// TestRunRecorder checks what the recorder sees: every evaluation started and
// finished once, and every generation ended once with the outcome's hypervolume,
// the last with the outcome's front; the hypervolume never decreases, since the
// front is that of all evaluations so far.
func TestRunRecorder(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	for _, s := range strategies {
		rec := newMemRecorder()
		var progress []Progress
		cfg := testConfig(s, 2)
		cfg.Progress = func(p Progress) { progress = append(progress, p) }
		out := run(t, newFake(sp, time.Millisecond), rec, cfg)
		for _, e := range out.Evaluations {
			if rec.started[e.Seq] != 1 || rec.finished[e.Seq] != 1 || rec.results[e.Seq] != e.Result {
				t.Fatalf("%s: evaluation %d started %d, finished %d times with %+v; want once with %+v",
					s, e.Seq, rec.started[e.Seq], rec.finished[e.Seq], rec.results[e.Seq], e.Result)
			}
		}
		if len(rec.gens) != cfg.Generations+1 {
			t.Fatalf("%s: %d generations recorded, want %d", s, len(rec.gens), cfg.Generations+1)
		}
		for i, g := range rec.gens {
			if g.gen != i || g.hypervolume != out.Hypervolume[i] || len(g.pop) != cfg.Population {
				t.Errorf("%s: record %d is generation %d, hypervolume %v, population %d; want %d, %v, %d",
					s, i, g.gen, g.hypervolume, len(g.pop), i, out.Hypervolume[i], cfg.Population)
			}
			if i > 0 && g.hypervolume < rec.gens[i-1].hypervolume {
				t.Errorf("%s: hypervolume fell from %v to %v at generation %d", s, rec.gens[i-1].hypervolume, g.hypervolume, i)
			}
		}
		last := rec.gens[len(rec.gens)-1].front
		if len(last) != len(out.Front) {
			t.Fatalf("%s: last recorded front has %d members, outcome %d", s, len(last), len(out.Front))
		}
		for i := range last {
			if last[i].Seq != out.Front[i].Seq {
				t.Errorf("%s: front member %d is evaluation %d in the record, %d in the outcome", s, i, last[i].Seq, out.Front[i].Seq)
			}
		}
		// One call per evaluation and one per generation.
		if want := len(out.Evaluations) + len(rec.gens); len(progress) != want {
			t.Errorf("%s: %d progress calls, want %d", s, len(progress), want)
		}
		p := progress[len(progress)-1]
		if p.Evaluations != len(out.Evaluations) || p.Generation != cfg.Generations || p.Running != 0 ||
			p.FrontSize != len(out.Front) || p.Hypervolume != out.Hypervolume[cfg.Generations] || p.Fidelity != testRungs[1] {
			t.Errorf("%s: last progress %+v; want %d evaluations, generation %d, front %d, hypervolume %v at %s",
				s, p, len(out.Evaluations), cfg.Generations, len(out.Front), out.Hypervolume[cfg.Generations], testRungs[1])
		}
	}
}

// TestNSGA2BeatsRandom: on the fake landscape, where grouping genes and block
// families matter beyond MACs, NSGA-II's final hypervolume exceeds random
// search's at equal evaluations, averaged over three seeds. (It needs the ten
// generations: after six, random search's 168 samples still cover this
// landscape's front better.)
func TestNSGA2BeatsRandom(t *testing.T) {
	sp := tinySpace(t, 2_000_000)
	mean := map[Strategy]float64{}
	for _, s := range []Strategy{NSGA2, Random} {
		for seed := uint64(1); seed <= 3; seed++ {
			cfg := testConfig(s, seed)
			cfg.Population, cfg.Generations = 16, 10
			out := run(t, newFake(sp, 0), nil, cfg)
			hv := out.Hypervolume[len(out.Hypervolume)-1]
			t.Logf("%s seed %d: %d evaluations, front %d, hypervolume %.4f", s, seed, len(out.Evaluations), len(out.Front), hv)
			mean[s] += hv / 3
		}
	}
	if mean[NSGA2] <= mean[Random] {
		t.Errorf("mean hypervolume: NSGA-II %.4f, random %.4f; want NSGA-II higher", mean[NSGA2], mean[Random])
	}
}

// costOf returns an evaluation's deployment cost.
func costOf(e Scored) (c ops.Cost) {
	c.MACs, c.Params = e.MACs, e.Params
	return c
}

// TestRunMobileNetSkeleton runs a short search over the full MobileNetV2 skeleton
// at CIFAR's shape, the space of the space package's own property tests.
func TestRunMobileNetSkeleton(t *testing.T) {
	sp, err := space.New(space.Config{Budget: 8_000_000, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(NSGA2, 1)
	cfg.Population, cfg.Generations = 6, 1
	out := run(t, newFake(sp, 0), nil, cfg)
	// 6 + 3 evaluations in each of two generations.
	if len(out.Evaluations) != 18 || len(out.Front) == 0 {
		t.Fatalf("%d evaluations, front of %d; want 18 and a front", len(out.Evaluations), len(out.Front))
	}
	for _, e := range out.Evaluations {
		if e.MACs > int64(sp.Budget()) {
			t.Fatalf("evaluation %d (%s): %d MACs, over the budget %d", e.Seq, e.Hash, e.MACs, sp.Budget())
		}
	}
}
