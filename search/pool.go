package search

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// request asks for ind to be scored at a rung.
type request struct {
	ind  *individual
	rung int
}

// job is an evaluation the pool trains, and the later evaluations of the same
// batch that ask for the same architecture and fidelity and wait for it.
type job struct {
	seq  int
	deps []int
}

// evaluate numbers reqs in order and scores them: from Recorder.Done on resume,
// from the in-run cache or the shared cache, or by training in the pool. It
// returns when all are scored, and then gives each individual its score, in Seq
// order, so that completion order changes nothing.
func (r *runner) evaluate(reqs []request) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	var jobs []*job
	inBatch := map[string]*job{}
	seqs := make([]int, len(reqs))
	for i, q := range reqs {
		seq := len(r.evals)
		seqs[i] = seq
		f := r.cfg.Fidelities[q.rung]
		e := Evaluation{
			Seq: seq, Generation: r.gen, Genome: q.ind.g, Hash: q.ind.hash,
			MACs: q.ind.cost.MACs, Params: q.ind.cost.Params, Fidelity: f,
		}
		r.evals = append(r.evals, Scored{Evaluation: e, Rung: q.rung})
		r.seen[e.Hash] = true
		key := e.Hash + " " + f.Key()
		first, repeat := r.byKey[key]
		if !repeat {
			r.byKey[key] = seq
			r.counted++
		}

		r.mu.Lock()
		res, ok, err := r.rec.Done(seq)
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("search: recorded result of evaluation %d: %w", seq, err)
		}
		if ok {
			r.evals[seq].Replayed = true
			r.serve(seq, res, false)
			continue
		}
		if repeat {
			if j := inBatch[key]; j != nil {
				j.deps = append(j.deps, seq)
			} else if err := r.serve(seq, r.evals[first].Result, true); err != nil {
				return err
			}
			continue
		}
		r.mu.Lock()
		res, ok, err = r.rec.Cached(e.Hash, f)
		r.mu.Unlock()
		if err != nil {
			return fmt.Errorf("search: cached result of %s at %s: %w", e.Hash, f, err)
		}
		if ok {
			if err := r.serve(seq, res, true); err != nil {
				return err
			}
			continue
		}
		j := &job{seq: seq}
		jobs = append(jobs, j)
		inBatch[key] = j
	}
	if err := r.runJobs(jobs); err != nil {
		return err
	}
	for i, q := range reqs {
		seq := seqs[i]
		s := r.evals[seq]
		ind := q.ind
		if ind.born < 0 {
			ind.born = seq
		}
		ind.rung, ind.res, ind.seq = q.rung, s.Result, seq
		if old, ok := r.archive[s.Hash]; !ok || r.evals[old].Rung <= s.Rung {
			r.archive[s.Hash] = seq
		}
	}
	return nil
}

// serve gives evaluation seq a result that needs no training: replayed from the
// record (cached false and evals[seq].Replayed set), or from a cache.
func (r *runner) serve(seq int, res Result, cached bool) error {
	s := &r.evals[seq]
	s.Result, s.Cached, s.done = res, cached, true
	r.mu.Lock()
	defer r.mu.Unlock()
	if !s.Replayed {
		if err := r.rec.Started(s.Evaluation); err != nil {
			return fmt.Errorf("search: record start of evaluation %d: %w", seq, err)
		}
		if err := r.rec.Finished(s.Evaluation, res, cached); err != nil {
			return fmt.Errorf("search: record result of evaluation %d: %w", seq, err)
		}
	}
	r.noteLocked(*s)
	return nil
}

// noteLocked counts a finished evaluation for progress; r.mu is held.
func (r *runner) noteLocked(s Scored) {
	r.finished++
	if s.Result.Failed == "" && s.MACs <= r.budget {
		switch {
		case s.Rung > r.topRung:
			r.topRung, r.bestAcc = s.Rung, s.Result.Accuracy
		case s.Rung == r.topRung:
			r.bestAcc = max(r.bestAcc, s.Result.Accuracy)
		}
	}
	r.progressLocked()
}

// runJobs trains jobs on cfg.Workers goroutines. Each result is recorded as soon
// as it is known. The first error cancels the jobs left and is returned.
func (r *runner) runJobs(jobs []*job) error {
	if len(jobs) == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	var (
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
		next     = make(chan *job)
	)
	fail := func(err error) {
		once.Do(func() { firstErr = err })
		cancel()
	}
	for range min(r.cfg.Workers, len(jobs)) {
		wg.Go(func() {
			for j := range next {
				if err := r.train(ctx, j); err != nil {
					fail(err)
				}
			}
		})
	}
feed:
	for _, j := range jobs {
		select {
		case next <- j:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if firstErr == nil {
		// The feed stopped because r.ctx ended between two jobs.
		firstErr = r.ctx.Err()
	}
	return firstErr
}

// train trains job j's evaluation and records it and the evaluations waiting
// for it.
func (r *runner) train(ctx context.Context, j *job) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := &r.evals[j.seq]
	e := s.Evaluation
	r.mu.Lock()
	err := r.rec.Started(e)
	if r.trained == 0 && r.running == 0 {
		r.firstTrain = time.Now()
	}
	r.running++
	r.mu.Unlock()
	if err != nil {
		return fmt.Errorf("search: record start of evaluation %d: %w", e.Seq, err)
	}
	res, err := r.ev.Evaluate(ctx, e.Genome, e.Hash, e.Fidelity)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.running--
	if err != nil {
		return fmt.Errorf("search: evaluate candidate %s at %s (evaluation %d): %w", e.Hash, e.Fidelity, e.Seq, err)
	}
	s.Result, s.done = res, true
	r.trained++
	if err := r.rec.Finished(e, res, false); err != nil {
		return fmt.Errorf("search: record result of evaluation %d: %w", e.Seq, err)
	}
	r.noteLocked(*s)
	for _, d := range j.deps {
		ds := &r.evals[d]
		ds.Result, ds.Cached, ds.done = res, true, true
		if err := r.rec.Started(ds.Evaluation); err != nil {
			return fmt.Errorf("search: record start of evaluation %d: %w", d, err)
		}
		if err := r.rec.Finished(ds.Evaluation, res, true); err != nil {
			return fmt.Errorf("search: record result of evaluation %d: %w", d, err)
		}
		r.noteLocked(*ds)
	}
	return nil
}
