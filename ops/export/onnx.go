package export

import (
	"fmt"
	"io"
	"strconv"

	"github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"nas/ops"
)

// OnnxOpset is the ONNX operator set the exported models use.
const OnnxOpset = 13

// onnxIRVersion is the IR version that goes with opset 13 (ONNX's versioning table:
// IR 7 for opsets 12 and 13).
const onnxIRVersion = int64(onnx.Version_IR_VERSION_2020_5_8)

// ONNX writes net as an ONNX model (opset 13) with the weights net holds: a graph
// from the input "input" of shape (N, C, H, W), N free, to "logits" of shape
// (N, classes), with initializers named as the PyTorch export's state_dict (see
// StateDict). Batch norm is exported in evaluation mode (BatchNormalization over the
// running statistics), channel shuffle as Reshape, Transpose, Reshape, pooling with
// its ceil mode, nearest upsampling as Resize and linear layers as Flatten, Gemm and
// Unsqueeze. The learned and dynamic grouping operators export exactly: a learned
// group convolution in its masked form, a DSConv as a convolution over its
// reconstructed weights, ScaleNet's branches with MaxPool and Resize, and a dynamic
// group convolution with TopK selecting each sample's channels per head (see
// emitDGC). An unsupported layer is an error naming its type and path.
func ONNX(net *ops.Network, w io.Writer) error {
	root, err := parse(net)
	if err != nil {
		return err
	}
	b := &onnxBuilder{sd: StateDict(net), graph: &onnx.GraphProto{Name: "nas"}, inits: map[string]bool{}}
	in := net.Input()
	b.graph.Input = []*onnx.ValueInfoProto{valueInfo("input", dimParam("N"), dimValue(in.C), dimValue(in.H), dimValue(in.W))}
	y, err := b.emit(root, "input")
	if err != nil {
		return err
	}
	b.node("Flatten", []string{y}, []string{"logits"}, attrInt("axis", 1))
	b.graph.Output = []*onnx.ValueInfoProto{valueInfo("logits", dimParam("N"), dimValue(net.OutShape().Size()))}
	m := &onnx.ModelProto{
		IrVersion:    onnxIRVersion,
		OpsetImport:  []*onnx.OperatorSetIdProto{{Domain: "", Version: OnnxOpset}},
		ProducerName: "nas",
		Graph:        b.graph,
	}
	data, err := proto.Marshal(m)
	if err != nil {
		return fmt.Errorf("export: onnx: %w", err)
	}
	_, err = w.Write(data)
	return err
}

// onnxBuilder accumulates the graph's nodes and initializers.
type onnxBuilder struct {
	sd    map[string]*tensor.Dense
	graph *onnx.GraphProto
	inits map[string]bool
	next  int
}

func dimParam(s string) *onnx.TensorShapeProto_Dimension {
	return &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimParam{DimParam: s}}
}

func dimValue(v int) *onnx.TensorShapeProto_Dimension {
	return &onnx.TensorShapeProto_Dimension{Value: &onnx.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}}
}

func valueInfo(name string, dims ...*onnx.TensorShapeProto_Dimension) *onnx.ValueInfoProto {
	return &onnx.ValueInfoProto{Name: name, Type: &onnx.TypeProto{Value: &onnx.TypeProto_TensorType{
		TensorType: &onnx.TypeProto_Tensor{ElemType: int32(onnx.TensorProto_FLOAT), Shape: &onnx.TensorShapeProto{Dim: dims}},
	}}}
}

func attrInt(name string, v int) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INT, I: int64(v)}
}

func attrInts(name string, v ...int) *onnx.AttributeProto {
	is := make([]int64, len(v))
	for i, x := range v {
		is[i] = int64(x)
	}
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_INTS, Ints: is}
}

func attrFloat(name string, v float32) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_FLOAT, F: v}
}

func attrString(name, v string) *onnx.AttributeProto {
	return &onnx.AttributeProto{Name: name, Type: onnx.AttributeProto_STRING, S: []byte(v)}
}

// value returns a fresh name for an intermediate value.
func (b *onnxBuilder) value() string {
	b.next++
	return "v" + strconv.Itoa(b.next)
}

