package export

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"

	"nas/ops"
)

// pylib is the module library every model.py starts with: the containers of ops as
// nn.Modules, the safetensors reader, load_weights and check.
//
//go:embed pylib.py
var pylib string

// PyTorch writes model.py for net: a self-contained PyTorch module file (it imports
// only torch and the standard library and runs on PyTorch 1.13) whose build_model()
// returns the network's exact layer tree, with state_dict names equal to nas's
// parameter paths (the scheme is documented at the top of the file), and whose
// check(dir) compares the model's logits on dir/check.safetensors with nas's. An
// unsupported layer is an error naming its type and path.
func PyTorch(net *ops.Network, w io.Writer) error {
	root, err := parse(net)
	if err != nil {
		return err
	}
	var b strings.Builder
	in, out := net.Input(), net.OutShape()
	fmt.Fprintf(&b, "\"\"\"A network exported by nas: input (N, %d, %d, %d), output (N, %d, %d, %d).\n\n",
		in.C, in.H, in.W, out.C, out.H, out.W)
	b.WriteString("Usage:\n")
	b.WriteString("    model = build_model()\n")
	b.WriteString("    load_weights(model, \"weights.safetensors\")\n")
	b.WriteString("    model.eval()\n")
	b.WriteString("    y = logits(model, x)\n\n")
	b.WriteString("Run `python3 model.py [DIR]` to compare the model's logits with nas's on\n")
	b.WriteString("DIR/check.safetensors (DIR defaults to this file's directory).\n")
	b.WriteString("Generated code: do not edit; re-export instead.\n\"\"\"\n")
	b.WriteString(pylib)
	fmt.Fprintf(&b, "\n\nINPUT_SHAPE = (%d, %d, %d)  # C, H, W\n", in.C, in.H, in.W)
	fmt.Fprintf(&b, "PARAMS = %d  # nas's parameter count\n", net.ParamCount())
	fmt.Fprintf(&b, "MACS = %d  # nas's multiply-accumulates per sample\n\n\n", net.Cost().MACs)
	b.WriteString("def build_model():\n")
	b.WriteString("    \"\"\"Returns the network, its parameters at PyTorch's default initialization.\"\"\"\n")
	b.WriteString("    return ")
	if err := writeModule(&b, root, 1); err != nil {
		return err
	}
	b.WriteString("\n\n\nif __name__ == \"__main__\":\n")
	b.WriteString("    check(sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__)))\n")
	_, err = io.WriteString(w, b.String())
	return err
}

// pyStr quotes s as a Python string literal (JSON's escapes are Python's; HTML's
// characters are left as they are, for readability).
func pyStr(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}

