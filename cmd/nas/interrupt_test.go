package main

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"nas/store"
)

// TestCtrlCStopsCleanly sends SIGINT (Ctrl-C) to a real nas run: it must exit 1,
// record the evaluations in flight as interrupted, mark the run interrupted and
// print how to resume; resuming then finishes the run.
func TestCtrlCStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small search; skipped with -short")
	}
	bin := buildNas(t)
	db := filepath.Join(t.TempDir(), "nas.db")
	cmd := exec.Command(bin, searchArgs(db)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Minute)
	for finished(db) < 3 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Signal(syscall.SIGINT)
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitFailure {
		t.Fatalf("nas run after SIGINT: %v, want exit status 1\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "resume with: nas resume run-1") {
		t.Errorf("stderr does not say how to resume:\n%s", stderr.String())
	}
	d, err := store.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := d.Run(ctx, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	cs, _ := d.Candidates(ctx, r.ID)
	d.Close()
	if r.Status != store.RunInterrupted {
		t.Errorf("run status %q after SIGINT, want interrupted", r.Status)
	}
	for _, c := range cs {
		if c.Status == store.CandRunning {
			t.Errorf("candidate seq %d still running after SIGINT", c.Seq)
		}
	}
	if out, err := exec.Command(bin, "resume", "run-1", "--db", db).CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	d, _ = store.OpenReadOnly(db)
	defer d.Close()
	if r, _ := d.Run(ctx, "run-1"); r.Status != store.RunFinished {
		t.Errorf("run status %q after resume, want finished", r.Status)
	}
}
