package search

import (
	"context"
	"fmt"

	"nas/evaluate"
	"nas/space"
)

// Fidelity is a proxy setting at which a candidate is trained and scored: how many
// training images, how many epochs, and the proxy width multiplier. The dataset is
// not part of it: it is fixed for a run, and the caller's cache key includes it.
type Fidelity = evaluate.Fidelity

func validateFidelity(f Fidelity) error {
	if f.TrainSize <= 0 || f.Epochs <= 0 || !(f.Width > 0) {
		return fmt.Errorf("fidelity %s: want positive train size, epochs and width", f.Key())
	}
	return nil
}

// Result is the score of one evaluation.
type Result struct {
	// Accuracy is the proxy validation accuracy, a fraction in [0, 1].
	Accuracy float64
	// ValLoss is the proxy validation loss.
	ValLoss float64
	// ProxyMACs is the cost of the proxy network that was trained.
	ProxyMACs int64
	// TrainSeconds is the wall time of training.
	TrainSeconds float64
	// ImagesPerSec is the training throughput.
	ImagesPerSec float64
	// Failed says why the candidate could not be trained or scored (it diverged,
	// it did not build); it is empty if the evaluation succeeded. A failed
	// candidate is never on a front.
	Failed string
}

// Evaluator trains and scores candidates.
type Evaluator interface {
	// Evaluate trains the proxy of g (whose canonical hash is hash) at fidelity f and
	// scores it. It is called from several goroutines at once. It returns an error
	// only when the evaluation could not be carried out at all (ctx ended, the data
	// is unreadable), which ends the search; a candidate that trains badly or does
	// not build is a Result with Failed set. It should return promptly with ctx's
	// error once ctx is done.
	Evaluate(ctx context.Context, g space.Genome, hash string, f Fidelity) (Result, error)
}

// Evaluation is one request of the search to score an architecture at a fidelity.
type Evaluation struct {
	// Seq numbers the evaluations of a run from 0 in the order the strategy asks
	// for them, which depends only on the seed, the settings and the worker count.
	Seq int
	// Generation is the generation that asked for it; 0 is the initial population.
	Generation int
	// Genome is the canonical genome and Hash its space.Space.Hash.
	Genome space.Genome
	Hash   string
	// MACs and Params are the deployment network's cost at the space's target shape.
	MACs, Params int64
	// Fidelity is the proxy setting.
	Fidelity Fidelity
}

// Recorder keeps the record of a run; the store implements it. Its methods are
// never called concurrently (Run serialises them), but they are called from
// several goroutines.
type Recorder interface {
	// Done returns the recorded result of evaluation seq of this run, if it
	// finished before (resume).
	Done(seq int) (Result, bool, error)
	// Cached returns a result for this architecture and fidelity from any earlier
	// run (the shared cache).
	Cached(hash string, f Fidelity) (Result, bool, error)
	// Started says that e is about to be trained or served from a cache. It is not
	// called for evaluations that Done served.
	Started(e Evaluation) error
	// Finished records e's result as soon as it is known; cached says it was served
	// from the in-run or the shared cache rather than trained. It is not called for
	// evaluations that Done served, nor for evaluations that did not complete.
	Finished(e Evaluation, r Result, cached bool) error
	// EndGeneration records the population and the front (see Outcome.Front) after
	// generation gen, and the front's hypervolume. On resume it is called again for
	// the generations replayed, with the same arguments.
	EndGeneration(gen int, population []Evaluation, front []Evaluation, hypervolume float64) error
}
