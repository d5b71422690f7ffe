package ops

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// Sequential applies its layers one after another.
//
// A batch norm followed by a ReLU or ReLU6, a channel shuffle, or both, runs as one
// fused pass (see bnFuse): the result is that of the layers run one by one, within
// float32 rounding, and the parameters, paths and mode switches are those of the
// separate layers. The fused layers' own output buffers are not all written then;
// Backward of the Sequential is the way back through them.
type Sequential struct {
	Layers []Layer

	runs  []seqRun     // how the last Forward grouped the layers, for Backward
	convs []*Conv2D    // scratch of fusableConvs
	pools []*AvgPool2D // scratch of fusableConvs: the poolings fed with the convs

	// addend, when a Residual sets it for one Forward, is a tensor to add to the
	// output if the last layer is a batch norm run alone, which then adds it as it
	// writes its output (see BatchNorm2D.addend); addendUsed reports that it did.
	addend     *tensor.Dense
	addendUsed bool
	// dxAddend, when a Residual sets it for one Backward, is a gradient to add to
	// the input gradient if the first layer's backward is folded (fold.go), which
	// then adds it as it writes the input gradient; dxAddendUsed reports that it did.
	dxAddend     *tensor.Dense
	dxAddendUsed bool

	// Between two layers of a Sequential that are themselves Sequentials (or Blocks
	// around one), a batch norm ending the first can leave its normalization to a
	// convolution starting the second, as between two layers of one Sequential
	// (see forwardLayer): leaveTail, set by the outer Sequential for one Forward,
	// lets the last batch norm write no output, and tail, after it, is that batch
	// norm (nil if it wrote its output, and the Forward returned the batch norm's
	// input otherwise); entry, set for one Forward, is a batch norm whose
	// normalization the first layer applies to the input.
	leaveTail   bool
	tail, entry *BatchNorm2D

	// clock, when a Network times its layers (timing.go), receives the time of
	// each run whose first layer leaf accepts, named from path.
	clock *layerClock
	path  string
	leaf  func(Layer) bool
}

// seqRun is a run of layers that Forward executed together: one layer, or a batch
// norm and the layers fused into it.
type seqRun struct {
	start, count int
	fuse         bnFuse
	// conv is set when the run is a convolution that Forward could fuse with batch
	// norms (fusableConvs), and fed is the batch norm whose normalization it applied
	// to its input. pooled is set when poolings applied it too (an octave split's
	// low-frequency part); those cannot apply the backward of the batch norm after
	// the run, which then applies it itself.
	conv   bool
	pooled bool
	fed    *BatchNorm2D
	// recomputed is the run's convolution when it wrote no output, and src, on the
	// run of the convolution after it, that convolution (recompute.go).
	recomputed, src *Conv2D
}

var (
	_ Layer     = (*Sequential)(nil)
	_ Container = (*Sequential)(nil)
)

// Seq returns a Sequential of the given layers.
func Seq(layers ...Layer) *Sequential { return &Sequential{Layers: layers} }

// Children implements Container.
func (s *Sequential) Children() []Layer { return s.Layers }

// OutShape implements Layer.
func (s *Sequential) OutShape(in Shape) (Shape, error) {
	for i, l := range s.Layers {
		out, err := l.OutShape(in)
		if err != nil {
			return Shape{}, fmt.Errorf("layer %d: %w", i, err)
		}
		in = out
	}
	return in, nil
}

// Cost implements Layer.
func (s *Sequential) Cost(in Shape) Cost {
	var c Cost
	for _, l := range s.Layers {
		c = c.Add(l.Cost(in))
		in, _ = l.OutShape(in)
	}
	return c
}

// fusion returns how many layers from i run as one pass (1 when none is fused) and
// what the batch norm at i fuses.
func (s *Sequential) fusion(i int) (int, bnFuse) {
	f := bnFuse{groups: 1}
	if _, ok := s.Layers[i].(*BatchNorm2D); !ok {
		return 1, f
	}
	k := 1
	if i+k < len(s.Layers) {
		switch s.Layers[i+k].(type) {
		case *ReLU:
			f.act, k = ActReLU, k+1
		case *ReLU6:
			f.act, k = ActReLU6, k+1
		}
	}
	if i+k < len(s.Layers) {
		if sh, ok := s.Layers[i+k].(*ChannelShuffle); ok {
			f.groups, k = sh.groups, k+1
		}
	}
	return k, f
}

