package ops

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// intList reads a list of integers from a fixture's configuration.
func intList(t *testing.T, f *fixture, key string) []int {
	t.Helper()
	raw, ok := f.config[key].([]any)
	if !ok {
		t.Fatalf("%s: config has no list %q", f.name, key)
	}
	out := make([]int, len(raw))
	for i, v := range raw {
		out[i] = int(v.(float64))
	}
	return out
}

// TestScaleAggregationMatchesPyTorch compares the scale aggregation layer and
// ScaleNet's residual block with Eli-YiLi/ScaleNet pytorch/scalenet.py SABlock,
// re-implemented in testdata/gen/gen_scalenet.py: a training step (output, input and
// parameter gradients), the evaluation output after it, and the forward-hook count.
// The cases cover nearest and bilinear upsampling, a dropped branch, a pooling
// window clamped to a small input, and both shortcuts.
func TestScaleAggregationMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "scalenet_") {
		t.Run(f.name, func(t *testing.T) {
			var mk func() Layer
			if strings.HasPrefix(f.name, "scalenet_sa_") {
				cfg := ScaleAggConfig{In: f.int(t, "in_"), Out: intList(t, f, "out"), Side: f.int(t, "side")}
				mk = func() Layer {
					l, err := NewScaleAggregation(cfg)
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
			} else {
				cfg := ScaleBottleneckConfig{In: f.int(t, "in_"), Planes: f.int(t, "planes"), Stride: f.int(t, "stride"),
					Out: intList(t, f, "out"), Side: f.int(t, "side")}
				mk = func() Layer { return mustBlock(t)(NewScaleBottleneck(cfg)) }
			}
			checkBlockFixture(t, f, mk)
		})
	}
}

// TestScaleAggregationKernels checks the reference's kernel rule (3x3 when side/2^i >
// 1) and the MACs of ScaleNet-50's first block (Eli-YiLi/ScaleNet
// structures/scalenet50.json row [62, 9, 5, 12, 56], 64 input channels at 56x56),
// counted by hand: 3x3 convolutions from 64 channels at 56x56, 28x28, 14x14 and 8x8
// (56/7): 64*9*(62*3136 + 9*784 + 5*196 + 12*64) = 117,063,936 MACs;
// 64*9*(62+9+5+12) = 50,688 weights and 2*88 batch-norm parameters.
func TestScaleAggregationKernels(t *testing.T) {
	tests := []struct {
		side    int
		in      Shape
		kernels []int
		macs    int64
		params  int64
	}{
		{56, Shape{64, 56, 56}, []int{3, 3, 3, 3}, 117063936, 50688 + 176},
		// Side 7 (layer4): 7/8 < 1 gives branch 3 a 1x1 kernel; branch 2 pools to 1x1
		// but keeps 3x3 (7/4 > 1), as the reference does: 64*(62*9*49 + 9*9*9 +
		// 5*9*1 + 12*1*1) MACs.
		{7, Shape{64, 7, 7}, []int{3, 3, 3, 1}, 64 * (62*9*49 + 9*9*9 + 5*9 + 12), 64*(9*(62+9+5)+12) + 176},
		// Side 0 means 3x3 everywhere.
		{0, Shape{64, 8, 8}, []int{3, 3, 3, 3}, 64 * 9 * (62*64 + 9*16 + 5*4 + 12*1), 64*9*88 + 176},
	}
	for _, tt := range tests {
		l, err := NewScaleAggregation(ScaleAggConfig{In: 64, Out: []int{62, 9, 5, 12}, Side: tt.side})
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, b := range l.Children() {
			got = append(got, b.(*ScaleBranch).conv.cfg.KH)
		}
		if !slices.Equal(got, tt.kernels) {
			t.Errorf("side %d: kernels %v, want %v", tt.side, got, tt.kernels)
		}
		c := l.Cost(tt.in)
		if c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("side %d: Cost(%v) = %+v, want MACs %d params %d", tt.side, tt.in, c, tt.macs, tt.params)
		}
		if out, err := l.OutShape(tt.in); err != nil || out != (Shape{88, tt.in.H, tt.in.W}) {
			t.Errorf("side %d: OutShape(%v) = %v, %v, want 88 channels at the input's size", tt.side, tt.in, out, err)
		}
	}
}

