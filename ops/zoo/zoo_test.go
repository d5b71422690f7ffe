package zoo

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"nas/ops"
)

// reference is one entry of testdata/reference_counts.json, written by
// testdata/gen_counts.py from the reference implementations in PyTorch.
type reference struct {
	Name      string `json:"name"`
	Input     string `json:"input"`
	Classes   int    `json:"classes"`
	Params    int64  `json:"params"`
	MACs      int64  `json:"macs"`
	Source    string `json:"source"`
	Published string `json:"published"`
}

// loadReferences reads the committed reference counts.
func loadReferences(t *testing.T) []reference {
	t.Helper()
	b, err := os.ReadFile("testdata/reference_counts.json")
	if err != nil {
		t.Fatal(err)
	}
	var refs []reference
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatalf("testdata/reference_counts.json: %v", err)
	}
	return refs
}

// parseShape parses "HxWxC".
func parseShape(t *testing.T, s string) ops.Shape {
	t.Helper()
	var sh ops.Shape
	if _, err := fmt.Sscanf(s, "%dx%dx%d", &sh.H, &sh.W, &sh.C); err != nil {
		t.Fatalf("shape %q: %v", s, err)
	}
	return sh
}

// TestCountsMatchReference checks every network's parameters and MACs at its
// reference input against the counts of its reference implementation (the source
// field of testdata/reference_counts.json names it; testdata/gen_counts.py builds it
// in PyTorch and counts with reference_net.py's convention).
func TestCountsMatchReference(t *testing.T) {
	refs := loadReferences(t)
	seen := map[string]bool{}
	for _, r := range refs {
		seen[r.Name] = true
		t.Run(r.Name, func(t *testing.T) {
			spec, err := Lookup(r.Name)
			if err != nil {
				t.Fatal(err)
			}
			in := parseShape(t, r.Input)
			if spec.Input != in || spec.Classes != r.Classes {
				t.Errorf("Lookup(%q) default %v, %d classes; reference %v, %d classes", r.Name, spec.Input, spec.Classes, in, r.Classes)
			}
			n, err := Build(r.Name, in, r.Classes)
			if err != nil {
				t.Fatal(err)
			}
			got := n.Cost()
			if got.Params != r.Params || got.MACs != r.MACs {
				t.Errorf("Build(%q, %v, %d): %d params, %d MACs; %s: %d params, %d MACs (diff %+d, %+d)",
					r.Name, in, r.Classes, got.Params, got.MACs, r.Source, r.Params, r.MACs,
					got.Params-r.Params, got.MACs-r.MACs)
			}
			if pc := n.ParamCount(); pc != got.Params {
				t.Errorf("Build(%q): ParamCount() = %d, Cost().Params = %d", r.Name, pc, got.Params)
			}
		})
	}
	for _, s := range List() {
		if !seen[s.Name] {
			t.Errorf("network %q has no reference counts in testdata/reference_counts.json", s.Name)
		}
	}
}
