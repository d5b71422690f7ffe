package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Evaluation is a cached training result of one architecture at one fidelity.
type Evaluation struct {
	ArchHash     string
	Fidelity     string
	Accuracy     float64
	ValLoss      float64
	ProxyMACs    int64
	TrainSeconds float64
	ImagesPerSec float64
	Status       string
	Error        string
}

// CachedEvaluation returns the cached result for an architecture and fidelity, and
// whether there is one.
func (s *DB) CachedEvaluation(ctx context.Context, hash, fidelity string) (*Evaluation, bool, error) {
	var e Evaluation
	err := s.db.QueryRowContext(ctx, `SELECT arch_hash, fidelity, coalesce(accuracy, 0), coalesce(val_loss, 0), coalesce(proxy_macs, 0),
		coalesce(train_seconds, 0), coalesce(images_per_sec, 0), status, coalesce(error, '')
		FROM evaluations WHERE arch_hash = ? AND fidelity = ?`, hash, fidelity).Scan(
		&e.ArchHash, &e.Fidelity, &e.Accuracy, &e.ValLoss, &e.ProxyMACs, &e.TrainSeconds, &e.ImagesPerSec, &e.Status, &e.Error)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("evaluation cache %s@%s: %w", hash, fidelity, err)
	}
	return &e, true, nil
}

// SaveCheckpoint records a strategy's state at the end of a generation together
// with that generation's population (candidate IDs), in one transaction.
func (s *DB) SaveCheckpoint(ctx context.Context, runID int64, generation int, state json.RawMessage, population []int64) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	t := now()
	if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO checkpoints (run_id, generation, state, created_at) VALUES (?, ?, ?, ?)`,
		runID, generation, string(state), t); err != nil {
		return fmt.Errorf("run %d: checkpoint %d: %w", runID, generation, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM populations WHERE run_id = ? AND generation = ?`, runID, generation); err != nil {
		return err
	}
	for i, id := range population {
		if _, err := tx.ExecContext(ctx, `INSERT INTO populations (run_id, generation, position, candidate_id) VALUES (?, ?, ?, ?)`,
			runID, generation, i, id); err != nil {
			return fmt.Errorf("run %d: population %d: %w", runID, generation, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE runs SET updated_at = ? WHERE id = ?`, t, runID); err != nil {
		return err
	}
	return tx.Commit()
}

// LatestCheckpoint returns the newest checkpoint of a run; ok is false if it has none.
func (s *DB) LatestCheckpoint(ctx context.Context, runID int64) (generation int, state json.RawMessage, ok bool, err error) {
	var st string
	err = s.db.QueryRowContext(ctx, `SELECT generation, state FROM checkpoints WHERE run_id = ? ORDER BY generation DESC LIMIT 1`,
		runID).Scan(&generation, &st)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil, false, nil
	}
	if err != nil {
		return 0, nil, false, fmt.Errorf("run %d: read checkpoint: %w", runID, err)
	}
	return generation, json.RawMessage(st), true, nil
}
