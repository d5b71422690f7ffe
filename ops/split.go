package ops

import (
	"fmt"
	"slices"

	"gorgonia.org/tensor"
)

// SplitApply splits its input's channels into consecutive parts of the given sizes,
// applies Layers[i] to part i (nil passes it through) and concatenates the results.
// It is MixConv's split across kernel sizes and ShuffleNet V2's channel split.
//
// When every part is a depthwise Conv2D on the flat or direct kernels (MixConv), the
// convolutions read their parts of the input in place and write their parts of one
// output, and backward likewise, instead of copying the parts out and back: the
// kernels see the same values in the same order, so the results are bit for bit
// those of the copies. So do octave convolution's parts: a MixConv, and the
// low-frequency path whose pooling reads its part of the input and whose upsampling
// writes its part of the output (Sequential.edges).
type SplitApply struct {
	Splits []int
	Layers []Layer

	n      int
	in     Shape
	ins    []buffer
	outs   []*tensor.Dense
	out    buffer
	dparts []buffer
	dxs    []*tensor.Dense
	dx     buffer
	runs   []chanRun // the copies of the last pass; cleared after it
	copyHW int       // the values per channel of the copies copyFn runs
	copyFn func(chunk, lo, hi int)

	// The part shapes of the last input shape, so that a step does not recompute
	// (and allocate) them.
	shapeIn   Shape
	shapeIns  []Shape
	shapeOuts []Shape
	shapeOut  Shape
	shapeOK   bool

	// copyParts makes Forward copy the parts out and back even where the layers
	// could run in place; tests compare the two ways.
	copyParts bool
	// inPlace records that the last Forward ran every part in place (tests).
	inPlace bool
	// modes records how each part ran in the last Forward, for Backward.
	modes []partMode

	// The joint passes (split_joint.go): the parts as Conv2Ds when the last Forward
	// ran them joint (else empty), which pass runs, and the chunk function.
	joint    []*Conv2D
	jointFwd bool
	jointFn  func(chunk, lo, hi int)
}

var (
	_ Layer     = (*SplitApply)(nil)
	_ Container = (*SplitApply)(nil)
)

// NewSplitApply checks that there is one layer per split.
func NewSplitApply(splits []int, layers []Layer) (*SplitApply, error) {
	if len(splits) != len(layers) || len(splits) == 0 {
		return nil, fmt.Errorf("split: %d splits for %d layers", len(splits), len(layers))
	}
	for _, s := range splits {
		if s <= 0 {
			return nil, fmt.Errorf("split: sizes %v must be positive", splits)
		}
	}
	return &SplitApply{Splits: splits, Layers: layers}, nil
}

// EvenSplits divides c channels into k parts as MixConv does: equal parts, with the
// remainder added to the first.
func EvenSplits(c, k int) []int {
	s := make([]int, k)
	for i := range s {
		s[i] = c / k
	}
	s[0] += c - k*(c/k)
	return s
}

// Children implements Container.
func (s *SplitApply) Children() []Layer { return s.Layers }

func (s *SplitApply) shapes(in Shape) (ins, outs []Shape, err error) {
	total := 0
	for _, c := range s.Splits {
		total += c
	}
	if total != in.C {
		return nil, nil, fmt.Errorf("split: sizes %v do not add up to %d channels", s.Splits, in.C)
	}
	for i, c := range s.Splits {
		pi := Shape{c, in.H, in.W}
		po := pi
		if s.Layers[i] != nil {
			if po, err = s.Layers[i].OutShape(pi); err != nil {
				return nil, nil, fmt.Errorf("split %d: %w", i, err)
			}
		}
		ins, outs = append(ins, pi), append(outs, po)
	}
	return ins, outs, nil
}

// OutShape implements Layer.
func (s *SplitApply) OutShape(in Shape) (Shape, error) {
	_, outs, err := s.shapes(in)
	if err != nil {
		return Shape{}, err
	}
	return concatShape(outs)
}

// Cost implements Layer.
func (s *SplitApply) Cost(in Shape) Cost {
	var c Cost
	for i, l := range s.Layers {
		if l != nil {
			c = c.Add(l.Cost(Shape{s.Splits[i], in.H, in.W}))
		}
	}
	return c
}

