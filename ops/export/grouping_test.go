package export_test

import (
	"bytes"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"

	"nas/ops"
	"nas/ops/export"
	"nas/ops/export/internal/cases"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from the current exporters")

// groupingCases returns the small networks of the grouping operators, initialized
// from a fixed seed and put in their trained state (cases.Trained).
func groupingCases(t *testing.T) []cases.Case {
	t.Helper()
	cs, err := cases.Grouping(rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		rng := rand.New(rand.NewPCG(5, 6))
		c.Net.Init(rng)
		cases.Trained(c.Net, rng)
	}
	return cs
}

// TestExportGrouping exports the small networks of the learned and dynamic grouping
// operators and CondenseNet-74's training form through all three exporters, and
// checks that the JSON layer list names each operator, as a row's kind or the
// learned grouping layer it is within.
func TestExportGrouping(t *testing.T) {
	kinds := map[string]*regexp.Regexp{
		"lgc_small":                regexp.MustCompile(`^LearnedGroupConv 16->32 G4 C4 stage 3$`),
		"dgc_small":                regexp.MustCompile(`^DGC 3x3/2 h4 keep 7/16$`),
		"dsconv_small":             regexp.MustCompile(`^DSConv`),
		"scalenet_small_14x14":     regexp.MustCompile(`^scale_branch /4$`),
		"scalenet_small_13x10":     regexp.MustCompile(`^ScalePool /2$`),
		"condensenet74_c4_learned": regexp.MustCompile(`^LearnedGroupConv .* stage 3$`),
	}
	for _, c := range groupingCases(t) {
		t.Run(c.Name, func(t *testing.T) {
			exportAll(t, c.Name, c.Net)
			want, ok := kinds[c.Name]
			if !ok {
				t.Fatalf("no expected layer kind for case %s", c.Name)
			}
			var found bool
			for _, l := range export.Layers(c.Net).Layers {
				found = found || want.MatchString(l.Kind) || want.MatchString(l.Within)
			}
			if !found {
				t.Errorf("%s: no JSON layer row of kind %v", c.Name, want)
			}
		})
	}
}

// TestLayersWithin checks the within field of the JSON rows of a ScaleNet network:
// branch 1 of the scale aggregation at child 3 pools by 2 (cases.Grouping), and the
// stem's convolution at child 0 is within nothing.
func TestLayersWithin(t *testing.T) {
	net := findCase(t, groupingCases(t), "scalenet_small_14x14")
	want := map[string]string{"0": "", "3.1.0": "scale_branch /2", "3.1.1.0": "scale_branch /2"}
	for _, l := range export.Layers(net).Layers {
		if w, ok := want[l.Path]; ok {
			if l.Within != w {
				t.Errorf("row %s (%s): within %q, want %q", l.Path, l.Kind, l.Within, w)
			}
			delete(want, l.Path)
		}
	}
	if len(want) != 0 {
		t.Errorf("no rows for paths %v", want)
	}
}

// findCase returns the case called name.
func findCase(t *testing.T, cs []cases.Case, name string) *ops.Network {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c.Net
		}
	}
	t.Fatalf("no case %s", name)
	return nil
}

// TestLearnedGroupMaskedWeights checks that a condensed learned group convolution
// exports its dense weight with exactly the dropped connections zeroed, even when
// the layer holds values there (as an optimizer's momentum leaves them after the
// last forward pass), and that model.py's kept channels are the layer's.
func TestLearnedGroupMaskedWeights(t *testing.T) {
	net := findCase(t, groupingCases(t), "lgc_small")
	var lgcs []*ops.LearnedGroupConv
	var paths []string
	ops.Walk(net.Root(), func(path string, l ops.Layer) {
		if g, ok := l.(*ops.LearnedGroupConv); ok {
			lgcs, paths = append(lgcs, g), append(paths, path)
		}
	})
	if len(lgcs) != 2 {
		t.Fatalf("lgc_small has %d learned group convolutions, want 2", len(lgcs))
	}
	for _, l := range lgcs {
		for i, w := 0, l.Conv().Weight().Value.Float32s(); i < len(w); i++ {
			w[i] = float32(i + 1)
		}
	}
	sd := export.StateDict(net)
	var py bytes.Buffer
	if err := export.PyTorch(net, &py); err != nil {
		t.Fatal(err)
	}
	for k, l := range lgcs {
		c := l.Config()
		name := paths[k] + "." + strconv.Itoa(len(l.Children())-1) + ".weight"
		got := sd[name].Float32s()
		var kept [][]int
		for g := range c.Groups {
			var ch []int
			for j := range c.In {
				if l.Kept(g, j) {
					ch = append(ch, j)
				}
			}
			// Stage C-1 (cases.Trained ends training): each group keeps In/C channels.
			if len(ch) != c.In/c.Condense {
				t.Errorf("%s: group %d keeps %d channels, want In/C = %d", name, g, len(ch), c.In/c.Condense)
			}
			kept = append(kept, ch)
		}
		for o := range c.Out {
			for j := range c.In {
				want := float32(o*c.In + j + 1)
				if !l.Kept(o%c.Groups, j) {
					want = 0
				}
				if g := got[o*c.In+j]; g != want {
					t.Fatalf("%s[%d][%d] = %v, want %v (kept %v)", name, o, j, g, want, l.Kept(o%c.Groups, j))
				}
			}
		}
		var lit []string
		for _, ch := range kept {
			s := make([]string, len(ch))
			for i, j := range ch {
				s[i] = strconv.Itoa(j)
			}
			lit = append(lit, "["+strings.Join(s, ", ")+"]")
		}
		want := "LearnedGroupConv(" + strconv.Itoa(c.Groups) + ", [" + strings.Join(lit, ", ") + "], ["
		if !strings.Contains(py.String(), want) {
			t.Errorf("model.py lacks %q for the learned group convolution at %s", want, paths[k])
		}
	}
}

