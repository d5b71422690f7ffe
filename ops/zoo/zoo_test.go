package zoo

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gorgonia.org/tensor"

	"nas/ops"
)

// reference is one entry of testdata/reference_counts.json, written by
// testdata/gen_counts.py from the reference implementations in PyTorch.
type reference struct {
	Name      string  `json:"name"`
	Input     string  `json:"input"`
	Classes   int     `json:"classes"`
	Width     float64 `json:"width"`
	Proxy     int     `json:"proxy_strides"`
	Params    int64   `json:"params"`
	MACs      int64   `json:"macs"`
	Source    string  `json:"source"`
	Published string  `json:"published"`
}

// loadReferences reads the committed reference counts.
func loadReferences(t *testing.T) []reference {
	t.Helper()
	// gen_counts.py writes reference_counts.json; the learned and dynamic grouping
	// networks' generators write reference_counts_NAME.json beside it.
	files, err := filepath.Glob("testdata/reference_counts*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/reference_counts*.json (glob error %v)", err)
	}
	var refs []reference
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var some []reference
		if err := json.Unmarshal(b, &some); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		refs = append(refs, some...)
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
// in PyTorch and counts with reference_net.py's convention), and those of the
// networks BuildWith scales at other widths and with proxy strides against the same
// implementations built at those widths and with those strides in PyTorch.
func TestCountsMatchReference(t *testing.T) {
	refs := loadReferences(t)
	seen := map[string]bool{}
	for _, r := range refs {
		name := r.Name
		atReference := r.Width == 1 && r.Proxy == 0
		if atReference {
			seen[r.Name] = true
		} else {
			name = fmt.Sprintf("%s/%s_w%v_p%d", r.Name, r.Input, r.Width, r.Proxy)
		}
		t.Run(name, func(t *testing.T) {
			spec, err := Lookup(r.Name)
			if err != nil {
				t.Fatal(err)
			}
			in := parseShape(t, r.Input)
			if atReference && (spec.Input != in || spec.Classes != r.Classes) {
				t.Errorf("Lookup(%q) default %v, %d classes; reference %v, %d classes", r.Name, spec.Input, spec.Classes, in, r.Classes)
			}
			var n *ops.Network
			o := Options{Input: in, Classes: r.Classes, Width: r.Width, ProxyStrides: r.Proxy}
			if atReference {
				n, err = Build(r.Name, in, r.Classes)
			} else {
				n, err = BuildWith(r.Name, o)
			}
			if err != nil {
				t.Fatal(err)
			}
			got := n.Cost()
			if got.Params != r.Params || got.MACs != r.MACs {
				t.Errorf("BuildWith(%q, %+v): %d params, %d MACs; %s: %d params, %d MACs (diff %+d, %+d)",
					r.Name, o, got.Params, got.MACs, r.Source, r.Params, r.MACs,
					got.Params-r.Params, got.MACs-r.MACs)
			}
			if pc := n.ParamCount(); pc != got.Params {
				t.Errorf("BuildWith(%q, %+v): ParamCount() = %d, Cost().Params = %d", r.Name, o, pc, got.Params)
			}
			// The per-layer table that `nas zoo NAME --layers` prints adds up to the total.
			var sum ops.Cost
			for _, row := range n.Layers() {
				sum = sum.Add(row.Cost)
			}
			if sum != got {
				t.Errorf("BuildWith(%q, %+v): layer table sums to %+v, network cost %+v", r.Name, o, sum, got)
			}
		})
	}
	for _, s := range List() {
		if !seen[s.Name] {
			t.Errorf("network %q has no reference counts in testdata/reference_counts.json", s.Name)
		}
	}
}

// TestForwardAtReferenceInput runs every network forward on one image of its reference
// shape and checks the logits' shape and that they are finite. At batch 1 each takes
// well under a second (0.03-0.5 s on the 2-core development machine), so all run
// unless -short.
func TestForwardAtReferenceInput(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size forward passes take a few seconds in all; TestTrainingSteps covers small inputs")
	}
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			n, err := Build(s.Name, s.Input, s.Classes)
			if err != nil {
				t.Fatal(err)
			}
			n.Init(rand.New(rand.NewPCG(1, 2)))
			n.SetTraining(false)
			x := randInput(rand.New(rand.NewPCG(3, 4)), 1, s.Input)
			y, err := n.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			checkLogits(t, s.Name, y, 1, s.Classes)
		})
	}
}