// Forward implements Layer.
//
// Besides fusing a batch norm with what follows it, Forward lets a convolution
// compute the statistics of its output for a batch norm after it, and a batch norm
// hand its normalization to a convolution after it instead of writing its output
// (fast_fuse.go); the results are bit for bit the same.
func (s *Sequential) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	s.runs = s.runs[:0]
	s.tail = nil
	pending := s.entry   // a batch norm whose normalization the next layer applies
	var producer *Conv2D // a convolution whose output the next convolution recomputes
	for i := 0; i < len(s.Layers); {
		k, f := s.fusion(i)
		convs, fusable := s.fusableConvs(i, x)
		for _, c := range convs {
			c.xin = nil
			if pending != nil && fusable {
				c.xin = &pending.fin
			}
		}
		pools := s.pools
		for _, p := range pools {
			p.xin = nil
			if pending != nil && fusable {
				p.xin = &pending.fin
			}
		}
		if pending != nil && !fusable {
			return nil, fmt.Errorf("layer %d: internal error: batch norm output not written", i)
		}
		run := seqRun{start: i, count: k, fuse: f, conv: fusable && len(convs) > 0, pooled: fusable && len(pools) > 0, fed: pending}
		pending = nil
		var rec *Conv2D
		if _, atBN := s.Layers[i].(*BatchNorm2D); !atBN {
			// recomputable vouches for the batch norm run between the two.
			if producer != nil && fusable && len(convs) > 0 {
				run.src = producer
				for _, c := range convs {
					c.src = producer
				}
			} else if fusable && len(convs) == 1 && s.recomputable(i, x) {
				rec = convs[0]
				run.recomputed, rec.rec.on = rec, true
			}
			producer = nil
		}
		var stats *BatchNorm2D
		if bn, ok := s.nextBN(i, k); ok && fusable && len(convs) > 0 && len(pools) == 0 {
			stats = bn
			n := x.Shape()[0]
			bn.stats = grow(bn.stats, 3*n*bn.c)
			for _, c := range convs {
				c.yst = bn.stats
			}
		}
		var y *tensor.Dense
		var err error
		t0 := s.clockStart()
		bn, isBN := s.Layers[i].(*BatchNorm2D)
		switch {
		case isBN && (s.consumerAt(i+k, x) || s.leaveTail && i+k == len(s.Layers) && fuseConvBN):
			y, err = s.forwardFused(i, k, f, x, true)
			if err == nil {
				lo, hi, mask := f.bounds()
				bn.fin = bnInput{ca: bn.ca, cb: bn.cb, lo: lo, hi: hi, groups: f.shuffleGroups(), c: bn.c,
					mean: bn.mean, mask: mask}
				pending, y = bn, x
			}
		case k > 1:
			y, err = s.forwardFused(i, k, f, x, false)
		case isBN && k == 1 && i+k == len(s.Layers) && s.addend != nil && fuseConvBN && sameShape(s.addend, x):
			bn.addend = s.addend.Float32s()
			y, err = bn.Forward(x)
			bn.addend = nil
			s.addendUsed = err == nil
		default:
			y, err = s.forwardLayer(i, x)
		}
		for _, c := range convs {
			// Backward sets xin again: a convolution called on its own never
			// sees another layer's normalization.
			c.yst, c.xin, c.src = nil, nil, nil
		}
		if rec != nil {
			rec.rec.on = false
			if err == nil {
				producer = rec
			}
		}
		for _, p := range pools {
			p.xin = nil
		}
		if stats != nil {
			stats.preStats = err == nil
		}
		if err != nil {
			return nil, fmt.Errorf("layer %d: %w", i, err)
		}
		s.timeRun(i, k, false, t0)
		s.runs = append(s.runs, run)
		x = y
		i += k
	}
	s.tail = pending
	return x, nil
}

// crossFuse turns on the fusion across layers of forwardLayer; tests switch it off
// to compare. On reference_net, where it fuses the stem's batch norm (1.5 ms of a
// 59 ms training step at batch 128 on its own), a step took 1-2% less time
// (BenchmarkCrossFuse: on/off 0.973-1.023, median 0.98, in six runs).
var crossFuse = true

// unblock returns the layer that l wraps when l is a Block (through nested Blocks),
// else l: a Block only names its body, so the fused passes see MixConv, which
// NewMixConv builds as a Block, as the Conv2D or SplitApply it is.
func unblock(l Layer) Layer {
	for {
		b, ok := l.(*Block)
		if !ok {
			return l
		}
		l = b.Body
	}
}

// innerSeq returns the Sequential that runs l's layers, when l is one or a Block
// around one, or nil.
func innerSeq(l Layer) *Sequential {
	switch l := l.(type) {
	case *Sequential:
		return l
	case *Block:
		return innerSeq(l.Body)
	}
	return nil
}

