package evaluate

import (
	"context"
	"math/rand/v2"
	"testing"

	"nas/ops"
	"nas/space"
)

func TestProxyScore(t *testing.T) {
	sp, err := space.New(space.Config{Budget: 8_000_000, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256})
	if err != nil {
		t.Fatal(err)
	}
	d, err := Open("synthetic", Options{Seed: 1, Synthetic: SyntheticConfig{Train: 1200, Shape: ops.Shape{C: 1, H: 16, W: 16}, Seed: 2}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := sp.Sample(rand.New(rand.NewPCG(9, 9)))
	if err != nil {
		t.Fatal(err)
	}
	r := ReferenceRecipe()
	r.BatchSize = 32
	p := &Proxy{Space: sp, Data: d, Recipe: r, Seed: 4}
	f := Fidelity{TrainSize: 640, Epochs: 2, Width: 0.5}
	s1, err := p.Score(context.Background(), g, sp.Hash(g), f)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := sp.Cost(g)
	if s1.MACs != target.MACs || s1.MACs > 8_000_000 || s1.ProxyMACs <= 0 || s1.Fidelity != f {
		t.Errorf("score %+v: want the target's %d MACs within budget, a proxy cost and the fidelity", s1, target.MACs)
	}
	if s1.Diverged == "" && (s1.ValAccuracy < 0 || s1.ValAccuracy > 1 || s1.TrainSeconds <= 0 || s1.ImagesPerSec <= 0) {
		t.Errorf("score %+v: want an accuracy in [0, 1] and positive timings", s1)
	}
	// The training seed derives from the run seed and the hash: scoring again gives
	// the same accuracy and loss to the last bit.
	s2, err := p.Score(context.Background(), g, sp.Hash(g), f)
	if err != nil {
		t.Fatal(err)
	}
	if s1.ValAccuracy != s2.ValAccuracy || s1.ValLoss != s2.ValLoss {
		t.Errorf("two scorings differ: %v/%v and %v/%v", s1.ValAccuracy, s1.ValLoss, s2.ValAccuracy, s2.ValLoss)
	}
	if TrainingSeed(4, "a") == TrainingSeed(4, "b") || TrainingSeed(4, "a") == TrainingSeed(5, "a") {
		t.Errorf("training seeds collide across hashes or run seeds")
	}
	if (Fidelity{TrainSize: 640, Epochs: 2, Width: 0.5}).Key() != "n640-e2-w0.5" {
		t.Errorf("fidelity key %q", f.Key())
	}
}
