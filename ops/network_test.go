package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// testNet builds a small network that uses every container type: Sequential,
// Residual with and without a shortcut, Branches with a pass-through branch,
// SplitApply with a pass-through part, and a Block (squeeze-excite, whose own
// container is walked by the single-child rule), on a 3x32x32 input.
func testNet(t testing.TB) *Network {
	t.Helper()
	must := func(l *Conv2D, err error) *Conv2D {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	maxPool, err := NewMaxPool2D(PoolConfig{K: 3, Stride: 2, CeilMode: true})
	if err != nil {
		t.Fatal(err)
	}
	avgPool, err := NewAvgPool2D(PoolConfig{K: 3, Stride: 1, Pad: 1})
	if err != nil {
		t.Fatal(err)
	}
	split, err := NewSplitApply([]int{16, 16}, []Layer{must(Conv(16, 16, 3, 1, 16, false)), nil})
	if err != nil {
		t.Fatal(err)
	}
	se, err := NewSqueezeExcite(32, 8, ActReLU, ActSigmoid)
	if err != nil {
		t.Fatal(err)
	}
	root := Seq(
		Seq(must(Conv(3, 8, 3, 2, 1, false)), NewBatchNorm2D(8), NewReLU()),
		maxPool,
		&Residual{Body: Seq(must(Conv(8, 8, 3, 1, 2, false)), NewBatchNorm2D(8)), Post: NewReLU()},
		&Residual{
			Body:     Seq(must(Conv(8, 16, 3, 2, 1, false)), NewBatchNorm2D(16)),
			Shortcut: Seq(must(Conv(8, 16, 1, 2, 1, false)), NewBatchNorm2D(16)),
			Post:     NewReLU(),
		},
		&Branches{Layers: []Layer{must(Conv(16, 8, 1, 1, 1, false)), nil, Seq(avgPool, must(Conv(16, 8, 1, 1, 1, false)))}},
		split,
		se,
		NewUpsample2x(),
		NewGlobalAvgPool(),
		must(Conv(32, 10, 1, 1, 1, true)),
	)
	n, err := NewNetwork(root, Shape{3, 32, 32})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestNetworkCost checks the price of testNet counted by hand, and that the layer
// table and the parameter tensors agree with it.
func TestNetworkCost(t *testing.T) {
	n := testNet(t)
	// MACs, layer by layer (out H*W * C_out * C_in/groups * k*k): stem 16*16*8*3*9 =
	// 55296; grouped 3x3 at 8x8: 64*8*4*9 = 18432; strided 3x3 to 4x4: 16*16*8*9 =
	// 18432; its 1x1 shortcut 16*16*8 = 2048; two 1x1 branches 2*16*8*16 = 4096;
	// depthwise 16*16*9 = 2304; squeeze-excite 32*8 + 8*32 = 512; classifier 32*10 = 320.
	const macs = 55296 + 18432 + 18432 + 2048 + 4096 + 2304 + 512 + 320
	// Params: convs 216 + 288 + 1152 + 128 + 128 + 128 + 144; batch norms
	// 2*(8+8+16+16); squeeze-excite 32*8+8 + 8*32+32; classifier 320+10.
	const params = 216 + 288 + 1152 + 128 + 128 + 128 + 144 + 2*(8+8+16+16) + 264 + 288 + 330
	if got := n.Cost(); got != (Cost{macs, params}) {
		t.Errorf("Cost() = %+v, want MACs %d params %d", got, macs, params)
	}
	if got := n.ParamCount(); got != params {
		t.Errorf("ParamCount() = %d, want %d", got, params)
	}
	var sum Cost
	for _, r := range n.Layers() {
		sum = sum.Add(r.Cost)
	}
	if sum != n.Cost() {
		t.Errorf("layer table sums to %+v, Cost() = %+v", sum, n.Cost())
	}
	if out := n.OutShape(); out != (Shape{10, 1, 1}) {
		t.Errorf("OutShape() = %v, want 10x1x1", out)
	}
	if in := n.Input(); in != (Shape{3, 32, 32}) {
		t.Errorf("Input() = %v, want 3x32x32", in)
	}
}

// TestNetworkLayers checks the layer table row by row: every leaf once, in Walk
// order, with the input shape it sees.
func TestNetworkLayers(t *testing.T) {
	n := testNet(t)
	want := []struct {
		path, kind string
		in         Shape
		macs       int64
	}{
		{"0.0", "Conv2D 3x3/2", Shape{3, 32, 32}, 55296},
		{"0.1", "BatchNorm2D", Shape{8, 16, 16}, 0},
		{"0.2", "ReLU", Shape{8, 16, 16}, 0},
		// Ceil mode: (16-3+1)/2+1 = 8 rows, where floor mode would give 7.
		{"1", "MaxPool2D 3x3/2 ceil", Shape{8, 16, 16}, 0},
		{"2.0.0", "Conv2D 3x3/1 g2", Shape{8, 8, 8}, 18432},
		{"2.0.1", "BatchNorm2D", Shape{8, 8, 8}, 0},
		{"2.2", "ReLU", Shape{8, 8, 8}, 0},
		{"3.0.0", "Conv2D 3x3/2", Shape{8, 8, 8}, 18432},
		{"3.0.1", "BatchNorm2D", Shape{16, 4, 4}, 0},
		{"3.1.0", "Conv2D 1x1/2", Shape{8, 8, 8}, 2048},
		{"3.1.1", "BatchNorm2D", Shape{16, 4, 4}, 0},
		{"3.2", "ReLU", Shape{16, 4, 4}, 0},
		{"4.0", "Conv2D 1x1/1", Shape{16, 4, 4}, 2048},
		{"4.2.0", "AvgPool2D 3x3/1 pad1", Shape{16, 4, 4}, 0},
		{"4.2.1", "Conv2D 1x1/1", Shape{16, 4, 4}, 2048},
		{"5.0", "Conv2D 3x3/1 dw", Shape{16, 4, 4}, 2304},
		{"6.0.0.0", "GlobalAvgPool", Shape{32, 4, 4}, 0},
		{"6.0.0.1", "Conv2D 1x1/1 bias", Shape{32, 1, 1}, 256},
		{"6.0.0.2", "ReLU", Shape{8, 1, 1}, 0},
		{"6.0.0.3", "Conv2D 1x1/1 bias", Shape{8, 1, 1}, 256},
		{"6.0.0.4", "Sigmoid", Shape{32, 1, 1}, 0},
		{"7", "Upsample2x nearest", Shape{32, 4, 4}, 0},
		{"8", "GlobalAvgPool", Shape{32, 8, 8}, 0},
		{"9", "Conv2D 1x1/1 bias", Shape{32, 1, 1}, 320},
	}
	rows := n.Layers()
	if len(rows) != len(want) {
		for _, r := range rows {
			t.Logf("%+v", r)
		}
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	leaves := map[string]Layer{}
	Walk(n.Root(), func(path string, l Layer) {
		if _, ok := l.(Container); !ok {
			leaves[path] = l
		}
	})
	for i, w := range want {
		r := rows[i]
		if r.Path != w.path || r.Kind != w.kind || r.In != w.in || r.Cost.MACs != w.macs {
			t.Errorf("row %d = %q %q %v %d MACs, want %q %q %v %d MACs", i, r.Path, r.Kind, r.In, r.Cost.MACs, w.path, w.kind, w.in, w.macs)
		}
		l, ok := leaves[r.Path]
		if !ok {
			t.Errorf("row %d: path %q is not a leaf of Walk", i, r.Path)
			continue
		}
		if out, err := l.OutShape(r.In); err != nil || out != r.Out {
			t.Errorf("row %d (%s): OutShape(%v) = %v, %v; the row says %v", i, r.Path, r.In, out, err, r.Out)
		}
		if c := l.Cost(r.In); c != r.Cost {
			t.Errorf("row %d (%s): Cost(%v) = %+v; the row says %+v", i, r.Path, r.In, c, r.Cost)
		}
	}
	if len(leaves) != len(rows) {
		t.Errorf("Walk finds %d leaves, the table has %d rows", len(leaves), len(rows))
	}
	s := n.Summary()
	for _, w := range []string{"path", "6.0.0.3", "MaxPool2D 3x3/2 ceil", "total", "101440", "3162"} {
		if !strings.Contains(s, w) {
			t.Errorf("Summary() does not contain %q:\n%s", w, s)
		}
	}
}

// TestLayersOwnCost checks that a walked container whose cost exceeds its children's
// gets a row of its own, so that the table still adds up.
func TestLayersOwnCost(t *testing.T) {
	conv, _ := Conv(4, 4, 1, 1, 1, false)
	n, err := NewNetwork(Seq(&pricedSeq{Sequential: *Seq(conv)}), Shape{4, 2, 2})
	if err != nil {
		t.Fatal(err)
	}
	rows := n.Layers()
	if len(rows) != 2 || rows[0].Path != "0" || rows[0].Cost != (Cost{MACs: 7}) || rows[1].Path != "0.0" {
		t.Errorf("Layers() = %+v, want the container's own 7 MACs first, then its conv", rows)
	}
	var sum Cost
	for _, r := range rows {
		sum = sum.Add(r.Cost)
	}
	if sum != n.Cost() {
		t.Errorf("layer table sums to %+v, Cost() = %+v", sum, n.Cost())
	}
}

// pricedSeq is a Sequential that charges 7 MACs of its own.
type pricedSeq struct{ Sequential }

func (p *pricedSeq) Cost(in Shape) Cost { return p.Sequential.Cost(in).Add(Cost{MACs: 7}) }

func TestNetworkParamsAndModes(t *testing.T) {
	n := testNet(t)
	seen := map[string]bool{}
	for _, p := range n.Params() {
		if p.Path == "" || seen[p.Path] {
			t.Errorf("parameter path %q is empty or repeated", p.Path)
		}
		seen[p.Path] = true
	}
	for _, path := range []string{"0.0.weight", "0.1.weight", "0.1.bias", "3.1.1.bias", "6.0.0.1.bias", "9.bias"} {
		if !seen[path] {
			t.Errorf("no parameter %q among %d", path, len(seen))
		}
	}

	var bns []*BatchNorm2D
	Walk(n.Root(), func(_ string, l Layer) {
		if b, ok := l.(*BatchNorm2D); ok {
			bns = append(bns, b)
		}
	})
	if len(bns) != 4 {
		t.Fatalf("found %d batch norms, want 4", len(bns))
	}
	for _, training := range []bool{false, true} {
		n.SetTraining(training)
		for i, b := range bns {
			if b.Training() != training {
				t.Errorf("after SetTraining(%v), batch norm %d has Training() = %v", training, i, b.Training())
			}
		}
	}

	n.Init(rand.New(rand.NewPCG(1, 2)))
	x := randTensor(3, 2, n.Input())
	y, err := n.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.Backward(y); err != nil {
		t.Fatal(err)
	}
	nonzero := 0
	for _, p := range n.Params() {
		if slices.ContainsFunc(p.Grad.Float32s(), func(v float32) bool { return v != 0 }) {
			nonzero++
		}
	}
	if nonzero == 0 {
		t.Fatalf("backward left every gradient zero")
	}
	n.ZeroGrad()
	for _, p := range n.Params() {
		if slices.ContainsFunc(p.Grad.Float32s(), func(v float32) bool { return v != 0 }) {
			t.Errorf("%s: gradient not zero after ZeroGrad", p.Path)
		}
	}
	if a := testing.AllocsPerRun(10, n.ZeroGrad); a != 0 {
		t.Errorf("ZeroGrad allocates %v times, want 0", a)
	}
}

func TestNetworkErrors(t *testing.T) {
	conv, _ := Conv(3, 8, 3, 1, 1, false)
	if _, err := NewNetwork(conv, Shape{4, 8, 8}); err == nil {
		t.Errorf("NewNetwork accepted 4 channels for a 3-channel convolution")
	}
	pool, _ := NewMaxPool2D(PoolConfig{K: 5, Stride: 1})
	if _, err := NewNetwork(Seq(conv, pool), Shape{3, 4, 4}); err == nil {
		t.Errorf("NewNetwork accepted a 4x4 input for a 5x5 pool")
	}
	if _, err := NewNetwork(nil, Shape{3, 4, 4}); err == nil {
		t.Errorf("NewNetwork accepted a nil root")
	}
	if _, err := NewNetwork(conv, Shape{}); err == nil {
		t.Errorf("NewNetwork accepted an empty input shape")
	}
	n, err := NewNetwork(conv, Shape{3, 8, 8})
	if err != nil {
		t.Fatal(err)
	}
	// The convolution itself would take a 3x9x9 input; the network checks its own.
	if _, err := n.Forward(randTensor(1, 1, Shape{3, 9, 9})); err == nil {
		t.Errorf("network for 3x8x8 inputs forwarded 3x9x9")
	}
}

// TestNetworkStep checks Step against the same step done by hand on a twin network,
// that repeated steps on one batch lower its loss, and that a non-finite loss
// leaves the parameters alone.
func TestNetworkStep(t *testing.T) {
	a, b := testNet(t), testNet(t)
	a.Init(rand.New(rand.NewPCG(1, 2)))
	b.Init(rand.New(rand.NewPCG(1, 2)))
	x := randTensor(5, 4, a.Input())
	labels := []int{3, 1, 4, 1}
	// The learning rate and momentum of the CIFAR recipes; weight decay 5e-4 as ResNet's.
	optA := &SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4}
	optB := &SGD{LR: 0.1, Momentum: 0.9, WeightDecay: 5e-4}
	var lossA, lossB SoftmaxCrossEntropy

	var first, last float64
	for i := range 5 {
		la, err := a.Step(x, labels, &lossA, optA)
		if err != nil {
			t.Fatal(err)
		}
		y, err := b.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		lb, err := lossB.Forward(y, labels)
		if err != nil {
			t.Fatal(err)
		}
		dy, err := lossB.Backward()
		if err != nil {
			t.Fatal(err)
		}
		b.ZeroGrad()
		if _, err := b.Backward(dy); err != nil {
			t.Fatal(err)
		}
		optB.Step(b.Params())
		if la != lb {
			t.Fatalf("step %d: Step's loss %v, by hand %v", i, la, lb)
		}
		if i == 0 {
			first = la
		}
		last = la
	}
	for i, p := range a.Params() {
		if !slices.Equal(p.Value.Float32s(), b.Params()[i].Value.Float32s()) {
			t.Errorf("%s differs between Step and the same step by hand", p.Path)
		}
	}
	if !(last < first) {
		t.Errorf("loss went from %v to %v over 5 steps on one batch, want it lower", first, last)
	}

	before := make([][]float32, len(a.Params()))
	for i, p := range a.Params() {
		before[i] = slices.Clone(p.Value.Float32s())
	}
	xNaN := clone(x)
	xNaN.Float32s()[0] = float32(math.NaN())
	l, err := a.Step(xNaN, labels, &lossA, optA)
	if err != nil || !math.IsNaN(l) {
		t.Fatalf("Step on a NaN input = %v, %v, want NaN, nil", l, err)
	}
	for i, p := range a.Params() {
		if !slices.Equal(p.Value.Float32s(), before[i]) {
			t.Errorf("%s changed by a step with a NaN loss", p.Path)
		}
	}
	if _, err := a.Step(x, labels[:2], &lossA, optA); err == nil {
		t.Errorf("Step accepted 2 labels for 4 samples")
	}
}
