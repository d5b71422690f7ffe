package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSqliteShellReadsWhileRunWrites queries the database of a real nas run with the
// sqlite3 shell (and nas best) while the run commits evaluations: every query must
// succeed, with no "database is locked", and see the finished count only grow.
func TestSqliteShellReadsWhileRunWrites(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small search; skipped with -short")
	}
	shell, err := exec.LookPath("sqlite3")
	if err != nil {
		t.Skip("no sqlite3 shell on this machine (Debian package sqlite3); the store's own concurrent-reader test still runs")
	}
	bin := buildNas(t)
	db := filepath.Join(t.TempDir(), "nas.db")
	cmd := exec.Command(bin, searchArgs(db)...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	last, reads, seenWhileRunning := 0, 0, 0
	for running := true; running; {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("nas run: %v", err)
			}
			running = false
		case <-time.After(15 * time.Millisecond):
		}
		if _, err := os.Stat(db); err != nil {
			continue
		}
		// A busy timeout, as any client sets, covers the moments the writer holds its
		// lock (creating the schema, checkpointing the WAL).
		out, err := exec.Command(shell, "-readonly", "-cmd", ".timeout 10000", db,
			"SELECT count(*) FROM candidates WHERE status IN ('done','failed'); SELECT count(*) FROM pareto;").CombinedOutput()
		if err != nil {
			if strings.Contains(string(out), "no such table") {
				continue // the run has not created its schema yet
			}
			t.Fatalf("sqlite3 while the run writes: %v: %s", err, out)
		}
		n, err := strconv.Atoi(strings.Fields(string(out))[0])
		if err != nil {
			t.Fatalf("sqlite3 output %q", out)
		}
		if n < last {
			t.Fatalf("finished evaluations went from %d to %d", last, n)
		}
		if running && n > last {
			seenWhileRunning++
		}
		last = n
		reads++
		if running && reads%10 == 0 {
			if code, _, errs := runCLI("best", "--db", db, "--json"); code != 0 && !strings.Contains(errs, "no runs") {
				t.Fatalf("nas best while the run writes: exit %d: %s", code, errs)
			}
		}
	}
	if seenWhileRunning < 3 {
		t.Errorf("the shell saw the count grow only %d times while the run wrote (%d reads)", seenWhileRunning, reads)
	}
}