// recomputable reports whether layer i, a convolution, can leave its output to be
// recomputed (recompute.go) given its input x: it runs on the gpw kernels, and
// layer i+1 is a batch norm, fused with what follows it, that leaves its
// normalization to a depthwise convolution after them which reads its input one
// plane at a time (Conv2D.depthwiseInPlace), or to a MixConv whose parts run joint
// passes (SplitApply.jointParts). Those three runs are then the only
// readers of the output: the convolution (its batch norm's backward apply, bnGrad),
// the batch norm (its statistics, which the convolution computes) and the depthwise
// convolution.
func (s *Sequential) recomputable(i int, x *tensor.Dense) bool {
	if !recomputeConv || !fuseConvBN || i+2 >= len(s.Layers) {
		return false
	}
	c, ok := unblock(s.Layers[i]).(*Conv2D)
	if !ok {
		return false
	}
	if _, ok := s.Layers[i+1].(*BatchNorm2D); !ok {
		return false
	}
	_, in, err := ShapeOf(x)
	if err != nil || !c.recomputes(in) {
		return false
	}
	mid, err := c.OutShape(in)
	if err != nil {
		return false
	}
	k, _ := s.fusion(i + 1)
	if i+1+k >= len(s.Layers) {
		return false
	}
	switch d := unblock(s.Layers[i+1+k]).(type) {
	case *Conv2D:
		return d != c && d.depthwiseInPlace(mid)
	case *SplitApply:
		// MixConv's parts, which recompute each sample once for all of them only
		// in joint passes (split_joint.go).
		return d.jointParts(x.Shape()[0], mid) != nil
	}
	return false
}

// forwardLayer runs layer i on x. When layer i is (a Block around) a Sequential
// that ends in a batch norm, and layer i+1 one whose first layer can apply that
// batch norm's normalization to its input (a stem's batch norm and the first 1x1
// convolution of the block after it), the batch norm writes no output and layer i
// returns the batch norm's input, which layer i+1's first layer normalizes as it
// reads it: the passes the two Sequentials save are those of fast_fuse.go, and the
// results are bit for bit the same. The next call, for layer i+1, hands it the
// batch norm; a Forward of layer i+1 on its own never sees it.
func (s *Sequential) forwardLayer(i int, x *tensor.Dense) (*tensor.Dense, error) {
	l := s.Layers[i]
	in := innerSeq(l)
	if in == nil {
		return l.Forward(x)
	}
	if i > 0 {
		if prev := innerSeq(s.Layers[i-1]); prev != nil && prev.tail != nil {
			in.entry, prev.tail = prev.tail, nil
			defer func() { in.entry = nil }()
		}
	}
	if s.nextTakesTail(i, x) {
		in.leaveTail = true
		defer func() { in.leaveTail = false }()
	}
	return l.Forward(x)
}

// nextTakesTail reports whether layer i+1 is (a Block around) a Sequential whose
// first layer can apply the normalization of a batch norm ending layer i, given
// layer i's input x.
func (s *Sequential) nextTakesTail(i int, x *tensor.Dense) bool {
	if !crossFuse || !fuseConvBN || i+1 >= len(s.Layers) {
		return false
	}
	next := innerSeq(s.Layers[i+1])
	if next == nil {
		return false
	}
	_, in, err := ShapeOf(x)
	if err != nil {
		return false
	}
	mid, err := s.Layers[i].OutShape(in)
	return err == nil && next.consumerAtShape(0, mid)
}

// fusableConvs returns the convolutions that layer i is made of, a Conv2D or a
// SplitApply of depthwise parts (SplitApply.feedable; or a Block around one, see
// unblock), and whether they read the input x in place, so that they can take a
// batch norm's normalization on the fly and compute the statistics of their output
// in place. It leaves in s.pools the poolings of an octave split that take the
// normalization with them (convsOf).
func (s *Sequential) fusableConvs(i int, x *tensor.Dense) ([]*Conv2D, bool) {
	s.pools = s.pools[:0]
	if !fuseConvBN {
		return s.convsOf(s.Layers[i]), false
	}
	switch l := unblock(s.Layers[i]).(type) {
	case *Conv2D:
		return s.convsOf(l), true
	case *SplitApply:
		s.convsOf(l)
		_, in, err := ShapeOf(x)
		if err != nil {
			return s.convs, false
		}
		ins, _, _, err := l.partShapes(in)
		return s.convs, err == nil && l.feedable(ins)
	}
	return nil, false
}

