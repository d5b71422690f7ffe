package ops

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"gorgonia.org/tensor"
)

// fixtureList returns the fixture's tensors prefix0, prefix1, ... in order.
func fixtureList(t *testing.T, f *fixture, prefix string) []*tensor.Dense {
	t.Helper()
	var ts []*tensor.Dense
	for i := 0; ; i++ {
		d, ok := f.tensors[fmt.Sprintf("%s%d", prefix, i)]
		if !ok {
			break
		}
		ts = append(ts, d)
	}
	if len(ts) == 0 {
		t.Fatalf("%s: no tensors %s0, %s1, ...", f.name, prefix, prefix)
	}
	return ts
}

// mergeOp runs one of the merge ops from a list of inputs to a list of outputs and
// back, so that the tests treat Add, Concat and Split alike.
type mergeOp interface {
	forward(xs []*tensor.Dense) ([]*tensor.Dense, error)
	backward(dys []*tensor.Dense) ([]*tensor.Dense, error)
}

type addOp struct{ Add }

func (o *addOp) forward(xs []*tensor.Dense) ([]*tensor.Dense, error) {
	y, err := o.Forward(xs...)
	return []*tensor.Dense{y}, err
}
func (o *addOp) backward(dys []*tensor.Dense) ([]*tensor.Dense, error) { return o.Backward(dys[0]) }

type concatOp struct{ Concat }

func (o *concatOp) forward(xs []*tensor.Dense) ([]*tensor.Dense, error) {
	y, err := o.Forward(xs...)
	return []*tensor.Dense{y}, err
}
func (o *concatOp) backward(dys []*tensor.Dense) ([]*tensor.Dense, error) {
	return o.Backward(dys[0])
}

type splitOp struct{ Split }

func (o *splitOp) forward(xs []*tensor.Dense) ([]*tensor.Dense, error) { return o.Forward(xs[0]) }
func (o *splitOp) backward(dys []*tensor.Dense) ([]*tensor.Dense, error) {
	dx, err := o.Backward(dys...)
	return []*tensor.Dense{dx}, err
}

// runMerge does a forward and a backward pass and returns copies of the results.
func runMerge(t *testing.T, op mergeOp, xs, dys []*tensor.Dense) (ys, dxs []*tensor.Dense) {
	t.Helper()
	out, err := op.forward(xs)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	for _, y := range out {
		ys = append(ys, clone(y))
	}
	gs, err := op.backward(dys)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	for _, g := range gs {
		dxs = append(dxs, clone(g))
	}
	return ys, dxs
}

func equalTensors(a, b []*tensor.Dense) bool {
	return slices.EqualFunc(a, b, func(x, y *tensor.Dense) bool { return slices.Equal(x.Float32s(), y.Float32s()) })
}

func cloneAll(ts []*tensor.Dense) []*tensor.Dense {
	var cs []*tensor.Dense
	for _, x := range ts {
		cs = append(cs, clone(x))
	}
	return cs
}

