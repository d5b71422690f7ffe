package export

import (
	"fmt"
	"slices"
	"strconv"

	"nas/ops"
)

// kind is the exported form of an ops layer type.
type kind int

// The layer kinds the exporters know. Containers first, then leaves.
const (
	kSequential kind = iota
	kResidual
	kBranches
	kSplitApply
	kBlock
	kSqueezeExcite
	kOctaveSeq
	kConv
	kBatchNorm
	kLinear
	kReLU
	kReLU6
	kHSwish
	kSigmoid
	kSwish
	kHSigmoid
	kDropout
	kShuffle
	kMaxPool
	kAvgPool
	kGlobalAvgPool
	kUpsample
	kIndexSelect
	// The learned and dynamic grouping operators (issue 8).
	kLearnedGroup
	kDGC
	kDSConv
	kScaleAgg
	kScaleBranch
	kScalePool
)

// indexSelector is the behaviour of a layer that picks input channels by index,
// as zoo.IndexSelect does (torch.index_select along the channels). It is matched by
// behaviour because this package must not import the zoo.
type indexSelector interface {
	ops.Layer
	Index() []int
}

// node is one layer of a network as the exporters see it: its kind, its path in the
// layer tree (ops.Walk's), the per-sample shapes it sees and its children, indexed
// as ops.Container.Children lists them (nil entries for absent children).
type node struct {
	kind     kind
	path     string
	layer    ops.Layer
	in, out  ops.Shape
	children []*node
	// pair is the structure of an OctaveSeq, whose children are its leaf layers.
	pair *pairNode
	// factor is the max-pooling factor of a scale branch or scale pool (1: none).
	factor int
}

// pairKind is the kind of an octave pair layer.
type pairKind int

const (
	pSeq pairKind = iota
	pConv
	pBN
	pResidual
)

// pairNode is one pair layer inside an OctaveSeq. Its leaf layers are referred to
// by their index among the OctaveSeq's children, -1 for absent ones.
type pairNode struct {
	kind   pairKind
	layers []*pairNode // pSeq
	// pConv: the four path convolutions, the kernel size and the stride.
	ll, lh, hl, hh int
	k, stride      int
	// pBN: the batch norms and activations of each part.
	bnH, bnL, actH, actL int
	// pResidual: body, shortcut (nil for the identity), post activations.
	body, shortcut *pairNode
	postH, postL   int
}

// parse builds the export tree of net, failing on the first layer it does not know.
func parse(net *ops.Network) (*node, error) {
	return parseLayer("", net.Root(), net.Input())
}

func unsupported(path string, l any) error {
	if path == "" {
		path = "(root)"
	}
	return fmt.Errorf("export: unsupported layer %T at %q", l, path)
}

func childPath(path string, i int) string {
	if path == "" {
		return strconv.Itoa(i)
	}
	return path + "." + strconv.Itoa(i)
}

func parseLayer(path string, l ops.Layer, in ops.Shape) (*node, error) {
	out, err := l.OutShape(in)
	if err != nil {
		return nil, fmt.Errorf("export: layer %q: %w", path, err)
	}
	n := &node{path: path, layer: l, in: in, out: out}
	var ins []ops.Shape
	switch t := l.(type) {
	case *ops.Sequential:
		n.kind = kSequential
		s := in
		for _, c := range t.Layers {
			ins = append(ins, s)
			if c == nil {
				return nil, fmt.Errorf("export: nil layer in the sequence at %q", path)
			}
			if s, err = c.OutShape(s); err != nil {
				return nil, fmt.Errorf("export: layer %q: %w", path, err)
			}
		}
	case *ops.Residual:
		n.kind = kResidual
		ins = t.ChildShapes(in)
	case *ops.Branches:
		n.kind = kBranches
		ins = t.ChildShapes(in)
	case *ops.SplitApply:
		n.kind = kSplitApply
		ins = t.ChildShapes(in)
	case *ops.Block:
		n.kind = kBlock
		ins = []ops.Shape{in}
	case *ops.SqueezeExcite:
		n.kind = kSqueezeExcite
		ins = []ops.Shape{in}
	case *ops.LearnedGroupConv:
		n.kind = kLearnedGroup
		if err := checkLearnedGroup(path, t); err != nil {
			return nil, err
		}
		// Every child sees the layer's input shape (batch norm, ReLU and dropout
		// keep it); ChildShapes says so too unless the layer is priced converted.
		ins = slices.Repeat([]ops.Shape{in}, len(t.Children()))
	case *ops.ScaleAggregation:
		n.kind = kScaleAgg
		return parseScaleAgg(n, t)
	case *ops.OctaveSeq:
		n.kind = kOctaveSeq
		leaves := t.Children()
		next := 0
		if n.pair, err = parsePair(path, &t.Seq, leaves, &next); err != nil {
			return nil, err
		}
		if next != len(leaves) {
			return nil, fmt.Errorf("export: octave sequence at %q: %d of its %d leaf layers accounted for", path, next, len(leaves))
		}
		for i, c := range leaves {
			cn, err := parseLeaf(childPath(path, i), c, ops.Shape{})
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, cn)
		}
		if err := checkPairLeaves(path, n.pair, n.children); err != nil {
			return nil, err
		}
		return n, nil
	default:
		return parseLeaf(path, l, in)
	}
	c := l.(ops.Container)
	for i, ch := range c.Children() {
		if ch == nil {
			n.children = append(n.children, nil)
			continue
		}
		cn, err := parseLayer(childPath(path, i), ch, ins[i])
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, cn)
	}
	return n, nil
}

