package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"nas/search"
	"nas/store"
)

// dbRecorder is the search's record of a run in the results database: every
// evaluation is committed as it starts and as it finishes.
type dbRecorder struct {
	ctx     context.Context
	db      *store.DB
	run     *store.Run
	dataset string
	ids     map[int]int64 // candidate id by seq
}

var _ search.Recorder = (*dbRecorder)(nil)

func newRecorder(db *store.DB, run *store.Run, dataset string) *dbRecorder {
	// The recorder's writes must land even while the search is being cancelled, so
	// it does not use the search's context.
	return &dbRecorder{ctx: context.Background(), db: db, run: run, dataset: dataset, ids: map[int]int64{}}
}

// fidelityKey is the cache key of a fidelity: the dataset and the proxy setting.
func (r *dbRecorder) fidelityKey(f search.Fidelity) string { return r.dataset + "/" + f.Key() }

func resultOf(c *store.Candidate) search.Result {
	res := search.Result{Accuracy: c.Accuracy, ValLoss: c.ValLoss, ProxyMACs: c.ProxyMACs,
		TrainSeconds: c.TrainSeconds, ImagesPerSec: c.ImagesPerSec}
	if c.Status == store.CandFailed {
		res.Failed = c.Error
		if res.Failed == "" {
			res.Failed = "failed"
		}
	}
	return res
}

// Done implements search.Recorder: a finished evaluation of an earlier session of
// this run.
func (r *dbRecorder) Done(seq int) (search.Result, bool, error) {
	c, err := r.db.CandidateBySeq(r.ctx, r.run.ID, seq)
	if errors.Is(err, store.ErrNotFound) {
		return search.Result{}, false, nil
	}
	if err != nil {
		return search.Result{}, false, err
	}
	if c.Status != store.CandDone && c.Status != store.CandFailed {
		return search.Result{}, false, nil
	}
	r.ids[seq] = c.ID
	return resultOf(c), true, nil
}

// Cached implements search.Recorder with the database's evaluation cache.
func (r *dbRecorder) Cached(hash string, f search.Fidelity) (search.Result, bool, error) {
	e, ok, err := r.db.CachedEvaluation(r.ctx, hash, r.fidelityKey(f))
	if err != nil || !ok {
		return search.Result{}, false, err
	}
	res := search.Result{Accuracy: e.Accuracy, ValLoss: e.ValLoss, ProxyMACs: e.ProxyMACs,
		TrainSeconds: e.TrainSeconds, ImagesPerSec: e.ImagesPerSec}
	if e.Status == store.CandFailed {
		res.Failed = e.Error
	}
	return res, true, nil
}

// Started implements search.Recorder.
func (r *dbRecorder) Started(e search.Evaluation) error {
	g, err := json.Marshal(e.Genome)
	if err != nil {
		return err
	}
	c := &store.Candidate{RunID: r.run.ID, Seq: e.Seq, Generation: e.Generation, ArchHash: e.Hash, Genome: g,
		MACs: e.MACs, Params: e.Params, Fidelity: r.fidelityKey(e.Fidelity)}
	if err := r.db.StartCandidate(r.ctx, c); err != nil {
		return err
	}
	r.ids[e.Seq] = c.ID
	return nil
}

// Finished implements search.Recorder: the result is committed before it returns.
func (r *dbRecorder) Finished(e search.Evaluation, res search.Result, cached bool) error {
	id, ok := r.ids[e.Seq]
	if !ok {
		return fmt.Errorf("evaluation %d finished without starting", e.Seq)
	}
	c := &store.Candidate{ID: id, ArchHash: e.Hash, Fidelity: r.fidelityKey(e.Fidelity), ProxyMACs: res.ProxyMACs,
		Accuracy: res.Accuracy, ValLoss: res.ValLoss, TrainSeconds: res.TrainSeconds, ImagesPerSec: res.ImagesPerSec,
		Cached: cached, Status: store.CandDone}
	if res.Failed != "" {
		c.Status, c.Error = store.CandFailed, res.Failed
	}
	return r.db.FinishCandidate(r.ctx, c)
}

// checkpointState is the JSON state stored at the end of each generation.
type checkpointState struct {
	Generation  int     `json:"generation"`
	Hypervolume float64 `json:"hypervolume"`
	Population  []int   `json:"population_seqs"`
	Front       []int   `json:"front_seqs"`
}

// EndGeneration implements search.Recorder.
func (r *dbRecorder) EndGeneration(gen int, population, front []search.Evaluation, hv float64) error {
	st := checkpointState{Generation: gen, Hypervolume: hv}
	var ids []int64
	for _, e := range population {
		st.Population = append(st.Population, e.Seq)
		if id, ok := r.ids[e.Seq]; ok {
			ids = append(ids, id)
		}
	}
	for _, e := range front {
		st.Front = append(st.Front, e.Seq)
	}
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return r.db.SaveCheckpoint(r.ctx, r.run.ID, gen, b, ids)
}