// randInput returns n standard normal samples of shape s.
func randInput(rng *rand.Rand, n int, s ops.Shape) *tensor.Dense {
	x := ops.New(n, s)
	xs := x.Float32s()
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	return x
}

// checkLogits checks that y holds n rows of classes finite logits.
func checkLogits(t *testing.T, name string, y *tensor.Dense, n, classes int) {
	t.Helper()
	gotN, gotS, err := ops.ShapeOf(y)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ops.Shape{C: classes, H: 1, W: 1}); gotN != n || gotS != want {
		t.Fatalf("%s: output %d x %v, want %d x %v", name, gotN, gotS, n, want)
	}
	for i, v := range y.Float32s() {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("%s: logit %d is %v", name, i, v)
		}
	}
}

// proxyInput is the search's proxy input size and class count, at which the tests
// train every network (reference_net keeps its own 28x28x1, 10 classes).
var proxyInput, proxyClasses = ops.Shape{C: 3, H: 32, W: 32}, 10

// shortMaxMACs is the largest reference cost of a network that TestTrainingSteps
// trains with -short: 1 GMAC keeps the mobile networks and skips Xception, GoogLeNet
// and the ResNet-50 family.
const shortMaxMACs = 1_000_000_000

// TestTrainingSteps builds every network at the proxy size, takes a few SGD steps on
// one fixed synthetic batch and checks that the first backward pass reaches every
// parameter and that the loss on the batch falls: the issue's "every zoo network
// trains". Four samples keep training-mode batch norm well defined on the 1x1 maps
// at the end of the deeper networks. Learning rate 0.002 with momentum 0.9 lowers
// every network's loss within six steps on a batch it sees every step; 0.01 and 0.05
// overshoot on some (ShuffleNet V1, whose last stage batch-normalizes 4 values per
// channel at 1x1). SqueezeNet, without batch norm and with a ReLU on its logits,
// moves least (2.3083 -> 2.3071 here), as its slow start in torchvision's training
// recipe suggests.
//
// With -short it trains only the networks of at most shortMaxMACs at their reference
// input, which keeps `go test -short -race` quick.
func TestTrainingSteps(t *testing.T) {
	for _, s := range List() {
		t.Run(s.Name, func(t *testing.T) {
			if ref, err := Build(s.Name, s.Input, s.Classes); err != nil {
				t.Fatal(err)
			} else if testing.Short() && ref.Cost().MACs > shortMaxMACs {
				t.Skipf("-short: %d MACs at %v", ref.Cost().MACs, s.Input)
			}
			in, classes := proxyInput, proxyClasses
			if s.Input.H < proxyInput.H {
				in, classes = s.Input, s.Classes
			}
			if s.Name == "oct_resnet50" {
				// d-li14's octconv.py average-pools the low part entering layer4's first
				// shortcut although alpha_out 0 discards it; at 32x32 that part is 1x1 and
				// PyTorch rejects the 2x2 pool too (gen_counts.py's OctResNet50 at 32x32).
				in.H, in.W = 64, 64
			}
			n, err := Build(s.Name, in, classes)
			if err != nil {
				t.Fatal(err)
			}
			trainSteps(t, n, in, classes)
		})
	}
}

// trainSteps takes six SGD steps (learning rate 0.002, momentum 0.9, see
// TestTrainingSteps) of n on one fixed batch of four synthetic samples of shape in
// with labels below classes, and checks that the first backward pass reaches every
// parameter and that the loss falls.
func trainSteps(t *testing.T, n *ops.Network, in ops.Shape, classes int) {
	t.Helper()
	const batch, steps = 4, 6
	rng := rand.New(rand.NewPCG(5, 6))
	n.Init(rng)
	x := randInput(rng, batch, in)
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(classes)
	}
	var loss ops.SoftmaxCrossEntropy
	opt := ops.SGD{LR: 0.002, Momentum: 0.9}
	var first, last float64
	for step := range steps {
		n.ZeroGrad()
		y, err := n.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		l, err := loss.Forward(y, labels)
		if err != nil {
			t.Fatal(err)
		}
		if math.IsNaN(l) || math.IsInf(l, 0) {
			t.Fatalf("step %d: loss %v", step, l)
		}
		dy, err := loss.Backward()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.Backward(dy); err != nil {
			t.Fatal(err)
		}
		if step == 0 {
			first = l
			for _, p := range n.Params() {
				if !anyNonZero(p.Grad.Float32s()) {
					t.Errorf("parameter %s (%v) got no gradient", p.Path, p.Value.Shape())
				}
			}
		}
		last = l
		opt.Step(n.Params())
	}
	t.Logf("loss %.4f -> %.4f", first, last)
	if !(last < first) {
		t.Errorf("loss %.4f after %d steps, %.4f at the first: did not fall", last, steps-1, first)
	}
}

