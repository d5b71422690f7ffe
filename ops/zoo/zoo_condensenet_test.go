package zoo

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"

	"nas/ops"
)

// condenseAll moves every learned group convolution of net to its last
// condensation stage, as the end of a training run does.
func condenseAll(net *ops.Network) (learned int) {
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		if lg, ok := l.(*ops.LearnedGroupConv); ok {
			lg.SetProgress(1)
			learned++
		}
	})
	return learned
}

// TestCondenseNetLearnedConvertedCounts builds CondenseNet-74's training form at the
// reference input, condenses and converts it, and checks that the converted network
// costs exactly what testdata/reference_counts.json gives for the converted
// reference (ShichenLiu/CondenseNet models/condensenet_converted.py, counted by
// gen_counts.py) and what Build's converted form costs.
func TestCondenseNetLearnedConvertedCounts(t *testing.T) {
	refs := loadReferences(t)
	for _, name := range []string{"condensenet74_c4", "condensenet74_c8"} {
		t.Run(name, func(t *testing.T) {
			i := slices.IndexFunc(refs, func(r reference) bool { return r.Name == name && r.Width == 1 && r.Proxy == 0 })
			if i < 0 {
				t.Fatalf("no reference counts for %s", name)
			}
			ref := refs[i]
			net, err := BuildLearned(name, Options{})
			if err != nil {
				t.Fatal(err)
			}
			net.Init(rand.New(rand.NewPCG(1, 2)))
			// 4+6+8+10+8 = 36 dense layers, each with one learned 1x1 convolution.
			if n := condenseAll(net); n != 36 {
				t.Errorf("%s: %d learned group convolutions, want 36", name, n)
			}
			trained := net.Cost()
			conv, err := Convert(net)
			if err != nil {
				t.Fatal(err)
			}
			got := conv.Cost()
			if got.MACs != ref.MACs || got.Params != ref.Params {
				t.Errorf("Convert(BuildLearned(%q)): %d params, %d MACs; %s: %d params, %d MACs",
					name, got.Params, got.MACs, ref.Source, ref.Params, ref.MACs)
			}
			if pc := conv.ParamCount(); pc != got.Params {
				t.Errorf("converted %s: ParamCount() = %d, Cost().Params = %d", name, pc, got.Params)
			}
			built, err := Build(name, imagenet, 1000)
			if err != nil {
				t.Fatal(err)
			}
			if built.Cost() != got {
				t.Errorf("converted %s costs %+v, Build's %+v", name, got, built.Cost())
			}
			if !(trained.MACs > got.MACs && trained.Params > got.Params) {
				t.Errorf("%s: training form costs %+v, converted %+v: want the training form larger", name, trained, got)
			}
		})
	}
}

// TestCondenseNetLearnedConvertEqualsTrained trains CondenseNet-74 (C = G = 8) for a
// few steps at 32x32 (the reference's CIFAR stem, stride 1) through every
// condensation stage, converts it, and checks in evaluation mode that the converted
// network's features equal the trained network's and its logits are the trained
// classifier's restricted to the selected features.
func TestCondenseNetLearnedConvertEqualsTrained(t *testing.T) {
	if testing.Short() {
		t.Skip("trains CondenseNet-74 for a few steps")
	}
	in := ops.Shape{C: 3, H: 32, W: 32}
	net, err := BuildLearned("condensenet74_c8", Options{Input: in, Classes: 10, ProxyStrides: 1})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 4))
	net.Init(rng)
	loss := &ops.SoftmaxCrossEntropy{}
	opt := &ops.SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 1e-4}
	const steps = 8
	for s := 0; s < steps; s++ {
		ops.Walk(net.Root(), func(_ string, l ops.Layer) {
			if h, ok := l.(ops.Scheduled); ok {
				h.SetProgress(float64(s) / (steps - 2)) // the last stage at step 3 of 8
			}
		})
		x := randImages(rng, 4, in)
		labels := []int{s % 10, (s + 3) % 10, (s + 5) % 10, (s + 7) % 10}
		if _, err := net.Step(x, labels, loss, opt); err != nil {
			t.Fatal(err)
		}
	}
	root := net.Root().(*ops.Sequential)
	n := len(root.Layers)
	fc := root.Layers[n-1].(*ops.Linear)
	w, b := slices.Clone(fc.Weight().Value.Float32s()), slices.Clone(fc.Bias().Value.Float32s())
	net.SetTraining(false)
	x := randImages(rng, 2, in)
	body := ops.Seq(root.Layers[:n-1]...)
	f, err := body.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	features := clone(f)

	conv, err := Convert(net)
	if err != nil {
		t.Fatal(err)
	}
	conv.SetTraining(false)
	croot := conv.Root().(*ops.Sequential)
	m := len(croot.Layers)
	cf, err := ops.Seq(croot.Layers[:m-2]...).Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	// convertTol: the converted network multiplies the same kept weights as the
	// trained one but sums them in other orders (grouped instead of dense 1x1
	// kernels, skipping the dropped connections' zeros) through 36 layers; float32
	// rounding of these sums stays below 1e-4 of the values' scale, while a wrong
	// index or weight is off by order 1.
	const convertTol = 1e-4
	assertNear(t, "converted features", cf.Float32s(), features.Float32s(), convertTol)
	logits, err := conv.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	sel := croot.Layers[m-2].(*IndexSelect).Index()
	if len(sel) != fc.In()/2 {
		t.Fatalf("classifier keeps %d of %d features, want half", len(sel), fc.In())
	}
	feat := features.Float32s()
	want := make([]float32, 2*10)
	for s := range 2 {
		for o := range 10 {
			sum := float64(b[o])
			for _, j := range sel {
				sum += float64(w[o*fc.In()+j]) * float64(feat[s*fc.In()+j])
			}
			want[s*10+o] = float32(sum)
		}
	}
	assertNear(t, "converted logits", logits.Float32s(), want, convertTol)
}