// TestMergeMatchesPyTorch compares Add, Concat and Split with x0 + x1 + x2,
// torch.cat and torch.split in testdata/gen/gen_pool.py, and checks the layer
// contract by hand: arguments unmodified, repeat calls identical, separate
// instances concurrent.
func TestMergeMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "merge_") {
		t.Run(f.name, func(t *testing.T) {
			var (
				mk      func() mergeOp
				xs, dys []*tensor.Dense
				ys, dxs []*tensor.Dense
			)
			switch f.str(t, "op") {
			case "add":
				mk = func() mergeOp { return &addOp{} }
				xs, dxs = fixtureList(t, f, "x"), fixtureList(t, f, "dx")
				ys, dys = []*tensor.Dense{f.tensor(t, "y")}, []*tensor.Dense{f.tensor(t, "dy")}
			case "concat":
				mk = func() mergeOp { return &concatOp{} }
				xs, dxs = fixtureList(t, f, "x"), fixtureList(t, f, "dx")
				ys, dys = []*tensor.Dense{f.tensor(t, "y")}, []*tensor.Dense{f.tensor(t, "dy")}
			case "split":
				var sizes []int
				for _, v := range f.config["sizes"].([]any) {
					sizes = append(sizes, int(v.(float64)))
				}
				mk = func() mergeOp {
					s, err := NewSplit(sizes...)
					if err != nil {
						t.Fatal(err)
					}
					return &splitOp{*s}
				}
				xs, dxs = []*tensor.Dense{f.tensor(t, "x")}, []*tensor.Dense{f.tensor(t, "dx")}
				ys, dys = fixtureList(t, f, "y"), fixtureList(t, f, "dy")
			default:
				t.Fatalf("unknown op %q", f.str(t, "op"))
			}
			xs0, dys0 := cloneAll(xs), cloneAll(dys)
			op := mk()
			gotY, gotDX := runMerge(t, op, xs, dys)
			if len(gotY) != len(ys) || len(gotDX) != len(dxs) {
				t.Fatalf("%d outputs and %d input gradients, want %d and %d", len(gotY), len(gotDX), len(ys), len(dxs))
			}
			// The merge ops copy and add whole values, as PyTorch does: exact.
			for i := range ys {
				assertClose(t, fmt.Sprintf("y%d", i), gotY[i], ys[i], 0)
				if !slices.Equal(gotY[i].Shape(), ys[i].Shape()) {
					t.Errorf("y%d has shape %v, want %v", i, gotY[i].Shape(), ys[i].Shape())
				}
			}
			for i := range dxs {
				assertClose(t, fmt.Sprintf("dx%d", i), gotDX[i], dxs[i], 0)
				if !slices.Equal(gotDX[i].Shape(), dxs[i].Shape()) {
					t.Errorf("dx%d has shape %v, want %v", i, gotDX[i].Shape(), dxs[i].Shape())
				}
			}
			if !equalTensors(xs, xs0) || !equalTensors(dys, dys0) {
				t.Errorf("the op modified its arguments")
			}
			y2, dx2 := runMerge(t, op, xs, dys)
			if !equalTensors(y2, gotY) || !equalTensors(dx2, gotDX) {
				t.Errorf("a second call gave different results")
			}
			var wg sync.WaitGroup
			for range 3 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					op := mk()
					ys, err := op.forward(xs)
					if err != nil {
						t.Errorf("concurrent forward: %v", err)
						return
					}
					if !equalTensors(ys, gotY) {
						t.Errorf("concurrent instances gave different outputs")
					}
					gs, err := op.backward(dys)
					if err != nil {
						t.Errorf("concurrent backward: %v", err)
						return
					}
					if !equalTensors(gs, gotDX) {
						t.Errorf("concurrent instances gave different gradients")
					}
				}()
			}
			wg.Wait()
		})
	}
}

// TestAddGradientsAreOwned checks that Add's input gradients are separate copies:
// changing one changes neither dy nor the others.
func TestAddGradientsAreOwned(t *testing.T) {
	var a Add
	x := randTensor(1, 2, Shape{2, 3, 3})
	if _, err := a.Forward(x, x); err != nil {
		t.Fatal(err)
	}
	dy := randTensor(2, 2, Shape{2, 3, 3})
	gs, err := a.Backward(dy)
	if err != nil {
		t.Fatal(err)
	}
	gs[0].Float32s()[0] += 1
	if gs[1].Float32s()[0] != dy.Float32s()[0] || gs[0].Float32s()[0] == dy.Float32s()[0] {
		t.Errorf("Add's gradients share memory with dy or with each other")
	}
}

