package zoo

import (
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"

	"nas/ops"
)

// TestScaleNet50Structure checks that scaleNet50Structure is the published structure
// (testdata/scalenet50.json, a copy of Eli-YiLi/ScaleNet structures/scalenet50.json)
// and that at 224x224 every scale aggregation layer of scalenet50 has its row's
// widths and sees the feature-map side the row names.
func TestScaleNet50Structure(t *testing.T) {
	b, err := os.ReadFile("testdata/scalenet50.json")
	if err != nil {
		t.Fatal(err)
	}
	var want [][5]int
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("testdata/scalenet50.json: %v", err)
	}
	if !slices.Equal(want, scaleNet50Structure[:]) {
		t.Fatalf("scaleNet50Structure = %v, testdata/scalenet50.json %v", scaleNet50Structure, want)
	}
	n, err := Build("scalenet50", imagenet, 1000)
	if err != nil {
		t.Fatal(err)
	}
	rows := n.Layers()
	i := 0
	ops.Walk(n.Root(), func(path string, l ops.Layer) {
		sa, ok := l.(*ops.ScaleAggregation)
		if !ok {
			return
		}
		if i >= len(want) {
			t.Errorf("more than %d scale aggregation layers", len(want))
			return
		}
		c, row := sa.Config(), want[i]
		if !slices.Equal(c.Out, row[:4]) || c.Side != row[4] {
			t.Errorf("layer %d (%s): widths %v side %d, structure row %v", i, path, c.Out, c.Side, row)
		}
		// The side the layer was built for is the side it sees in the network: the
		// side at which each branch's batch norm runs.
		bns := 0
		for _, r := range rows {
			if strings.HasPrefix(r.Path, path+".") && strings.HasPrefix(r.Kind, "BatchNorm") {
				bns++
				if r.In.H != row[4] || r.In.W != row[4] {
					t.Errorf("layer %d (%s): %s sees %v, structure side %d", i, path, r.Path, r.In, row[4])
				}
			}
		}
		if want := len(sa.Children()); bns != want {
			t.Errorf("layer %d (%s): %d batch norms in the layer table, want one per branch (%d)", i, path, bns, want)
		}
		i++
	})
	if i != len(want) {
		t.Errorf("%d scale aggregation layers, structure has %d rows", i, len(want))
	}
}

// TestScaleNet50SmallInputs checks scalenet50 at MNIST's 28x28x1 and CIFAR's 32x32x3
// (the zoo tests' training input), where stages 3 and 4 see 2x2 or 1x1 maps: pooling
// windows larger than the map pool all of it and more branch kernels are 1x1. The
// counts come from the same rule in PyTorch (testdata/gen_counts_scalenet.py, written
// to testdata/scalenet50_small_counts.json because zoo_test.go reads entries without
// proxy strides as reference inputs).
func TestScaleNet50SmallInputs(t *testing.T) {
	b, err := os.ReadFile("testdata/scalenet50_small_counts.json")
	if err != nil {
		t.Fatal(err)
	}
	var refs []reference
	if err := json.Unmarshal(b, &refs); err != nil {
		t.Fatalf("testdata/scalenet50_small_counts.json: %v", err)
	}
	if len(refs) != 2 {
		t.Fatalf("testdata/scalenet50_small_counts.json has %d entries, want 28x28x1 and 32x32x3", len(refs))
	}
	for _, r := range refs {
		in := parseShape(t, r.Input)
		n, err := Build(r.Name, in, r.Classes)
		if err != nil {
			t.Fatal(err)
		}
		if got := n.Cost(); got.Params != r.Params || got.MACs != r.MACs {
			t.Errorf("Build(%q, %v, %d): %d params, %d MACs; PyTorch %d params, %d MACs", r.Name, in, r.Classes,
				got.Params, got.MACs, r.Params, r.MACs)
		}
	}
}