// TestScaleAggregationErrors checks the constructors' validation and a wrong input.
func TestScaleAggregationErrors(t *testing.T) {
	for _, c := range []struct {
		cfg ScaleAggConfig
		msg string
	}{
		{ScaleAggConfig{In: 0, Out: []int{1, 1, 1, 1}}, "input channels"},
		{ScaleAggConfig{In: 4, Out: []int{1, 1, 1}}, "3 branch widths"},
		{ScaleAggConfig{In: 4, Out: []int{0, 0, 0, 0}}, "no channels"},
		{ScaleAggConfig{In: 4, Out: []int{1, -1, 1, 1}}, "branch 1 has -1"},
		{ScaleAggConfig{In: 4, Out: []int{1, 1}, Scales: []int{1, 0}}, "pools by 0"},
		{ScaleAggConfig{In: 4, Out: []int{1, 1, 1, 1}, Side: -1}, "side -1"},
	} {
		if _, err := NewScaleAggregation(c.cfg); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("NewScaleAggregation(%+v) error %v, want one containing %q", c.cfg, err, c.msg)
		}
	}
	if _, err := NewScaleBottleneck(ScaleBottleneckConfig{In: 8, Planes: 2, Stride: 3, Out: []int{1, 1, 1, 1}}); err == nil {
		t.Errorf("NewScaleBottleneck accepted stride 3")
	}
	l, err := NewScaleAggregation(ScaleAggConfig{In: 4, Out: []int{1, 1, 1, 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Forward(randTensor(1, 1, Shape{3, 8, 8})); err == nil {
		t.Errorf("a layer for 4 channels accepted 3")
	}
	if _, err := l.Backward(randTensor(1, 1, Shape{4, 8, 8})); err == nil {
		t.Errorf("backward before forward succeeded")
	}
}

// TestResizeTaps checks the source indices of nearest and bilinear resizing against
// PyTorch 1.13: F.interpolate(torch.arange(n), size=m, mode="nearest") picks
// [0,0,0,0,1,1,1,1] for 2 -> 8 and [0,0,0,1,1,1,2,2,2] for 3 -> 9; bilinear 3 -> 7
// (align_corners=False) samples at max(3/7*(d+0.5)-0.5, 0), so output 3 sits on
// input 1 (1.0) and output 6 at 2.2857, clamped to the last input.
func TestResizeTaps(t *testing.T) {
	idx := func(ts []tap) []int {
		var out []int
		for _, x := range ts {
			out = append(out, x.i0)
		}
		return out
	}
	if got, want := idx(resizeTaps(2, 8, true)), []int{0, 0, 0, 0, 1, 1, 1, 1}; !slices.Equal(got, want) {
		t.Errorf("nearest 2 -> 8: %v, want %v", got, want)
	}
	if got, want := idx(resizeTaps(3, 9, true)), []int{0, 0, 0, 1, 1, 1, 2, 2, 2}; !slices.Equal(got, want) {
		t.Errorf("nearest 3 -> 9: %v, want %v", got, want)
	}
	bl := resizeTaps(3, 7, false)
	// float32 rounding of 3/7*(d+0.5)-0.5 is within 1e-6 of the exact weight.
	const tol = 1e-6
	for _, c := range []struct {
		d, i0, i1 int
		l1        float64
	}{
		{0, 0, 1, 0},               // -0.2857 clamps to 0
		{3, 1, 2, 0},               // exactly 1
		{4, 1, 2, 3.0/7*4.5 - 1.5}, // 1.4286
		{6, 2, 2, 3.0/7*6.5 - 2.5}, // 2.2857, no next input
	} {
		got := bl[c.d]
		if got.i0 != c.i0 || got.i1 != c.i1 || math.Abs(float64(got.l1)-c.l1) > tol || math.Abs(float64(got.l0)-(1-c.l1)) > tol {
			t.Errorf("bilinear 3 -> 7 output %d: %+v, want i0 %d i1 %d l1 %.6f", c.d, got, c.i0, c.i1, c.l1)
		}
	}
}

// TestAllocateScaleChannels checks the allocation on gammas ranked by hand.
func TestAllocateScaleChannels(t *testing.T) {
	for _, c := range []struct {
		name   string
		gammas [][]float32
		total  int
		want   []int
	}{
		// |gamma| sorted: 0.9 (b1), -0.8 (b0), 0.7 (b2), 0.5 (b0), 0.3 (b1), 0.1 (b3), 0.05 (b2).
		{"top4", [][]float32{{0.5, -0.8}, {0.9, 0.3}, {0.05, 0.7}, {0.1}}, 4, []int{2, 1, 1, 0}},
		{"top1", [][]float32{{0.5, -0.8}, {0.9, 0.3}, {0.05, 0.7}, {0.1}}, 1, []int{0, 1, 0, 0}},
		{"all", [][]float32{{0.5, -0.8}, {0.9, 0.3}, {0.05, 0.7}, {0.1}}, 7, []int{2, 2, 2, 1}},
		{"none", [][]float32{{0.5}, {0.9}}, 0, []int{0, 0}},
		// Ties go to the earlier branch.
		{"ties", [][]float32{{0.2, 0.2}, {-0.2, 0.2}}, 3, []int{2, 1}},
		// A dropped branch (nil) keeps 0.
		{"dropped", [][]float32{{1, 2}, nil, {3}}, 2, []int{1, 0, 1}},
	} {
		got, err := AllocateScaleChannels(c.gammas, c.total)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: AllocateScaleChannels(%v, %d) = %v, %v, want %v", c.name, c.gammas, c.total, got, err, c.want)
		}
	}
	for _, c := range []struct {
		gammas [][]float32
		total  int
	}{
		{[][]float32{{1}, {2}}, 3},
		{[][]float32{{1}, {2}}, -1},
		{[][]float32{{1}, {float32(math.NaN())}}, 1},
	} {
		if got, err := AllocateScaleChannels(c.gammas, c.total); err == nil {
			t.Errorf("AllocateScaleChannels(%v, %d) = %v, want an error", c.gammas, c.total, got)
		}
	}
}

// TestScaleAggregationGammas checks that Gammas reads each branch's batch norm in
// configuration order, with nil for a dropped branch, and that the allocation of a
// layer's own gammas gives a configuration the constructor accepts.
func TestScaleAggregationGammas(t *testing.T) {
	l, err := NewScaleAggregation(ScaleAggConfig{In: 4, Out: []int{2, 0, 3, 1}})
	if err != nil {
		t.Fatal(err)
	}
	set := [][]float32{{0.1, -0.9}, {0.2, -1.8, 1.0}, {0.3}} // per branch with channels
	for j, b := range l.Children() {
		copy(b.(*ScaleBranch).bn().Weight().Value.Float32s(), set[j])
	}
	g := l.Gammas()
	want := [][]float32{{0.1, -0.9}, nil, {0.2, -1.8, 1.0}, {0.3}}
	for i := range want {
		if !slices.Equal(g[i], want[i]) {
			t.Errorf("Gammas()[%d] = %v, want %v", i, g[i], want[i])
		}
	}
	counts, err := AllocateScaleChannels(g, 3)
	if err != nil {
		t.Fatal(err)
	}
	// |gamma| 1.8, 1.0, 0.9 win: two of branch 2, one of branch 0.
	if w := []int{1, 0, 2, 0}; !slices.Equal(counts, w) {
		t.Errorf("AllocateScaleChannels(Gammas(), 3) = %v, want %v", counts, w)
	}
	if _, err := NewScaleAggregation(ScaleAggConfig{In: 4, Out: counts}); err != nil {
		t.Errorf("the allocation %v does not build: %v", counts, err)
	}
}

// TestScaleAggregationAllocations checks that a training step of ScaleNet's block
// allocates no more than its convolutions do on their own (the pooling, resizing and
// concatenation buffers are reused), on an input that runs every path: pooled,
// nearest, bilinear (10 -> 5 after the stride, 5/2 = 2) and clamped.
func TestScaleAggregationAllocations(t *testing.T) {
	step := func(l Layer, in Shape) func() {
		out, err := l.OutShape(in)
		if err != nil {
			t.Fatal(err)
		}
		x, g := randTensor(1, 2, in), randTensor(2, 2, out)
		return func() {
			if _, err := l.Forward(x); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Backward(g); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := Conv(8, 8, 3, 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	perConv := testing.AllocsPerRun(10, step(c, Shape{8, 8, 8}))
	l := mustBlock(t)(NewScaleBottleneck(ScaleBottleneckConfig{In: 8, Planes: 4, Stride: 2, Out: []int{2, 2, 2, 2}, Side: 5}))
	convs := 0
	Walk(l, func(_ string, l Layer) {
		if _, ok := l.(*Conv2D); ok {
			convs++
		}
	})
	got := testing.AllocsPerRun(10, step(l, Shape{8, 10, 10}))
	t.Logf("%v allocations per step, %d convolutions x %v", got, convs, perConv)
	if got > float64(convs)*perConv {
		t.Errorf("%v allocations per step, want at most %d convolutions x %v", got, convs, perConv)
	}
}
