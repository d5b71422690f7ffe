package ops_test

import (
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"nas/ops"
	"nas/ops/zoo"
)

// BenchmarkHelperPoll times training steps of reference_net at batch 128 with the
// parallelFor helpers polling for the next call and the callers for the helpers'
// chunks to finish, and with both parking at once,
// alternating the two settings step by step on one network so that both see the same
// machine load and the same memory, and reports the median over pairs of the ratio
// of the step time with polling to that without ("poll/park"), with the median step
// time of each ("ms-poll", "ms-park"). One benchmark iteration is one pair.
func BenchmarkHelperPoll(b *testing.B) {
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
	defer ops.SetHelperPoll(ops.SetHelperPoll(true))
	step := func(poll bool) float64 {
		ops.SetHelperPoll(poll)
		// One untimed step lets the helpers settle into the setting.
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
	var ratios, polled, parked []float64
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
		ratios, polled, parked = append(ratios, p/q), append(polled, p), append(parked, q)
	}
	b.StopTimer()
	med := func(v []float64) float64 {
		sort.Float64s(v)
		return v[len(v)/2]
	}
	b.ReportMetric(med(ratios), "poll/park")
	b.ReportMetric(med(polled), "ms-poll")
	b.ReportMetric(med(parked), "ms-park")
}
