package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"nas/evaluate"
	"nas/ops"
	"nas/ops/zoo"
)

type trainOptions struct {
	name    string
	dataset string
	dataDir string
	recipe  evaluate.Recipe
	valSize int
	width   float64
	seed    uint64
	test    bool
	json    bool
	out     io.Writer
	errOut  io.Writer
}

func newTrainCmd(stdout, stderr io.Writer) *cobra.Command {
	o := &trainOptions{out: stdout, errOut: stderr}
	ref := evaluate.ReferenceRecipe()
	cmd := &cobra.Command{
		Use:   "train NAME",
		Short: "Train a zoo network on a dataset and report its accuracy and speed",
		Long: `Train a network of the zoo (see 'nas zoo') at the dataset's image shape and class
count, with mini-batch SGD (momentum, Nesterov, weight decay), a per-step cosine
learning-rate schedule and optional label smoothing, then report its accuracy on
the validation split held out of the training set, and with --test on the test set.
The defaults are the recipe of ../shared/bench/reference_net.py.

Training is deterministic: the same seed on the same machine gives the same
accuracy to the last digit.

With --json, prints an object with the fields network, dataset, seed, recipe,
train_images, steps, train_seconds, images_per_second, final_loss, val_accuracy,
val_loss, test_accuracy and test_loss (the test fields only with --test), and
diverged when a non-finite loss stopped training.

A network whose grouping is learned (condensenet74_c4, condensenet74_c8) trains in
its training form, with learned group convolutions that condense during the first
half of training, and on images smaller than its reference input with the stem at
stride 1, as the reference does on CIFAR. It is then converted to its inference
form, which the accuracies measure; converted_macs and converted_params give that
form's cost at the dataset's image shape.`,
		Example: `  nas train reference_net --dataset mnist --train-size 12800 --val-size 0 --test
  nas train mobilenet_v2 --dataset fashion-mnist --epochs 3 --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			o.name = args[0]
			return runTrain(context.Background(), o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.dataset, "dataset", "mnist", "dataset: mnist, fashion-mnist, cifar10, idx or synthetic")
	f.StringVar(&o.dataDir, "data-dir", "", "folder of the dataset's files (default: found automatically for mnist and fashion-mnist)")
	f.IntVar(&o.recipe.TrainSize, "train-size", 0, "train on the first N training images (0 for all)")
	f.IntVar(&o.recipe.Epochs, "epochs", ref.Epochs, "passes over the training images")
	f.IntVar(&o.recipe.BatchSize, "batch", ref.BatchSize, "images per step")
	f.Float64Var(&o.recipe.LR, "lr", ref.LR, "peak learning rate of the cosine schedule")
	f.Float64Var(&o.recipe.Momentum, "momentum", ref.Momentum, "SGD momentum (0 for none)")
	f.BoolVar(&o.recipe.Nesterov, "nesterov", ref.Nesterov, "Nesterov momentum")
	f.Float64Var(&o.recipe.WeightDecay, "weight-decay", ref.WeightDecay, "L2 weight decay on every parameter")
	f.Float64Var(&o.recipe.LabelSmoothing, "label-smoothing", 0, "label smoothing of the cross-entropy")
	f.IntVar(&o.recipe.WarmupSteps, "warmup", 0, "linear warm-up steps before the cosine decay")
	f.IntVar(&o.valSize, "val-size", -1, "validation images held out of the training set (0 for none; default 10%)")
	f.Float64Var(&o.width, "width", 1, "width multiplier (zoo networks train at their reference width: only 1)")
	f.Uint64Var(&o.seed, "seed", 0, "random seed of initialisation, batch order, augmentation and the validation split")
	f.BoolVar(&o.test, "test", false, "also report accuracy on the test set")
	f.BoolVar(&o.json, "json", false, "print JSON")
	return cmd
}

// trainReport is the JSON form of nas train.
type trainReport struct {
	Network      string          `json:"network"`
	Dataset      string          `json:"dataset"`
	Seed         uint64          `json:"seed"`
	Recipe       evaluate.Recipe `json:"recipe"`
	TrainImages  int             `json:"train_images"`
	Steps        int             `json:"steps"`
	TrainSeconds float64         `json:"train_seconds"`
	ImagesPerSec float64         `json:"images_per_second"`
	FinalLoss    float64         `json:"final_loss"`
	ValAccuracy  *float64        `json:"val_accuracy,omitempty"`
	ValLoss      *float64        `json:"val_loss,omitempty"`
	TestAccuracy *float64        `json:"test_accuracy,omitempty"`
	TestLoss     *float64        `json:"test_loss,omitempty"`
	Diverged     string          `json:"diverged,omitempty"`
	// ConvertedMACs and ConvertedParams are the cost of a learned-grouping network's
	// converted form; absent for other networks.
	ConvertedMACs   int64 `json:"converted_macs,omitempty"`
	ConvertedParams int64 `json:"converted_params,omitempty"`
}

// buildTrainNet returns the network that nas train trains: the training form of a
// network with learned grouping (see zoo.LearnedSpec), with as many proxy strides
// as the image is smaller than the reference input and the form allows, or else the
// zoo network. learned reports the training form.
func buildTrainNet(name string, in ops.Shape, classes int) (net *ops.Network, learned bool, err error) {
	s, ok := zoo.LearnedSpec(name)
	if !ok {
		net, _, err = buildZoo(name, in, classes)
		return net, false, err
	}
	p := min(zoo.ProxyStridesFor(s.Input, in), s.ProxyStrides)
	net, err = zoo.BuildLearned(name, zoo.Options{Input: in, Classes: classes, ProxyStrides: p})
	if errors.Is(err, zoo.ErrInputTooSmall) {
		return nil, true, usageError{err}
	}
	return net, true, err
}

// openDataset opens a dataset with the command line's validation hold-out: 0 for
// none, -1 for the default.
func openDataset(name, dir string, valSize int, seed uint64) (evaluate.Dataset, error) {
	opts := evaluate.Options{DataDir: dir, Seed: seed}
	switch {
	case valSize == 0:
		opts.ValSize = evaluate.NoValidation
	case valSize > 0:
		opts.ValSize = valSize
	}
	return evaluate.Open(name, opts)
}

func runTrain(ctx context.Context, o *trainOptions) error {
	if o.width != 1 {
		return usagef("--width %v: zoo networks train at their reference width; width multipliers apply to searched candidates", o.width)
	}
	if o.valSize < -1 {
		return usagef("--val-size %d: must not be negative", o.valSize)
	}
	data, err := openDataset(o.dataset, o.dataDir, o.valSize, o.seed)
	if err != nil {
		return err
	}
	net, learned, err := buildTrainNet(o.name, data.Shape(), data.Classes())
	if err != nil {
		return err
	}
	r := o.recipe
	start := time.Now()
	last := time.Time{}
	r.Progress = func(step, steps int, loss float64) {
		if now := time.Now(); now.Sub(last) >= 2*time.Second || step == steps {
			last = now
			el := now.Sub(start)
			eta := time.Duration(float64(el) / float64(step) * float64(steps-step))
			fmt.Fprintf(o.errOut, "\rtrain %s: step %d/%d loss %.4f elapsed %s eta %s   ", o.name, step, steps, loss,
				el.Round(time.Second), eta.Round(time.Second))
			if step == steps {
				fmt.Fprintln(o.errOut)
			}
		}
	}
	res, err := evaluate.Fit(ctx, net, data, r, o.seed)
	if err != nil {
		return err
	}
	rep := trainReport{Network: o.name, Dataset: data.Name(), Seed: o.seed, Recipe: o.recipe, TrainImages: res.Images,
		Steps: res.Steps, TrainSeconds: res.Seconds, ImagesPerSec: res.ImagesPerSec, FinalLoss: res.FinalLoss, Diverged: res.Diverged}
	if learned && res.Diverged == "" {
		if net, err = zoo.Convert(net); err != nil {
			return err
		}
		c := net.Cost()
		rep.ConvertedMACs, rep.ConvertedParams = c.MACs, c.Params
	}
	if nv, _ := data.Len(evaluate.Val); nv > 0 && res.Diverged == "" {
		a, err := evaluate.Evaluate(net, data, evaluate.Val, 0)
		if err != nil {
			return err
		}
		rep.ValAccuracy, rep.ValLoss = &a.Accuracy, &a.Loss
	}
	if o.test && res.Diverged == "" {
		a, err := evaluate.Evaluate(net, data, evaluate.Test, 0)
		if err != nil {
			return err
		}
		rep.TestAccuracy, rep.TestLoss = &a.Accuracy, &a.Loss
	}
	if o.json {
		return writeJSON(o.out, rep)
	}
	fmt.Fprintf(o.out, "%s on %s: %d steps, %d images in %.1fs (%.0f images/s), final loss %.4f\n",
		o.name, data.Name(), rep.Steps, rep.TrainImages, rep.TrainSeconds, rep.ImagesPerSec, rep.FinalLoss)
	if rep.Diverged != "" {
		fmt.Fprintf(o.out, "diverged: %s\n", rep.Diverged)
	}
	if rep.ConvertedMACs > 0 {
		fmt.Fprintf(o.out, "converted: %d MACs, %d params\n", rep.ConvertedMACs, rep.ConvertedParams)
	}
	if rep.ValAccuracy != nil {
		fmt.Fprintf(o.out, "validation accuracy %.2f%% (loss %.4f)\n", 100**rep.ValAccuracy, *rep.ValLoss)
	}
	if rep.TestAccuracy != nil {
		fmt.Fprintf(o.out, "test accuracy %.2f%% (loss %.4f)\n", 100**rep.TestAccuracy, *rep.TestLoss)
	}
	return nil
}
