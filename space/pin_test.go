package space

import (
	"encoding/json"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"nas/ops"
)

// updatePins rewrites testdata/default_draws.json from the code under test. The
// file was recorded before the grouping mode, bit width and scale aggregation genes
// existed (commit 1f8f33b) with
//
//	go test ./space -run TestDefaultDrawsPinned -update-pins
//
// and must not be rewritten unless a change of the default space is intended: it
// pins the results already measured with that space.
var updatePins = flag.Bool("update-pins", false, "rewrite testdata/default_draws.json from the current code")

// pinnedDraw is one recorded draw: what produced it, the genome as JSON, its hash
// and its cost at the space's target.
type pinnedDraw struct {
	Op     string `json:"op"`
	Genome string `json:"genome"`
	Hash   string `json:"hash"`
	MACs   int64  `json:"macs"`
	Params int64  `json:"params"`
}

// pinnedSpace is the record of one space: its draws in order and the RNG's next
// value after them, which pins how many values the draws consumed.
type pinnedSpace struct {
	Name  string       `json:"name"`
	Draws []pinnedDraw `json:"draws"`
	Next  uint64       `json:"rng_next"`
}

// pinSpaces are the recorded spaces: the CLI's default (300M MACs at 224x224x3)
// and the small space of the property tests.
var pinSpaces = []struct {
	name                        string
	cfg                         Config
	seed                        uint64
	samples, mutations, crosses int
}{
	{"default_300M", Config{Budget: 300_000_000}, 1, 8, 16, 8},
	{"small_8M", Config{Budget: 8_000_000, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256}, 7, 24, 64, 24},
}

// drawPins samples, mutates and crosses genomes of s from one seed and records them.
func drawPins(t *testing.T, s *Space, name string, seed uint64, samples, mutations, crosses int) pinnedSpace {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed+1))
	rec := pinnedSpace{Name: name}
	add := func(op string, g Genome) {
		b, err := json.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		c, err := s.Cost(g)
		if err != nil {
			t.Fatalf("%s %s: cost: %v", name, op, err)
		}
		rec.Draws = append(rec.Draws, pinnedDraw{Op: op, Genome: string(b), Hash: s.Hash(g), MACs: c.MACs, Params: c.Params})
	}
	var pop []Genome
	for range samples {
		g, err := s.Sample(rng)
		if err != nil {
			t.Fatal(err)
		}
		add("sample", g)
		pop = append(pop, g)
	}
	for range mutations {
		i := rng.IntN(len(pop))
		m, err := s.Mutate(pop[i], rng)
		if err != nil {
			t.Fatal(err)
		}
		add("mutate", m)
		pop[i] = m
	}
	for range crosses {
		a, b := pop[rng.IntN(len(pop))], pop[rng.IntN(len(pop))]
		x, y, err := s.Crossover(a, b, rng)
		if err != nil {
			t.Fatal(err)
		}
		add("crossover", x)
		add("crossover", y)
	}
	rec.Next = rng.Uint64()
	return rec
}

// TestDefaultDrawsPinned checks that the default space is bit for bit the space the
// recorded results were measured in: the same draws from the same seed give the same
// genomes, JSON, hashes and costs, and consume the same randomness.
func TestDefaultDrawsPinned(t *testing.T) {
	path := filepath.Join("testdata", "default_draws.json")
	var got []pinnedSpace
	for _, p := range pinSpaces {
		s, err := New(p.cfg)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, drawPins(t, s, p.name, p.seed, p.samples, p.mutations, p.crosses))
	}
	if *updatePins {
		b, err := json.MarshalIndent(got, "", " ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []pinnedSpace
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d spaces recorded in %s, %d drawn", len(want), path, len(got))
	}
	for k := range want {
		g, w := got[k], want[k]
		if len(g.Draws) != len(w.Draws) {
			t.Fatalf("%s: %d draws, want %d", w.Name, len(g.Draws), len(w.Draws))
		}
		for i := range w.Draws {
			gd, wd := g.Draws[i], w.Draws[i]
			if gd.Genome != wd.Genome || gd.Hash != wd.Hash || gd.MACs != wd.MACs || gd.Params != wd.Params {
				t.Fatalf("%s draw %d (%s):\ngot  %s hash %s, %d MACs, %d params\nwant %s hash %s, %d MACs, %d params",
					w.Name, i, wd.Op, gd.Genome, gd.Hash, gd.MACs, gd.Params, wd.Genome, wd.Hash, wd.MACs, wd.Params)
			}
		}
		// The recorded JSON, written before the new genes existed, decodes to their
		// defaults and hashes as recorded.
		s, err := New(pinSpaces[k].cfg)
		if err != nil {
			t.Fatal(err)
		}
		for i, wd := range w.Draws {
			var old Genome
			if err := json.Unmarshal([]byte(wd.Genome), &old); err != nil {
				t.Fatalf("%s draw %d: %v", w.Name, i, err)
			}
			for j, st := range old.Stages {
				if st.Grouping != FixedGroups || st.Bits != 0 {
					t.Fatalf("%s draw %d stage %d decodes to grouping %s, bits %d; want fixed, 0", w.Name, i, j, st.Grouping, st.Bits)
				}
			}
			if h := s.Hash(old); h != wd.Hash {
				t.Fatalf("%s draw %d: recorded genome hashes %s, want %s", w.Name, i, h, wd.Hash)
			}
		}
		if g.Next != w.Next {
			t.Errorf("%s: the RNG's next value after the draws is %d, want %d: the draws consumed different randomness",
				w.Name, g.Next, w.Next)
		}
	}
}
