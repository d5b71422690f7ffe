package ops

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"gorgonia.org/tensor"
)

// TestSGDMatchesPyTorch runs several steps of torch.optim.SGD from
// testdata/gen/gen_layers.py (with and without momentum, Nesterov and weight decay,
// and a learning rate halved after two steps) and compares the parameters after each.
func TestSGDMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "sgd_") {
		t.Run(f.name, func(t *testing.T) {
			opt := &SGD{Momentum: f.float(t, "momentum"), WeightDecay: f.float(t, "weight_decay"),
				Nesterov: f.int(t, "nesterov") == 1}
			lrs, ok := f.config["lrs"].([]any)
			if !ok {
				t.Fatalf("config has no lrs list")
			}
			var ps []*Param
			for i := 0; i < f.int(t, "params"); i++ {
				v := clone(f.tensor(t, fmt.Sprintf("p%d_0", i)))
				g := tensor.New(tensor.WithShape(v.Shape().Clone()...), tensor.WithBacking(make([]float32, v.Shape().TotalSize())))
				ps = append(ps, &Param{Name: fmt.Sprint(i), Value: v, Grad: g})
			}
			for s := 1; s <= f.int(t, "steps"); s++ {
				opt.SetLR(lrs[s-1].(float64))
				for i, p := range ps {
					copyInto(t, p.Grad, f.tensor(t, fmt.Sprintf("g%d_%d", i, s)))
				}
				opt.Step(ps)
				for i, p := range ps {
					name := fmt.Sprintf("p%d_%d", i, s)
					assertClose(t, name, p.Value, f.tensor(t, name), fixtureTol)
				}
			}
		})
	}
}

// TestSGDNoAllocs checks that steps after the first allocate nothing.
func TestSGDNoAllocs(t *testing.T) {
	var ps []*Param
	for _, n := range []int{10, 300} {
		p := newParam("w", n)
		for i := range p.Grad.Float32s() {
			p.Grad.Float32s()[i] = 1
		}
		ps = append(ps, p)
	}
	opt := &SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 1e-4, Nesterov: true}
	opt.Step(ps)
	if a := testing.AllocsPerRun(10, func() { opt.Step(ps) }); a != 0 {
		t.Errorf("SGD.Step allocates %v times per step, want 0", a)
	}
}

// TestSGDMomentumBuffers checks the buffer accessors used for checkpoints: a buffer
// saved after some steps and restored into a fresh optimizer gives the same next step.
func TestSGDMomentumBuffers(t *testing.T) {
	mk := func() *Param {
		p := newParam("w", 4)
		copy(p.Value.Float32s(), []float32{1, -2, 3, -4})
		copy(p.Grad.Float32s(), []float32{0.5, 0.25, -1, 2})
		return p
	}
	a, b := mk(), mk()
	o1 := &SGD{LR: 0.1, Momentum: 0.9}
	if o1.MomentumBuffer(a) != nil {
		t.Fatalf("buffer before the first step")
	}
	o1.Step([]*Param{a})
	o1.Step([]*Param{a})
	copy(b.Value.Float32s(), a.Value.Float32s())
	o2 := &SGD{LR: 0.1, Momentum: 0.9}
	o2.SetMomentumBuffer(b, o1.MomentumBuffer(a))
	o1.Step([]*Param{a})
	o2.Step([]*Param{b})
	assertClose(t, "resumed step", b.Value, a.Value, 0)
	o1.Reset()
	if o1.MomentumBuffer(a) != nil {
		t.Errorf("Reset kept a buffer")
	}
}

// TestSGDParallelMatchesPerParameter runs steps over many small parameters, more
// values in all than one goroutine takes (so that Step splits them over the CPUs
// across parameter boundaries), and checks every value and momentum buffer against
// the update applied parameter by parameter, bit for bit, with and without momentum
// and Nesterov; and that such a step allocates nothing.
func TestSGDParallelMatchesPerParameter(t *testing.T) {
	for _, c := range []struct{ mom, wd float64 }{{0.9, 4e-5}, {0, 1e-4}} {
		for _, nesterov := range []bool{false, true} {
			var ps, ref []*Param
			rng := rand.New(rand.NewPCG(11, 12))
			for i := 0; i < 41; i++ {
				n := 700 + 37*i
				p, q := newParam("w", n), newParam("w", n)
				for j := range p.Value.Float32s() {
					v, g := float32(rng.NormFloat64()), float32(rng.NormFloat64())
					p.Value.Float32s()[j], p.Grad.Float32s()[j] = v, g
					q.Value.Float32s()[j], q.Grad.Float32s()[j] = v, g
				}
				ps, ref = append(ps, p), append(ref, q)
			}
			opt := &SGD{LR: 0.05, Momentum: c.mom, WeightDecay: c.wd, Nesterov: nesterov}
			bufs := make([][]float32, len(ref))
			for step := 0; step < 3; step++ {
				opt.Step(ps)
				for i, q := range ref {
					qv, qg := q.Value.Float32s(), q.Grad.Float32s()
					if c.mom == 0 {
						sgdPlain(qv, qg, 0.05, float32(c.wd))
						continue
					}
					first := bufs[i] == nil
					if first {
						bufs[i] = make([]float32, len(qv))
					}
					sgdMomentum(qv, qg, bufs[i], 0.05, float32(c.wd), float32(c.mom), nesterov, first)
				}
			}
			for i := range ps {
				if !slices.Equal(ps[i].Value.Float32s(), ref[i].Value.Float32s()) {
					t.Fatalf("momentum %v nesterov %v: parameter %d differs from the per-parameter update", c.mom, nesterov, i)
				}
				if c.mom != 0 && !slices.Equal(opt.MomentumBuffer(ps[i]), bufs[i]) {
					t.Fatalf("momentum %v nesterov %v: momentum buffer %d differs", c.mom, nesterov, i)
				}
			}
			if a := testing.AllocsPerRun(5, func() { opt.Step(ps) }); a != 0 {
				t.Errorf("momentum %v nesterov %v: a step over %d parameters allocates %v times, want 0", c.mom, nesterov, len(ps), a)
			}
		}
	}
}
