package search

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	mathrand "math/rand" // eaopt v0.4.2's GA takes a math/rand (v1) generator
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/MaxHalford/eaopt"

	"nas/ops"
	"nas/space"
)

// Scored is a finished evaluation and its result.
type Scored struct {
	Evaluation
	// Rung is the index of Fidelity in Config.Fidelities.
	Rung   int
	Result Result
	// Cached says the result was served from the in-run or the shared cache, and
	// Replayed that it was served by Recorder.Done; otherwise it was trained.
	Cached, Replayed bool
	done             bool
}

// Outcome is what a search found.
type Outcome struct {
	// Front is the final front, by increasing MACs: the successful candidates
	// within the budget that no other dominates on (accuracy, MACs), all scored at
	// the highest rung any candidate reached, each by its evaluation there.
	Front []Scored
	// Evaluations are all finished evaluations, by Seq.
	Evaluations []Scored
	// Hypervolume is the front's hypervolume after each finished generation; index
	// 0 is the initial population.
	Hypervolume []float64
	// Stopped says why the search ended before its last generation: "evaluation
	// cap", "time limit", "cancelled", or "" if it ran them all.
	Stopped string
}

// Run searches sp with strategy cfg.Strategy, scoring candidates with ev and
// recording the run with rec, which may be nil.
//
// The search is a deterministic function of the seed, the settings and the worker
// count: every random draw descends from cfg.Seed, evaluations are numbered in the
// order the strategy asks for them, and each strategy waits for a batch's results
// before it draws again, so the pool's scheduling changes nothing. To resume an
// interrupted run, call Run again with the same arguments and a rec whose Done
// serves the evaluations that finished: they are not trained again, the search
// replays to where it stopped and continues, and its outcome is the one an
// uninterrupted run would have had.
//
// When the time limit passes, evaluations in flight are cancelled and Run returns
// the outcome so far with a nil error. When ctx ends, it returns the outcome so
// far and ctx's error.
func Run(ctx context.Context, sp *space.Space, ev Evaluator, rec Recorder, cfg Config) (*Outcome, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if sp == nil || ev == nil {
		return nil, errors.New("search: nil space or evaluator")
	}
	if rec == nil {
		rec = nopRecorder{}
	}
	r := &runner{
		parent: ctx, sp: sp, ev: ev, rec: rec, cfg: cfg, budget: int64(sp.Budget()), start: time.Now(),
		seen: map[string]bool{}, byKey: map[string]int{}, costs: map[string]ops.Cost{}, archive: map[string]int{},
		topRung: -1,
	}
	var cancel context.CancelFunc
	if cfg.TimeLimit > 0 {
		r.ctx, cancel = context.WithTimeout(ctx, cfg.TimeLimit)
	} else {
		r.ctx, cancel = context.WithCancel(ctx)
	}
	defer cancel()

	switch cfg.Strategy {
	case NSGA2:
		r.model = &nsgaModel{r: r}
	case Evolution:
		r.model = &evolutionModel{r: r}
	case Random:
		r.model = &randomModel{r: r}
	}
	// eaopt's own generator, seeded from the run seed: it draws the initial
	// population and, through rng2, everything the models draw.
	seed := rand.New(rand.NewPCG(cfg.Seed, seedStream)).Uint64()
	ga, err := eaopt.GAConfig{
		NPops:        1,
		PopSize:      uint(cfg.Population),
		NGenerations: uint(cfg.Generations),
		HofSize:      1,
		Model:        r.model,
		RNG:          mathrand.New(mathrand.NewSource(int64(seed))),
		EarlyStop:    func(*eaopt.GA) bool { return r.remaining() == 0 || r.ctx.Err() != nil },
	}.NewGA()
	if err != nil {
		return nil, fmt.Errorf("search: eaopt: %w", err)
	}
	err = ga.Minimize(r.newGenome)
	out := r.outcome()
	switch {
	case ctx.Err() != nil:
		out.Stopped = "cancelled"
		return out, fmt.Errorf("search: %w", ctx.Err())
	case r.ctx.Err() != nil:
		out.Stopped = "time limit"
		return out, nil
	case err != nil:
		return out, err
	case len(r.hv) < cfg.Generations+1:
		out.Stopped = "evaluation cap"
	}
	return out, nil
}

// seedStream is the PCG stream of the run's generator; any constant works, it
// only has to stay the same for runs to repeat.
const seedStream = 0x6e61732d73656172 // "nas-sear"

// strategy is an eaopt model that also ranks a rung's candidates for promotion and
// takes the evaluated initial population.
type strategy interface {
	eaopt.Model
	// rankForPromotion returns the indices of inds, all scored at one rung, best first.
	rankForPromotion(inds []*individual) []int
	// start sets the fitness of the evaluated initial population.
	start(inds []*individual)
}

// runner is the state of one Run.
type runner struct {
	parent, ctx context.Context // ctx also ends at the time limit
	sp          *space.Space
	ev          Evaluator
	rec         Recorder
	cfg         Config
	budget      int64
	start       time.Time
	model       strategy

	// The search state, touched only by the goroutine that runs the strategy
	// (workers write the results of their own evaluations into evals).
	gen     int
	evals   []Scored            // by Seq
	seen    map[string]bool     // architectures asked for in this run
	byKey   map[string]int      // hash and fidelity key -> Seq of their first evaluation
	counted int                 // distinct (architecture, fidelity) pairs asked for
	costs   map[string]ops.Cost // by hash
	archive map[string]int      // hash -> Seq of its evaluation at its highest rung
	hv      []float64
	initial []*individual // the initial population, until it is scored

	// Shared with the workers, under mu, which also serialises the recorder.
	mu                sync.Mutex
	finished, running int
	trained           int
	firstTrain        time.Time
	topRung           int
	bestAcc           float64
	frontSize         int
	lastHV            float64
}

