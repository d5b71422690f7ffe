package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Run statuses.
const (
	RunRunning     = "running"
	RunInterrupted = "interrupted"
	RunFinished    = "finished"
	RunFailed      = "failed"
)

// ErrNotFound is returned when a run or candidate does not exist.
var ErrNotFound = errors.New("not found")

// Run is one search: its settings and its state.
type Run struct {
	ID         int64           `json:"id"`
	Name       string          `json:"name"`
	CreatedAt  string          `json:"created_at"`
	UpdatedAt  string          `json:"updated_at"`
	Status     string          `json:"status"`
	Seed       int64           `json:"seed"`
	BudgetMACs int64           `json:"budget_macs"`
	Strategy   string          `json:"strategy"`
	Dataset    string          `json:"dataset"`
	Config     json.RawMessage `json:"config"`
	Version    string          `json:"nas_version"`
	Error      string          `json:"error,omitempty"`
}

const runColumns = `id, name, created_at, updated_at, status, seed, budget_macs, strategy, dataset, config, nas_version, coalesce(error, '')`

func scanRun(row interface{ Scan(...any) error }) (*Run, error) {
	var r Run
	var cfg string
	if err := row.Scan(&r.ID, &r.Name, &r.CreatedAt, &r.UpdatedAt, &r.Status, &r.Seed, &r.BudgetMACs,
		&r.Strategy, &r.Dataset, &cfg, &r.Version, &r.Error); err != nil {
		return nil, err
	}
	r.Config = json.RawMessage(cfg)
	return &r, nil
}

// CreateRun inserts r with status running, setting its ID and timestamps. An empty
// name becomes "run-ID".
func (s *DB) CreateRun(ctx context.Context, r *Run) error {
	if len(r.Config) == 0 {
		r.Config = json.RawMessage("{}")
	}
	t := now()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	name := r.Name
	if name == "" {
		name = "pending-" + t
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO runs (name, created_at, updated_at, status, seed, budget_macs, strategy, dataset, config, nas_version)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		name, t, t, RunRunning, r.Seed, r.BudgetMACs, r.Strategy, r.Dataset, string(r.Config), r.Version)
	if err != nil {
		return fmt.Errorf("create run %q: %w", r.Name, err)
	}
	id, err := res.LastInsertId()
	if err != nil {
		return err
	}
	if r.Name == "" {
		r.Name = "run-" + strconv.FormatInt(id, 10)
		if _, err := tx.ExecContext(ctx, "UPDATE runs SET name = ? WHERE id = ?", r.Name, id); err != nil {
			return fmt.Errorf("name run %d: %w", id, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	r.ID, r.CreatedAt, r.UpdatedAt, r.Status = id, t, t, RunRunning
	return nil
}

// Run returns the run with the given ID or name.
func (s *DB) Run(ctx context.Context, ref string) (*Run, error) {
	q := `SELECT ` + runColumns + ` FROM runs WHERE name = ?`
	args := []any{ref}
	if id, err := strconv.ParseInt(ref, 10, 64); err == nil {
		q += ` OR id = ?`
		args = append(args, id)
	}
	r, err := scanRun(s.db.QueryRowContext(ctx, q+` ORDER BY name = ? DESC LIMIT 1`, append(args, ref)...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("run %q: %w", ref, ErrNotFound)
	}
	return r, err
}

// LatestRun returns the most recently created run.
func (s *DB) LatestRun(ctx context.Context) (*Run, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY id DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("no runs yet: %w", ErrNotFound)
	}
	return r, err
}

// Runs returns every run, oldest first.
func (s *DB) Runs(ctx context.Context) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var rs []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, err
		}
		rs = append(rs, *r)
	}
	return rs, rows.Err()
}

// SetRunStatus records a run's status and, for a failure, its error.
func (s *DB) SetRunStatus(ctx context.Context, id int64, status, errMsg string) error {
	var e any
	if errMsg != "" {
		e = errMsg
	}
	res, err := s.db.ExecContext(ctx, `UPDATE runs SET status = ?, error = ?, updated_at = ? WHERE id = ?`, status, e, now(), id)
	if err != nil {
		return fmt.Errorf("run %d: set status %s: %w", id, status, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("run %d: %w", id, ErrNotFound)
	}
	return nil
}
