package evaluate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gorgonia.org/tensor"

	"nas/ops"
)

// Recipe is how a network is trained: mini-batch SGD with momentum, Nesterov and
// weight decay, a cosine learning-rate schedule per step with optional linear
// warm-up, and label smoothing.
type Recipe struct {
	// Epochs is the number of passes over the training split; 0 means 1.
	Epochs int `json:"epochs"`
	// BatchSize is the number of images per step; 0 means 128. The last partial
	// batch of an epoch is dropped, as in the reference recipe.
	BatchSize int `json:"batch_size"`
	// LR is the peak learning rate; 0 means 0.1.
	LR float64 `json:"lr"`
	// Momentum is the SGD momentum factor; 0 means none.
	Momentum float64 `json:"momentum"`
	// Nesterov selects Nesterov momentum.
	Nesterov bool `json:"nesterov"`
	// WeightDecay is the L2 penalty applied to every parameter; 0 means none.
	WeightDecay float64 `json:"weight_decay"`
	// LabelSmoothing is the cross-entropy's label smoothing in [0, 1).
	LabelSmoothing float64 `json:"label_smoothing"`
	// TrainSize, if positive, trains on only the first TrainSize images of the
	// training split (the fidelity's training-set size); 0 means all of them.
	TrainSize int `json:"train_size"`
	// WarmupSteps ramps the learning rate linearly from 0 over the first steps
	// before the cosine decay; 0 means no warm-up.
	WarmupSteps int `json:"warmup_steps"`
	// Progress, if set, is called after every step with the step count, the total
	// and the step's loss. It must not retain anything.
	Progress func(step, steps int, loss float64) `json:"-"`
}

// ReferenceRecipe returns the training recipe of ../shared/bench/reference_net.py:
// SGD with lr 0.1, per-step cosine decay to 0, Nesterov momentum 0.9, weight decay
// 4e-5 on every parameter, batch 128, one epoch, no label smoothing.
func ReferenceRecipe() Recipe {
	return Recipe{Epochs: 1, BatchSize: 128, LR: 0.1, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5}
}

func (r Recipe) withDefaults() (Recipe, error) {
	if r.Epochs == 0 {
		r.Epochs = 1
	}
	if r.BatchSize == 0 {
		r.BatchSize = 128
	}
	if r.LR == 0 {
		r.LR = 0.1
	}
	switch {
	case r.Epochs < 0:
		return r, fmt.Errorf("epochs %d: must be positive", r.Epochs)
	case r.BatchSize < 0:
		return r, fmt.Errorf("batch size %d: must be positive", r.BatchSize)
	case r.LR < 0 || math.IsNaN(r.LR) || math.IsInf(r.LR, 0):
		return r, fmt.Errorf("learning rate %v: must be positive", r.LR)
	case r.Momentum < 0 || r.Momentum >= 1:
		return r, fmt.Errorf("momentum %v: must be in [0, 1)", r.Momentum)
	case r.Nesterov && r.Momentum == 0:
		return r, errors.New("nesterov needs a momentum above 0")
	case r.WeightDecay < 0:
		return r, fmt.Errorf("weight decay %v: must not be negative", r.WeightDecay)
	case r.LabelSmoothing < 0 || r.LabelSmoothing >= 1:
		return r, fmt.Errorf("label smoothing %v: must be in [0, 1)", r.LabelSmoothing)
	case r.TrainSize < 0:
		return r, fmt.Errorf("training-set size %d: must not be negative", r.TrainSize)
	case r.WarmupSteps < 0:
		return r, fmt.Errorf("warm-up steps %d: must not be negative", r.WarmupSteps)
	}
	return r, nil
}

