package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"nas/store"
)

// seedDB writes a run with a few finished candidates and returns the file's path.
func seedDB(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "nas.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	r := &store.Run{Seed: 1, BudgetMACs: 300_000_000, Strategy: "nsga2", Dataset: "mnist", Version: "test"}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	// (MACs, accuracy): the second is dominated by the first; the last is over budget.
	for i, c := range []struct {
		macs int64
		acc  float64
	}{{100e6, 0.95}, {150e6, 0.94}, {200e6, 0.97}, {400e6, 0.99}} {
		cand := &store.Candidate{RunID: r.ID, Seq: i, ArchHash: fmt.Sprintf("h%d", i), Genome: json.RawMessage(`{}`),
			MACs: c.macs, Params: 1000, Fidelity: "f"}
		if err := db.StartCandidate(ctx, cand); err != nil {
			t.Fatal(err)
		}
		cand.Status, cand.Accuracy = store.CandDone, c.acc
		if err := db.FinishCandidate(ctx, cand); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBestPareto(t *testing.T) {
	path := seedDB(t)
	code, out, errs := runCLI("best", "--pareto", "--db", path, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var cs []store.Candidate
	if err := json.Unmarshal([]byte(out), &cs); err != nil {
		t.Fatalf("best --json: %v\n%s", err, out)
	}
	var got []int64
	for _, c := range cs {
		got = append(got, c.MACs)
	}
	if fmt.Sprint(got) != "[100000000 200000000]" {
		t.Errorf("pareto MACs = %v, want [100000000 200000000]", got)
	}
	// A tighter budget slices the front.
	_, out, _ = runCLI("best", "--pareto", "--db", path, "--budget", "150M")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "ID\tGEN\tACCURACY") || !strings.Contains(lines[1], "\t0.9500\t") {
		t.Errorf("best --pareto --budget 150M piped output:\n%s\nwant a TSV header and the 100M candidate", out)
	}
}

func TestBestTopAndTerminal(t *testing.T) {
	path := seedDB(t)
	var out bytes.Buffer
	o := &bestOptions{db: path, top: 2, out: &out, tty: true}
	if err := runBest(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 3 || strings.Contains(out.String(), "\t") {
		t.Fatalf("terminal output should be 3 aligned lines without tabs:\n%s", out.String())
	}
	if !strings.Contains(lines[1], "0.9700") || !strings.Contains(lines[2], "0.9500") {
		t.Errorf("top 2 by accuracy within budget:\n%s\nwant 0.9700 then 0.9500", out.String())
	}
}

func TestRunsAndQuery(t *testing.T) {
	path := seedDB(t)
	code, out, errs := runCLI("runs", "--db", path, "--json")
	if code != 0 || !strings.Contains(out, `"candidates": 4`) || !strings.Contains(out, `"budget_macs": 300000000`) {
		t.Errorf("runs --json: exit %d, %s%s", code, out, errs)
	}
	code, out, _ = runCLI("query", "--db", path, "SELECT count(*) AS n FROM candidates WHERE status = 'done'")
	if code != 0 || out != "n\n4\n" {
		t.Errorf("query count: exit %d, output %q, want \"n\\n4\\n\"", code, out)
	}
	code, _, errs = runCLI("query", "--db", path, "DELETE FROM candidates")
	if code != exitUsage || !strings.Contains(errs, "read-only") {
		t.Errorf("query DELETE: exit %d, stderr %q; want exit 2 and a read-only message", code, errs)
	}
	_, out, _ = runCLI("query", "--db", path, "SELECT count(*) FROM candidates")
	if !strings.HasSuffix(out, "\n4\n") {
		t.Errorf("after the refused DELETE, count = %q, want 4 rows still there", out)
	}
}

func TestUsageErrors(t *testing.T) {
	path := seedDB(t)
	tests := []struct {
		args []string
		code int
	}{
		{[]string{"bogus"}, exitUsage},
		{[]string{"best", "--db", path, "--budget", "300MB"}, exitUsage},
		{[]string{"best", "--db", path, "--top", "-1"}, exitUsage},
		{[]string{"best", "--db", path, "--nope"}, exitUsage},
		{[]string{"query", "--db", path}, exitUsage},
		{[]string{"runs", "--db", filepath.Join(t.TempDir(), "missing.db")}, exitFailure},
		{[]string{"best", "--db", path, "--run", "nope"}, exitFailure},
		{[]string{"run", "--db", filepath.Join(t.TempDir(), "g0.db"), "--generations", "0"}, exitUsage},
		{[]string{"version"}, exitOK},
	}
	for _, tt := range tests {
		code, _, errs := runCLI(tt.args...)
		if code != tt.code {
			t.Errorf("nas %s: exit %d, want %d (stderr %q)", strings.Join(tt.args, " "), code, tt.code, errs)
		}
		if code != 0 && strings.Count(strings.TrimSpace(errs), "\n") > 1 {
			t.Errorf("nas %s: stderr has more than an error line and a usage hint:\n%s", strings.Join(tt.args, " "), errs)
		}
	}
}
