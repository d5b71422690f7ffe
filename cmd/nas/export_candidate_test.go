package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"nas/store"
)

// TestExportTrainedCandidate runs a tiny search, exports its best candidate with its
// proxy-trained weights, and checks that training it again for the export
// reproduced the accuracy the search recorded, to the last bit.
func TestExportTrainedCandidate(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a small search; skipped with -short")
	}
	db := filepath.Join(t.TempDir(), "nas.db")
	args := []string{"run", "--db", db, "--dataset", "synthetic", "--budget", "300M", "--population", "3",
		"--generations", "1", "--train-sizes", "64", "--val-size", "100", "--batch", "32", "--time-limit", "0"}
	if code, _, errs := runCLI(args...); code != 0 {
		t.Fatalf("nas run: exit %d: %s", code, errs)
	}
	d, err := store.OpenReadOnly(db)
	if err != nil {
		t.Fatal(err)
	}
	front, err := d.Pareto(context.Background(), 1, "", 0)
	d.Close()
	if err != nil || len(front) == 0 {
		t.Fatalf("no front: %v", err)
	}
	best := front[len(front)-1]
	dir := t.TempDir()
	code, _, errs := runCLI("export", strconv.FormatInt(best.ID, 10), "--db", db, "--weights", "--format", "pytorch", "-o", dir)
	if code != 0 {
		t.Fatalf("export: exit %d: %s", code, errs)
	}
	b, err := os.ReadFile(filepath.Join(dir, "arch.json"))
	if err != nil {
		t.Fatal(err)
	}
	var arch map[string]any
	if err := json.Unmarshal(b, &arch); err != nil {
		t.Fatal(err)
	}
	if got := arch["reproduced_accuracy"]; got != best.Accuracy || arch["hash"] != best.ArchHash || arch["weights"] != "trained" {
		t.Errorf("arch.json: reproduced accuracy %v, hash %v, weights %v; want %v, %s, trained", got, arch["hash"], arch["weights"], best.Accuracy, best.ArchHash)
	}
	for _, f := range []string{"model.py", "weights.safetensors", "check.safetensors"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("export wrote no %s: %v", f, err)
		}
	}
}