// node appends a node and returns its first output.
func (b *onnxBuilder) node(op string, inputs, outputs []string, attrs ...*onnx.AttributeProto) string {
	b.graph.Node = append(b.graph.Node, &onnx.NodeProto{
		Name: op + "_" + strconv.Itoa(len(b.graph.Node)), OpType: op, Input: inputs, Output: outputs, Attribute: attrs,
	})
	return outputs[0]
}

// op appends a node with a single fresh output and returns it.
func (b *onnxBuilder) op(op string, inputs []string, attrs ...*onnx.AttributeProto) string {
	return b.node(op, inputs, []string{b.value()}, attrs...)
}

// weight adds the state_dict tensor name as an initializer (once) and returns name.
func (b *onnxBuilder) weight(name string) (string, error) {
	if b.inits[name] {
		return name, nil
	}
	t, ok := b.sd[name]
	if !ok {
		return "", fmt.Errorf("export: onnx: no tensor %q in the state dict", name)
	}
	raw, dt, err := littleEndian(t)
	if err != nil || dt != "F32" {
		return "", fmt.Errorf("export: onnx: tensor %q: want float32 (%v)", name, err)
	}
	dims := make([]int64, len(t.Shape()))
	for i, d := range t.Shape() {
		dims[i] = int64(d)
	}
	b.graph.Initializer = append(b.graph.Initializer, &onnx.TensorProto{
		Name: name, Dims: dims, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw,
	})
	b.inits[name] = true
	return name, nil
}

// constInts adds an int64 constant initializer named nas.const.N and returns its name.
func (b *onnxBuilder) constInts(v ...int) string {
	t := tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(toInt64(v)))
	raw, _, _ := littleEndian(t)
	name := "nas.const." + strconv.Itoa(len(b.graph.Initializer))
	b.graph.Initializer = append(b.graph.Initializer, &onnx.TensorProto{
		Name: name, Dims: []int64{int64(len(v))}, DataType: int32(onnx.TensorProto_INT64), RawData: raw,
	})
	return name
}

// constFloats adds a float32 constant (a scalar when shape is empty).
func (b *onnxBuilder) constFloats(shape []int64, v ...float32) string {
	t := tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(v))
	raw, _, _ := littleEndian(t)
	name := "nas.const." + strconv.Itoa(len(b.graph.Initializer))
	b.graph.Initializer = append(b.graph.Initializer, &onnx.TensorProto{
		Name: name, Dims: shape, DataType: int32(onnx.TensorProto_FLOAT), RawData: raw,
	})
	return name
}

func toInt64(v []int) []int64 {
	r := make([]int64, len(v))
	for i, x := range v {
		r[i] = int64(x)
	}
	return r
}