// parseLeaf classifies a leaf layer. Leaves inside an octave sequence are parsed
// with a zero input shape: the exporters only need shapes of the layers outside.
func parseLeaf(path string, l ops.Layer, in ops.Shape) (*node, error) {
	n := &node{path: path, layer: l, in: in}
	if in != (ops.Shape{}) {
		n.out, _ = l.OutShape(in)
	}
	switch l.(type) {
	case *ops.Conv2D:
		n.kind = kConv
	case *ops.BatchNorm2D:
		n.kind = kBatchNorm
	case *ops.Linear:
		n.kind = kLinear
	case *ops.ReLU:
		n.kind = kReLU
	case *ops.ReLU6:
		n.kind = kReLU6
	case *ops.HSwish:
		n.kind = kHSwish
	case *ops.Sigmoid:
		n.kind = kSigmoid
	case *ops.Swish:
		n.kind = kSwish
	case *ops.HSigmoid:
		n.kind = kHSigmoid
	case *ops.Dropout:
		n.kind = kDropout
	case *ops.ChannelShuffle:
		n.kind = kShuffle
	case *ops.MaxPool2D:
		n.kind = kMaxPool
	case *ops.AvgPool2D:
		n.kind = kAvgPool
	case *ops.GlobalAvgPool:
		n.kind = kGlobalAvgPool
	case *ops.Upsample2x:
		n.kind = kUpsample
	case indexSelector:
		if _, ok := l.(ops.Container); ok {
			return nil, unsupported(path, l)
		}
		n.kind = kIndexSelect
	case *ops.DynamicGroupConv:
		n.kind = kDGC
	case *ops.DSConv:
		n.kind = kDSConv
	default:
		f, err := scalePoolFactor(path, l)
		if err != nil {
			return nil, err
		}
		n.kind, n.factor = kScalePool, f
		if _, _, want := scalePoolShape(in, f); in != (ops.Shape{}) && n.out != want {
			return nil, fmt.Errorf("export: scale pool at %q maps %v to %v, want %v", path, in, n.out, want)
		}
	}
	return n, nil
}

// checkLearnedGroup checks that a learned group convolution has the children its
// exporters assume: batch norm, ReLU, an optional dropout and the dense 1x1
// convolution without bias whose weights the mask multiplies.
func checkLearnedGroup(path string, l *ops.LearnedGroupConv) error {
	cs := l.Children()
	ok := len(cs) == 3 || len(cs) == 4
	if ok {
		_, bn := cs[0].(*ops.BatchNorm2D)
		_, relu := cs[1].(*ops.ReLU)
		conv, isConv := cs[len(cs)-1].(*ops.Conv2D)
		ok = bn && relu && isConv && conv == l.Conv() && !conv.Config().Bias
		if len(cs) == 4 {
			_, drop := cs[2].(*ops.Dropout)
			ok = ok && drop
		}
	}
	if !ok {
		return fmt.Errorf("export: learned group convolution at %q: children %v, want batch norm, ReLU, dropout (optional) and its 1x1 convolution",
			path, typeNames(cs))
	}
	return nil
}

func typeNames(ls []ops.Layer) []string {
	s := make([]string, len(ls))
	for i, l := range ls {
		s[i] = fmt.Sprintf("%T", l)
	}
	return s
}