func TestMergeShapesAndErrors(t *testing.T) {
	var (
		a Add
		c Concat
	)
	if s, err := a.OutShape(Shape{4, 5, 5}, Shape{4, 5, 5}); err != nil || s != (Shape{4, 5, 5}) {
		t.Errorf("Add.OutShape(4x5x5, 4x5x5) = %v, %v, want %v", s, err, Shape{4, 5, 5})
	}
	if _, err := a.OutShape(Shape{4, 5, 5}, Shape{3, 5, 5}); err == nil {
		t.Errorf("Add.OutShape accepted different channels")
	}
	if _, err := a.OutShape(); err == nil {
		t.Errorf("Add.OutShape accepted no inputs")
	}
	if s, err := c.OutShape(Shape{4, 5, 5}, Shape{3, 5, 5}); err != nil || s != (Shape{7, 5, 5}) {
		t.Errorf("Concat.OutShape(4x5x5, 3x5x5) = %v, %v, want %v", s, err, Shape{7, 5, 5})
	}
	if _, err := c.OutShape(Shape{4, 5, 5}, Shape{3, 4, 5}); err == nil {
		t.Errorf("Concat.OutShape accepted different heights")
	}
	if a.Cost(Shape{4, 5, 5}, Shape{4, 5, 5}) != (Cost{}) || c.Cost(Shape{4, 5, 5}) != (Cost{}) {
		t.Errorf("merge ops have a nonzero cost")
	}
	if _, err := a.Backward(randTensor(1, 1, Shape{1, 1, 1})); err == nil {
		t.Errorf("Add.Backward before Forward succeeded")
	}
	if _, err := c.Backward(randTensor(1, 1, Shape{1, 1, 1})); err == nil {
		t.Errorf("Concat.Backward before Forward succeeded")
	}
	if _, err := a.Forward(); err == nil {
		t.Errorf("Add.Forward of nothing succeeded")
	}
	if _, err := a.Forward(randTensor(1, 2, Shape{2, 3, 3}), randTensor(1, 3, Shape{2, 3, 3})); err == nil {
		t.Errorf("Add.Forward accepted different batch sizes")
	}
	if _, err := a.Forward(randTensor(1, 2, Shape{2, 3, 3}), randTensor(1, 2, Shape{2, 3, 4})); err == nil {
		t.Errorf("Add.Forward accepted different shapes")
	}
	if _, err := c.Forward(randTensor(1, 2, Shape{2, 3, 3}), randTensor(1, 2, Shape{2, 4, 3})); err == nil {
		t.Errorf("Concat.Forward accepted different heights")
	}
	if _, err := c.Forward(randTensor(1, 2, Shape{2, 3, 3}), randTensor(1, 2, Shape{1, 3, 3})); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Backward(randTensor(1, 2, Shape{2, 3, 3})); err == nil {
		t.Errorf("Concat.Backward accepted a gradient of the wrong shape")
	}

	for _, sizes := range [][]int{nil, {2, 0}, {-1, 3}} {
		if _, err := NewSplit(sizes...); err == nil {
			t.Errorf("NewSplit(%v) succeeded, want an error", sizes)
		}
	}
	s := &Split{Sizes: []int{2, 3}}
	got, err := s.OutShapes(Shape{5, 4, 6})
	if want := []Shape{{2, 4, 6}, {3, 4, 6}}; err != nil || !slices.Equal(got, want) {
		t.Errorf("Split%v.OutShapes(5x4x6) = %v, %v, want %v", s.Sizes, got, err, want)
	}
	if _, err := s.OutShapes(Shape{6, 4, 6}); err == nil {
		t.Errorf("Split%v accepted 6 channels", s.Sizes)
	}
	if _, err := s.Backward(); err == nil {
		t.Errorf("Split.Backward before Forward succeeded")
	}
	if _, err := s.Forward(randTensor(1, 1, Shape{4, 2, 2})); err == nil {
		t.Errorf("Split%v.Forward accepted 4 channels", s.Sizes)
	}
	ps, err := s.Forward(randTensor(1, 1, Shape{5, 2, 2}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Backward(ps[0]); err == nil {
		t.Errorf("Split.Backward accepted one gradient for two parts")
	}
	if _, err := s.Backward(ps[1], ps[0]); err == nil {
		t.Errorf("Split.Backward accepted the parts' gradients in the wrong order")
	}
}

// TestMergeNoAllocs checks that a step through the merge ops does not allocate once
// shapes are stable.
func TestMergeNoAllocs(t *testing.T) {
	var (
		a Add
		c Concat
	)
	s := &Split{Sizes: []int{1, 2}}
	x1, x2 := randTensor(1, 2, Shape{3, 4, 4}), randTensor(2, 2, Shape{3, 4, 4})
	step := func() {
		y, err := a.Forward(x1, x2)
		if err != nil {
			t.Fatal(err)
		}
		parts, err := s.Forward(y)
		if err != nil {
			t.Fatal(err)
		}
		z, err := c.Forward(parts[1], parts[0])
		if err != nil {
			t.Fatal(err)
		}
		gs, err := c.Backward(z)
		if err != nil {
			t.Fatal(err)
		}
		dx, err := s.Backward(gs[1], gs[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, err := a.Backward(dx); err != nil {
			t.Fatal(err)
		}
	}
	step()
	if n := testing.AllocsPerRun(10, step); n != 0 {
		t.Errorf("%v allocations per step, want 0", n)
	}
}
