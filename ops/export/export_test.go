package export_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"nas/ops"
	"nas/ops/export"
	"nas/ops/zoo"
	"nas/space"
)

// exportAll runs the three exporters on net and checks what can be checked without
// Python: the ONNX model parses, uses every parameter of the state dict under its
// name with its shape, and its parameter initializers add up to nas's parameter
// count; model.py builds the network in build_model and names one PyTorch module per
// parameterized leaf; the JSON totals are the network's.
func exportAll(t *testing.T, what string, net *ops.Network) {
	t.Helper()
	var py, ox, js bytes.Buffer
	if err := export.PyTorch(net, &py); err != nil {
		t.Fatalf("%s: PyTorch: %v", what, err)
	}
	if err := export.ONNX(net, &ox); err != nil {
		t.Fatalf("%s: ONNX: %v", what, err)
	}
	if err := export.JSON(net, &js); err != nil {
		t.Fatalf("%s: JSON: %v", what, err)
	}

	var m onnx.ModelProto
	if err := proto.Unmarshal(ox.Bytes(), &m); err != nil {
		t.Fatalf("%s: the ONNX model does not parse: %v", what, err)
	}
	sd := export.StateDict(net)
	var params int64
	seen := map[string]bool{}
	for _, in := range m.Graph.Initializer {
		if strings.HasPrefix(in.Name, "nas.const.") {
			continue
		}
		w, ok := sd[in.Name]
		if !ok {
			t.Fatalf("%s: ONNX initializer %q is not in the state dict", what, in.Name)
		}
		size := int64(1)
		for i, d := range in.Dims {
			size *= d
			if i >= len(w.Shape()) || int(d) != w.Shape()[i] {
				t.Fatalf("%s: ONNX initializer %q has dims %v, the state dict %v", what, in.Name, in.Dims, w.Shape())
			}
		}
		seen[in.Name] = true
		if !strings.HasSuffix(in.Name, ".running_mean") && !strings.HasSuffix(in.Name, ".running_var") {
			params += size
		}
	}
	for name := range sd {
		if !seen[name] {
			t.Errorf("%s: state dict tensor %q is not used by the ONNX graph", what, name)
		}
	}
	if params != net.ParamCount() {
		t.Errorf("%s: ONNX parameter initializers hold %d values, nas counts %d", what, params, net.ParamCount())
	}

	src := py.String()
	if !strings.Contains(src, "def build_model():") || !strings.Contains(src, "def load_weights(") {
		t.Fatalf("%s: model.py lacks build_model or load_weights", what)
	}
	var leaves int
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		if _, ok := l.(ops.Parameterized); ok {
			leaves++
		}
	})
	// The modules of model.py holding parameters, one per parameterized leaf; the
	// library part before build_model mentions each a fixed number of times.
	body := src[strings.Index(src, "def build_model():"):]
	var modules int
	for _, m := range []string{"nn.Conv2d(", "nn.BatchNorm2d(", "Linear(", "DynamicGroupConv(", "DSConv2d("} {
		modules += strings.Count(body, m)
	}
	if got := modules; got != leaves {
		t.Errorf("%s: model.py constructs %d parameterized modules, the network has %d", what, got, leaves)
	}

	var doc export.NetworkJSON
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatalf("%s: JSON: %v", what, err)
	}
	var macs, ps int64
	for _, l := range doc.Layers {
		macs += l.MACs
		ps += l.Params
	}
	if c := net.Cost(); doc.MACs != c.MACs || doc.Params != c.Params || macs != c.MACs || ps != c.Params {
		t.Errorf("%s: JSON totals %d MACs %d params, rows %d and %d; network %d and %d", what, doc.MACs, doc.Params, macs, ps, c.MACs, c.Params)
	}
}

