package evaluate

import (
	"context"
	"fmt"
	"testing"

	"gorgonia.org/tensor"

	"nas/ops"
)

// hookProbe is an identity layer that records how Fit calls the training hooks:
// the progress of every step, and whether Regularize came after that step's
// Backward and before the next Forward.
type hookProbe struct {
	progress    []float64
	regularized int
	backward    bool // Backward ran since the last Forward
	misordered  []string
}

var (
	_ ops.Layer       = (*hookProbe)(nil)
	_ ops.Scheduled   = (*hookProbe)(nil)
	_ ops.Regularizer = (*hookProbe)(nil)
)

func (p *hookProbe) SetProgress(done float64) { p.progress = append(p.progress, done) }

func (p *hookProbe) Regularize() float64 {
	if !p.backward {
		p.misordered = append(p.misordered, fmt.Sprintf("Regularize before Backward at step %d", len(p.progress)))
	}
	p.regularized++
	return 0
}

func (p *hookProbe) OutShape(in ops.Shape) (ops.Shape, error) { return in, nil }
func (p *hookProbe) Cost(ops.Shape) ops.Cost                  { return ops.Cost{} }

func (p *hookProbe) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	if p.regularized < len(p.progress)-1 {
		p.misordered = append(p.misordered, fmt.Sprintf("step %d's forward before the last step's Regularize", len(p.progress)))
	}
	p.backward = false
	return x, nil
}

func (p *hookProbe) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	p.backward = true
	return dy, nil
}

