package evaluate

import (
	"context"
	"math"
	"testing"

	"nas/ops"
)

// learnMNIST is the learning run of an operator's test network: it trains net on
// the first trainSize images of MNIST (valSize held out, seed 1) for epochs with the
// search's MNIST proxy recipe (cmd/nas defaults: batch 32, lr 0.05 with 8 warm-up
// steps, Nesterov momentum 0.9, weight decay 4e-5), logs what it measured and checks
// that the network learned: training did not diverge, the loss fell to below half
// that of the first step, and the validation accuracy is at least 0.8. Chance is 0.1
// on MNIST's ten balanced classes, where the loss starts near ln 10 = 2.30; each
// caller's network reaches 0.89-0.91 on the default 2,048 images, so 0.8 is far
// above chance and below what the operators reach.
func learnMNIST(t *testing.T, net *ops.Network, trainSize, valSize, epochs int) (*TrainResult, Accuracy) {
	t.Helper()
	d, err := Open("mnist", Options{ValSize: valSize, TrainLimit: trainSize, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	r := Recipe{Epochs: epochs, BatchSize: 32, LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5, WarmupSteps: 8}
	var first float64 // the loss of the first step, before any update
	r.Progress = func(step, _ int, loss float64) {
		if step == 1 {
			first = loss
		}
	}
	res, err := Fit(context.Background(), net, d, r, 1)
	if err != nil {
		t.Fatal(err)
	}
	acc, err := Evaluate(net, d, Val, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d steps in %.1fs, loss %.3f at the first step -> %.3f over the last 10%%; validation accuracy %.3f (loss %.3f) on %d images; %d MACs, %d params",
		res.Steps, res.Seconds, first, res.FinalLoss, acc.Accuracy, acc.Loss, acc.Images, net.Cost().MACs, net.ParamCount())
	if res.Diverged != "" {
		t.Fatalf("training diverged: %s", res.Diverged)
	}
	if !(res.FinalLoss < first/2) {
		t.Errorf("final training loss %.3f, want below half the starting %.3f", res.FinalLoss, first)
	}
	if acc.Accuracy < 0.8 || math.IsNaN(acc.Loss) {
		t.Errorf("validation accuracy %.3f (loss %.3f), want at least 0.8", acc.Accuracy, acc.Loss)
	}
	return res, acc
}
