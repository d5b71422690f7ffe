package ops

import (
	"fmt"

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
// those of the copies.
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
	// inPlace records that the last Forward ran its parts in place, for Backward.
	inPlace bool
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

// Forward implements Layer.
func (s *SplitApply) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, err := ShapeOf(x)
	if err != nil {
		return nil, err
	}
	ins, _, out, err := s.partShapes(in)
	if err != nil {
		return nil, err
	}
	s.n, s.in = n, in
	if s.inPlace = s.canRunInPlace(ins); s.inPlace {
		return s.forwardInPlace(x, n, ins, out), nil
	}
	for len(s.ins) < len(ins) {
		s.ins = append(s.ins, buffer{})
	}
	// Only the parts a layer takes are copied out; a part passed through is
	// copied from x to the output once.
	xd, hw := x.Float32s(), in.H*in.W
	runs := s.runs[:0]
	for i, ci := 0, 0; i < len(ins); ci, i = ci+ins[i].C, i+1 {
		if s.Layers[i] != nil {
			p := s.ins[i].get(n, ins[i])
			runs = append(runs, chanRun{dst: p.Float32s(), dc: ins[i].C, src: xd, sc: in.C, from: ci, count: ins[i].C})
		}
	}
	s.runs = runs
	copyChannelRuns(runs, n, hw)
	s.outs = s.outs[:0]
	for i, l := range s.Layers {
		var y *tensor.Dense
		if l != nil {
			if y, err = l.Forward(s.ins[i].t); err != nil {
				return nil, fmt.Errorf("split %d: %w", i, err)
			}
		}
		s.outs = append(s.outs, y)
	}
	y := s.out.get(n, out)
	s.runs = s.gatherRuns(y.Float32s(), xd, s.outs, ins, out.C)
	copyChannelRuns(s.runs, n, out.H*out.W)
	clear(s.runs)
	return y, nil
}

// gatherRuns returns the copies of the parts' results into dst, a tensor of dc
// channels: results[i], or for a part passed through its channels of src, whose
// parts have shapes ins.
func (s *SplitApply) gatherRuns(dst, src []float32, results []*tensor.Dense, ins []Shape, dc int) []chanRun {
	runs := s.runs[:0]
	sc := 0
	for _, p := range ins {
		sc += p.C
	}
	for i, ci, co := 0, 0, 0; i < len(ins); i++ {
		r := chanRun{dst: dst, dc: dc, to: co, src: src, sc: sc, from: ci, count: ins[i].C}
		if s.Layers[i] != nil {
			_, rs, _ := ShapeOf(results[i])
			r.src, r.sc, r.from, r.count = results[i].Float32s(), rs.C, 0, rs.C
		}
		runs = append(runs, r)
		ci, co = ci+ins[i].C, co+r.count
	}
	return runs
}

// Backward implements Layer.
func (s *SplitApply) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	if s.n == 0 {
		return nil, fmt.Errorf("split: backward before forward")
	}
	_, outs, _, err := s.partShapes(s.in)
	if err != nil {
		return nil, err
	}
	if err := checkGrad(dy, s.n, s.shapeOut); err != nil {
		return nil, fmt.Errorf("split: %w", err)
	}
	if s.inPlace {
		return s.backwardInPlace(dy, outs), nil
	}
	for len(s.dparts) < len(outs) {
		s.dparts = append(s.dparts, buffer{})
	}
	// As in Forward: the gradient of a part passed through goes from dy to dx once.
	dyd, hw := dy.Float32s(), s.shapeOut.H*s.shapeOut.W
	runs := s.runs[:0]
	for i, co := 0, 0; i < len(outs); co, i = co+outs[i].C, i+1 {
		if s.Layers[i] != nil {
			p := s.dparts[i].get(s.n, outs[i])
			runs = append(runs, chanRun{dst: p.Float32s(), dc: outs[i].C, src: dyd, sc: s.shapeOut.C, from: co, count: outs[i].C})
		}
	}
	s.runs = runs
	copyChannelRuns(runs, s.n, hw)
	s.dxs = s.dxs[:0]
	for i, l := range s.Layers {
		var g *tensor.Dense
		if l != nil {
			if g, err = l.Backward(s.dparts[i].t); err != nil {
				return nil, fmt.Errorf("split %d: %w", i, err)
			}
		}
		s.dxs = append(s.dxs, g)
	}
	dx := s.dx.get(s.n, s.in)
	s.runs = s.gatherRuns(dx.Float32s(), dyd, s.dxs, outs, s.in.C)
	copyChannelRuns(s.runs, s.n, s.in.H*s.in.W)
	clear(s.runs)
	return dx, nil
}

// canRunInPlace reports whether every part is a depthwise Conv2D that runs on its
// channels of the whole input and output (Conv2D.depthwiseInPlace) at part shapes ins.
func (s *SplitApply) canRunInPlace(ins []Shape) bool {
	if s.copyParts {
		return false
	}
	for i, l := range s.Layers {
		c, ok := l.(*Conv2D)
		if !ok || !c.depthwiseInPlace(ins[i]) {
			return false
		}
	}
	return true
}

// forwardInPlace runs each depthwise part from its channels of x into its channels
// of the output.
func (s *SplitApply) forwardInPlace(x *tensor.Dense, n int, ins []Shape, out Shape) *tensor.Dense {
	y := s.out.get(n, out)
	xd, yd := x.Float32s(), y.Float32s()
	ci, co := 0, 0
	for i, l := range s.Layers {
		po := s.shapeOuts[i]
		l.(*Conv2D).forward(planes{xd, s.in.C, ci}, planes{yd, out.C, co}, n, ins[i], po)
		ci, co = ci+ins[i].C, co+po.C
	}
	return y
}

// backwardInPlace runs each depthwise part's backward from its channels of dy into
// its channels of the input gradient.
func (s *SplitApply) backwardInPlace(dy *tensor.Dense, outs []Shape) *tensor.Dense {
	dx := s.dx.get(s.n, s.in)
	dyd, dxd := dy.Float32s(), dx.Float32s()
	ci, co := 0, 0
	for i, l := range s.Layers {
		l.(*Conv2D).backward(planes{dyd, s.shapeOut.C, co}, planes{dxd, s.in.C, ci}, outs[i])
		ci, co = ci+s.shapeIns[i].C, co+outs[i].C
	}
	return dx
}