// convsOf returns the convolutions of l, a Conv2D or the Conv2D parts of a
// SplitApply and of the SplitApplys among its parts (or of a Block around one), in
// the scratch s.convs, and leaves in s.pools the poolings that start its
// low-frequency parts (Sequential.edges).
func (s *Sequential) convsOf(l Layer) []*Conv2D {
	s.convs, s.pools = s.convs[:0], s.pools[:0]
	s.collectConvs(l)
	return s.convs
}

func (s *Sequential) collectConvs(l Layer) {
	switch l := unblock(l).(type) {
	case *Conv2D:
		s.convs = append(s.convs, l)
	case *SplitApply:
		for _, p := range l.Layers {
			switch p := unblock(p).(type) {
			case *Conv2D, *SplitApply:
				s.collectConvs(p)
			case *Sequential:
				if p.edges() {
					s.pools = append(s.pools, p.Layers[0].(*AvgPool2D))
				}
			}
		}
	}
}

// consumerAt reports whether layer j exists and can apply a batch norm's
// normalization to its input x itself (see fusableConvs).
func (s *Sequential) consumerAt(j int, x *tensor.Dense) bool {
	_, in, err := ShapeOf(x)
	return err == nil && s.consumerAtShape(j, in)
}

// consumerAtShape is consumerAt for an input of shape in.
func (s *Sequential) consumerAtShape(j int, in Shape) bool {
	if j >= len(s.Layers) || !fuseConvBN {
		return false
	}
	switch l := unblock(s.Layers[j]).(type) {
	case *Conv2D:
		return true
	case *SplitApply:
		ins, _, _, err := l.partShapes(in)
		return err == nil && l.feedable(ins)
	}
	return false
}

// nextBN returns the batch norm at layer i+k if it is one in training mode, the
// layer whose batch statistics the run at i can compute.
func (s *Sequential) nextBN(i, k int) (*BatchNorm2D, bool) {
	if i+k >= len(s.Layers) {
		return nil, false
	}
	bn, ok := s.Layers[i+k].(*BatchNorm2D)
	return bn, ok && bn.training
}

// forwardFused runs layers i..i+k-1, a batch norm and what fuses into it, as one
// pass writing into the last layer's output buffer, and leaves the fused layers in
// the state their own Backward expects where that state exists: a shuffle can
// always go back, an activation only if it is last (it needs its output).
//
// With noApply the batch norm computes its coefficients but writes no output: the
// next layer applies them (fast_fuse.go), and no fused layer holds its output.
func (s *Sequential) forwardFused(i, k int, f bnFuse, x *tensor.Dense, noApply bool) (*tensor.Dense, error) {
	n, in, err := ShapeOf(x)
	if err != nil {
		return nil, err
	}
	for j := 1; j < k; j++ {
		if _, err := s.Layers[i+j].OutShape(in); err != nil {
			return nil, fmt.Errorf("fused layer %d: %w", i+j, err)
		}
	}
	var out *buffer
	switch l := s.Layers[i+k-1].(type) {
	case *ReLU:
		out = &l.a.out
	case *ReLU6:
		out = &l.a.out
	case *ChannelShuffle:
		out = &l.out
	}
	bn := s.Layers[i].(*BatchNorm2D)
	if k == 1 {
		out = &bn.out
	}
	bn.noApply = noApply
	y, err := bn.forwardFused(x, f, out)
	bn.noApply = false
	if err != nil {
		return nil, err
	}
	for j := 1; j < k; j++ {
		switch l := s.Layers[i+j].(type) {
		case *ReLU:
			l.a.fused(n, in, j == k-1 && !noApply)
		case *ReLU6:
			l.a.fused(n, in, j == k-1 && !noApply)
		case *ChannelShuffle:
			l.n, l.in, l.ready = n, in, true
		}
	}
	return y, nil
}

