package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

func openTemp(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "sub", "nas.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func TestOpenCreatesAndRecordsMigrations(t *testing.T) {
	db := openTemp(t)
	ms, _ := migrations()
	var n, max int
	if err := db.db.QueryRow("SELECT count(*), max(version) FROM migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || max != ms[len(ms)-1].version {
		t.Errorf("migrations table has %d rows up to %d, want %d up to %d", n, max, len(ms), ms[len(ms)-1].version)
	}
	path := db.Path()
	db.Close()
	again, err := Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer again.Close()
	if err := again.db.QueryRow("SELECT count(*) FROM migrations").Scan(&n); err != nil || n != len(ms) {
		t.Errorf("after reopening: %d migrations (%v), want %d", n, err, len(ms))
	}
}

// TestPragmasOnEveryConnection checks that foreign keys, the busy timeout and WAL
// hold on each pooled connection, not only the first (go-sqlite3 issue 255).
func TestPragmasOnEveryConnection(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	var conns []*sql.Conn
	for i := 0; i < 4; i++ {
		c, err := db.db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	for i, c := range conns {
		var fk, busy int
		var mode string
		if err := c.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA busy_timeout").Scan(&busy); err != nil {
			t.Fatal(err)
		}
		if err := c.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if fk != 1 || busy != 10000 || mode != "wal" {
			t.Errorf("connection %d: foreign_keys=%d busy_timeout=%d journal_mode=%s, want 1, 10000, wal", i, fk, busy, mode)
		}
		c.Close()
	}
}

func TestRefusesForeignAndNewerDatabases(t *testing.T) {
	dir := t.TempDir()
	foreign := filepath.Join(dir, "other.db")
	raw, err := sql.Open("sqlite3", foreign)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)"); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if _, err := Open(foreign); !errors.Is(err, ErrForeign) {
		t.Errorf("Open(foreign database) = %v, want ErrForeign", err)
	}
	raw, _ = sql.Open("sqlite3", foreign)
	var n int
	raw.QueryRow("SELECT count(*) FROM sqlite_master").Scan(&n)
	raw.Close()
	if n != 1 {
		t.Errorf("foreign database has %d schema objects after the refusal, want 1 (untouched)", n)
	}

	db := openTemp(t)
	if _, err := db.db.Exec("INSERT INTO migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 'later')"); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	if _, err := Open(path); !errors.Is(err, ErrNewer) {
		t.Errorf("Open(newer schema) = %v, want ErrNewer", err)
	}
}