// emit appends the nodes computing n on the value x and returns the output's name.
func (b *onnxBuilder) emit(n *node, x string) (string, error) {
	switch n.kind {
	case kSequential:
		for _, c := range n.children {
			var err error
			if x, err = b.emit(c, x); err != nil {
				return "", err
			}
		}
		return x, nil
	case kResidual:
		body, err := b.emit(n.children[0], x)
		if err != nil {
			return "", err
		}
		s := x
		if n.children[1] != nil {
			if s, err = b.emit(n.children[1], x); err != nil {
				return "", err
			}
		}
		y := b.op("Add", []string{body, s})
		if n.children[2] != nil {
			return b.emit(n.children[2], y)
		}
		return y, nil
	case kBranches:
		var outs []string
		for _, c := range n.children {
			y := x
			if c != nil {
				var err error
				if y, err = b.emit(c, x); err != nil {
					return "", err
				}
			}
			outs = append(outs, y)
		}
		if len(outs) == 1 {
			return outs[0], nil
		}
		return b.op("Concat", outs, attrInt("axis", 1)), nil
	case kSplitApply:
		splits := n.layer.(*ops.SplitApply).Splits
		parts := []string{x}
		if len(splits) > 1 {
			parts = make([]string, len(splits))
			for i := range parts {
				parts[i] = b.value()
			}
			b.node("Split", []string{x, b.constInts(splits...)}, parts, attrInt("axis", 1))
		}
		outs := make([]string, len(parts))
		for i, c := range n.children {
			outs[i] = parts[i]
			if c != nil {
				var err error
				if outs[i], err = b.emit(c, parts[i]); err != nil {
					return "", err
				}
			}
		}
		if len(outs) == 1 {
			return outs[0], nil
		}
		return b.op("Concat", outs, attrInt("axis", 1)), nil
	case kBlock:
		return b.emit(n.children[0], x)
	case kSqueezeExcite:
		g, err := b.emit(n.children[0], x)
		if err != nil {
			return "", err
		}
		return b.op("Mul", []string{x, g}), nil
	case kLearnedGroup:
		// The masked form: batch norm, ReLU, dropout (the identity) and the 1x1
		// convolution over the masked weight StateDict holds.
		for _, c := range n.children {
			var err error
			if x, err = b.emit(c, x); err != nil {
				return "", err
			}
		}
		return x, nil
	case kScaleAgg:
		outs := make([]string, len(n.children))
		for i, c := range n.children {
			var err error
			if outs[i], err = b.emit(c, x); err != nil {
				return "", err
			}
		}
		if len(outs) == 1 {
			return outs[0], nil
		}
		return b.op("Concat", outs, attrInt("axis", 1)), nil
	case kScaleBranch:
		return b.emitScaleBranch(n, x)
	case kOctaveSeq:
		h, l, err := b.emitPair(n, n.pair, x, "")
		if err != nil {
			return "", err
		}
		if l != "" {
			return "", fmt.Errorf("export: octave sequence at %q ends with a low-frequency part", n.path)
		}
		return h, nil
	}
	return b.emitLeaf(n, x)
}

// emitPair appends the nodes of an octave pair layer on the parts h and l ("" when
// absent) and returns the output parts.
func (b *onnxBuilder) emitPair(seq *node, p *pairNode, h, l string) (string, string, error) {
	leaf := func(i int, x string) (string, error) {
		if i < 0 {
			return x, nil
		}
		return b.emitLeaf(seq.children[i], x)
	}
	pool := func(x string) string {
		return b.op("AveragePool", []string{x}, attrInts("kernel_shape", 2, 2), attrInts("strides", 2, 2))
	}
	var err error
	switch p.kind {
	case pSeq:
		for _, q := range p.layers {
			if h, l, err = b.emitPair(seq, q, h, l); err != nil {
				return "", "", err
			}
		}
		return h, l, nil
	case pConv:
		hin := h
		if p.stride == 2 {
			hin = pool(h)
		}
		yh, err := leaf(p.hh, hin)
		if err != nil {
			return "", "", err
		}
		yl := ""
		if p.hl >= 0 {
			if yl, err = leaf(p.hl, pool(hin)); err != nil {
				return "", "", err
			}
		}
		if l == "" {
			return yh, yl, nil
		}
		t, err := leaf(p.lh, l)
		if err != nil {
			return "", "", err
		}
		if p.stride != 2 {
			t = b.upsample(t)
		}
		yh = b.op("Add", []string{yh, t})
		if p.ll < 0 {
			return yh, "", nil
		}
		lin := l
		if p.stride == 2 {
			lin = pool(l)
		}
		t, err = leaf(p.ll, lin)
		if err != nil {
			return "", "", err
		}
		return yh, b.op("Add", []string{yl, t}), nil
	case pBN:
		if h, err = leaf(p.bnH, h); err != nil {
			return "", "", err
		}
		if h, err = leaf(p.actH, h); err != nil {
			return "", "", err
		}
		if l != "" {
			if l, err = leaf(p.bnL, l); err != nil {
				return "", "", err
			}
			if l, err = leaf(p.actL, l); err != nil {
				return "", "", err
			}
		}
		return h, l, nil
	case pResidual:
		bh, bl, err := b.emitPair(seq, p.body, h, l)
		if err != nil {
			return "", "", err
		}
		sh, sl := h, l
		if p.shortcut != nil {
			if sh, sl, err = b.emitPair(seq, p.shortcut, h, l); err != nil {
				return "", "", err
			}
		}
		yh, err := leaf(p.postH, b.op("Add", []string{bh, sh}))
		if err != nil || bl == "" {
			return yh, "", err
		}
		yl, err := leaf(p.postL, b.op("Add", []string{bl, sl}))
		return yh, yl, err
	}
	return "", "", fmt.Errorf("export: octave sequence at %q: unknown pair layer", seq.path)
}