// pyFloat formats v as a Python float literal.
func pyFloat(v float64) string {
	s := strconv.FormatFloat(v, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

func pyInts(v []int) string {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return "[" + strings.Join(s, ", ") + "]"
}

// writeModule writes the Python expression constructing n, at the given indentation
// depth for the lines after the first.
func writeModule(b *strings.Builder, n *node, depth int) error {
	ind := strings.Repeat("    ", depth)
	list := func(open, close string, children []*node) error {
		b.WriteString(open + "\n")
		for _, c := range children {
			b.WriteString(ind + "    ")
			if c == nil {
				b.WriteString("None")
			} else if err := writeModule(b, c, depth+1); err != nil {
				return err
			}
			b.WriteString(",\n")
		}
		b.WriteString(ind + close)
		return nil
	}
	if n == nil {
		b.WriteString("None")
		return nil
	}
	switch n.kind {
	case kSequential:
		return list("nn.Sequential(  # "+pathComment(n), ")", n.children)
	case kResidual:
		return list("Residual(  # "+pathComment(n), ")", n.children)
	case kBranches:
		return list("Branches([  # "+pathComment(n), "])", n.children)
	case kSplitApply:
		s := n.layer.(*ops.SplitApply)
		return list(fmt.Sprintf("SplitApply(%s, [  # %s", pyInts(s.Splits), pathComment(n)), "])", n.children)
	case kBlock:
		bl := n.layer.(*ops.Block)
		return list(fmt.Sprintf("Block(%s, %s,  # %s", pyStr(bl.Kind), pyStr(bl.Settings), pathComment(n)), ")", n.children)
	case kSqueezeExcite:
		return list("SqueezeExcite(  # "+pathComment(n), ")", n.children)
	case kLearnedGroup:
		l := n.layer.(*ops.LearnedGroupConv)
		return list(fmt.Sprintf("LearnedGroupConv(%d, %s, [  # %s", l.Config().Groups, pyKept(keptChannels(l)), pathComment(n)),
			"])", n.children)
	case kScaleAgg:
		return list("ScaleAggregation([  # "+pathComment(n), "])", n.children)
	case kScaleBranch:
		return list(fmt.Sprintf("ScaleBranch(%d,  # %s", n.factor, pathComment(n)), ")", n.children)
	case kOctaveSeq:
		if err := list("OctaveSeq([  # "+pathComment(n), "], ", n.children); err != nil {
			return err
		}
		b.WriteString(pyPlan(n.pair))
		b.WriteString(")")
		return nil
	}
	s, err := pyLeaf(n)
	if err != nil {
		return err
	}
	b.WriteString(s)
	return nil
}

func pathComment(n *node) string {
	p := n.path
	if p == "" {
		p = "root"
	}
	return fmt.Sprintf("%s: %v -> %v", p, n.in, n.out)
}

// pyKept returns the Python literal of a learned group convolution's kept input
// channels per group, None for all.
func pyKept(kept [][]int) string {
	if kept == nil {
		return "None"
	}
	parts := make([]string, len(kept))
	for i, k := range kept {
		parts[i] = pyInts(k)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// pyConv returns the constructor call of a convolution module, such as nn.Conv2d.
func pyConv(module string, c ops.ConvConfig) string {
	return fmt.Sprintf("%s(%d, %d, (%d, %d), stride=(%d, %d), padding=(%d, %d), dilation=(%d, %d), groups=%d, bias=%s)",
		module, c.In, c.Out, c.KH, c.KW, max(c.StrideH, 1), max(c.StrideW, 1), c.PadH, c.PadW,
		max(c.DilH, 1), max(c.DilW, 1), max(c.Groups, 1), pyBool(c.Bias))
}

// pyLeaf returns the Python expression constructing a leaf layer.
func pyLeaf(n *node) (string, error) {
	switch l := n.layer.(type) {
	case *ops.Conv2D:
		return pyConv("nn.Conv2d", l.Config()), nil
	case *ops.DSConv:
		// A plain convolution on the reconstructed weights (see StateDict).
		if l.CDS() != nil {
			return pyConv("DSConv2d", l.Config().ConvConfig), nil
		}
		return pyConv("nn.Conv2d", l.Config().ConvConfig), nil
	case *ops.DynamicGroupConv:
		c := l.Config()
		return fmt.Sprintf("DynamicGroupConv(%d, %d, (%d, %d), stride=(%d, %d), padding=(%d, %d), dilation=(%d, %d), heads=%d, hidden=%d, drop=%d)",
			c.In, c.Out, c.KH, c.KW, c.StrideH, c.StrideW, c.PadH, c.PadW, c.DilH, c.DilW, c.Heads, l.Hidden(), l.Dropped()), nil
	case *ops.BatchNorm2D:
		return fmt.Sprintf("nn.BatchNorm2d(%d, eps=%s, momentum=%s)", l.Channels(), pyFloat(l.Eps), pyFloat(l.Momentum)), nil
	case *ops.Linear:
		return fmt.Sprintf("Linear(%d, %d, bias=%s)", l.In(), l.Out(), pyBool(l.Bias() != nil)), nil
	case *ops.ReLU:
		return "nn.ReLU()", nil
	case *ops.ReLU6:
		return "nn.ReLU6()", nil
	case *ops.HSwish:
		return "nn.Hardswish()", nil
	case *ops.Sigmoid:
		return "nn.Sigmoid()", nil
	case *ops.Swish:
		return "nn.SiLU()", nil
	case *ops.HSigmoid:
		return "nn.Hardsigmoid()", nil
	case *ops.Dropout:
		return fmt.Sprintf("nn.Dropout(%s)", pyFloat(l.P())), nil
	case *ops.ChannelShuffle:
		return fmt.Sprintf("ChannelShuffle(%d)", l.Groups()), nil
	case *ops.MaxPool2D:
		c := l.Config()
		return fmt.Sprintf("nn.MaxPool2d(%d, stride=%d, padding=%d, ceil_mode=%s)", c.K, c.Stride, c.Pad, pyBool(c.CeilMode)), nil
	case *ops.AvgPool2D:
		c := l.Config()
		return fmt.Sprintf("nn.AvgPool2d(%d, stride=%d, padding=%d, ceil_mode=%s, count_include_pad=%s)",
			c.K, c.Stride, c.Pad, pyBool(c.CeilMode), pyBool(!c.ExcludePad)), nil
	case *ops.GlobalAvgPool:
		return "GlobalAvgPool()", nil
	case *ops.Upsample2x:
		return "Upsample2x()", nil
	case indexSelector:
		return fmt.Sprintf("IndexSelect(%s)", pyInts(l.Index())), nil
	}
	if n.kind == kScalePool {
		return fmt.Sprintf("ScalePool(%d)", n.factor), nil
	}
	return "", unsupported(n.path, n.layer)
}

// pyPlan returns the Python literal of an octave sequence's wiring (see OctaveSeq in
// pylib.py).
func pyPlan(p *pairNode) string {
	idx := func(i int) string {
		if i < 0 {
			return "None"
		}
		return strconv.Itoa(i)
	}
	switch p.kind {
	case pSeq:
		parts := make([]string, len(p.layers))
		for i, q := range p.layers {
			parts[i] = pyPlan(q)
		}
		return "(\"seq\", [" + strings.Join(parts, ", ") + "])"
	case pConv:
		return fmt.Sprintf("(\"conv\", %d, %s, %s, %s, %s)", p.stride, idx(p.ll), idx(p.lh), idx(p.hl), idx(p.hh))
	case pBN:
		return fmt.Sprintf("(\"bn\", %s, %s, %s, %s)", idx(p.bnH), idx(p.bnL), idx(p.actH), idx(p.actL))
	case pResidual:
		sc := "None"
		if p.shortcut != nil {
			sc = pyPlan(p.shortcut)
		}
		return fmt.Sprintf("(\"res\", %s, %s, %s, %s)", pyPlan(p.body), sc, idx(p.postH), idx(p.postL))
	}
	return "None"
}
