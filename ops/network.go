package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"text/tabwriter"

	"gorgonia.org/tensor"
)

// Describer is implemented by layers that can name themselves and their key settings
// for a network's layer table, such as "MaxPool2D 3x3/2 ceil". Layers without it
// are named by their Go type.
type Describer interface {
	Describe() string
}

// ShapeWalker is implemented by containers that can say which per-sample input shape
// each of their children sees, so that a network's layer table can price every leaf
// layer at its own input. ChildShapes returns one shape per entry of Children (the
// zero Shape for a nil child) for an input shape that the container's OutShape
// accepts.
type ShapeWalker interface {
	ChildShapes(in Shape) []Shape
}

var (
	_ ShapeWalker = (*Sequential)(nil)
	_ ShapeWalker = (*Residual)(nil)
	_ ShapeWalker = (*Branches)(nil)
	_ ShapeWalker = (*SplitApply)(nil)
)

// ChildShapes implements ShapeWalker: each layer sees the output of the one before.
func (s *Sequential) ChildShapes(in Shape) []Shape {
	ss := make([]Shape, len(s.Layers))
	for i, l := range s.Layers {
		ss[i] = in
		out, err := l.OutShape(in)
		if err != nil {
			break
		}
		in = out
	}
	return ss
}

// ChildShapes implements ShapeWalker: the body and the shortcut see the input, the
// post layer the body's output.
func (r *Residual) ChildShapes(in Shape) []Shape {
	ss := []Shape{in, {}, {}}
	if r.Shortcut != nil {
		ss[1] = in
	}
	if r.Post != nil {
		ss[2], _ = r.Body.OutShape(in)
	}
	return ss
}

// ChildShapes implements ShapeWalker: every branch sees the input.
func (b *Branches) ChildShapes(in Shape) []Shape {
	ss := make([]Shape, len(b.Layers))
	for i, l := range b.Layers {
		if l != nil {
			ss[i] = in
		}
	}
	return ss
}

// ChildShapes implements ShapeWalker: layer i sees the i-th channel split.
func (s *SplitApply) ChildShapes(in Shape) []Shape {
	ss := make([]Shape, len(s.Layers))
	for i, l := range s.Layers {
		if l != nil && i < len(s.Splits) {
			ss[i] = Shape{s.Splits[i], in.H, in.W}
		}
	}
	return ss
}

// LayerInfo is one row of a network's layer table: a leaf layer, the shapes it sees
// and its price.
type LayerInfo struct {
	// Path names the layer as Walk does: child indices joined by dots.
	Path string
	// Kind names the layer and its settings (see Describer).
	Kind string
	// In and Out are the layer's per-sample input and output shapes.
	In, Out Shape
	// Cost is the layer's price for one sample at In.
	Cost Cost
}

// Network is a root layer with the per-sample input shape it was checked against:
// the unit that nas prices, trains and evaluates. Its structure must not change
// after NewNetwork, which caches the parameter list.
type Network struct {
	root   Layer
	in     Shape
	out    Shape
	cost   Cost
	params []*Param
	clock  *layerClock // per-layer times, when TimeLayers turned them on
}

// NewNetwork checks that root accepts inputs of shape in and returns the network.
func NewNetwork(root Layer, in Shape) (*Network, error) {
	if root == nil {
		return nil, fmt.Errorf("network: no root layer")
	}
	if !in.valid() {
		return nil, fmt.Errorf("network: input shape %v is empty", in)
	}
	out, err := root.OutShape(in)
	if err != nil {
		return nil, fmt.Errorf("network: input %v: %w", in, err)
	}
	return &Network{root: root, in: in, out: out, cost: root.Cost(in), params: Params(root)}, nil
}

// Root returns the network's root layer.
func (n *Network) Root() Layer { return n.root }

// Input returns the per-sample input shape.
func (n *Network) Input() Shape { return n.in }

// OutShape returns the per-sample output shape.
func (n *Network) OutShape() Shape { return n.out }

// Cost returns the network's MACs and parameters for one sample at its input shape.
func (n *Network) Cost() Cost { return n.cost }

// Params returns the network's parameters, named by their paths ("2.0.weight"). The
// slice is shared; callers must not modify it.
func (n *Network) Params() []*Param { return n.params }

// ParamCount returns the number of trainable values in the network.
func (n *Network) ParamCount() int64 {
	var c int64
	for _, p := range n.params {
		c += int64(p.Size())
	}
	return c
}

// Forward computes the network's output for a batch x of samples of its input shape.
func (n *Network) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	_, s, err := ShapeOf(x)
	if err != nil {
		return nil, fmt.Errorf("network: %w", err)
	}
	if s != n.in {
		return nil, fmt.Errorf("network: input of shape %v, want %v", s, n.in)
	}
	return n.root.Forward(x)
}

// Backward takes the gradient of the loss with respect to the output of the last
// Forward, adds the parameters' gradients into their Grad tensors and returns the
// gradient with respect to the input.
func (n *Network) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	return n.root.Backward(dy)
}

// SetTraining switches every layer with a mode, such as batch norm, to training or
// evaluation.
func (n *Network) SetTraining(training bool) { SetTraining(n.root, training) }

// ZeroGrad sets every parameter gradient to zero.
func (n *Network) ZeroGrad() {
	for _, p := range n.params {
		clear(p.Grad.Float32s())
	}
}