// lr returns the learning rate of step s (0-based) of steps: linear warm-up, then
// 0.5*(1+cos(pi*t/T)) of the peak over the remaining steps, as PyTorch's LambdaLR
// in reference_net.py computes it before each step.
func (r Recipe) lr(s, steps int) float64 {
	if s < r.WarmupSteps {
		return r.LR * float64(s+1) / float64(r.WarmupSteps)
	}
	t, T := s-r.WarmupSteps, steps-r.WarmupSteps
	if T <= 0 {
		return r.LR
	}
	return r.LR * 0.5 * (1 + math.Cos(math.Pi*float64(t)/float64(T)))
}

// TrainResult is what a training run measured.
type TrainResult struct {
	Steps        int     `json:"steps"`
	Images       int     `json:"images"`
	Seconds      float64 `json:"train_seconds"`
	ImagesPerSec float64 `json:"images_per_second"`
	// FinalLoss is the mean training loss of the last 10% of steps.
	FinalLoss float64 `json:"final_loss"`
	// Diverged holds the reason training stopped early on a non-finite loss.
	Diverged string `json:"diverged,omitempty"`
}

// ErrNoTrainingData is returned when the training split holds less than one batch.
var ErrNoTrainingData = errors.New("training split smaller than one batch")

// Fit trains net on the training split of data with recipe r. All randomness
// (weight initialisation, batch order, augmentation) derives from seed, so the same
// seed and GOMAXPROCS give bit-identical weights. A non-finite loss stops training
// and is reported in Diverged, not as an error; ctx cancels between steps. Layers
// that implement ops.Scheduled or ops.Regularizer are told the progress before each
// step and regularize after each backward pass (see trainingHooks).
func Fit(ctx context.Context, net *ops.Network, data Dataset, r Recipe, seed uint64) (*TrainResult, error) {
	r, err := r.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("recipe: %w", err)
	}
	if net.Input() != data.Shape() {
		return nil, fmt.Errorf("network input %v does not match dataset %s's images %v", net.Input(), data.Name(), data.Shape())
	}
	if got := net.OutShape(); got.Size() != data.Classes() {
		return nil, fmt.Errorf("network has %d outputs, dataset %s has %d classes", got.Size(), data.Name(), data.Classes())
	}
	n, err := data.Len(Train)
	if err != nil {
		return nil, err
	}
	if r.TrainSize > 0 {
		n = min(n, r.TrainSize)
	}
	perEpoch := n / r.BatchSize
	if perEpoch == 0 {
		return nil, fmt.Errorf("%w: %d images, batch %d", ErrNoTrainingData, n, r.BatchSize)
	}
	steps := perEpoch * r.Epochs
	initRNG := rand.New(rand.NewPCG(seed, 0x696e6974))    // "init"
	orderRNG := rand.New(rand.NewPCG(seed, 0x6f72646572)) // "order"
	augRNG := rand.New(rand.NewPCG(seed, 0x617567))       // "aug"
	net.Init(initRNG)
	net.SetTraining(true)
	opt := &ops.SGD{LR: r.LR, Momentum: r.Momentum, Nesterov: r.Nesterov, WeightDecay: r.WeightDecay}
	loss := &ops.SoftmaxCrossEntropy{LabelSmoothing: r.LabelSmoothing}
	params := net.Params()
	scheduled, regularizers := trainingHooks(net)

	batches := make(chan batch, 1)
	stop := make(chan struct{})
	defer close(stop)
	go loadBatches(data, r, n, steps, orderRNG, augRNG, batches, stop)

	res := &TrainResult{}
	var lossSum float64
	lossCount := 0
	tail := max(1, steps/10)
	start := time.Now()
	for s := 0; s < steps; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		b, ok := <-batches
		if !ok || b.err != nil {
			if b.err != nil {
				return nil, b.err
			}
			return nil, errors.New("batch loader stopped early")
		}
		opt.SetLR(r.lr(s, steps))
		for _, h := range scheduled {
			h.SetProgress(float64(s) / float64(steps))
		}
		logits, err := net.Forward(b.x)
		if err != nil {
			return nil, fmt.Errorf("step %d: forward: %w", s, err)
		}
		l, err := loss.Forward(logits, b.labels)
		if err != nil {
			return nil, fmt.Errorf("step %d: loss: %w", s, err)
		}
		if math.IsNaN(l) || math.IsInf(l, 0) {
			res.Diverged = fmt.Sprintf("loss became %v at step %d of %d", l, s+1, steps)
			break
		}
		dl, err := loss.Backward()
		if err != nil {
			return nil, fmt.Errorf("step %d: loss backward: %w", s, err)
		}
		net.ZeroGrad()
		if err := net.BackwardParams(dl); err != nil {
			return nil, fmt.Errorf("step %d: backward: %w", s, err)
		}
		b.release() // the first layer keeps its input until its backward pass is done
		for _, h := range regularizers {
			h.Regularize()
		}
		opt.Step(params)
		res.Steps++
		res.Images += r.BatchSize
		if s >= steps-tail {
			lossSum += l
			lossCount++
		}
		if r.Progress != nil {
			r.Progress(s+1, steps, l)
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.ImagesPerSec = float64(res.Images) / res.Seconds
	}
	if lossCount > 0 {
		res.FinalLoss = lossSum / float64(lossCount)
	}
	return res, nil
}