// partShapes returns shapes and OutShape for in, computed once per input shape.
func (s *SplitApply) partShapes(in Shape) (ins, outs []Shape, out Shape, err error) {
	if s.shapeOK && s.shapeIn == in && len(s.shapeIns) == len(s.Splits) {
		return s.shapeIns, s.shapeOuts, s.shapeOut, nil
	}
	s.shapeOK = false
	if ins, outs, err = s.shapes(in); err != nil {
		return nil, nil, Shape{}, err
	}
	if out, err = concatShape(outs); err != nil {
		return nil, nil, Shape{}, err
	}
	s.shapeIn, s.shapeIns, s.shapeOuts, s.shapeOut, s.shapeOK = in, ins, outs, out, true
	return ins, outs, out, nil
}

// partMode is how a part of the last Forward ran.
type partMode uint8

const (
	// partPassed: a nil layer; the part goes from input to output as it is.
	partPassed partMode = iota
	// partInPlace: on its channels of the whole input and output (see inPlacePart).
	partInPlace
	// partCopied: on a copy of its channels, its result copied into the output.
	partCopied
)

// inPlacePart reports whether layer l runs on its channels of larger tensors at part
// shape in: a depthwise Conv2D on the flat or direct kernels (Conv2D.depthwiseInPlace),
// a SplitApply of such parts (as an octave block's high-frequency MixConv), or a
// Sequential between an AvgPool2D and an Upsample2x (its low-frequency path, see
// Sequential.edges); or a Block around one of them (see unblock).
func inPlacePart(l Layer, in Shape) bool {
	switch l := unblock(l).(type) {
	case *Conv2D:
		return l.depthwiseInPlace(in)
	case *Sequential:
		return l.edges()
	case *SplitApply:
		ins, _, _, err := l.partShapes(in)
		if err != nil || l.copyParts {
			return false
		}
		for i, p := range l.Layers {
			if p == nil || !inPlacePart(p, ins[i]) {
				return false
			}
		}
		return true
	}
	return false
}

// Forward implements Layer.
func (s *SplitApply) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, err := ShapeOf(x)
	if err != nil {
		return nil, err
	}
	_, _, out, err := s.partShapes(in)
	if err != nil {
		return nil, err
	}
	y := s.out.get(n, out)
	if err := s.forward(whole(x.Float32s(), in.C), whole(y.Float32s(), out.C), n, in); err != nil {
		return nil, err
	}
	return y, nil
}

// forward runs the parts from the channels of x to those of y, n samples, the input
// of shape in. Parts that can run in place do; only the others' channels are copied
// out and their results back, and a part passed through is copied from x to y once.
func (s *SplitApply) forward(x, y planes, n int, in Shape) error {
	ins, outs, out, err := s.partShapes(in)
	if err != nil {
		return err
	}
	s.n, s.in = n, in
	s.modes = s.modes[:0]
	for len(s.ins) < len(ins) {
		s.ins = append(s.ins, buffer{})
	}
	hw := in.H * in.W
	runs := s.runs[:0]
	for i, ci := 0, 0; i < len(ins); ci, i = ci+ins[i].C, i+1 {
		m := partCopied
		switch l := s.Layers[i]; {
		case l == nil:
			m = partPassed
		case !s.copyParts && inPlacePart(l, ins[i]):
			m = partInPlace
		default:
			p := s.ins[i].get(n, ins[i])
			runs = append(runs, chanRun{dst: p.Float32s(), dc: ins[i].C, src: x.d, sc: x.c, from: x.c0 + ci, count: ins[i].C})
		}
		s.modes = append(s.modes, m)
	}
	s.inPlace = !slices.Contains(s.modes, partCopied) && !slices.Contains(s.modes, partPassed)
	s.runs = runs
	s.copyRuns(n, hw)
	s.outs = s.outs[:0]
	s.joint = s.joint[:0]
	if s.inPlace {
		if parts := s.jointParts(n, in); parts != nil {
			s.forwardJoint(parts, x, y, ins, outs)
			return nil
		}
	}
	for i, ci, co := 0, 0, 0; i < len(ins); ci, co, i = ci+ins[i].C, co+outs[i].C, i+1 {
		r, err := s.runPart(i, true, x.from(ci), y.from(co))
		if err != nil {
			return fmt.Errorf("split %d: %w", i, err)
		}
		s.outs = append(s.outs, r)
	}
	s.gather(y, x, s.outs, ins, outs, n, out.H*out.W)
	return nil
}

