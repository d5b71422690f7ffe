package ops

import (
	"fmt"
	"time"

	"gorgonia.org/tensor"
)

// Residual adds the output of Body to the output of Shortcut on the same input
// (He et al. 2016), then applies Post if it is set (ResNet's ReLU after the add).
// A nil Shortcut is the identity.
type Residual struct {
	Body, Shortcut, Post Layer

	sum buffer
	dx  buffer
	n   int
	// sumFolded records that the last Backward left the shortcut's gradient to the
	// body's folded backward (tests).
	sumFolded bool

	// clock, when a Network times its layers (timing.go), receives the time of the
	// shortcut sum under path.
	clock *layerClock
	path  string
}

var (
	_ Layer     = (*Residual)(nil)
	_ Container = (*Residual)(nil)
)

// Children implements Container: the body, the shortcut and the post layer, in that order.
func (r *Residual) Children() []Layer { return []Layer{r.Body, r.Shortcut, r.Post} }

// OutShape implements Layer.
func (r *Residual) OutShape(in Shape) (Shape, error) {
	b, err := r.Body.OutShape(in)
	if err != nil {
		return Shape{}, fmt.Errorf("residual body: %w", err)
	}
	s := in
	if r.Shortcut != nil {
		if s, err = r.Shortcut.OutShape(in); err != nil {
			return Shape{}, fmt.Errorf("residual shortcut: %w", err)
		}
	}
	if err := sameShapes("residual", b, s); err != nil {
		return Shape{}, err
	}
	if r.Post != nil {
		return r.Post.OutShape(b)
	}
	return b, nil
}

// Cost implements Layer.
func (r *Residual) Cost(in Shape) Cost {
	c := r.Body.Cost(in)
	if r.Shortcut != nil {
		c = c.Add(r.Shortcut.Cost(in))
	}
	if r.Post != nil {
		out, _ := r.Body.OutShape(in)
		c = c.Add(r.Post.Cost(out))
	}
	return c
}

// Forward implements Layer.
func (r *Residual) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	// The body and the shortcut check x themselves, and the sum checks that their
	// outputs agree: a full OutShape here would walk the body again every step.
	n, _, err := ShapeOf(x)
	if err != nil {
		return nil, err
	}
	r.n = n
	// With an identity shortcut, a body ending with a batch norm adds x as it
	// writes its output, saving the sum a pass over memory.
	seq, fuse := r.Body.(*Sequential)
	fuse = fuse && r.Shortcut == nil
	if fuse {
		seq.addend, seq.addendUsed = x, false
	}
	b, err := r.Body.Forward(x)
	if fuse {
		seq.addend = nil
	}
	if err != nil {
		return nil, err
	}
	if fuse && seq.addendUsed {
		if r.Post != nil {
			return r.Post.Forward(b)
		}
		return b, nil
	}
	s := x
	if r.Shortcut != nil {
		if s, err = r.Shortcut.Forward(x); err != nil {
			return nil, err
		}
	}
	_, bs, _ := ShapeOf(b)
	if _, ss, _ := ShapeOf(s); ss != bs || len(s.Float32s()) != len(b.Float32s()) {
		return nil, fmt.Errorf("residual: body output %v and shortcut output %v differ", bs, ss)
	}
	t0 := r.clock.start()
	y := r.sum.get(n, bs)
	addTensors(y.Float32s(), b.Float32s(), s.Float32s())
	r.timeSum(false, t0)
	if r.Post != nil {
		return r.Post.Forward(y)
	}
	return y, nil
}

// Backward implements Layer.
func (r *Residual) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	var err error
	if r.Post != nil {
		if dy, err = r.Post.Backward(dy); err != nil {
			return nil, err
		}
	}
	// With an identity shortcut, a body whose first layers fold their backward
	// (fold.go) adds dy to its input gradient as it writes it, saving the sum a pass
	// over memory.
	seq, fuse := r.Body.(*Sequential)
	fuse = fuse && r.Shortcut == nil && foldShortcut
	if fuse {
		seq.dxAddend, seq.dxAddendUsed = dy, false
	}
	db, err := r.Body.Backward(dy)
	r.sumFolded = fuse && seq.dxAddendUsed
	if fuse {
		seq.dxAddend, seq.dxAddendUsed = nil, false
	}
	if err != nil {
		return nil, err
	}
	if r.sumFolded {
		return db, nil
	}
	ds := dy
	if r.Shortcut != nil {
		if ds, err = r.Shortcut.Backward(dy); err != nil {
			return nil, err
		}
	}
	_, in, _ := ShapeOf(db)
	t0 := r.clock.start()
	dx := r.dx.get(r.n, in)
	addTensors(dx.Float32s(), db.Float32s(), ds.Float32s())
	r.timeSum(true, t0)
	return dx, nil
}

// foldShortcut lets Backward leave the shortcut's gradient to the body's folded
// backward; BenchmarkFoldShortcut switches it off to compare. On reference_net.py's
// training step at batch 128 (blocks 2 and 4) it took about 0.5% off (on/off 1.006,
// 0.992, 0.993 over 100 paired steps): the sums it saves took 0.1-0.2 ms each.
var foldShortcut = true

// timeSum records the time of a shortcut sum started at t0, when timed.
func (r *Residual) timeSum(backward bool, t0 time.Time) {
	if r.clock != nil {
		r.clock.add(r.path, "residual sum", backward, time.Since(t0))
	}
}

// addTensors sets z = a + b, split across both cores when the tensors are large.
func addTensors(z, a, b []float32) {
	mapBinary(z, a, b, addRow)
}
