package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
)

// Candidate statuses.
const (
	CandRunning     = "running"
	CandDone        = "done"
	CandFailed      = "failed"
	CandInterrupted = "interrupted"
)

// Candidate is one evaluation of an architecture in a run. Seq numbers a run's
// evaluations in the order the strategy asked for them, which resume relies on.
type Candidate struct {
	ID           int64           `json:"id"`
	RunID        int64           `json:"run"`
	Seq          int             `json:"seq"`
	Generation   int             `json:"generation"`
	ArchHash     string          `json:"arch_hash"`
	Genome       json.RawMessage `json:"genome"`
	MACs         int64           `json:"macs"`
	Params       int64           `json:"params"`
	ProxyMACs    int64           `json:"proxy_macs"`
	Fidelity     string          `json:"fidelity"`
	Accuracy     float64         `json:"accuracy"`
	ValLoss      float64         `json:"val_loss"`
	TrainSeconds float64         `json:"train_seconds"`
	ImagesPerSec float64         `json:"images_per_sec"`
	Cached       bool            `json:"cached"`
	Status       string          `json:"status"`
	Error        string          `json:"error,omitempty"`
	CreatedAt    string          `json:"created_at"`
	FinishedAt   string          `json:"finished_at,omitempty"`
}

const candColumns = `id, run_id, seq, generation, arch_hash, genome, macs, params, coalesce(proxy_macs, 0), fidelity,
	coalesce(accuracy, 0), coalesce(val_loss, 0), coalesce(train_seconds, 0), coalesce(images_per_sec, 0), cached,
	status, coalesce(error, ''), created_at, coalesce(finished_at, '')`

func scanCandidate(row interface{ Scan(...any) error }) (*Candidate, error) {
	var c Candidate
	var genome string
	if err := row.Scan(&c.ID, &c.RunID, &c.Seq, &c.Generation, &c.ArchHash, &genome, &c.MACs, &c.Params, &c.ProxyMACs,
		&c.Fidelity, &c.Accuracy, &c.ValLoss, &c.TrainSeconds, &c.ImagesPerSec, &c.Cached, &c.Status, &c.Error,
		&c.CreatedAt, &c.FinishedAt); err != nil {
		return nil, err
	}
	c.Genome = json.RawMessage(genome)
	return &c, nil
}

func queryCandidates(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]Candidate, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cs []Candidate
	for rows.Next() {
		c, err := scanCandidate(rows)
		if err != nil {
			return nil, err
		}
		cs = append(cs, *c)
	}
	return cs, rows.Err()
}

// StartCandidate records that an evaluation has started, with status running, and
// sets c's ID. A candidate already recorded with the same run and seq that did not
// finish (an interrupted evaluation being re-run) is replaced.
func (s *DB) StartCandidate(ctx context.Context, c *Candidate) error {
	c.Status, c.CreatedAt = CandRunning, now()
	if len(c.Genome) == 0 {
		c.Genome = json.RawMessage("{}")
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM candidates WHERE run_id = ? AND seq = ? AND status IN ('running', 'interrupted')`,
		c.RunID, c.Seq); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO candidates (run_id, seq, generation, arch_hash, genome, macs, params, fidelity, status, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.RunID, c.Seq, c.Generation, c.ArchHash, string(c.Genome), c.MACs, c.Params, c.Fidelity, c.Status, c.CreatedAt)
	if err != nil {
		return fmt.Errorf("run %d: start candidate %d: %w", c.RunID, c.Seq, err)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return err
	}
	return tx.Commit()
}

// FinishCandidate records the result of an evaluation started with StartCandidate
// (status done or failed) and, unless it came from the cache or was interrupted,
// adds it to the evaluation cache, in one transaction: once it returns, the result
// survives any crash.
func (s *DB) FinishCandidate(ctx context.Context, c *Candidate) error {
	c.FinishedAt = now()
	var e any
	if c.Error != "" {
		e = c.Error
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE candidates SET proxy_macs = ?, accuracy = ?, val_loss = ?, train_seconds = ?,
		images_per_sec = ?, cached = ?, status = ?, error = ?, finished_at = ? WHERE id = ?`,
		c.ProxyMACs, c.Accuracy, c.ValLoss, c.TrainSeconds, c.ImagesPerSec, c.Cached, c.Status, e, c.FinishedAt, c.ID)
	if err != nil {
		return fmt.Errorf("candidate %d: finish: %w", c.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("candidate %d: %w", c.ID, ErrNotFound)
	}
	if !c.Cached && (c.Status == CandDone || c.Status == CandFailed) {
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO evaluations (arch_hash, fidelity, accuracy, val_loss, proxy_macs,
			train_seconds, images_per_sec, status, error, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			c.ArchHash, c.Fidelity, c.Accuracy, c.ValLoss, c.ProxyMACs, c.TrainSeconds, c.ImagesPerSec, c.Status, e, c.FinishedAt); err != nil {
			return fmt.Errorf("candidate %d: cache: %w", c.ID, err)
		}
	}
	return tx.Commit()
}

// Candidate returns one candidate by ID.
func (s *DB) Candidate(ctx context.Context, id int64) (*Candidate, error) {
	c, err := scanCandidate(s.db.QueryRowContext(ctx, `SELECT `+candColumns+` FROM candidates WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("candidate %d: %w", id, ErrNotFound)
	}
	return c, err
}

// Candidates returns a run's candidates in seq order.
func (s *DB) Candidates(ctx context.Context, runID int64) ([]Candidate, error) {
	return queryCandidates(ctx, s.db, `SELECT `+candColumns+` FROM candidates WHERE run_id = ? ORDER BY seq`, runID)
}

// Pareto returns a run's feasible non-dominated candidates at one fidelity (all
// fidelities when empty), from the pareto view, by increasing MACs. A budget below
// the run's own (0 for the run's) slices the front to the candidates within it.
func (s *DB) Pareto(ctx context.Context, runID int64, fidelity string, budget int64) ([]Candidate, error) {
	q := `SELECT ` + candColumns + ` FROM pareto WHERE run_id = ?`
	args := []any{runID}
	if fidelity != "" {
		q += ` AND fidelity = ?`
		args = append(args, fidelity)
	}
	if budget > 0 {
		q += ` AND macs <= ?`
		args = append(args, budget)
	}
	return queryCandidates(ctx, s.db, q+` ORDER BY macs, accuracy DESC, seq`, args...)
}

// InterruptRunning marks a run's running candidates as interrupted, as after a crash
// or Ctrl-C, and returns how many there were.
func (s *DB) InterruptRunning(ctx context.Context, runID int64) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE candidates SET status = 'interrupted', finished_at = ? WHERE run_id = ? AND status = 'running'`,
		now(), runID)
	if err != nil {
		return 0, fmt.Errorf("run %d: mark interrupted: %w", runID, err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// CandidateBySeq returns a run's candidate with the given seq.
func (s *DB) CandidateBySeq(ctx context.Context, runID int64, seq int) (*Candidate, error) {
	c, err := scanCandidate(s.db.QueryRowContext(ctx, `SELECT `+candColumns+` FROM candidates WHERE run_id = ? AND seq = ?`, runID, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %d: candidate seq %d: %w", runID, seq, ErrNotFound)
	}
	return c, err
}
