package ops_test

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"nas/ops"
	"nas/ops/zoo"
)

// BenchmarkHelperPoll compares training steps with the parallelFor helpers polling
// for the next call and the callers for the helpers' chunks to finish, and with both
// parking at once (see pairedSteps).
func BenchmarkHelperPoll(b *testing.B) {
	pairedToggle(b, ops.SetHelperPoll)
}

// BenchmarkCrossFuse compares training steps with and without the fusion of a batch
// norm that ends one layer of a Sequential into a convolution that starts the next
// (Sequential.forwardLayer; on reference_net the stem's batch norm).
func BenchmarkCrossFuse(b *testing.B) {
	pairedToggle(b, ops.SetCrossFuse)
}

// BenchmarkStreamOutputs compares training steps with and without the staging of
// large depthwise input gradients (stream.go; on reference_net block 1's stride-2
// depthwise layer).
func BenchmarkStreamOutputs(b *testing.B) {
	pairedToggle(b, ops.SetStreamOutputs)
}

// pairedToggle runs pairedSteps with a setting that set turns on or off, returning
// the previous setting, and leaves it as it found it.
func pairedToggle(b *testing.B, set func(on bool) bool) {
	defer set(set(true))
	pairedSteps(b, func(on bool) { set(on) })
}

// pairedSteps times training steps of reference_net at batch 128 with a setting on
// and off, alternating the two step by step on one network so that both see the same
// machine load and the same memory, and reports the median over pairs of the ratio of
// the step time with the setting on to that with it off ("on/off"), with the median
// step time of each ("ms-on", "ms-off"). One benchmark iteration is one pair.
func pairedSteps(b *testing.B, set func(on bool)) {
	spec, err := zoo.Lookup("reference_net")
	if err != nil {
		b.Fatal(err)
	}
	net, err := zoo.Build("reference_net", spec.Input, spec.Classes)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(0, 0))
	net.Init(rng)
	net.SetTraining(true)
	const batch = 128
	x := ops.New(batch, spec.Input)
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(spec.Classes)
	}
	loss := &ops.SoftmaxCrossEntropy{}
	opt := &ops.SGD{LR: 0.05, Momentum: 0.9, Nesterov: true, WeightDecay: 4e-5}
	step := func(on bool) float64 {
		set(on)
		// One untimed step lets the setting settle in (caches, parked helpers).
		if _, err := net.Step(x, labels, loss, opt); err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		if _, err := net.Step(x, labels, loss, opt); err != nil {
			b.Fatal(err)
		}
		return float64(time.Since(t0)) / 1e6
	}
	step(true)
	b.ResetTimer()
	var ratios, on, off []float64
	for i := 0; i < b.N; i++ {
		// Which setting goes first alternates from pair to pair.
		var p, q float64
		if i%2 == 0 {
			p = step(true)
			q = step(false)
		} else {
			q = step(false)
			p = step(true)
		}
		ratios, on, off = append(ratios, p/q), append(on, p), append(off, q)
	}
	b.StopTimer()
	med := func(v []float64) float64 {
		sort.Float64s(v)
		return v[len(v)/2]
	}
	b.ReportMetric(med(ratios), "on/off")
	b.ReportMetric(med(on), "ms-on")
	b.ReportMetric(med(off), "ms-off")
}

// BenchmarkRecomputeConv compares training steps with and without the recomputed
// expansions (recompute.go; on reference_net blocks 1 and 2's expansions).
func BenchmarkRecomputeConv(b *testing.B) {
	pairedToggle(b, ops.SetRecomputeConv)
}

// BenchmarkFoldBack compares training steps with and without the folded backward
// passes of expansions and depthwise convolutions (fold.go; on reference_net blocks 1
// and 2).
func BenchmarkFoldBack(b *testing.B) {
	pairedToggle(b, ops.SetFoldBack)
}

// BenchmarkRecomputeMoments compares training steps with the recomputed expansions'
// statistics taken from their inputs' moments and from the recomputed planes
// (recompute.go; on reference_net blocks 1 and 2).
func BenchmarkRecomputeMoments(b *testing.B) {
	pairedToggle(b, ops.SetRecomputeMoments)
}

// BenchmarkJointPasses compares training steps with MixConv's parts run as one pass
// over the samples and part by part (split_joint.go; on reference_net blocks 3 and
// 4, whose expansions are then neither recomputed nor folded either).
func BenchmarkJointPasses(b *testing.B) {
	pairedToggle(b, ops.SetJointPasses)
}

// BenchmarkDXRecompute compares training steps with the projections' input
// gradients recomputed by the depthwise convolutions and written (dx_recompute.go; on
// reference_net blocks 2 and 4).
func BenchmarkDXRecompute(b *testing.B) {
	pairedToggle(b, ops.SetDXRecompute)
}

// BenchmarkFoldShortcut compares training steps with the residual blocks' shortcut
// gradients added by the folded backward of their expansions and by the shortcut sum
// (residual.go, fold.go; on reference_net blocks 2 and 4).
func BenchmarkFoldShortcut(b *testing.B) {
	pairedToggle(b, ops.SetFoldShortcut)
}