func newRun(t *testing.T, db *DB, budget int64) *Run {
	t.Helper()
	r := &Run{Seed: 7, BudgetMACs: budget, Strategy: "nsga2", Dataset: "mnist",
		Config: json.RawMessage(`{"population":8}`), Version: "test"}
	if err := db.CreateRun(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRunLifecycle(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	r := newRun(t, db, 300e6)
	if r.Name != fmt.Sprintf("run-%d", r.ID) || r.Status != RunRunning {
		t.Errorf("new run: name %q status %q, want run-%d running", r.Name, r.Status, r.ID)
	}
	for _, ref := range []string{r.Name, fmt.Sprint(r.ID)} {
		got, err := db.Run(ctx, ref)
		if err != nil {
			t.Fatalf("Run(%q): %v", ref, err)
		}
		if got.ID != r.ID || got.BudgetMACs != 300e6 || string(got.Config) != `{"population":8}` {
			t.Errorf("Run(%q) = %+v, want the created run", ref, got)
		}
	}
	if _, err := db.Run(ctx, "nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Run(nope) = %v, want ErrNotFound", err)
	}
	if err := db.SetRunStatus(ctx, r.ID, RunFailed, "boom"); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Run(ctx, r.Name)
	if got.Status != RunFailed || got.Error != "boom" {
		t.Errorf("after SetRunStatus: %q %q, want failed boom", got.Status, got.Error)
	}
	dup := &Run{Name: r.Name, BudgetMACs: 1, Strategy: "x", Dataset: "y"}
	if err := db.CreateRun(ctx, dup); err == nil {
		t.Errorf("a second run named %q was accepted", r.Name)
	}
}

func TestCandidatesCacheAndInterruption(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	r := newRun(t, db, 100)
	c := &Candidate{RunID: r.ID, Seq: 0, ArchHash: "abc", Genome: json.RawMessage(`{"g":1}`), MACs: 50, Params: 9, Fidelity: "f1"}
	if err := db.StartCandidate(ctx, c); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := db.CachedEvaluation(ctx, "abc", "f1"); ok {
		t.Errorf("a running evaluation is in the cache")
	}
	n, err := db.InterruptRunning(ctx, r.ID)
	if err != nil || n != 1 {
		t.Fatalf("InterruptRunning = %d, %v; want 1", n, err)
	}
	// Re-running the interrupted evaluation replaces it rather than adding a row.
	c2 := &Candidate{RunID: r.ID, Seq: 0, ArchHash: "abc", Genome: json.RawMessage(`{"g":1}`), MACs: 50, Params: 9, Fidelity: "f1"}
	if err := db.StartCandidate(ctx, c2); err != nil {
		t.Fatal(err)
	}
	c2.Status, c2.Accuracy, c2.ValLoss = CandDone, 0.9, 0.3
	if err := db.FinishCandidate(ctx, c2); err != nil {
		t.Fatal(err)
	}
	cs, _ := db.Candidates(ctx, r.ID)
	if len(cs) != 1 || cs[0].Status != CandDone || cs[0].Accuracy != 0.9 {
		t.Fatalf("candidates after re-run: %+v, want one done at 0.9", cs)
	}
	e, ok, err := db.CachedEvaluation(ctx, "abc", "f1")
	if err != nil || !ok || e.Accuracy != 0.9 {
		t.Errorf("CachedEvaluation = %+v, %v, %v; want accuracy 0.9", e, ok, err)
	}
	// A finished evaluation is never replaced by a later start of the same seq.
	if err := db.StartCandidate(ctx, &Candidate{RunID: r.ID, Seq: 0, ArchHash: "abc", Fidelity: "f1"}); err == nil {
		t.Errorf("starting seq 0 again after it finished was accepted")
	}
}

// TestParetoView compares the pareto view with a brute-force front on random data.
func TestParetoView(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	const budget = 800
	r := newRun(t, db, budget)
	rng := rand.New(rand.NewPCG(1, 1))
	var all []Candidate
	for i := 0; i < 60; i++ {
		c := &Candidate{RunID: r.ID, Seq: i, ArchHash: fmt.Sprint(i), MACs: int64(rng.IntN(1000)), Fidelity: "f"}
		if err := db.StartCandidate(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Status, c.Accuracy = CandDone, float64(rng.IntN(50))/50
		if i%13 == 0 {
			c.Status = CandFailed
		}
		if err := db.FinishCandidate(ctx, c); err != nil {
			t.Fatal(err)
		}
		all = append(all, *c)
	}
	var want []int
	for _, c := range all {
		if c.Status != CandDone || c.MACs > budget {
			continue
		}
		dominated := false
		for _, d := range all {
			if d.Status == CandDone && d.MACs <= budget && d.Accuracy >= c.Accuracy && d.MACs <= c.MACs &&
				(d.Accuracy > c.Accuracy || d.MACs < c.MACs) {
				dominated = true
			}
		}
		if !dominated {
			want = append(want, c.Seq)
		}
	}
	front, err := db.Pareto(ctx, r.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	for _, c := range front {
		got = append(got, c.Seq)
	}
	sort.Ints(got)
	if fmt.Sprint(got) != fmt.Sprint(want) || len(want) == 0 {
		t.Errorf("pareto view = %v, brute force = %v", got, want)
	}
	sliced, _ := db.Pareto(ctx, r.ID, "", 400)
	for _, c := range sliced {
		if c.MACs > 400 {
			t.Errorf("front sliced at 400 MACs holds a candidate of %d", c.MACs)
		}
	}
}

func TestCheckpoints(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	r := newRun(t, db, 100)
	if _, _, ok, err := db.LatestCheckpoint(ctx, r.ID); ok || err != nil {
		t.Fatalf("new run has a checkpoint (%v)", err)
	}
	c := &Candidate{RunID: r.ID, Seq: 0, ArchHash: "h", Fidelity: "f"}
	db.StartCandidate(ctx, c)
	for g := 0; g < 3; g++ {
		if err := db.SaveCheckpoint(ctx, r.ID, g, json.RawMessage(fmt.Sprintf(`{"gen":%d}`, g)), []int64{c.ID}); err != nil {
			t.Fatal(err)
		}
	}
	g, st, ok, err := db.LatestCheckpoint(ctx, r.ID)
	if err != nil || !ok || g != 2 || string(st) != `{"gen":2}` {
		t.Errorf("LatestCheckpoint = %d %s %v %v, want 2 {\"gen\":2}", g, st, ok, err)
	}
	if err := db.SaveCheckpoint(ctx, r.ID, 3, json.RawMessage(`{}`), []int64{999}); err == nil {
		t.Errorf("a population naming a missing candidate was accepted (foreign keys off?)")
	}
}

// TestReadersWhileWriting runs a reader on a second handle, like the sqlite3 shell
// or nas best, while a writer commits evaluations; neither may see "database is locked".
func TestReadersWhileWriting(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	r := newRun(t, db, 1000)
	reader, err := OpenReadOnly(db.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	const n = 200
	var wg sync.WaitGroup
	wg.Add(1)
	var readErr error
	reads := 0
	go func() {
		defer wg.Done()
		last := 0
		for last < n {
			cs, err := reader.Candidates(ctx, r.ID)
			if err != nil {
				readErr = err
				return
			}
			if len(cs) < last {
				readErr = fmt.Errorf("reader saw %d candidates after %d", len(cs), last)
				return
			}
			last = len(cs)
			if _, err := reader.Pareto(ctx, r.ID, "", 0); err != nil {
				readErr = err
				return
			}
			reads++
		}
	}()
	for i := 0; i < n; i++ {
		c := &Candidate{RunID: r.ID, Seq: i, ArchHash: fmt.Sprint(i), MACs: int64(i), Fidelity: "f"}
		if err := db.StartCandidate(ctx, c); err != nil {
			t.Fatal(err)
		}
		c.Status, c.Accuracy = CandDone, float64(i)/n
		if err := db.FinishCandidate(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if reads < 2 {
		t.Errorf("the reader finished only %d reads during the writes", reads)
	}
	if _, err := reader.SQL().Exec("DELETE FROM candidates"); err == nil {
		t.Errorf("a read-only handle deleted rows")
	}
}
