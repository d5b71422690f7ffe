package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
)

func TestCompare(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small search and baselines; skipped with -short")
	}
	db := filepath.Join(t.TempDir(), "nas.db")
	if code, _, errs := runCLI("run", "--db", db, "--dataset", "synthetic", "--budget", "150M", "--population", "3",
		"--generations", "1", "--train-sizes", "64", "--val-size", "100", "--batch", "32", "--time-limit", "0"); code != 0 {
		t.Fatalf("nas run: exit %d: %s", code, errs)
	}
	code, out, errs := runCLI("compare", "--db", db, "--top", "1", "--train-size", "128", "--json")
	if code != 0 {
		t.Fatalf("compare: exit %d: %s", code, errs)
	}
	var rows []compareRow
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 || rows[0].Kind != "candidate" || rows[1].Kind != "zoo" || rows[2].Kind != "zoo" {
		t.Fatalf("rows %+v, want one candidate then two zoo baselines", rows)
	}
	for _, r := range rows {
		// Every network is scaled into the run's budget at the target shape.
		if r.MACs > 150_000_000 || r.MACs <= 0 || r.ProxyMACs <= 0 || r.ValAccuracy < 0 || r.ValAccuracy > 1 {
			t.Errorf("%s: %d MACs (budget 150M), proxy %d, accuracy %v", r.Name, r.MACs, r.ProxyMACs, r.ValAccuracy)
		}
	}
	if code, _, _ := runCLI("compare", "--db", db, "--zoo", "resnet50"); code != exitUsage {
		t.Errorf("compare --zoo resnet50 (no width multiplier): exit %d, want 2", code)
	}
}
