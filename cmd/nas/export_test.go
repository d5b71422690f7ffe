package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"nas/ops"
	"nas/ops/zoo"
	"nas/space"
)

func exportTo(t *testing.T, o exportOptions) (string, error) {
	t.Helper()
	var out bytes.Buffer
	o.stdout, o.stderr = &out, &bytes.Buffer{}
	err := runExport(&o)
	return out.String(), err
}

func TestExportZooFormats(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		format string
		files  []string
	}{
		{"pytorch", []string{"model.py", "weights.safetensors", "check.safetensors", "arch.json"}},
		{"onnx", []string{"model.onnx", "check.safetensors", "arch.json"}},
		{"json", []string{"layers.json"}},
	} {
		d := filepath.Join(dir, c.format)
		out, err := exportTo(t, exportOptions{zoo: "reference_net", format: c.format, out: d})
		if err != nil {
			t.Fatalf("export --zoo reference_net --format %s: %v", c.format, err)
		}
		for _, f := range c.files {
			p := filepath.Join(d, f)
			if st, err := os.Stat(p); err != nil || st.Size() == 0 {
				t.Errorf("--format %s: %s missing or empty (%v)", c.format, f, err)
			}
			if !strings.Contains(out, p+"\n") {
				t.Errorf("--format %s: stdout %q does not list %s", c.format, out, p)
			}
		}
	}
	// reference_net's counts are printed by ../shared/bench/reference_net.py count
	// (the same figures zoo_test.go checks).
	var arch map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "pytorch", "arch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &arch); err != nil {
		t.Fatal(err)
	}
	if arch["name"] != "reference_net" || arch["params"] != float64(98_266) || arch["model_params"] != float64(98_266) ||
		arch["macs"] != float64(4_340_896) ||
		arch["input"] != "28x28x1" || arch["classes"] != float64(10) || arch["weights"] != "initial" {
		t.Errorf("arch.json %v, want reference_net, 98266 params and model params, 4340896 MACs, 28x28x1, 10 classes, initial weights", arch)
	}
	if p, ok := arch["provenance"].(map[string]any); !ok || p["nas_version"] == nil || p["source"] == nil {
		t.Errorf("arch.json provenance %v, want nas_version and source", arch["provenance"])
	}
	var layers map[string]any
	b, err = os.ReadFile(filepath.Join(dir, "json", "layers.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &layers); err != nil {
		t.Fatal(err)
	}
	if rows, ok := layers["layers"].([]any); !ok || len(rows) == 0 {
		t.Errorf("layers.json has no layer list: %v", layers)
	}
}