// anyNonZero reports whether some value is not zero.
func anyNonZero(v []float32) bool {
	for _, x := range v {
		if x != 0 {
			return true
		}
	}
	return false
}

// TestBuildErrors checks unknown names, inputs the strides reduce to nothing and
// invalid arguments.
func TestBuildErrors(t *testing.T) {
	for _, c := range []struct {
		name    string
		in      ops.Shape
		classes int
		is      error  // the sentinel the error wraps, if any
		msg     string // a part of the message
	}{
		{"mobilenet_v3", imagenet, 1000, ErrUnknown, "known: bl_resnet50, condensenet74_c4"},
		{"", imagenet, 1000, ErrUnknown, `unknown network ""`},
		// Xception's first two 3x3 convolutions are unpadded: 4 -> 1 -> nothing.
		{"xception", ops.Shape{C: 3, H: 4, W: 4}, 10, ErrInputTooSmall, "xception: input too small"},
		// SqueezeNet 1.0 starts with an unpadded 7x7 convolution.
		{"squeezenet1_0", ops.Shape{C: 3, H: 6, W: 6}, 10, ErrInputTooSmall, "6x6x3"},
		// CondenseNet's stride-2 stem and four 2x2 pools need 32 pixels: 8 -> 4 -> 2 -> 1 -> 0.
		{"condensenet74_c4", ops.Shape{C: 3, H: 8, W: 8}, 10, ErrInputTooSmall, "reference input is 224x224x3"},
		// Big-Little's big branch at 5x5 halves to 3, which upsamples to 6, not 5.
		{"bl_resnet50", ops.Shape{C: 3, H: 40, W: 40}, 10, ErrInputTooSmall, "bl_resnet50"},
		// octconv.py average-pools layer4's 1x1 low part at 32x32 (PyTorch fails too).
		{"oct_resnet50", proxyInput, 10, ErrInputTooSmall, "avg pool"},
		{"resnet50", ops.Shape{C: 3, H: 0, W: 32}, 10, nil, "positive sides"},
		{"resnet50", proxyInput, 0, nil, "0 classes"},
	} {
		n, err := Build(c.name, c.in, c.classes)
		if err == nil {
			t.Errorf("Build(%q, %v, %d) = %v, want an error", c.name, c.in, c.classes, n.Cost())
			continue
		}
		if c.is != nil && !errors.Is(err, c.is) {
			t.Errorf("Build(%q, %v, %d) error %q does not wrap %q", c.name, c.in, c.classes, err, c.is)
		}
		if !strings.Contains(err.Error(), c.msg) {
			t.Errorf("Build(%q, %v, %d) error %q, want it to contain %q", c.name, c.in, c.classes, err, c.msg)
		}
	}
}

// TestListAndLookup checks that names are unique, that Lookup finds each and that
// every spec names its source.
func TestListAndLookup(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range List() {
		if seen[s.Name] {
			t.Errorf("duplicate name %q", s.Name)
		}
		seen[s.Name] = true
		got, err := Lookup(s.Name)
		if err != nil || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %q, %v", s.Name, got.Name, err)
		}
		if s.Source == "" || s.Classes <= 0 || s.Build == nil {
			t.Errorf("spec %q: source %q, %d classes, build %v", s.Name, s.Source, s.Classes, s.Build != nil)
		}
	}
	if got, want := len(Names()), len(seen); got != want {
		t.Errorf("len(Names()) = %d, want %d", got, want)
	}
}