// scalePoolFactor returns the factor of ScaleNet's max pooling layer (the stride
// pool of ops.NewScaleBottleneck): window and stride f, each clamped to the input's
// side, floor. Any other layer is unsupported.
func scalePoolFactor(path string, l ops.Layer) (int, error) {
	p, ok := l.(*ops.ScalePool)
	if !ok {
		return 0, unsupported(path, l)
	}
	return p.Factor(), nil
}

// scalePoolShape returns the shape of in max-pooled by factor f as ScaleNet pools it.
func scalePoolShape(in ops.Shape, f int) (kh, kw int, out ops.Shape) {
	kh, kw = min(f, in.H), min(f, in.W)
	return kh, kw, ops.Shape{C: in.C, H: in.H / kh, W: in.W / kw}
}

// parseScaleAgg parses a scale aggregation layer's branches: child j is the j-th
// branch with channels, whose factor is the configuration's scale at the index of
// that branch (ops.ScaleAggConfig: a branch of 0 channels does not exist).
func parseScaleAgg(n *node, l *ops.ScaleAggregation) (*node, error) {
	cfg := l.Config()
	var factors []int
	for i, o := range cfg.Out {
		if o > 0 {
			factors = append(factors, cfg.Scales[i])
		}
	}
	branches := l.Children()
	if len(branches) != len(factors) {
		return nil, fmt.Errorf("export: scale aggregation at %q has %d branches, its configuration %d", n.path, len(branches), len(factors))
	}
	for j, b := range branches {
		bn, err := parseScaleBranch(childPath(n.path, j), b, n.in, factors[j])
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, bn)
	}
	return n, nil
}

// parseScaleBranch parses one branch of a scale aggregation: max pooling by factor
// (clamped as scalePoolShape does), its convolution (child 0), resizing back to the
// input's size, then child 1, the batch norm and ReLU.
func parseScaleBranch(path string, l ops.Layer, in ops.Shape, factor int) (*node, error) {
	bad := func(why string) error {
		return fmt.Errorf("export: scale branch %T at %q: %s", l, path, why)
	}
	b, ok := l.(*ops.ScaleBranch)
	if !ok {
		return nil, bad("not ScaleNet's branch")
	}
	if b.Factor() != factor {
		return nil, bad(fmt.Sprintf("pools by %d, want %d", b.Factor(), factor))
	}
	cs := b.Children()
	if len(cs) != 2 {
		return nil, bad(fmt.Sprintf("%d children, want 2", len(cs)))
	}
	conv, isConv := cs[0].(*ops.Conv2D)
	post, isSeq := cs[1].(*ops.Sequential)
	if !isConv || !isSeq || len(post.Layers) != 2 {
		return nil, bad(fmt.Sprintf("children %v, want a convolution and a batch norm with ReLU", typeNames(cs)))
	}
	pooled := in
	if factor > 1 {
		_, _, pooled = scalePoolShape(in, factor)
	}
	shapes := b.ChildShapes(in)
	cc := conv.Config()
	if len(shapes) != 2 || shapes[0] != pooled || shapes[1] != (ops.Shape{C: cc.Out, H: in.H, W: in.W}) {
		return nil, bad(fmt.Sprintf("child shapes %v, want %v and %v", shapes, pooled, ops.Shape{C: cc.Out, H: in.H, W: in.W}))
	}
	out, err := l.OutShape(in)
	if err != nil {
		return nil, fmt.Errorf("export: layer %q: %w", path, err)
	}
	n := &node{kind: kScaleBranch, path: path, layer: l, in: in, out: out, factor: factor}
	for i, ch := range cs {
		cn, err := parseLayer(childPath(path, i), ch, shapes[i])
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, cn)
	}
	if cn := n.children[0]; cn.out.H != pooled.H || cn.out.W != pooled.W {
		// Branch kernels are 3x3 with padding 1 or 1x1: the map keeps its pooled size.
		return nil, bad(fmt.Sprintf("its convolution maps %v to %v, want the same size", cn.in, cn.out))
	}
	return n, nil
}

