package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"nas/store"
)

// seedCandidate stores a run of a small space and one of its genomes, and returns the
// database path, the candidate id and the genome's deployment cost.
func seedCandidate(t *testing.T) (string, int64, int64) {
	t.Helper()
	cfg := runConfig{Budget: 8_000_000, Target: "32x32x3", Classes: 10, Strategy: "nsga2", Dataset: "synthetic"}
	sp, err := cfg.space()
	if err != nil {
		t.Fatal(err)
	}
	g, err := sp.Sample(rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	cost, _ := sp.Cost(g)
	path := filepath.Join(t.TempDir(), "nas.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	cj, _ := json.Marshal(cfg)
	r := &store.Run{Seed: 1, BudgetMACs: int64(cfg.Budget), Strategy: "nsga2", Dataset: "synthetic", Config: cj, Version: "test"}
	if err := db.CreateRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(g)
	c := &store.Candidate{RunID: r.ID, Seq: 0, ArchHash: sp.Hash(g), Genome: gj, MACs: cost.MACs, Params: cost.Params, Fidelity: "f"}
	if err := db.StartCandidate(ctx, c); err != nil {
		t.Fatal(err)
	}
	c.Status, c.Accuracy = store.CandDone, 0.5
	if err := db.FinishCandidate(ctx, c); err != nil {
		t.Fatal(err)
	}
	return path, c.ID, cost.MACs
}

func TestShow(t *testing.T) {
	path, id, macs := seedCandidate(t)
	code, out, errs := runCLI("show", fmt.Sprint(id), "--db", path, "--layers", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var s showJSON
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, l := range s.Network.Layers {
		sum += l.MACs
	}
	if s.ID != id || s.Network.MACs != macs || sum != macs || s.Network.Input != "32x32x3" {
		t.Errorf("show: id %d, network %d MACs (layers sum %d) at %s; want id %d, %d MACs at 32x32x3", s.ID, s.Network.MACs, sum, s.Network.Input, id, macs)
	}
	code, out, _ = runCLI("show", fmt.Sprint(id), "--db", path)
	if code != 0 || !strings.Contains(out, "genome w") || !strings.Contains(out, "accuracy 0.5000") {
		t.Errorf("show text: exit %d\n%s", code, out)
	}
	if code, _, _ := runCLI("show", "abc", "--db", path); code != exitUsage {
		t.Errorf("show abc: exit %d, want 2", code)
	}
	if code, _, _ := runCLI("show", "999", "--db", path); code != exitFailure {
		t.Errorf("show 999: exit %d, want 1", code)
	}
}