// Backward implements Layer.
func (s *SplitApply) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if s.n == 0 {
		return nil, fmt.Errorf("split: backward before forward")
	}
	if err := checkGrad(dy, s.n, s.shapeOut); err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	dx := s.dx.get(s.n, s.in)
	if err := s.backward(whole(dy.Float32s(), s.shapeOut.C), whole(dx.Float32s(), s.in.C)); err != nil {
		return nil, err
	}
	return dx, nil
}

// backward is Backward from the channels of dy to those of dx, the parts running as
// they did in the last forward.
func (s *SplitApply) backward(dy, dx planes) error {
	_, outs, _, err := s.partShapes(s.in)
	if err != nil {
		return err
	}
	ins := s.shapeIns
	for len(s.dparts) < len(outs) {
		s.dparts = append(s.dparts, buffer{})
	}
	runs := s.runs[:0]
	for i, co := 0, 0; i < len(outs); co, i = co+outs[i].C, i+1 {
		if s.modes[i] == partCopied {
			p := s.dparts[i].get(s.n, outs[i])
			runs = append(runs, chanRun{dst: p.Float32s(), dc: outs[i].C, src: dy.d, sc: dy.c, from: dy.c0 + co, count: outs[i].C})
		}
	}
	s.runs = runs
	s.copyRuns(s.n, s.shapeOut.H*s.shapeOut.W)
	s.dxs = s.dxs[:0]
	if len(s.joint) > 0 {
		s.backwardJoint(s.joint, dy, dx, ins, outs)
		return nil
	}
	for i, ci, co := 0, 0, 0; i < len(outs); ci, co, i = ci+ins[i].C, co+outs[i].C, i+1 {
		g, err := s.runPart(i, false, dy.from(co), dx.from(ci))
		if err != nil {
			return fmt.Errorf("split %d: %w", i, err)
		}
		s.dxs = append(s.dxs, g)
	}
	s.gather(dx, dy, s.dxs, outs, ins, s.n, s.in.H*s.in.W)
	return nil
}

// runPart runs part i as it ran in the last forward, on the last input shape:
// forward from a, its input channels, to b, its output channels, or backward from
// a, its output-gradient channels, to b, its input-gradient channels. A part that
// runs in place reads and writes those channel runs; a part run on a copy reads the
// copy made for it and returns its result; a part passed through does nothing here.
func (s *SplitApply) runPart(i int, fwd bool, a, b planes) (*tensor.Dense, error) {
	switch s.modes[i] {
	case partInPlace:
		in, out := s.shapeIns[i], s.shapeOuts[i]
		switch l := unblock(s.Layers[i]).(type) {
		case *Conv2D:
			if fwd {
				l.forward(a, b, s.n, in, out)
			} else {
				l.backward(a, b, out)
			}
		case *SplitApply:
			if fwd {
				return nil, l.forward(a, b, s.n, in)
			}
			return nil, l.backward(a, b)
		case *Sequential:
			if fwd {
				return nil, l.forwardEdges(a, b, s.n, in)
			}
			return nil, l.backwardEdges(a, b)
		}
	case partCopied:
		if fwd {
			return s.Layers[i].Forward(s.ins[i].t)
		}
		return s.Layers[i].Backward(s.dparts[i].t)
	}
	return nil, nil
}

// gather copies into dst, n samples of hw values per channel, the parts that did not
// run in place (gatherRuns), and drops the copies' references to the tensors.
func (s *SplitApply) gather(dst, src planes, results []*tensor.Dense, from, to []Shape, n, hw int) {
	s.runs = s.gatherRuns(dst, src, results, from, to)
	s.copyRuns(n, hw)
	clear(s.runs)
}

// copyRuns runs the copies of s.runs for n samples of hw values per channel, split
// over samples across both cores when they are large, through the one closure the
// layer keeps, so that a pass allocates nothing.
func (s *SplitApply) copyRuns(n, hw int) {
	values := 0
	for _, r := range s.runs {
		values += n * r.count * hw
	}
	s.copyHW = hw
	if values < actParallelMin {
		copyRunSamples(s.runs, hw, 0, n)
		return
	}
	if s.copyFn == nil {
		s.copyFn = func(_, lo, hi int) { copyRunSamples(s.runs, s.copyHW, lo, hi) }
	}
	parallelFor(n, s.copyFn)
}

