package zoo

import (
	"encoding/binary"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"syscall"
	"testing"
	"time"

	"nas/ops"
	"nas/ops/internal/dwconv"
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
	start, cpu0 := time.Now(), processCPUSeconds(b)
	for b.Loop() {
		step()
	}
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "images/s")
	// Images per second of the process's CPU time: on a machine shared with other
	// jobs it still measures the work of a step (both cores busy all the time give
	// images/s = images/cpu-s * 2), where wall time measures the other jobs too.
	b.ReportMetric(float64(b.N*batch)/(processCPUSeconds(b)-cpu0), "images/cpu-s")
}

// processCPUSeconds returns the user and system CPU time the process has used.
func processCPUSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// TestReferenceNetStepAllocs checks that a training step of the reference network
// allocates almost nothing once its buffers exist: a layer that allocated a tensor
// per step would also feed the garbage collector, which competes with this
// memory-bound network for the memory bus. The convolutions (their parallel loops
// are made once per layer) and MixConv (its depthwise parts run in place) allocate
// nothing; what is left are the closures of the residual additions' parallel loops
// (2) and of the global average pooling (2): 4, measured 4 with GOMAXPROCS 2. The
// bound leaves a few for sync.Pool refills after a garbage collection.
func TestReferenceNetStepAllocs(t *testing.T) {
	if raceBuild() {
		t.Skip("the race detector allocates and empties sync.Pool at random")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	step := referenceStep(t, 8)
	step()
	step()
	const bound = 8
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

// referenceStepHash runs steps training steps of the reference network on batch
// images, as referenceStep sets them up, and returns an FNV-1a hash of the bits of
// every loss, and of every parameter's value and gradient after the last step.
func referenceStepHash(tb testing.TB, batch, steps int) uint64 {
	tb.Helper()
	net, err := Build("reference_net", ops.Shape{C: 1, H: 28, W: 28}, 10)
	if err != nil {
		tb.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	net.Init(rng)
	x := ops.New(batch, net.Input())
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	loss := &ops.SoftmaxCrossEntropy{}
	opt := &ops.SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5}
	h := fnv.New64a()
	var b [8]byte
	for range steps {
		l, err := net.Step(x, labels, loss, opt)
		if err != nil {
			tb.Fatal(err)
		}
		binary.LittleEndian.PutUint64(b[:], math.Float64bits(l))
		h.Write(b[:])
	}
	for _, p := range net.Params() {
		for _, t := range [][]float32{p.Value.Float32s(), p.Grad.Float32s()} {
			for _, v := range t {
				binary.LittleEndian.PutUint32(b[:4], math.Float32bits(v))
				h.Write(b[:4])
			}
		}
	}
	return h.Sum64()
}

// TestReferenceNetStepBitIdentical checks that two training steps of the reference
// network leave bit for bit the losses, parameters and gradients they left when the
// hashes were pinned, so that a change meant to be bit-identical (a fusion, a new
// blocking) is seen to be, and experiments in progress stay reproducible. A change
// that rounds differently on purpose re-pins them and says so in its commit.
//
// The hashes were last re-pinned after these kernels changed the order of sums:
// the direct stride-2 depthwise kernels (d664a08, and the input gradient of
// 70262de), the batched pointwise kernels on small planes (584c623), the one-sweep
// stride-1 depthwise backward (5b510ea), the gpw pointwise kernels (a8b5213) and
// the batched pointwise backward on 7x7 planes (pwBatchMaxHWBwd: the weight gradient
// of block 5's expansion sums blocks of samples), all in weight or input gradients,
// and after the folded backward of blocks 1 and 2 (ops/fold.go), which sums their
// expansions' gradients in another order, the statistics of their recomputed
// expansions taken from their inputs' moments (ops/recompute.go, which also runs on
// the depthwise kernels' Go twins), and the folded backward of blocks 3 and 4, whose
// MixConvs run joint passes (ops/split_joint.go; not on the Go twins, whose hashes
// it left as they were), with block 4's expansion recomputed, and block 3's too
// once recomputeMaxIn rose to 24 (its statistics from moments), and after the
// folded backward of blocks 2 and 4 took over their shortcut sums (ops/residual.go),
// and after the fold summed its correction matrix A in float64. They are those of the AVX-512 kernels (and,
// where a case says so, the depthwise kernels' Go twins) at each case's GOMAXPROCS;
// the earlier hashes were the same on the AMD Zen 5 and the Intel Xeon this
// repository has run on. The Go twins of the gemm and gpw kernels and of the batch
// norm's apply kernels round differently (they do not fuse multiply-adds), so the
// check needs the AVX-512 kernels.
func TestReferenceNetStepBitIdentical(t *testing.T) {
	if !dwconv.Accelerated() {
		t.Skip("the hashes are those of the AVX-512 kernels, which this CPU lacks")
	}
	tests := []struct {
		procs, batch int
		goDW         bool // the depthwise kernels' Go twins (dwconv.SetAccelerated(false)): the direct path
		want         uint64
	}{
		{2, 16, false, 0xdfdc3f1a3855f8fe},
		{2, 128, false, 0x35bb747233b9fa2e}, // the batch of nas bench
		{1, 16, false, 0x7ccd4f32643e1b60},
		{2, 16, true, 0x2521b973c6f160ef},
		{1, 16, true, 0xb7fd74adeab9cefb},
	}
	for _, tt := range tests {
		old := runtime.GOMAXPROCS(tt.procs)
		acc := dwconv.SetAccelerated(!tt.goDW)
		got := referenceStepHash(t, tt.batch, 2)
		dwconv.SetAccelerated(acc)
		runtime.GOMAXPROCS(old)
		if got != tt.want {
			t.Errorf("GOMAXPROCS %d, batch %d, Go depthwise kernels %v: hash after 2 steps = %#x, want %#x",
				tt.procs, tt.batch, tt.goDW, got, tt.want)
		}
	}
}