// trainingHooks returns the layers of net that follow training progress and those
// that add a penalty of their own (such as ops.LearnedGroupConv), in ops.Walk order.
// Fit calls SetProgress before each step's forward pass with the fraction of steps
// done, as CondenseNet's main.py passes its progress, and Regularize between the
// backward pass and the optimizer step. The penalties are not added to the reported
// loss, as weight decay is not. A network without such layers trains exactly as if
// the hooks did not exist.
func trainingHooks(net *ops.Network) ([]ops.Scheduled, []ops.Regularizer) {
	var sched []ops.Scheduled
	var regs []ops.Regularizer
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		if h, ok := l.(ops.Scheduled); ok {
			sched = append(sched, h)
		}
		if h, ok := l.(ops.Regularizer); ok {
			regs = append(regs, h)
		}
	})
	return sched, regs
}

// batch is one mini-batch of inputs and labels; release hands its memory back to
// the loader.
type batch struct {
	x       *tensor.Dense
	labels  []int
	err     error
	release func()
}

// loadBatches prepares the training batches in order on its own goroutine, so that
// reading and augmenting the next batch overlaps the current step. Two buffers take
// turns; a buffer is refilled only after the trainer released it.
func loadBatches(data Dataset, r Recipe, n, steps int, orderRNG, augRNG *rand.Rand, out chan<- batch, stop <-chan struct{}) {
	defer close(out)
	shape := data.Shape()
	perEpoch := n / r.BatchSize
	type slot struct {
		x      *tensor.Dense
		labels []int
		free   chan struct{}
	}
	slots := make([]*slot, 2)
	for i := range slots {
		slots[i] = &slot{x: ops.New(r.BatchSize, shape), labels: make([]int, r.BatchSize), free: make(chan struct{}, 1)}
		slots[i].free <- struct{}{}
	}
	perm := make([]int, n)
	idx := make([]int, r.BatchSize)
	for s := 0; s < steps; s++ {
		if s%perEpoch == 0 {
			for i := range perm {
				perm[i] = i
			}
			orderRNG.Shuffle(n, func(i, j int) { perm[i], perm[j] = perm[j], perm[i] })
		}
		sl := slots[s%2]
		select {
		case <-sl.free:
		case <-stop:
			return
		}
		k := s % perEpoch
		copy(idx, perm[k*r.BatchSize:(k+1)*r.BatchSize])
		err := data.Batch(Train, idx, sl.x.Float32s(), sl.labels, augRNG)
		b := batch{x: sl.x, labels: sl.labels, err: err, release: func() { sl.free <- struct{}{} }}
		select {
		case out <- b:
		case <-stop:
			return
		}
		if err != nil {
			return
		}
	}
}