// gatherRuns returns the copies into dst of the parts that did not run in place:
// results[i] for a part run on a copy, src's channels for a part passed through.
// from are the parts' shapes in src, to their shapes in dst.
func (s *SplitApply) gatherRuns(dst, src planes, results []*tensor.Dense, from, to []Shape) []chanRun {
	runs := s.runs[:0]
	for i, ci, co := 0, 0, 0; i < len(from); ci, co, i = ci+from[i].C, co+to[i].C, i+1 {
		r := chanRun{dst: dst.d, dc: dst.c, to: dst.c0 + co, count: to[i].C}
		switch s.modes[i] {
		case partInPlace:
			continue
		case partPassed:
			r.src, r.sc, r.from = src.d, src.c, src.c0+ci
		case partCopied:
			r.src, r.sc = results[i].Float32s(), to[i].C
		}
		runs = append(runs, r)
	}
	return runs
}

// feedable reports whether every part can read its channels of a batch norm's input
// and apply the normalization itself at part shapes ins (Sequential.fusableConvs),
// running in place: a depthwise Conv2D, a SplitApply of such parts (MixConv), or a
// low-frequency path whose pooling applies it (Sequential.edges), each of them
// possibly in a Block. That is an octave split, whose batch norm before then writes
// no output.
func (s *SplitApply) feedable(ins []Shape) bool {
	if s.copyParts {
		return false
	}
	for i, l := range s.Layers {
		switch l := unblock(l).(type) {
		case *Conv2D:
			if !l.depthwiseInPlace(ins[i]) {
				return false
			}
		case *SplitApply:
			pins, _, _, err := l.partShapes(ins[i])
			if err != nil || !l.canRunInPlace(pins) {
				return false
			}
		case *Sequential:
			if !l.edges() {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// canRunInPlace reports whether every part is a depthwise Conv2D (or a Block around
// one) that runs on its channels of the whole input and output
// (Conv2D.depthwiseInPlace) at part shapes ins.
func (s *SplitApply) canRunInPlace(ins []Shape) bool {
	if s.copyParts {
		return false
	}
	for i, l := range s.Layers {
		c, ok := unblock(l).(*Conv2D)
		if !ok || !c.depthwiseInPlace(ins[i]) {
			return false
		}
	}
	return true
}

// edges reports whether the Sequential can run as a SplitApply part on its channels
// of the whole input and output: its first layer an AvgPool2D, which reads its
// input there, and its last an Upsample2x, which writes its output there (octave
// convolution's low-frequency path). The layers between run on their own tensors,
// each through its Forward and Backward.
func (q *Sequential) edges() bool {
	if len(q.Layers) < 2 {
		return false
	}
	_, first := q.Layers[0].(*AvgPool2D)
	_, last := q.Layers[len(q.Layers)-1].(*Upsample2x)
	return first && last
}

// forwardEdges runs the layers of an edges Sequential from x's channels, n samples
// of shape in, to y's channels.
func (q *Sequential) forwardEdges(x, y planes, n int, in Shape) error {
	k := len(q.Layers)
	h, err := q.Layers[0].(*AvgPool2D).forwardFrom(x, n, in)
	if err != nil {
		return fmt.Errorf("layer 0: %w", err)
	}
	for i := 1; i < k-1; i++ {
		if h, err = q.Layers[i].Forward(h); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	if err := q.Layers[k-1].(*Upsample2x).forwardInto(h, y); err != nil {
		return fmt.Errorf("layer %d: %w", k-1, err)
	}
	return nil
}

// backwardEdges is the backward pass of forwardEdges, from dy's channels to dx's.
func (q *Sequential) backwardEdges(dy, dx planes) error {
	k := len(q.Layers)
	g, err := q.Layers[k-1].(*Upsample2x).backwardFrom(dy)
	if err != nil {
		return fmt.Errorf("layer %d: %w", k-1, err)
	}
	for i := k - 2; i >= 1; i-- {
		if g, err = q.Layers[i].Backward(g); err != nil {
			return fmt.Errorf("layer %d: %w", i, err)
		}
	}
	if err := q.Layers[0].(*AvgPool2D).backwardInto(g, dx); err != nil {
		return fmt.Errorf("layer 0: %w", err)
	}
	return nil
}
