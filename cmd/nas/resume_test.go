package main

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"nas/store"
)

// buildNas compiles the nas binary once per test binary.
func buildNas(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "nas")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// searchArgs is a small, fast search on the synthetic dataset.
func searchArgs(db string) []string {
	return []string{"run", "--db", db, "--dataset", "synthetic", "--budget", "300M", "--population", "6",
		"--generations", "2", "--train-sizes", "64,128", "--val-size", "100", "--batch", "32", "--seed", "5",
		"--workers", "2", "--time-limit", "0"}
}

// snapshot is what a finished run left in its database: each seq's status,
// architecture and accuracy, and the front as seq:accuracy:MACs.
type snapshot struct {
	cands map[int]store.Candidate
	front []string
}

func readRun(t *testing.T, db string) snapshot {
	t.Helper()
	d, err := store.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	ctx := context.Background()
	r, err := d.LatestRun(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := d.Candidates(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	s := snapshot{cands: map[int]store.Candidate{}}
	for _, c := range cs {
		s.cands[c.Seq] = c
	}
	front, err := d.Pareto(ctx, r.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range front {
		s.front = append(s.front, fmt.Sprintf("%d:%s:%v:%d", c.Seq, c.ArchHash, c.Accuracy, c.MACs))
	}
	return s
}

// finished counts the finished evaluations of the database's latest run.
func finished(db string) int {
	d, err := store.OpenReadOnly(db)
	if err != nil {
		return 0
	}
	defer d.Close()
	var n int
	d.SQL().QueryRow(`SELECT count(*) FROM candidates WHERE status IN ('done', 'failed')`).Scan(&n)
	return n
}

// TestKillAndResume kills real nas run processes with SIGKILL after a few finished
// evaluations, resumes them, and checks that no finished evaluation is lost or
// repeated and that the final front equals an uninterrupted run's.
func TestKillAndResume(t *testing.T) {
	if testing.Short() {
		t.Skip("trains dozens of small networks; skipped with -short")
	}
	bin := buildNas(t)
	dir := t.TempDir()
	ref := filepath.Join(dir, "ref.db")
	if out, err := exec.Command(bin, searchArgs(ref)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}
	want := readRun(t, ref)
	if len(want.cands) < 10 || len(want.front) == 0 {
		t.Fatalf("uninterrupted run: %d evaluations, front %v: too small to test resume", len(want.cands), want.front)
	}
	for _, killAfter := range []int{1, 5, 11} {
		t.Run(fmt.Sprintf("after%d", killAfter), func(t *testing.T) {
			db := filepath.Join(dir, fmt.Sprintf("kill%d.db", killAfter))
			cmd := exec.Command(bin, searchArgs(db)...)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(2 * time.Minute)
			for finished(db) < killAfter && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			before := readRun(t, db)
			out, err := exec.Command(bin, "resume", "run-1", "--db", db).CombinedOutput()
			if err != nil {
				t.Fatalf("resume: %v\n%s", err, out)
			}
			got := readRun(t, db)
			// No finished evaluation is lost or trained again: each keeps its row.
			for seq, c := range before.cands {
				if c.Status != store.CandDone && c.Status != store.CandFailed {
					continue
				}
				after := got.cands[seq]
				if after.ID != c.ID || after.FinishedAt != c.FinishedAt || after.Accuracy != c.Accuracy {
					t.Errorf("seq %d finished before the kill (id %d at %s) but is id %d at %s after resume",
						seq, c.ID, c.FinishedAt, after.ID, after.FinishedAt)
				}
			}
			// Every evaluation appears once, finished, with the uninterrupted run's result.
			if len(got.cands) != len(want.cands) {
				t.Errorf("%d evaluations after resume, want %d", len(got.cands), len(want.cands))
			}
			for seq, w := range want.cands {
				g, ok := got.cands[seq]
				if !ok || g.Status != w.Status || g.ArchHash != w.ArchHash || g.Accuracy != w.Accuracy {
					t.Errorf("seq %d: %s %s %v, want %s %s %v", seq, g.Status, g.ArchHash, g.Accuracy, w.Status, w.ArchHash, w.Accuracy)
				}
			}
			if strings.Join(got.front, " ") != strings.Join(want.front, " ") {
				t.Errorf("front after resume:\n%v\nwant the uninterrupted run's:\n%v", got.front, want.front)
			}
		})
	}
}