// TestDSConvWeights checks that a DSConv exports the weights its convolution runs
// on, bit for bit: Dequantized without a channel shift, and weights that the shift
// multiplies into Dequantized (in float32, as model.py's DSConv2d and the ONNX Mul
// compute it) with one; never the float shadow weights.
func TestDSConvWeights(t *testing.T) {
	net := findCase(t, groupingCases(t), "dsconv_small")
	sd := export.StateDict(net)
	var n, withCDS int
	ops.Walk(net.Root(), func(path string, l ops.Layer) {
		d, ok := l.(*ops.DSConv)
		if !ok {
			return
		}
		n++
		got := sd[path+".weight"].Float32s()
		want := d.Dequantized().Float32s()
		shadow := d.Weight().Value.Float32s()
		per := len(want) / d.Config().Out
		var differ bool
		for i := range want {
			g := got[i]
			if d.CDS() != nil {
				g *= d.CDS().Value.Float32s()[i/per]
			}
			if g != want[i] {
				t.Fatalf("%s: exported weight %d gives %v, Dequantized %v", path, i, g, want[i])
			}
			differ = differ || got[i] != shadow[i]
		}
		if !differ {
			t.Errorf("%s: the exported weights are the shadow weights", path)
		}
		if d.CDS() != nil {
			withCDS++
			if sd[path+".cds"] == nil {
				t.Errorf("%s: the channel shift is not in the state dict", path)
			}
		}
	})
	// dsconv_small has three DSConvs, two with a channel shift (cases.Grouping).
	if n != 3 || withCDS != 2 {
		t.Errorf("dsconv_small: %d DSConvs, %d with a channel shift; want 3 and 2", n, withCDS)
	}
}

// TestDGCOnnx checks the ONNX form of the dynamic group convolutions: one TopK per
// layer that drops channels, whose K is the layer's Dropped(), and one convolution
// with a group per head for each layer.
func TestDGCOnnx(t *testing.T) {
	net := findCase(t, groupingCases(t), "dgc_small")
	var drops, heads []int
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		if d, ok := l.(*ops.DynamicGroupConv); ok {
			heads = append(heads, d.Config().Heads)
			if d.Dropped() > 0 {
				drops = append(drops, d.Dropped())
			}
		}
	})
	// dgc_small: heads 4, 2 and 2; the last keeps every channel (cases.Grouping).
	if len(heads) != 3 || len(drops) != 2 {
		t.Fatalf("dgc_small: %d dynamic group convolutions, %d dropping channels; want 3 and 2", len(heads), len(drops))
	}
	var b bytes.Buffer
	if err := export.ONNX(net, &b); err != nil {
		t.Fatal(err)
	}
	var m onnx.ModelProto
	if err := proto.Unmarshal(b.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	consts := map[string][]int64{}
	for _, in := range m.Graph.Initializer {
		if in.DataType == int32(onnx.TensorProto_INT64) {
			v := make([]int64, len(in.RawData)/8)
			for i := range v {
				for k := 7; k >= 0; k-- {
					v[i] = v[i]<<8 | int64(in.RawData[8*i+k])
				}
			}
			consts[in.Name] = v
		}
	}
	var ks, groups []int
	for _, nd := range m.Graph.Node {
		switch nd.OpType {
		case "TopK":
			k := consts[nd.Input[1]]
			if len(k) != 1 {
				t.Fatalf("TopK %s: K %v, want one value", nd.Name, k)
			}
			ks = append(ks, int(k[0]))
		case "Conv":
			for _, a := range nd.Attribute {
				if a.Name == "group" && a.I > 1 {
					groups = append(groups, int(a.I))
				}
			}
		}
	}
	if !equalInts(ks, drops) {
		t.Errorf("TopK Ks %v, want the layers' Dropped() %v", ks, drops)
	}
	if !equalInts(groups, heads) {
		t.Errorf("grouped convolutions with groups %v, want the layers' heads %v", groups, heads)
	}
}

func equalInts(a, b []int) bool {
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

// TestGroupingGolden compares build_model of the small grouping networks' model.py
// with testdata/golden/NAME.py. The goldens were checked in PyTorch 1.13 and
// onnxruntime by check_export.py (exportgen writes the same networks): after an
// intended change, run it again, then go test ./ops/export -run Golden -update.
func TestGroupingGolden(t *testing.T) {
	for _, c := range groupingCases(t) {
		if strings.HasPrefix(c.Name, "condensenet") {
			continue // too large for a golden; TestExportGrouping covers it
		}
		var b bytes.Buffer
		if err := export.PyTorch(c.Net, &b); err != nil {
			t.Fatal(err)
		}
		src := b.String()
		got := src[strings.Index(src, "INPUT_SHAPE = "):]
		path := filepath.Join("testdata", "golden", c.Name+".py")
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got != string(want) {
			t.Errorf("model.py of %s differs from %s; got:\n%s", c.Name, path, got)
		}
	}
}