// parsePair builds the structure of a pair layer whose leaf layers start at index
// *next of leaves (the OctaveSeq's children, in the order PairLayer.Children lists
// them), advancing *next past them.
func parsePair(path string, p ops.PairLayer, leaves []ops.Layer, next *int) (*pairNode, error) {
	take := func() int {
		i := *next
		*next++
		return i
	}
	switch t := p.(type) {
	case *ops.PairSeq:
		n := &pairNode{kind: pSeq}
		for _, q := range t.Layers {
			c, err := parsePair(path, q, leaves, next)
			if err != nil {
				return nil, err
			}
			n.layers = append(n.layers, c)
		}
		return n, nil
	case *ops.OctConv:
		cfg := t.Config()
		lowIn, _, lowOut, _ := t.Splits()
		n := &pairNode{kind: pConv, ll: -1, lh: -1, hl: -1, hh: -1, k: cfg.K, stride: max(cfg.Stride, 1)}
		start := *next
		// OctConv.Children lists the paths that exist in the order ll, lh, hl, hh;
		// the high part is never empty (alpha < 1).
		if lowIn > 0 && lowOut > 0 {
			n.ll = take()
		}
		if lowIn > 0 {
			n.lh = take()
		}
		if lowOut > 0 {
			n.hl = take()
		}
		n.hh = take()
		if got, want := *next-start, len(t.Children()); got != want {
			return nil, fmt.Errorf("export: octave convolution at %q has %d paths, expected %d", path, want, got)
		}
		return n, nil
	case *ops.OctBN:
		cs := t.Children()
		n := &pairNode{kind: pBN, bnH: take(), bnL: -1, actH: -1, actL: -1}
		acts := cs[1:]
		if len(cs) > 1 {
			if _, ok := cs[1].(*ops.BatchNorm2D); ok {
				n.bnL = take()
				acts = cs[2:]
			}
		}
		switch {
		case len(acts) == 0:
		case len(acts) == 1 && n.bnL < 0:
			n.actH = take()
		case len(acts) == 2 && n.bnL >= 0:
			n.actH, n.actL = take(), take()
		default:
			return nil, fmt.Errorf("export: octave batch norm at %q with %d children", path, len(cs))
		}
		return n, nil
	case *ops.PairResidual:
		n := &pairNode{kind: pResidual, postH: -1, postL: -1}
		var err error
		if n.body, err = parsePair(path, t.Body, leaves, next); err != nil {
			return nil, err
		}
		if t.Shortcut != nil {
			if n.shortcut, err = parsePair(path, t.Shortcut, leaves, next); err != nil {
				return nil, err
			}
		}
		rest := len(t.Children()) - len(t.Body.Children())
		if t.Shortcut != nil {
			rest -= len(t.Shortcut.Children())
		}
		switch rest {
		case 0:
		case 2:
			n.postH, n.postL = take(), take()
		default:
			return nil, fmt.Errorf("export: octave residual at %q with %d post layers", path, rest)
		}
		return n, nil
	}
	return nil, fmt.Errorf("export: unsupported octave layer %T in %q", p, path)
}

// checkPairLeaves checks that the leaves an octave structure refers to have the kinds it
// expects.
func checkPairLeaves(path string, p *pairNode, leaves []*node) error {
	want := func(i int, ks ...kind) error {
		if i < 0 {
			return nil
		}
		if i >= len(leaves) {
			return fmt.Errorf("export: octave sequence at %q refers to leaf %d of %d", path, i, len(leaves))
		}
		for _, k := range ks {
			if leaves[i].kind == k {
				return nil
			}
		}
		return fmt.Errorf("export: octave sequence at %q: leaf %q is a %T where %v was expected", path, leaves[i].path, leaves[i].layer, ks)
	}
	acts := []kind{kReLU, kReLU6, kHSwish, kSigmoid, kSwish, kHSigmoid}
	switch p.kind {
	case pSeq:
		for _, q := range p.layers {
			if err := checkPairLeaves(path, q, leaves); err != nil {
				return err
			}
		}
	case pConv:
		for _, i := range []int{p.ll, p.lh, p.hl, p.hh} {
			if err := want(i, kConv); err != nil {
				return err
			}
		}
	case pBN:
		for _, i := range []int{p.bnH, p.bnL} {
			if err := want(i, kBatchNorm); err != nil {
				return err
			}
		}
		for _, i := range []int{p.actH, p.actL} {
			if err := want(i, acts...); err != nil {
				return err
			}
		}
	case pResidual:
		if err := checkPairLeaves(path, p.body, leaves); err != nil {
			return err
		}
		if p.shortcut != nil {
			if err := checkPairLeaves(path, p.shortcut, leaves); err != nil {
				return err
			}
		}
		for _, i := range []int{p.postH, p.postL} {
			if err := want(i, acts...); err != nil {
				return err
			}
		}
	}
	return nil
}