// upsample is nearest x2 upsampling as PyTorch computes it: output pixel i takes
// input pixel floor(i/2).
func (b *onnxBuilder) upsample(x string) string {
	scales := b.constFloats([]int64{4}, 1, 1, 2, 2)
	return b.op("Resize", []string{x, "", scales}, attrString("mode", "nearest"),
		attrString("coordinate_transformation_mode", "asymmetric"), attrString("nearest_mode", "floor"))
}

// emitLeaf appends the nodes of a leaf layer.
func (b *onnxBuilder) emitLeaf(n *node, x string) (string, error) {
	p := func(name string) (string, error) { return b.weight(joinName(n.path, name)) }
	switch l := n.layer.(type) {
	case *ops.Conv2D:
		c := l.Config()
		w, err := p("weight")
		if err != nil {
			return "", err
		}
		in := []string{x, w}
		if c.Bias {
			bias, err := p("bias")
			if err != nil {
				return "", err
			}
			in = append(in, bias)
		}
		return b.op("Conv", in, attrInts("kernel_shape", c.KH, c.KW), attrInts("strides", max(c.StrideH, 1), max(c.StrideW, 1)),
			attrInts("pads", c.PadH, c.PadW, c.PadH, c.PadW), attrInts("dilations", max(c.DilH, 1), max(c.DilW, 1)),
			attrInt("group", max(c.Groups, 1))), nil
	case *ops.BatchNorm2D:
		var in []string
		for _, name := range []string{"weight", "bias", "running_mean", "running_var"} {
			t, err := p(name)
			if err != nil {
				return "", err
			}
			in = append(in, t)
		}
		return b.op("BatchNormalization", append([]string{x}, in...), attrFloat("epsilon", float32(l.Eps)),
			attrFloat("momentum", float32(1-l.Momentum))), nil
	case *ops.Linear:
		w, err := p("weight")
		if err != nil {
			return "", err
		}
		in := []string{b.op("Flatten", []string{x}, attrInt("axis", 1)), w}
		if l.Bias() != nil {
			bias, err := p("bias")
			if err != nil {
				return "", err
			}
			in = append(in, bias)
		}
		y := b.op("Gemm", in, attrInt("transB", 1))
		return b.op("Unsqueeze", []string{y, b.constInts(2, 3)}), nil
	case *ops.ReLU:
		return b.op("Relu", []string{x}), nil
	case *ops.ReLU6:
		return b.op("Clip", []string{x, b.constFloats(nil, 0), b.constFloats(nil, 6)}), nil
	case *ops.HSwish:
		return b.op("Mul", []string{x, b.hardSigmoid(x)}), nil
	case *ops.Sigmoid:
		return b.op("Sigmoid", []string{x}), nil
	case *ops.Swish:
		return b.op("Mul", []string{x, b.op("Sigmoid", []string{x})}), nil
	case *ops.HSigmoid:
		return b.hardSigmoid(x), nil
	case *ops.Dropout:
		return b.op("Identity", []string{x}), nil
	case *ops.ChannelShuffle:
		g, s := l.Groups(), n.in
		if s == (ops.Shape{}) {
			return "", fmt.Errorf("export: onnx: channel shuffle at %q without a known input shape", n.path)
		}
		y := b.op("Reshape", []string{x, b.constInts(0, g, s.C/g, s.H, s.W)})
		y = b.op("Transpose", []string{y}, attrInts("perm", 0, 2, 1, 3, 4))
		return b.op("Reshape", []string{y, b.constInts(0, s.C, s.H, s.W)}), nil
	case *ops.MaxPool2D:
		c := l.Config()
		return b.op("MaxPool", []string{x}, attrInts("kernel_shape", c.K, c.K), attrInts("strides", c.Stride, c.Stride),
			attrInts("pads", c.Pad, c.Pad, c.Pad, c.Pad), attrInt("ceil_mode", boolInt(c.CeilMode))), nil
	case *ops.AvgPool2D:
		c := l.Config()
		return b.op("AveragePool", []string{x}, attrInts("kernel_shape", c.K, c.K), attrInts("strides", c.Stride, c.Stride),
			attrInts("pads", c.Pad, c.Pad, c.Pad, c.Pad), attrInt("ceil_mode", boolInt(c.CeilMode)),
			attrInt("count_include_pad", boolInt(!c.ExcludePad))), nil
	case *ops.GlobalAvgPool:
		return b.op("GlobalAveragePool", []string{x}), nil
	case *ops.Upsample2x:
		return b.upsample(x), nil
	case indexSelector:
		return b.op("Gather", []string{x, b.constInts(l.Index()...)}, attrInt("axis", 1)), nil
	case *ops.DSConv:
		return b.emitDSConv(n, l, x)
	case *ops.DynamicGroupConv:
		return b.emitDGC(n, l, x)
	}
	if n.kind == kScalePool {
		if n.in == (ops.Shape{}) {
			return "", fmt.Errorf("export: onnx: scale pool at %q without a known input shape", n.path)
		}
		return b.scalePool(x, n.in, n.factor), nil
	}
	return "", unsupported(n.path, n.layer)
}

