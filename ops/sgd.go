package ops

import "slices"

// SGD is stochastic gradient descent with momentum, Nesterov momentum and weight decay,
// exactly as PyTorch's torch.optim.SGD with dampening 0: for each parameter p with
// gradient g,
//
//	g = g + WeightDecay*p
//	buf = g on the first step, buf = Momentum*buf + g after it
//	g = g + Momentum*buf if Nesterov, else g = buf   (when Momentum is not 0)
//	p = p - LR*g
//
// (Sutskever et al. 2013 for the Nesterov form). The zero value is plain SGD with a
// learning rate of 0; set the fields before the first Step. With Momentum 0, Nesterov
// changes nothing (PyTorch rejects that combination).
type SGD struct {
	// LR is the learning rate; schedules change it between steps (see SetLR).
	LR float64
	// Momentum is the momentum factor; 0 means none.
	Momentum float64
	// WeightDecay is the L2 penalty added to the gradient; 0 means none.
	WeightDecay float64
	// Nesterov selects Nesterov momentum.
	Nesterov bool

	bufs map[*Param][]float32

	// The current Step's work, kept so that a Step allocates nothing (update).
	tasks       []sgdTask
	ends        []int // the running total of the tasks' values
	lr, mom, wd float32
	updateFn    func(chunk, lo, hi int)
}

// SetLR sets the learning rate for the following steps.
func (o *SGD) SetLR(lr float64) { o.LR = lr }

// Step updates every parameter from its gradient. Momentum buffers are kept per
// *Param, created on a parameter's first step; stepping the same parameters again
// allocates nothing. Gradients are read, not cleared.
//
// The parameters' values are split evenly over the CPUs as one run, so that the many
// small tensors of a network (the reference network's largest has 24,576 values)
// update in parallel too.
func (o *SGD) Step(params []*Param) {
	o.lr, o.mom, o.wd = float32(o.LR), float32(o.Momentum), float32(o.WeightDecay)
	o.tasks, o.ends = o.tasks[:0], o.ends[:0]
	total := 0
	for _, p := range params {
		pv, gv := p.Value.Float32s(), p.Grad.Float32s()
		t := sgdTask{p: pv, g: gv[:len(pv)]}
		if o.mom != 0 {
			buf, ok := o.bufs[p]
			if !ok {
				if o.bufs == nil {
					o.bufs = map[*Param][]float32{}
				}
				buf = make([]float32, len(pv))
				o.bufs[p] = buf
			}
			t.buf, t.first = buf, !ok
		}
		total += len(pv)
		o.tasks, o.ends = append(o.tasks, t), append(o.ends, total)
	}
	if total < actParallelMin {
		o.update(0, 0, total)
	} else {
		if o.updateFn == nil {
			o.updateFn = o.update
		}
		parallelFor(total, o.updateFn)
	}
	clear(o.tasks)
}

// sgdTask is one parameter of a Step: its values, gradient and momentum buffer (nil
// without momentum), and whether the buffer starts at the gradient.
type sgdTask struct {
	p, g, buf []float32
	first     bool
}

// update runs the Step on values [lo, hi) of the parameters taken one after another.
func (o *SGD) update(_, lo, hi int) {
	i, _ := slices.BinarySearch(o.ends, lo+1)
	for ; i < len(o.tasks) && o.ends[i]-len(o.tasks[i].p) < hi; i++ {
		t, start := o.tasks[i], o.ends[i]-len(o.tasks[i].p)
		a, b := max(lo, start)-start, min(hi, o.ends[i])-start
		if o.mom == 0 {
			sgdPlain(t.p[a:b], t.g[a:b], o.lr, o.wd)
		} else {
			sgdMomentum(t.p[a:b], t.g[a:b], t.buf[a:b], o.lr, o.wd, o.mom, o.Nesterov, t.first)
		}
	}
}

// MomentumBuffer returns the momentum buffer of p, or nil before p's first step with
// momentum. The slice is the optimizer's own state: writing to it (to resume from a
// checkpoint) changes the next step.
func (o *SGD) MomentumBuffer(p *Param) []float32 { return o.bufs[p] }

// SetMomentumBuffer sets the momentum buffer of p to a copy of buf, as if p had taken
// a step; a nil buf forgets p's buffer so that its next step starts afresh.
func (o *SGD) SetMomentumBuffer(p *Param, buf []float32) {
	if buf == nil {
		delete(o.bufs, p)
		return
	}
	if o.bufs == nil {
		o.bufs = map[*Param][]float32{}
	}
	o.bufs[p] = append([]float32(nil), buf...)
}

// Reset forgets all momentum buffers.
func (o *SGD) Reset() { clear(o.bufs) }

func sgdPlain(p, g []float32, lr, wd float32) {
	g = g[:len(p)]
	for i, gi := range g {
		gi += wd * p[i]
		p[i] -= lr * gi
	}
}

// sgdMomentum is one step with momentum; first initializes the buffer to the gradient
// as PyTorch does on a parameter's first step.
func sgdMomentum(p, g, buf []float32, lr, wd, mom float32, nesterov, first bool) {
	g, buf = g[:len(p)], buf[:len(p)]
	for i, gi := range g {
		gi += wd * p[i]
		b := gi
		if !first {
			b = mom*buf[i] + gi
		}
		buf[i] = b
		if nesterov {
			gi += mom * b
		} else {
			gi = b
		}
		p[i] -= lr * gi
	}
}