// TestExportZoo exports every zoo network at its reference shape (with 10 classes,
// to keep the classifiers small): no layer of the zoo may be unsupported.
func TestExportZoo(t *testing.T) {
	for _, s := range zoo.List() {
		t.Run(s.Name, func(t *testing.T) {
			net, err := zoo.Build(s.Name, s.Input, 10)
			if err != nil {
				t.Fatal(err)
			}
			exportAll(t, s.Name, net)
		})
	}
}

// familyGenome returns a genome whose every stage is of family f, with settings that
// exercise the family's options (grouping, two kernel sizes, the octave split and
// an interleaving); the space's repair makes it valid.
func familyGenome(f space.Family, il space.Interleave, alpha float64) space.Genome {
	g := space.Genome{WidthMult: 0.5}
	for i := range space.MobileNetV2Skeleton {
		g.Stages = append(g.Stages, space.Stage{Family: f, Depth: 1 + i%2, Width: 1, Expand: 2, Groups: 2,
			Kernels: []int{3, 5}, Alpha: alpha, Interleave: il})
	}
	return g
}

// testSpace is a space at CIFAR's shape with a narrow head, so that its networks
// build quickly.
func testSpace(t *testing.T) *space.Space {
	t.Helper()
	s, err := space.New(space.Config{Budget: 1 << 40, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestExportSpace exports candidates of every block family of the space, with and
// without the octave split and each interleaving, and random samples.
func TestExportSpace(t *testing.T) {
	s := testSpace(t)
	var genomes []space.Genome
	for _, f := range space.AllFamilies {
		genomes = append(genomes,
			familyGenome(f, space.NoInterleave, 0),
			familyGenome(f, space.Shuffle, 0.25),
			familyGenome(f, space.IGCPermutation, 0.5))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	for range 8 {
		g, err := s.Sample(rng)
		if err != nil {
			t.Fatal(err)
		}
		genomes = append(genomes, g)
	}
	families := map[string]bool{}
	for _, g := range genomes {
		net, err := s.Build(g, space.BuildOptions{})
		if err != nil {
			t.Fatalf("genome %v: %v", g, err)
		}
		exportAll(t, g.String(), net)
		for _, st := range s.Canonical(g).Stages {
			families[st.Family.String()] = true
		}
	}
	if len(families) != len(space.AllFamilies) {
		t.Errorf("the genomes cover families %v, want all %d of space.AllFamilies", families, len(space.AllFamilies))
	}
}

// TestExportWidenedSpace exports candidates of the widened space (every family,
// grouping mode and bit width, as nas run --families all --groupings
// fixed,learned,dynamic --bits 32,8,4 searches): a genome with learned, dynamic,
// DSConv and ScaleNet stages, whose layers must all be there, and random samples.
// The learned layers are priced as their converted form, so the network's cost is
// below its parameter count; the exports hold the training form's parameters.
func TestExportWidenedSpace(t *testing.T) {
	s, err := space.New(space.Config{Budget: 1 << 40, Target: ops.Shape{C: 3, H: 32, W: 32}, Classes: 10, Head: 256,
		Families: space.AllFamilies, Groupings: []space.Grouping{space.FixedGroups, space.LearnedGroups, space.DynamicGroups},
		Bits: []int{32, 8, 4}})
	if err != nil {
		t.Fatal(err)
	}
	ir := space.Stage{Family: space.InvertedResidual, Depth: 1, Width: 1, Expand: 2, Groups: 2, Kernels: []int{3}}
	stage := func(f space.Family, m space.Grouping, bits int) space.Stage {
		st := ir
		st.Family, st.Grouping, st.Bits = f, m, bits
		return st
	}
	// One stage per skeleton stage: learned and dynamic inverted residuals, with and
	// without DSConv weights, ShuffleNet V1 learned, ScaleNet with 8-bit weights.
	mixed := space.Genome{WidthMult: 0.5, Stages: []space.Stage{
		stage(space.InvertedResidual, space.LearnedGroups, 0),
		stage(space.InvertedResidual, space.DynamicGroups, 0),
		stage(space.InvertedResidual, space.FixedGroups, 4),
		stage(space.ScaleAgg, space.FixedGroups, 8),
		stage(space.InvertedResidual, space.LearnedGroups, 8),
		stage(space.ShuffleV1, space.LearnedGroups, 0),
		stage(space.InvertedResidual, space.DynamicGroups, 4),
	}}
	if len(mixed.Stages) != len(space.MobileNetV2Skeleton) {
		t.Fatalf("the mixed genome has %d stages, the skeleton %d", len(mixed.Stages), len(space.MobileNetV2Skeleton))
	}
	genomes := []space.Genome{mixed}
	rng := rand.New(rand.NewPCG(9, 10))
	for range 6 {
		g, err := s.Sample(rng)
		if err != nil {
			t.Fatal(err)
		}
		genomes = append(genomes, g)
	}
	for i, g := range genomes {
		net, err := s.Build(g, space.BuildOptions{})
		if err != nil {
			t.Fatalf("genome %v: %v", g, err)
		}
		exportAll(t, g.String(), net)
		if i > 0 {
			continue
		}
		found := map[string]int{}
		ops.Walk(net.Root(), func(_ string, l ops.Layer) {
			switch l := l.(type) {
			case *ops.LearnedGroupConv:
				if l.Config().PriceConverted {
					found["learned"]++
				}
			case *ops.DynamicGroupConv:
				found["dynamic"]++
			case *ops.DSConv:
				found["dsconv"]++
			case *ops.ScaleAggregation:
				found["scale"]++
			}
		})
		for _, k := range []string{"learned", "dynamic", "dsconv", "scale"} {
			if found[k] == 0 {
				t.Errorf("genome %v builds no %s layer (found %v)", g, k, found)
			}
		}
		if c := net.Cost(); c.Params >= net.ParamCount() {
			t.Errorf("genome %v: priced at %d parameters, training form %d: want the learned layers priced converted, below",
				g, c.Params, net.ParamCount())
		}
		// Each priced learned layer is one row of its own, within nothing.
		var rows int
		for _, l := range export.Layers(net).Layers {
			if strings.HasPrefix(l.Kind, "LearnedGroupConv") {
				rows++
				if !strings.HasSuffix(l.Kind, "(priced converted)") || l.Within != "" {
					t.Errorf("genome %v: JSON row %s %q within %q, want a priced converted row within nothing", g, l.Path, l.Kind, l.Within)
				}
			}
			if strings.HasPrefix(l.Within, "LearnedGroupConv") {
				t.Errorf("genome %v: JSON row %s %q is within %q, want no row within a priced learned layer", g, l.Path, l.Kind, l.Within)
			}
		}
		if rows != found["learned"] {
			t.Errorf("genome %v: %d JSON rows of learned layers, want %d", g, rows, found["learned"])
		}
		var py bytes.Buffer
		if err := export.PyTorch(net, &py); err != nil {
			t.Fatal(err)
		}
		if got, want := strings.Count(py.String(), "LearnedGroupConv("), found["learned"]; got < want {
			t.Errorf("genome %v: model.py constructs LearnedGroupConv %d times, want at least %d", g, got, want)
		}
	}
}

// oddLayer is a layer type the exporters do not know.
type oddLayer struct{ ops.ReLU }

// TestUnsupportedLayer checks that an unknown layer type is an error that names its
// type and path in every exporter.
func TestUnsupportedLayer(t *testing.T) {
	conv, err := ops.Conv(3, 4, 3, 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	net, err := ops.NewNetwork(ops.Seq(conv, ops.Seq(ops.NewBatchNorm2D(4), &oddLayer{*ops.NewReLU()})), ops.Shape{C: 3, H: 4, W: 4})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func(*ops.Network, *bytes.Buffer) error{
		"PyTorch": func(n *ops.Network, b *bytes.Buffer) error { return export.PyTorch(n, b) },
		"ONNX":    func(n *ops.Network, b *bytes.Buffer) error { return export.ONNX(n, b) },
	} {
		var b bytes.Buffer
		err := f(net, &b)
		if err == nil || !strings.Contains(err.Error(), "oddLayer") || !strings.Contains(err.Error(), `"1.1"`) {
			t.Errorf("%s of a network with an unknown layer at 1.1: error %v, want one naming oddLayer and \"1.1\"", name, err)
		}
	}
}

// readSafetensors parses the safetensors layout independently of the writer.
func readSafetensors(t *testing.T, data []byte) map[string][]float32 {
	t.Helper()
	n := binary.LittleEndian.Uint64(data[:8])
	if n%8 != 0 {
		t.Errorf("header length %d is not a multiple of 8", n)
	}
	var header map[string]struct {
		DType   string `json:"dtype"`
		Shape   []int  `json:"shape"`
		Offsets [2]int `json:"data_offsets"`
	}
	if err := json.Unmarshal(data[8:8+n], &header); err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	body := data[8+n:]
	for name, e := range header {
		if e.DType != "F32" {
			t.Fatalf("%s: dtype %s", name, e.DType)
		}
		raw := body[e.Offsets[0]:e.Offsets[1]]
		size := 1
		for _, d := range e.Shape {
			size *= d
		}
		if len(raw) != 4*size {
			t.Fatalf("%s: %d bytes for shape %v", name, len(raw), e.Shape)
		}
		v := make([]float32, size)
		for i := range v {
			v[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
		out[name] = v
	}
	return out
}

// TestSafetensorsRoundTrip writes a network's state dict and reads it back.
func TestSafetensorsRoundTrip(t *testing.T) {
	net, err := zoo.Build("reference_net", ops.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		t.Fatal(err)
	}
	net.Init(rand.New(rand.NewPCG(1, 2)))
	sd := export.StateDict(net)
	var b bytes.Buffer
	if err := export.Safetensors(&b, sd); err != nil {
		t.Fatal(err)
	}
	got := readSafetensors(t, b.Bytes())
	if len(got) != len(sd) {
		t.Fatalf("read %d tensors, wrote %d", len(got), len(sd))
	}
	for name, w := range sd {
		want := w.Float32s()
		g := got[name]
		for i := range want {
			if g[i] != want[i] {
				t.Fatalf("%s[%d] = %v, want %v", name, i, g[i], want[i])
			}
		}
	}
	var bn int
	for name := range sd {
		if strings.HasSuffix(name, ".running_var") {
			bn++
		}
	}
	if bn == 0 {
		t.Errorf("the state dict of reference_net has no running_var, want one per batch norm")
	}
	if err := export.Safetensors(&b, map[string]*tensor.Dense{"__metadata__": sd["0.0.weight"]}); err == nil {
		t.Errorf("Safetensors accepted the reserved name __metadata__")
	}
}

// TestCheckReproducible checks that the check batch depends on the seed alone and
// that the logits are the network's in evaluation mode.
func TestCheckReproducible(t *testing.T) {
	net, err := zoo.Build("reference_net", ops.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		t.Fatal(err)
	}
	net.Init(rand.New(rand.NewPCG(1, 2)))
	x1, y1, err := export.Check(net, export.CheckSeed)
	if err != nil {
		t.Fatal(err)
	}
	x2, y2, err := export.Check(net, export.CheckSeed)
	if err != nil {
		t.Fatal(err)
	}
	if !equal(x1.Float32s(), x2.Float32s()) || !equal(y1.Float32s(), y2.Float32s()) {
		t.Errorf("two checks with the same seed differ")
	}
	if got, want := y1.Shape(), (tensor.Shape{export.CheckBatch, 10}); !got.Eq(want) {
		t.Errorf("logits shape %v, want %v", got, want)
	}
	x3, _, err := export.Check(net, export.CheckSeed+1)
	if err != nil {
		t.Fatal(err)
	}
	if equal(x1.Float32s(), x3.Float32s()) {
		t.Errorf("checks with different seeds have the same input")
	}
}

func equal(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