// scalePool is ScaleNet's max pooling by factor f on an input of shape in (see
// scalePoolShape).
func (b *onnxBuilder) scalePool(x string, in ops.Shape, f int) string {
	kh, kw, _ := scalePoolShape(in, f)
	return b.op("MaxPool", []string{x}, attrInts("kernel_shape", kh, kw), attrInts("strides", kh, kw))
}

// emitScaleBranch appends a scale branch: pooling, the convolution, resizing back to
// the input's size as PyTorch's F.interpolate(size=...) does (nearest when both
// sides divide, which takes source floor(i*in/out); else bilinear without aligned
// corners, which Resize's pytorch_half_pixel transformation is), then batch norm
// and ReLU. Resize takes the output's sizes rather than scales, so that no rounding
// of a scale changes the output's size.
func (b *onnxBuilder) emitScaleBranch(n *node, x string) (string, error) {
	y := x
	if n.factor > 1 {
		y = b.scalePool(x, n.in, n.factor)
	}
	y, err := b.emit(n.children[0], y)
	if err != nil {
		return "", err
	}
	small := n.children[0].out
	if small.H != n.in.H || small.W != n.in.W {
		nc := b.op("Slice", []string{b.op("Shape", []string{y}), b.constInts(0), b.constInts(2), b.constInts(0)})
		sizes := b.op("Concat", []string{nc, b.constInts(n.in.H, n.in.W)}, attrInt("axis", 0))
		if n.in.H%small.H == 0 && n.in.W%small.W == 0 {
			y = b.op("Resize", []string{y, "", "", sizes}, attrString("mode", "nearest"),
				attrString("coordinate_transformation_mode", "asymmetric"), attrString("nearest_mode", "floor"))
		} else {
			y = b.op("Resize", []string{y, "", "", sizes}, attrString("mode", "linear"),
				attrString("coordinate_transformation_mode", "pytorch_half_pixel"))
		}
	}
	return b.emit(n.children[1], y)
}

// convAttrs returns the attributes of a Conv node for a convolution's geometry.
func convAttrs(c ops.ConvConfig) []*onnx.AttributeProto {
	return []*onnx.AttributeProto{attrInts("kernel_shape", c.KH, c.KW), attrInts("strides", max(c.StrideH, 1), max(c.StrideW, 1)),
		attrInts("pads", c.PadH, c.PadW, c.PadH, c.PadW), attrInts("dilations", max(c.DilH, 1), max(c.DilW, 1)),
		attrInt("group", max(c.Groups, 1))}
}

// emitDSConv appends a DSConv as a convolution over the weights StateDict exports,
// multiplied per output channel by the channel shift when the layer has one.
func (b *onnxBuilder) emitDSConv(n *node, l *ops.DSConv, x string) (string, error) {
	c := l.Config().ConvConfig
	w, err := b.weight(joinName(n.path, "weight"))
	if err != nil {
		return "", err
	}
	if l.CDS() != nil {
		cds, err := b.weight(joinName(n.path, "cds"))
		if err != nil {
			return "", err
		}
		w = b.op("Mul", []string{w, b.op("Reshape", []string{cds, b.constInts(c.Out, 1, 1, 1)})})
	}
	in := []string{x, w}
	if c.Bias {
		bias, err := b.weight(joinName(n.path, "bias"))
		if err != nil {
			return "", err
		}
		in = append(in, bias)
	}
	return b.op("Conv", in, convAttrs(c)...), nil
}