// Backward implements Layer.
//
// Besides the backward halves of Forward's fusions, Backward runs the backward pass
// of an expansion within that of the depthwise convolution after it where it can
// (fold.go); the results are those of the layers run one by one within rounding.
func (s *Sequential) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if len(s.runs) == 0 {
		// No Forward yet: the layers report it.
		for i := len(s.Layers) - 1; i >= 0; i-- {
			dx, err := s.Layers[i].Backward(dy)
			if err != nil {
				return nil, fmt.Errorf("layer %d: %w", i, err)
			}
			dy = dx
		}
		return dy, nil
	}
	var pending *BatchNorm2D // a batch norm whose input gradient the next run computes
	var folded *Conv2D       // a depthwise convolution that ran the backward of run foldRun
	foldRun := -1
	var omitted *Conv2D // a convolution whose input gradient run omitRun recomputes
	omitRun := -1
	for r := len(s.runs) - 1; r >= 0; r-- {
		run := s.runs[r]
		if run.start+run.count > len(s.Layers) {
			return nil, fmt.Errorf("layer %d: layers changed since forward", run.start)
		}
		var dx *tensor.Dense
		var err error
		t0 := s.clockStart()
		bn, isBN := s.Layers[run.start].(*BatchNorm2D)
		switch {
		case r == foldRun:
			var addend []float32
			if r == 0 && s.dxAddend != nil && sameShape(s.dxAddend, folded.fold.p.dx.t) {
				addend = s.dxAddend.Float32s()
				s.dxAddendUsed = true
			}
			dx = folded.foldFinish(addend)
			folded, foldRun, pending = nil, -1, nil
		case run.conv:
			if parts, p, fbn, ok := s.foldable(r); ok {
				prod := s.runs[r-2]
				d := parts[0]
				d.foldPrepare(parts, p, fbn, prod.fed, prod.src)
				folded, foldRun = d, r-2
			}
			q, omit := s.dxOmittable(r)
			if omit {
				q.dxOmit = true
			}
			dx, err = s.backwardConv(run, dy, pending)
			if omit {
				// Q's pass state stays for run r-2 to recompute the gradient from.
				omitted, omitRun = q, r-2
				if pending != nil {
					q.dyin = &pending.bout
				}
			}
			if r == omitRun {
				omitted.dxEnd()
				omitted, omitRun = nil, -1
			}
			pending = nil
		case isBN && (run.count > 1 || bn.fin.red != nil || (r > 0 && s.runs[r-1].conv)):
			bn.preReduced = bn.fin.red != nil
			bn.noApplyBack = r > 0 && s.runs[r-1].conv && !s.runs[r-1].pooled
			dx, err = bn.backwardFused(dy, run.fuse)
			bn.preReduced, bn.fin.red = false, nil
			if bn.noApplyBack && err == nil {
				lo, hi, mask := run.fuse.bounds()
				bn.bout = bnGrad{z: bn.x.Float32s(), ca: bn.ca, cb: bn.cb, k: bn.k, lo: lo, hi: hi, mask: mask,
					groups: run.fuse.shuffleGroups(), c: bn.c}
				bn.bout.src = s.runs[r-1].recomputed
				if omitRun == r-1 {
					bn.bout.dx = omitted
				}
				pending, dx = bn, dy
			}
			bn.noApplyBack = false
		default:
			dx, err = s.Layers[run.start].Backward(dy)
		}
		if err != nil {
			if folded != nil {
				folded.foldAbort()
			}
			if omitted != nil {
				omitted.dxEnd()
			}
			return nil, fmt.Errorf("layer %d: %w", run.start, err)
		}
		s.timeRun(run.start, run.count, true, t0)
		dy = dx
	}
	return dy, nil
}

// backwardConv runs the backward pass of a convolution run: if it applied the
// normalization of the batch norm before it (run.fed), it also computes that batch
// norm's reductions of its input gradient, and if bn, the batch norm after it, left
// its input gradient to it, it computes that from dy, the gradient at bn's output.
func (s *Sequential) backwardConv(run seqRun, dy *tensor.Dense, bn *BatchNorm2D) (*tensor.Dense, error) {
	in := s.Layers[run.start]
	convs := s.convsOf(in)
	if f := run.fed; f != nil {
		f.red = grow(f.red, 2*f.n*f.c)
		f.fin.red = f.red
	}
	pools := s.pools
	for _, c := range convs {
		c.dyin, c.xin = nil, nil
		if bn != nil {
			c.dyin = &bn.bout
		}
		if run.fed != nil {
			c.xin = &run.fed.fin
		}
		c.src = run.src
	}
	for _, p := range pools {
		p.xin = nil
		if run.fed != nil {
			p.xin = &run.fed.fin
		}
	}
	dx, err := in.Backward(dy)
	for _, c := range convs {
		c.dyin, c.xin, c.src = nil, nil, nil
	}
	for _, p := range pools {
		p.xin = nil
	}
	if err != nil && run.fed != nil {
		run.fed.fin.red = nil
	}
	return dx, err
}

// sameShape reports whether tensors a and b have the same shape.
func sameShape(a, b *tensor.Dense) bool { return slices.Equal(a.Shape(), b.Shape()) }