// remaining is how many more distinct evaluations the cap allows.
func (r *runner) remaining() int {
	if r.cfg.Evaluations == 0 {
		return math.MaxInt
	}
	return max(0, r.cfg.Evaluations-r.counted)
}

// newGenome is eaopt's constructor of the initial population: a fresh sample,
// held back until eaopt evaluates the first one.
func (r *runner) newGenome(rng *mathrand.Rand) eaopt.Genome {
	if r.ctx.Err() != nil {
		return &individual{r: r, rung: -1, err: r.ctx.Err()}
	}
	rr := rng2(rng)
	ind, err := r.fresh(func(int) (space.Genome, error) { return r.sp.Sample(rr) })
	if err != nil {
		return &individual{r: r, rung: -1, err: err}
	}
	r.initial = append(r.initial, ind)
	return ind
}

// startPopulation scores the initial population with successive halving and ends
// generation 0.
func (r *runner) startPopulation() error {
	inds := r.initial
	r.initial = nil
	for _, ind := range inds {
		if ind.err != nil {
			return ind.err
		}
	}
	if err := r.halve(inds); err != nil {
		return err
	}
	r.model.start(inds)
	return r.endGeneration(inds)
}

// front returns the Seqs of the current front (see Outcome.Front) by increasing
// MACs.
func (r *runner) front() []int {
	top := -1
	var cands []int
	for _, seq := range r.archive {
		s := r.evals[seq]
		if s.Result.Failed != "" || s.MACs > r.budget {
			continue
		}
		if s.Rung > top {
			top, cands = s.Rung, cands[:0]
		}
		if s.Rung == top {
			cands = append(cands, seq)
		}
	}
	slices.Sort(cands)
	pts := make([]point, len(cands))
	for i, seq := range cands {
		s := r.evals[seq]
		pts[i] = point{acc: s.Result.Accuracy, macs: s.MACs, rung: s.Rung}
	}
	fronts, _ := nondominatedSort(pts)
	var f []int
	if len(fronts) > 0 {
		for _, i := range fronts[0] {
			f = append(f, cands[i])
		}
	}
	slices.SortStableFunc(f, func(a, b int) int {
		return cmp.Or(cmp.Compare(r.evals[a].MACs, r.evals[b].MACs), cmp.Compare(r.evals[b].Result.Accuracy, r.evals[a].Result.Accuracy))
	})
	return f
}

// endGeneration computes the front and its hypervolume after generation r.gen,
// whose population is pop, and records them.
func (r *runner) endGeneration(pop []*individual) error {
	front := r.front()
	pts := make([]point, len(front))
	fe := make([]Evaluation, len(front))
	for i, seq := range front {
		s := r.evals[seq]
		pts[i] = point{acc: s.Result.Accuracy, macs: s.MACs}
		fe[i] = s.Evaluation
	}
	hv := hypervolume(pts, r.budget)
	r.hv = append(r.hv, hv)
	pe := make([]Evaluation, len(pop))
	for i, ind := range pop {
		pe[i] = r.evals[ind.seq].Evaluation
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.rec.EndGeneration(r.gen, pe, fe, hv); err != nil {
		return fmt.Errorf("search: record generation %d: %w", r.gen, err)
	}
	r.frontSize, r.lastHV = len(front), hv
	r.progressLocked()
	return nil
}

// progressLocked calls the progress callback; r.mu is held.
func (r *runner) progressLocked() {
	if r.cfg.Progress == nil {
		return
	}
	p := Progress{
		Generation: r.gen, Evaluations: r.finished, Running: r.running,
		BestAccuracy: r.bestAcc, FrontSize: r.frontSize, Hypervolume: r.lastHV,
		Elapsed: time.Since(r.start),
	}
	if r.topRung >= 0 {
		p.Fidelity = r.cfg.Fidelities[r.topRung]
	}
	if r.trained > 0 {
		// The rate of evaluations trained in this process; replayed and cached ones
		// are instant and say nothing of what is left.
		per := time.Since(r.firstTrain) / time.Duration(r.trained)
		p.ETA = per * time.Duration(max(0, r.cfg.plannedEvaluations()-r.finished))
		if r.cfg.TimeLimit > 0 {
			p.ETA = min(p.ETA, max(0, r.cfg.TimeLimit-p.Elapsed))
		}
	}
	r.cfg.Progress(p)
}

// outcome assembles the outcome so far.
func (r *runner) outcome() *Outcome {
	out := &Outcome{Hypervolume: slices.Clone(r.hv)}
	for _, s := range r.evals {
		if s.done {
			out.Evaluations = append(out.Evaluations, s)
		}
	}
	for _, seq := range r.front() {
		out.Front = append(out.Front, r.evals[seq])
	}
	return out
}

// nopRecorder records nothing: an in-memory run.
type nopRecorder struct{}

var _ Recorder = nopRecorder{}

func (nopRecorder) Done(int) (Result, bool, error)                               { return Result{}, false, nil }
func (nopRecorder) Cached(string, Fidelity) (Result, bool, error)                { return Result{}, false, nil }
func (nopRecorder) Started(Evaluation) error                                     { return nil }
func (nopRecorder) Finished(Evaluation, Result, bool) error                      { return nil }
func (nopRecorder) EndGeneration(int, []Evaluation, []Evaluation, float64) error { return nil }