// Init draws every layer's initial parameters from rng, in Walk order.
func (n *Network) Init(rng *rand.Rand) { Init(n.root, rng) }

// Step does one training step on the batch x with the given labels: it clears the
// gradients, runs forward and the loss, backpropagates and lets opt update the
// parameters. It returns the batch's loss before the update. If the loss is NaN or
// infinite, Step returns it without backpropagating or updating, for the caller to
// detect with math.IsNaN or math.IsInf. Once shapes are stable and opt has its
// momentum buffers, Step allocates only what the layers' parallel loops do.
func (n *Network) Step(x *tensor.Dense, labels []int, loss *SoftmaxCrossEntropy, opt *SGD) (float64, error) {
	y, err := n.Forward(x)
	if err != nil {
		return 0, fmt.Errorf("network: forward: %w", err)
	}
	l, err := loss.Forward(y, labels)
	if err != nil {
		return 0, fmt.Errorf("network: loss: %w", err)
	}
	if math.IsNaN(l) || math.IsInf(l, 0) {
		return l, nil
	}
	dy, err := loss.Backward()
	if err != nil {
		return 0, fmt.Errorf("network: loss backward: %w", err)
	}
	n.ZeroGrad()
	if err := n.BackwardParams(dy); err != nil {
		return 0, err
	}
	opt.Step(n.params)
	return l, nil
}

// Layers returns the network's layer table: one row per leaf layer in Walk order,
// with the input shape the layer sees and its price there. The rows' costs add up
// to Cost. Containers implementing ShapeWalker are walked into; a container with a
// single child and no cost of its own (such as a Block) is taken to pass its input
// to that child; any other container appears as one row, with its whole cost, and so
// does the part of a walked container's cost that its children do not account for.
func (n *Network) Layers() []LayerInfo {
	var rows []LayerInfo
	layerRows("", n.root, n.in, &rows)
	return rows
}

func layerRows(path string, l Layer, in Shape, rows *[]LayerInfo) {
	out, _ := l.OutShape(in)
	total := l.Cost(in)
	leaf := LayerInfo{Path: path, Kind: describe(l), In: in, Out: out, Cost: total}
	c, ok := l.(Container)
	if !ok {
		*rows = append(*rows, leaf)
		return
	}
	children := c.Children()
	shapes := childShapes(l, children, in, total)
	if shapes == nil {
		*rows = append(*rows, leaf)
		return
	}
	at := len(*rows)
	own := total
	for i, ch := range children {
		if ch == nil {
			continue
		}
		cc := ch.Cost(shapes[i])
		own.MACs, own.Params = own.MACs-cc.MACs, own.Params-cc.Params
		layerRows(joinPath(path, itoa(i)), ch, shapes[i], rows)
	}
	if own != (Cost{}) {
		leaf.Kind += " (own)"
		leaf.Cost = own
		*rows = append((*rows)[:at], append([]LayerInfo{leaf}, (*rows)[at:]...)...)
	}
}

// childShapes returns the input shapes of a container's children, or nil if they
// are unknown.
func childShapes(l Layer, children []Layer, in Shape, total Cost) []Shape {
	if w, ok := l.(ShapeWalker); ok {
		if ss := w.ChildShapes(in); len(ss) == len(children) {
			return ss
		}
		return nil
	}
	if len(children) != 1 || children[0] == nil {
		return nil
	}
	if _, err := children[0].OutShape(in); err != nil || children[0].Cost(in) != total {
		return nil
	}
	return []Shape{in}
}

// describe names a layer for the layer table.
func describe(l Layer) string {
	if d, ok := l.(Describer); ok {
		return d.Describe()
	}
	if c, ok := l.(*Conv2D); ok {
		return describeConv(c.Config())
	}
	t := reflect.TypeOf(l)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}

// describeConv formats a convolution as "Conv2D 3x3/2 g32": kernel, stride, then
// dilation, groups ("dw" for depthwise) and bias when they are not the defaults.
func describeConv(c ConvConfig) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Conv2D %dx%d/", c.KH, c.KW)
	if c.StrideH == c.StrideW {
		fmt.Fprintf(&b, "%d", c.StrideH)
	} else {
		fmt.Fprintf(&b, "%dx%d", c.StrideH, c.StrideW)
	}
	if c.DilH > 1 || c.DilW > 1 {
		if c.DilH == c.DilW {
			fmt.Fprintf(&b, " d%d", c.DilH)
		} else {
			fmt.Fprintf(&b, " d%dx%d", c.DilH, c.DilW)
		}
	}
	switch {
	case c.Groups > 1 && c.Groups == c.In:
		b.WriteString(" dw")
	case c.Groups > 1:
		fmt.Fprintf(&b, " g%d", c.Groups)
	}
	if c.Bias {
		b.WriteString(" bias")
	}
	return b.String()
}

// Summary formats the layer table with a total line, aligned for a terminal.
func (n *Network) Summary() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(w, "path\tkind\tinput\toutput\tMACs\tparams")
	for _, r := range n.Layers() {
		fmt.Fprintf(w, "%s\t%s\t%v\t%v\t%d\t%d\n", r.Path, r.Kind, r.In, r.Out, r.Cost.MACs, r.Cost.Params)
	}
	fmt.Fprintf(w, "total\t\t%v\t%v\t%d\t%d\n", n.in, n.out, n.cost.MACs, n.cost.Params)
	w.Flush()
	return b.String()
}
