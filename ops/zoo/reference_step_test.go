package zoo

import (
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"testing"
	"time"

	"nas/ops"
)

// referenceStep builds the reference network at its benchmark shape (28x28x1, 10
// classes, /work/shared/bench/reference_net.py) with a random batch of n images and
// returns one training step with reference_net.py bench's optimizer settings (SGD, lr
// 0.05, Nesterov momentum 0.9, weight decay 4e-5).
func referenceStep(tb testing.TB, n int) func() {
	tb.Helper()
	net, err := Build("reference_net", ops.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net.Init(rng)
	x := ops.New(n, net.Input())
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, n)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	loss := &ops.SoftmaxCrossEntropy{}
	opt := &ops.SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5}
	return func() {
		if _, err := net.Step(x, labels, loss, opt); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkReferenceNetStep times a full training step of the reference network at
// batch 128 (forward, cross-entropy, backward, SGD), the unit of `nas bench
// reference_net --batch 128`, and reports images/s.
func BenchmarkReferenceNetStep(b *testing.B) {
	const batch = 128 // reference_net.py bench's default batch
	step := referenceStep(b, batch)
	for range 2 { // warm-up: buffers and momentum are allocated in the first steps
		step()
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "images/s")
}

// TestReferenceNetStepAllocs checks that a training step of the reference network
// allocates almost nothing once its buffers exist: a layer that allocated a tensor
// per step would also feed the garbage collector, which competes with this
// memory-bound network for the memory bus. What is left are the closures of some
// parallel loops: the convolutions' (ops/conv_pointwise.go and ops/depthwise.go
// build one or two per pass, 46 in this network's 23 convolutions forward and
// backward), MixConv's split and concatenation (4), the residual additions (2) and
// the global average pooling (2): 54, measured 58 with GOMAXPROCS 2. The bound
// leaves a few for sync.Pool refills after a garbage collection.
func TestReferenceNetStepAllocs(t *testing.T) {
	if raceBuild() {
		t.Skip("the race detector allocates and empties sync.Pool at random")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	step := referenceStep(t, 8)
	step()
	step()
	const bound = 64
	if got := testing.AllocsPerRun(10, step); got > bound {
		t.Errorf("training step allocates %v times, want at most %v", got, bound)
	}
}

// raceBuild reports whether the test binary was built with -race.
func raceBuild() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}