// TestFitCallsTrainingHooks checks that Fit passes the progress s/steps before step
// s and regularizes once per step, between Backward and the optimizer step.
func TestFitCallsTrainingHooks(t *testing.T) {
	d := synthetic(t)
	small := smallNet(t, d.Shape(), d.Classes())
	probe := &hookProbe{}
	net, err := ops.NewNetwork(ops.Seq(probe, small.Root()), d.Shape())
	if err != nil {
		t.Fatal(err)
	}
	r := ReferenceRecipe()
	r.BatchSize = 128
	res, err := Fit(context.Background(), net, d, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	steps := 1080 / 128 // the synthetic training split after its 10% hold-out, in whole batches
	if res.Steps != steps || len(probe.progress) != steps || probe.regularized != steps {
		t.Fatalf("Fit: %d steps, %d SetProgress and %d Regularize calls, want %d of each",
			res.Steps, len(probe.progress), probe.regularized, steps)
	}
	for s, got := range probe.progress {
		if want := float64(s) / float64(steps); got != want {
			t.Errorf("SetProgress before step %d = %v, want %v", s, got, want)
		}
	}
	for _, m := range probe.misordered {
		t.Error(m)
	}
}

// learnedNet is a stem convolution, two CondenseNet dense layers whose 1x1
// convolutions are learned group convolutions (G = C = 4), BN-ReLU, global pooling
// and a linear classifier.
func learnedNet(t *testing.T, in ops.Shape, classes int, lasso float64) (*ops.Network, []*ops.LearnedGroupConv) {
	t.Helper()
	stem, err := ops.Conv(in.C, 16, 3, 2, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	root := ops.Seq(stem)
	var lgcs []*ops.LearnedGroupConv
	c := 16
	for range 2 {
		lgc, err := ops.NewLearnedGroupConv(ops.LearnedGroupConfig{In: c, Out: 32, Groups: 4, Lasso: lasso}, nil)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := ops.Conv(32, 8, 3, 1, 4, false)
		if err != nil {
			t.Fatal(err)
		}
		lgcs = append(lgcs, lgc)
		body := ops.Seq(lgc, ops.NewBatchNorm2D(32), ops.NewReLU(), conv)
		root.Layers = append(root.Layers, &ops.Branches{Layers: []ops.Layer{nil, body}})
		c += 8
	}
	fc, err := ops.NewLinear(c, classes, true)
	if err != nil {
		t.Fatal(err)
	}
	root.Layers = append(root.Layers, ops.NewBatchNorm2D(c), ops.NewReLU(), ops.NewGlobalAvgPool(), fc)
	net, err := ops.NewNetwork(root, in)
	if err != nil {
		t.Fatal(err)
	}
	return net, lgcs
}

// TestFitLearnedGroupConv is the proxy training run of CondenseNet's learned group
// convolution: a small dense network whose 1x1 convolutions condense during
// training (with the group lasso on) learns the synthetic patterns, its converted
// form classifies the validation images exactly as the trained one does, and the
// converted layers cost their pruned cost.
func TestFitLearnedGroupConv(t *testing.T) {
	d := synthetic(t)
	// The reference's --group-lasso-lambda defaults to 0; 1e-3 is large enough to
	// change the weights within these few hundred steps, so the run exercises it.
	net, lgcs := learnedNet(t, d.Shape(), d.Classes(), 1e-3)
	r := ReferenceRecipe()
	r.Epochs, r.BatchSize = 4, 32
	var first, last []float64
	steps := 4 * (1080 / 32)
	r.Progress = func(step, _ int, loss float64) {
		if step <= 10 {
			first = append(first, loss)
		}
		if step > steps-10 {
			last = append(last, loss)
		}
	}
	res, err := Fit(context.Background(), net, d, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Diverged != "" || res.Steps != steps {
		t.Fatalf("Fit: %+v, want %d steps and no divergence", res, steps)
	}
	// The loss falls: the mean of the last 10 steps below half that of the first 10
	// (which start near ln 4 = 1.39, chance for 4 classes).
	if a, b := mean(first), mean(last); !(b < a/2) {
		t.Errorf("mean loss of the first 10 steps %.3f, of the last 10 %.3f: want it halved", a, b)
	}
	for i, l := range lgcs {
		if got, want := l.Stage(), l.Config().Condense-1; got != want {
			t.Errorf("learned layer %d at stage %d after training, want %d", i, got, want)
		}
	}
	acc, err := Evaluate(net, d, Val, 0)
	if err != nil {
		t.Fatal(err)
	}
	// Chance is 1/4; the patterns are strong (noise 0.5), so as for smallNet in
	// TestFitLearnsSynthetic a network that learns separates them almost perfectly.
	if acc.Accuracy < 0.9 {
		t.Errorf("validation accuracy %.3f after training, want >= 0.9 (chance 0.25)", acc.Accuracy)
	}

	// Convert every learned layer in place and evaluate again: the predictions are
	// the same (the logits equal to float32 rounding), and the network costs less.
	root := net.Root().(*ops.Sequential)
	shapes := root.ChildShapes(net.Input())
	for i, l := range root.Layers {
		br, ok := l.(*ops.Branches)
		if !ok {
			continue
		}
		body := br.Layers[1].(*ops.Sequential)
		lgc := body.Layers[0].(*ops.LearnedGroupConv)
		conv, err := lgc.Convert()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := conv.Cost(shapes[i]), lgc.PrunedCost(shapes[i]); got != want {
			t.Errorf("layer %d: converted cost %+v, PrunedCost %+v", i, got, want)
		}
		body.Layers = append([]ops.Layer{conv}, body.Layers[1:]...)
	}
	converted, err := ops.NewNetwork(root, net.Input())
	if err != nil {
		t.Fatal(err)
	}
	cacc, err := Evaluate(converted, d, Val, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("loss %.3f -> %.3f; validation accuracy %.3f trained, %.3f converted; cost %+v trained, %+v converted",
		mean(first), mean(last), acc.Accuracy, cacc.Accuracy, net.Cost(), converted.Cost())
	if cacc.Accuracy != acc.Accuracy {
		t.Errorf("converted network: validation accuracy %v, trained %v", cacc.Accuracy, acc.Accuracy)
	}
	if !(converted.Cost().MACs < net.Cost().MACs && converted.Cost().Params < net.Cost().Params) {
		t.Errorf("converted network costs %+v, trained %+v: want less", converted.Cost(), net.Cost())
	}
	// Evaluation sums the same logits' cross-entropies in the same order; the logits
	// differ by float32 rounding only, far below 1e-5 of the loss.
	if d := cacc.Loss - acc.Loss; d > 1e-5 || d < -1e-5 {
		t.Errorf("converted network: validation loss %v, trained %v", cacc.Loss, acc.Loss)
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}