// randImages returns n images of shape s with standard normal values.
func randImages(rng *rand.Rand, n int, s ops.Shape) *tensor.Dense {
	x := ops.New(n, s)
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	return x
}

func clone(t *tensor.Dense) *tensor.Dense {
	return tensor.New(tensor.WithShape(t.Shape().Clone()...), tensor.WithBacking(slices.Clone(t.Float32s())))
}

// assertNear fails unless |got-want| <= tol*(1+|want|) everywhere.
func assertNear(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range want {
		if d := math.Abs(float64(got[i]) - float64(want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			t.Errorf("%s: element %d = %v, want %v", what, i, got[i], want[i])
			return
		}
	}
}

// TestBuildLearnedErrors checks the names and options the training forms refuse.
func TestBuildLearnedErrors(t *testing.T) {
	if _, err := BuildLearned("mobilenet_v2", Options{}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("BuildLearned(mobilenet_v2): error %v, want ErrUnsupported", err)
	}
	mnist := ops.Shape{C: 1, H: 28, W: 28}
	if _, err := BuildLearned("condensenet74_c4", Options{Input: mnist, Classes: 10}); !errors.Is(err, ErrInputTooSmall) {
		t.Errorf("BuildLearned(condensenet74_c4) at 28x28 without proxy strides: error %v, want ErrInputTooSmall", err)
	}
	if _, err := BuildLearned("condensenet74_c4", Options{Input: mnist, Classes: 10, ProxyStrides: 2}); err == nil {
		t.Errorf("BuildLearned(condensenet74_c4) with 2 proxy strides succeeded; the training form has one (its stem)")
	}
	if _, err := BuildLearned("condensenet74_c4", Options{Width: 0.5}); !errors.Is(err, ErrUnsupported) {
		t.Errorf("BuildLearned(condensenet74_c4) at width 0.5: error %v, want ErrUnsupported", err)
	}
	n, err := BuildLearned("condensenet74_c4", Options{Input: mnist, Classes: 10, ProxyStrides: 1})
	if err != nil {
		t.Fatalf("BuildLearned(condensenet74_c4) at 28x28 with the CIFAR stem: %v", err)
	}
	if got := n.OutShape(); got != (ops.Shape{C: 10, H: 1, W: 1}) {
		t.Errorf("BuildLearned(condensenet74_c4) at 28x28: output %v, want 10 logits", got)
	}
	if _, ok := LearnedSpec("resnet50"); ok {
		t.Errorf("LearnedSpec(resnet50) found a training form")
	}
	if s, ok := LearnedSpec("condensenet74_c8"); !ok || s.ProxyStrides != 1 || s.Source != srcCondenseNet {
		t.Errorf("LearnedSpec(condensenet74_c8) = %+v, %v; want 1 proxy stride and the CondenseNet source", s, ok)
	}
}