// emitDGC appends a dynamic group convolution as model.py's DynamicGroupConv
// computes it: the channel means (ReduceMean), every head's saliency generator at
// once (MatMul over fc1 reshaped to (heads*hidden, in), then a batched MatMul over
// fc2), the threshold of each head as the largest of its Dropped() smallest
// saliencies (TopK, largest 0), the saliencies above it (Greater, the others
// zeroed), the input repeated per head (Tile) times them, a convolution with one
// group per head and the interleaving of the heads' outputs (a channel shuffle).
// Ties at the threshold drop every tied channel, as ops does.
func (b *onnxBuilder) emitDGC(n *node, l *ops.DynamicGroupConv, x string) (string, error) {
	c := l.Config()
	heads, hidden, drop := c.Heads, l.Hidden(), l.Dropped()
	if n.out == (ops.Shape{}) {
		return "", fmt.Errorf("export: onnx: dynamic group convolution at %q without a known input shape", n.path)
	}
	var ps [4]string
	for i, name := range []string{"weight", "fc1", "fc2", "fc2_bias"} {
		var err error
		if ps[i], err = b.weight(joinName(n.path, name)); err != nil {
			return "", err
		}
	}
	pooled := b.op("ReduceMean", []string{x}, attrInts("axes", 2, 3), attrInt("keepdims", 0))
	w1 := b.op("Transpose", []string{b.op("Reshape", []string{ps[1], b.constInts(heads*hidden, c.In)})}, attrInts("perm", 1, 0))
	hid := b.op("Relu", []string{b.op("MatMul", []string{pooled, w1})})
	hid = b.op("Reshape", []string{hid, b.constInts(0, heads, 1, hidden)})
	w2 := b.op("Transpose", []string{ps[2]}, attrInts("perm", 0, 2, 1))
	z := b.op("MatMul", []string{hid, w2})
	z = b.op("Add", []string{z, b.op("Reshape", []string{ps[3], b.constInts(heads, 1, c.In)})})
	sal := b.op("Relu", []string{z}) // (N, heads, 1, in)
	if drop > 0 {
		vals := b.value()
		b.node("TopK", []string{sal, b.constInts(drop)}, []string{vals, b.value()},
			attrInt("axis", -1), attrInt("largest", 0), attrInt("sorted", 1))
		t := b.op("Slice", []string{vals, b.constInts(drop - 1), b.constInts(drop), b.constInts(3)})
		keep := b.op("Cast", []string{b.op("Greater", []string{sal, t})}, attrInt("to", int(onnx.TensorProto_FLOAT)))
		sal = b.op("Mul", []string{sal, keep})
	}
	scale := b.op("Reshape", []string{sal, b.constInts(0, heads*c.In, 1, 1)})
	xs := b.op("Mul", []string{b.op("Tile", []string{x, b.constInts(1, heads, 1, 1)}), scale})
	geo := ops.ConvConfig{KH: c.KH, KW: c.KW, StrideH: c.StrideH, StrideW: c.StrideW, PadH: c.PadH, PadW: c.PadW,
		DilH: c.DilH, DilW: c.DilW, Groups: heads}
	y := b.op("Conv", []string{xs, ps[0]}, convAttrs(geo)...)
	o := n.out
	y = b.op("Reshape", []string{y, b.constInts(0, heads, o.C/heads, o.H, o.W)})
	y = b.op("Transpose", []string{y}, attrInts("perm", 0, 2, 1, 3, 4))
	return b.op("Reshape", []string{y, b.constInts(0, o.C, o.H, o.W)}), nil
}

// hardSigmoid is relu6(x+3)/6 as ONNX's HardSigmoid max(0, min(1, alpha*x + beta)).
func (b *onnxBuilder) hardSigmoid(x string) string {
	return b.op("HardSigmoid", []string{x}, attrFloat("alpha", 1.0/6), attrFloat("beta", 0.5))
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
