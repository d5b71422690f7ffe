package ops

import (
	"runtime"
	"slices"
	"testing"
)

// mustPair returns a function that passes on a pair layer constructor's result,
// failing the test if the constructor failed.
func mustPair[T PairLayer](t *testing.T) func(T, error) PairLayer {
	return func(p T, err error) PairLayer {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
}

// octConvSeq builds the sequence of gen_blocks_b.py's octconv_seq case: a first layer
// (alpha_in 0), a grouped one, a strided grouped one and a last one (alpha_out 0).
func octConvSeq(t *testing.T) Layer {
	m := mustPair[*PairSeq](t)
	s, err := NewOctaveSeq(
		m(NewOctConvBN(OctConvConfig{In: 4, Out: 8, K: 3, AlphaIn: 0, AlphaOut: 0.5}, ActReLU)),
		m(NewOctConvBN(OctConvConfig{In: 8, Out: 8, K: 3, AlphaIn: 0.5, AlphaOut: 0.5, Groups: 4}, ActReLU)),
		m(NewOctConvBN(OctConvConfig{In: 8, Out: 12, K: 3, Stride: 2, AlphaIn: 0.5, AlphaOut: 0.5, Groups: 2}, ActReLU)),
		m(NewOctConvBN(OctConvConfig{In: 12, Out: 6, K: 1, AlphaIn: 0.5, AlphaOut: 0}, ActNone)),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// octBottleneckSeq builds gen_blocks_b.py's octave_bottleneck_seq case: the block
// kinds of oct_resnet50 (layer1's first, layer2's first, a plain one, layer4's first
// and one after it).
func octBottleneckSeq(t *testing.T) Layer {
	m := mustPair[*PairResidual](t)
	s, err := NewOctaveSeq(
		m(NewOctBottleneck(OctBottleneckConfig{In: 4, Planes: 4, AlphaIn: 0, AlphaOut: 0.5})),
		m(NewOctBottleneck(OctBottleneckConfig{In: 16, Planes: 4, Stride: 2, AlphaIn: 0.5, AlphaOut: 0.5})),
		m(NewOctBottleneck(OctBottleneckConfig{In: 16, Planes: 4, AlphaIn: 0.5, AlphaOut: 0.5})),
		m(NewOctBottleneck(OctBottleneckConfig{In: 16, Planes: 4, Stride: 2, AlphaIn: 0.5, AlphaOut: 0})),
		m(NewOctBottleneck(OctBottleneckConfig{In: 16, Planes: 4})),
	)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOctaveMatchesPyTorch compares octave convolutions and octave ResNet bottlenecks
// with d-li14/octconv.pytorch's OctaveConv, Conv_BN(_ACT) and Bottleneck,
// re-implemented in testdata/gen/gen_blocks_b.py.
func TestOctaveMatchesPyTorch(t *testing.T) {
	for _, tt := range []struct {
		prefix string
		mk     func(*testing.T) Layer
	}{
		{"block_octconv_seq", octConvSeq},
		{"block_octave_bottleneck_seq", octBottleneckSeq},
	} {
		for _, f := range loadFixtures(t, tt.prefix) {
			t.Run(f.name, func(t *testing.T) {
				checkBlockFixture(t, f, func() Layer { return tt.mk(t) })
			})
		}
	}
}

// octResNet50Layers builds oct_resnet50's layer1..layer4 (alpha 0.5) as oct_resnet.py's
// _make_layer does: [3, 4, 6, 3] blocks of planes 64, 128, 256, 512, stride 2 from
// layer2 on; layer1 starts from a single tensor (alpha_in 0) and layer4 ends in one
// (alpha_out 0 for all its blocks).
func octResNet50Layers(t *testing.T) *OctaveSeq {
	var blocks []PairLayer
	in := 64
	for _, st := range []struct {
		planes, n, stride int
		alphaIn, alphaOut float64
	}{{64, 3, 1, 0, 0.5}, {128, 4, 2, 0.5, 0.5}, {256, 6, 2, 0.5, 0.5}, {512, 3, 2, 0.5, 0}} {
		for i := 0; i < st.n; i++ {
			c := OctBottleneckConfig{In: in, Planes: st.planes, AlphaIn: st.alphaOut, AlphaOut: st.alphaOut}
			if i == 0 {
				c.Stride, c.AlphaIn = st.stride, st.alphaIn
			}
			b, err := NewOctBottleneck(c)
			if err != nil {
				t.Fatal(err)
			}
			blocks = append(blocks, b)
			in = 4 * st.planes
		}
	}
	s, err := NewOctaveSeq(blocks...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOctaveResNet50Cost checks oct_resnet50's four stages at 224x224 (input 56x56x64
// after the stem) against the forward-hook count of the reference structure in
// gen_blocks_b.py. With the stem (118,013,952 MACs, 9,536 parameters) and the
// classifier (2,048,000 MACs, 2,049,000 parameters) that is 2.37G MACs and 25.6M
// parameters, the 2.4 GFLOPs the OctConv paper reports for ResNet-50 at alpha 0.5.
func TestOctaveResNet50Cost(t *testing.T) {
	f := loadFixtures(t, "block_count_oct_resnet50_layers")[0]
	s := octResNet50Layers(t)
	in := Shape{64, 56, 56}
	if out, err := s.OutShape(in); err != nil || out != (Shape{2048, 7, 7}) {
		t.Errorf("OutShape(%v) = %v, %v, want 7x7x2048", in, out, err)
	}
	c := s.Cost(in)
	if c.MACs != int64(f.int(t, "macs")) || c.Params != int64(f.int(t, "params")) {
		t.Errorf("Cost(%v) = %+v, want MACs %d params %d", in, c, f.int(t, "macs"), f.int(t, "params"))
	}
}

// TestOctConvCost checks the four-path count by hand. A 3x3 octave convolution 64 ->
// 64 at alpha 0.5 with the high part at 56x56 and the low at 28x28 runs each path
// 32 -> 32: high-to-high at 56x56 is 3136*32*32*9 = 28,901,376 MACs, the other three at
// 28x28 are 784*32*32*9 = 7,225,344 each, 50,577,408 in all (7/16 of the plain
// convolution's 115,605,504), with the plain convolution's 64*64*9 = 36,864 weights.
// At stride 2 the inputs are pooled first: high-to-high runs at 28x28, high-to-low
// and low-to-low at 14x14, and low-to-high at the low part's own 28x28 without
// upsampling: 2*784*9216 + 2*196*9216 = 18,063,360 MACs.
func TestOctConvCost(t *testing.T) {
	tests := []struct {
		stride       int
		oh, ol       Shape
		macs, params int64
	}{
		{1, Shape{32, 56, 56}, Shape{32, 28, 28}, 50577408, 36864},
		{2, Shape{32, 28, 28}, Shape{32, 14, 14}, 18063360, 36864},
	}
	for _, tt := range tests {
		o, err := NewOctConv(OctConvConfig{In: 64, Out: 64, K: 3, Stride: tt.stride, AlphaIn: 0.5, AlphaOut: 0.5})
		if err != nil {
			t.Fatal(err)
		}
		h, l := Shape{32, 56, 56}, Shape{32, 28, 28}
		if oh, ol, err := o.OutShapes(h, l); err != nil || oh != tt.oh || ol != tt.ol {
			t.Errorf("stride %d: OutShapes = %v, %v, %v, want %v, %v", tt.stride, oh, ol, err, tt.oh, tt.ol)
		}
		if c := o.CostPair(h, l); c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("stride %d: CostPair = %+v, want MACs %d params %d", tt.stride, c, tt.macs, tt.params)
		}
	}
}

// TestOctaveChildren checks that the paths and batch norms appear in the reference's
// registration order (conv_l2l, conv_l2h, conv_h2l, conv_h2h; bn_h, bn_l), which names
// their parameters.
func TestOctaveChildren(t *testing.T) {
	cb, err := NewOctConvBN(OctConvConfig{In: 8, Out: 12, K: 3, AlphaIn: 0.25, AlphaOut: 0.5}, ActReLU)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewOctaveSeq(cb)
	if err != nil {
		t.Fatal(err)
	}
	var got [][]int
	for _, p := range Params(s) {
		got = append(got, p.Value.Shape())
	}
	// Input 2 low + 6 high, output 6 low + 6 high channels.
	want := [][]int{{6, 2, 3, 3}, {6, 2, 3, 3}, {6, 6, 3, 3}, {6, 6, 3, 3}, {6}, {6}, {6}, {6}}
	if !slices.EqualFunc(got, want, func(a, b []int) bool { return slices.Equal(a, b) }) {
		t.Errorf("parameter shapes %v, want %v", got, want)
	}
}

// TestOctaveErrors checks configurations and inputs the octave layers reject.
func TestOctaveErrors(t *testing.T) {
	for _, c := range []OctConvConfig{
		{In: 8, Out: 8, K: 3, AlphaIn: 1},
		{In: 8, Out: 8, K: 3, AlphaOut: -0.5},
		{In: 6, Out: 8, K: 3, AlphaIn: 0.25},
		{In: 8, Out: 8, K: 2},
		{In: 8, Out: 8, K: 3, Stride: 3},
		{In: 8, Out: 12, K: 3, AlphaIn: 0.5, AlphaOut: 0.5, Groups: 4},
	} {
		if _, err := NewOctConv(c); err == nil {
			t.Errorf("NewOctConv(%+v) succeeded, want an error", c)
		}
	}
	o, err := NewOctConv(OctConvConfig{In: 8, Out: 8, K: 3, AlphaIn: 0.5, AlphaOut: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range [][2]Shape{
		{{4, 8, 8}, {4, 5, 5}}, // low part not half the high part
		{{4, 7, 7}, {4, 3, 3}}, // odd high part
		{{4, 8, 8}, {}},        // low part missing
		{{8, 8, 8}, {4, 4, 4}}, // wrong split
	} {
		if _, _, err := o.OutShapes(in[0], in[1]); err == nil {
			t.Errorf("OutShapes(%v, %v) succeeded, want an error", in[0], in[1])
		}
	}
	// A sequence that ends with a low part is not a Layer's output.
	s, err := NewOctaveSeq(mustPair[*PairSeq](t)(NewOctConvBN(OctConvConfig{In: 4, Out: 8, K: 1, AlphaOut: 0.5}, ActReLU)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.OutShape(Shape{4, 8, 8}); err == nil {
		t.Errorf("OctaveSeq ending with alpha_out 0.5: OutShape succeeded, want an error")
	}
	if _, err := s.Forward(randTensor(1, 2, Shape{4, 8, 8})); err == nil {
		t.Errorf("OctaveSeq ending with alpha_out 0.5: Forward succeeded, want an error")
	}
}

// TestOctaveNoExtraAllocs checks that the octave plumbing (pools, upsampling, sums,
// pair containers) allocates nothing once shapes are stable: a training step of an
// octave sequence allocates no more than its convolutions do on their own (Conv2D
// allocates a little per call to hand its work out). It runs on one thread, where
// the counts are deterministic, and not under the race detector, whose
// instrumentation allocates.
func TestOctaveNoExtraAllocs(t *testing.T) {
	if raceEnabled() {
		t.Skip("allocation counts are not meaningful under -race")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	step := func(l Layer, in Shape) func() {
		x := randTensor(2, 2, in)
		y, err := l.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		dy := clone(y)
		if _, err := l.Backward(dy); err != nil {
			t.Fatal(err)
		}
		return func() {
			if _, err := l.Forward(x); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Backward(dy); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, err := Conv(8, 8, 3, 1, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	perConv := testing.AllocsPerRun(10, step(c, Shape{8, 8, 8}))
	for _, tt := range []struct {
		name string
		l    Layer
		in   Shape
	}{
		{"octconv_seq", octConvSeq(t), Shape{4, 8, 8}},
		{"octave_bottleneck_seq", octBottleneckSeq(t), Shape{4, 16, 16}},
	} {
		convs := 0
		Walk(tt.l, func(_ string, l Layer) {
			if _, ok := l.(*Conv2D); ok {
				convs++
			}
		})
		if got := testing.AllocsPerRun(10, step(tt.l, tt.in)); got > float64(convs)*perConv {
			t.Errorf("%s: %v allocations per step, want at most %d convolutions x %v", tt.name, got, convs, perConv)
		}
	}
}

// benchmarkBottleneck times a training step (forward and backward) of a batch of 8 at
// 28x28x256 and reports GFLOP/s counting 2 FLOPs per MAC and the backward pass as
// twice the forward's MACs.
func benchmarkBottleneck(b *testing.B, l Layer) {
	in := Shape{256, 28, 28}
	const n = 8
	x := randTensor(1, n, in)
	y, err := l.Forward(x)
	if err != nil {
		b.Fatal(err)
	}
	dy := clone(y)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := l.Forward(x); err != nil {
			b.Fatal(err)
		}
		if _, err := l.Backward(dy); err != nil {
			b.Fatal(err)
		}
	}
	flops := 2 * 3 * float64(l.Cost(in).MACs) * n
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkBottleneckPlain is ResNet-50's layer1 block (planes 64) at 28x28.
func BenchmarkBottleneckPlain(b *testing.B) {
	l, err := ResNetBottleneck(256, 64, 1, 1, 64)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkBottleneck(b, l)
}

// BenchmarkBottleneckOctave is the same block as an octave bottleneck at alpha 0.5,
// entered and left through alpha 0 so that it runs from one tensor to one.
func BenchmarkBottleneckOctave(b *testing.B) {
	first, err := NewOctBottleneck(OctBottleneckConfig{In: 256, Planes: 64, AlphaIn: 0, AlphaOut: 0.5})
	if err != nil {
		b.Fatal(err)
	}
	last, err := NewOctBottleneck(OctBottleneckConfig{In: 256, Planes: 64, AlphaIn: 0.5, AlphaOut: 0})
	if err != nil {
		b.Fatal(err)
	}
	l, err := NewOctaveSeq(first, last)
	if err != nil {
		b.Fatal(err)
	}
	benchmarkBottleneck(b, l)
}