// TestExportReproducible checks that two exports of a zoo network write identical
// weights and check files (the weights come from a fixed seed), and that the
// PyTorch and ONNX exports share their check file.
func TestExportReproducible(t *testing.T) {
	dir := t.TempDir()
	var checks, weights [][]byte
	for i, format := range []string{"pytorch", "pytorch", "onnx"} {
		d := filepath.Join(dir, strings.Repeat("x", i+1))
		if _, err := exportTo(t, exportOptions{zoo: "shufflenet_v2", format: format, out: d, input: "32x32x3", classes: 10}); err != nil {
			t.Fatal(err)
		}
		c, err := os.ReadFile(filepath.Join(d, "check.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		checks = append(checks, c)
		if format == "pytorch" {
			w, err := os.ReadFile(filepath.Join(d, "weights.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			weights = append(weights, w)
		}
	}
	if !bytes.Equal(checks[0], checks[1]) || !bytes.Equal(checks[0], checks[2]) {
		t.Errorf("check.safetensors differs between exports of shufflenet_v2 at 32x32x3")
	}
	if !bytes.Equal(weights[0], weights[1]) {
		t.Errorf("weights.safetensors differs between two exports of shufflenet_v2 at 32x32x3")
	}
}

func TestExportErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name  string
		o     exportOptions
		usage bool
		msg   string
	}{
		{"unknown zoo name", exportOptions{zoo: "nonet", format: "pytorch", out: dir}, true, "nonet"},
		{"bad shape", exportOptions{zoo: "reference_net", format: "pytorch", out: dir, input: "28x28"}, true, "--input"},
		{"input too small", exportOptions{zoo: "squeezenet1_0", format: "pytorch", out: dir, input: "6x6x3"}, true, "too small"},
		{"unknown format", exportOptions{zoo: "reference_net", format: "tflite", out: dir}, true, "tflite"},
		{"missing -o", exportOptions{zoo: "reference_net", format: "pytorch"}, true, "-o"},
		{"ID and --zoo", exportOptions{id: "3", zoo: "reference_net", format: "pytorch", out: dir}, true, "either"},
		{"neither", exportOptions{format: "pytorch", out: dir}, true, "either"},
		{"bad ID", exportOptions{id: "x1", format: "pytorch", out: dir}, true, "x1"},
		{"--weights for a zoo network", exportOptions{zoo: "reference_net", format: "pytorch", out: dir, weights: true}, true, "--weights"},
		{"candidate not in the database", exportOptions{id: "3", format: "pytorch", out: dir, db: filepath.Join(dir, "none.db")}, false, "no results database"},
	} {
		_, err := exportTo(t, c.o)
		var ue usageError
		if err == nil || errors.As(err, &ue) != c.usage || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: error %v (usage error: %v), want usage=%v mentioning %q", c.name, err, errors.As(err, &ue), c.usage, c.msg)
		}
	}
}

// TestExportCandidateHook checks the candidate path through a stand-in for the store:
// the hook's arch fields reach arch.json, and trained weights are not re-initialized.
func TestExportCandidateHook(t *testing.T) {
	saved := loadCandidate
	defer func() { loadCandidate = saved }()
	var gotWeights bool
	var gotShape ops.Shape
	loadCandidate = func(db string, id int64, in ops.Shape, classes int, withWeights bool) (*ops.Network, map[string]any, error) {
		gotWeights, gotShape = withWeights, in
		net, err := zoo.Build("reference_net", ops.Shape{C: 1, H: 28, W: 28}, 10)
		if err != nil {
			return nil, nil, err
		}
		for _, p := range net.Params() {
			for i := range p.Value.Float32s() {
				p.Value.Float32s()[i] = 0.5
			}
		}
		return net, map[string]any{"genome": map[string]any{"width_mult": 1}, "hash": "abc123"}, nil
	}
	dir := t.TempDir()
	if _, err := exportTo(t, exportOptions{id: "7", format: "pytorch", out: dir, weights: true, input: "28x28x1"}); err != nil {
		t.Fatal(err)
	}
	if !gotWeights || gotShape != (ops.Shape{C: 1, H: 28, W: 28}) {
		t.Errorf("hook called with weights %v, shape %v; want true, 28x28x1", gotWeights, gotShape)
	}
	var arch map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "arch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &arch); err != nil {
		t.Fatal(err)
	}
	if arch["hash"] != "abc123" || arch["genome"] == nil || arch["weights"] != "trained" {
		t.Errorf("arch.json %v, want the hook's hash and genome and trained weights", arch)
	}
	w, err := os.ReadFile(filepath.Join(dir, "weights.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	// 0.5 as little-endian float32 bytes: the trained weights, not a fresh draw.
	if !bytes.Contains(w, []byte{0, 0, 0, 0x3f, 0, 0, 0, 0x3f}) {
		t.Errorf("weights.safetensors does not hold the candidate's weights")
	}
}

// TestExportWidenedCandidate exports, in every format, a candidate of the widened
// space (nas run --families all --groupings fixed,learned,dynamic --bits 32,8,4)
// through a stand-in for the store: learned, dynamic, DSConv and ScaleNet stages. Its
// learned layers are priced as their converted form, so arch.json's params, nas's
// price, is below model_params, the values the exported model holds.
func TestExportWidenedCandidate(t *testing.T) {
	sp, err := space.New(space.Config{Budget: 1 << 40, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256,
		Families: space.AllFamilies, Groupings: []space.Grouping{space.FixedGroups, space.LearnedGroups, space.DynamicGroups},
		Bits: []int{32, 8, 4}})
	if err != nil {
		t.Fatal(err)
	}
	g := space.Genome{WidthMult: 0.5}
	for i := range space.MobileNetV2Skeleton {
		st := space.Stage{Family: space.InvertedResidual, Depth: 1, Width: 1, Expand: 2, Groups: 2, Kernels: []int{3},
			Grouping: []space.Grouping{space.LearnedGroups, space.DynamicGroups, space.FixedGroups}[i%3], Bits: []int{0, 8, 4}[i%3]}
		if i == 3 {
			st.Family = space.ScaleAgg
		}
		g.Stages = append(g.Stages, st)
	}
	var want ops.Cost
	var wantModel int64
	saved := loadCandidate
	defer func() { loadCandidate = saved }()
	loadCandidate = func(db string, id int64, in ops.Shape, classes int, withWeights bool) (*ops.Network, map[string]any, error) {
		net, err := sp.Build(g, space.BuildOptions{Input: in, Classes: classes})
		if err != nil {
			return nil, nil, err
		}
		want, wantModel = net.Cost(), net.ParamCount()
		return net, map[string]any{"genome": g, "hash": sp.Hash(g)}, nil
	}
	dir := t.TempDir()
	for _, c := range []struct {
		format string
		file   string
	}{{"pytorch", "model.py"}, {"onnx", "model.onnx"}, {"json", "layers.json"}} {
		d := filepath.Join(dir, c.format)
		if _, err := exportTo(t, exportOptions{id: "5", format: c.format, out: d}); err != nil {
			t.Fatalf("export --format %s: %v", c.format, err)
		}
		if st, err := os.Stat(filepath.Join(d, c.file)); err != nil || st.Size() == 0 {
			t.Errorf("--format %s: %s missing or empty (%v)", c.format, c.file, err)
		}
	}
	var arch map[string]any
	b, err := os.ReadFile(filepath.Join(dir, "pytorch", "arch.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &arch); err != nil {
		t.Fatal(err)
	}
	if arch["params"] != float64(want.Params) || arch["macs"] != float64(want.MACs) || arch["model_params"] != float64(wantModel) {
		t.Errorf("arch.json params %v, macs %v, model_params %v; want %d, %d, %d", arch["params"], arch["macs"], arch["model_params"],
			want.Params, want.MACs, wantModel)
	}
	if want.Params >= wantModel {
		t.Errorf("genome %v: priced at %d parameters, exported with %d: want the learned layers priced below their training form",
			g, want.Params, wantModel)
	}
	py, err := os.ReadFile(filepath.Join(dir, "pytorch", "model.py"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"LearnedGroupConv(", "DynamicGroupConv(", "DSConv2d(", "ScaleAggregation("} {
		if !bytes.Contains(py, []byte(m)) {
			t.Errorf("model.py of genome %v constructs no %s", g, m)
		}
	}
}
