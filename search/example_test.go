package search_test

import (
	"context"
	"fmt"
	"math"

	"nas/ops"
	"nas/search"
	"nas/space"
)

// costEvaluator is a stand-in for real training: its accuracy grows with the
// logarithm of the candidate's MACs and saturates.
type costEvaluator struct{ sp *space.Space }

func (e costEvaluator) Evaluate(ctx context.Context, g space.Genome, hash string, f search.Fidelity) (search.Result, error) {
	c, err := e.sp.Cost(g)
	if err != nil {
		return search.Result{Failed: err.Error()}, nil
	}
	acc := 0.9 / (1 + math.Exp(-math.Log(float64(c.MACs)/1e5))) * float64(f.Epochs) / float64(f.Epochs+1)
	return search.Result{Accuracy: acc}, nil
}

func ExampleRun() {
	sp, err := space.New(space.Config{Budget: 1_000_000, Target: ops.Shape{C: 3, H: 16, W: 16}, Classes: 10, Head: 64, Stem: 8,
		Skeleton: []space.StageSpec{{Channels: 16, Stride: 1, Depth: 1}, {Channels: 24, Stride: 2, Depth: 2}, {Channels: 32, Stride: 2, Depth: 2}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := search.Run(context.Background(), sp, costEvaluator{sp}, nil, search.Config{
		Strategy:    search.NSGA2,
		Population:  8,
		Generations: 3,
		Seed:        1,
		// Every candidate is trained one epoch on 1000 images; the best half of each
		// generation three epochs more.
		Fidelities: []search.Fidelity{{TrainSize: 1000, Epochs: 1, Width: 0.5}, {TrainSize: 1000, Epochs: 3, Width: 0.5}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	within := true
	for _, e := range out.Evaluations {
		within = within && e.MACs <= int64(sp.Budget())
	}
	fmt.Println("evaluations:", len(out.Evaluations))
	fmt.Println("generations:", len(out.Hypervolume))
	fmt.Println("all within budget:", within)
	fmt.Println("front at", out.Front[0].Fidelity)
	// Output:
	// evaluations: 48
	// generations: 4
	// all within budget: true
	// front at n1000-e3-w0.5
}
