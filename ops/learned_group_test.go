package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// learnedFromFixture returns a layer of a fixture's configuration with its batch
// norm's gamma and beta.
func learnedFromFixture(t *testing.T, f *fixture) *LearnedGroupConv {
	t.Helper()
	l, err := NewLearnedGroupConv(LearnedGroupConfig{In: f.int(t, "cin"), Out: f.int(t, "cout"),
		Groups: f.int(t, "groups"), Condense: f.int(t, "condense")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	copyInto(t, l.Norm().Weight().Value, f.tensor(t, "gamma"))
	copyInto(t, l.Norm().Bias().Value, f.tensor(t, "beta"))
	return l
}

// fixtureProgress returns the progress the generator applied before each stage.
func fixtureProgress(t *testing.T, f *fixture) []float64 {
	t.Helper()
	raw, ok := f.config["progress"].([]any)
	if !ok {
		t.Fatalf("%s: config has no list \"progress\"", f.name)
	}
	ps := make([]float64, len(raw))
	for i, v := range raw {
		ps[i] = v.(float64)
	}
	return ps
}

// condenseStage sets the weights the generator set before stage s, applies its
// progress and checks the mask against the reference's.
func condenseStage(t *testing.T, f *fixture, l *LearnedGroupConv, s int, p float64) {
	t.Helper()
	copyInto(t, l.Conv().Weight().Value, f.tensor(t, "w"+itoa(s)))
	l.SetProgress(p)
	if got := l.Stage(); got != s {
		t.Errorf("SetProgress(%v): stage %d, want %d", p, got, s)
	}
	mask := f.tensor(t, "mask"+itoa(s)).Float32s()
	c := l.Config()
	for o := 0; o < c.Out; o++ {
		for j := 0; j < c.In; j++ {
			if got, want := l.Kept(o%c.Groups, j), mask[o*c.In+j] == 1; got != want {
				t.Errorf("stage %d: output %d (group %d) keeps input %d: %v, reference mask %v",
					s, o, o%c.Groups, j, got, want)
			}
		}
	}
}

// TestLearnedGroupConvMatchesPyTorch condenses layers stage by stage, comparing the
// chosen masks with the reference's _dropping, and compares the part-condensed
// layer's forward pass, gradients and group lasso, and the fully condensed layer's
// evaluation output and converted form, with testdata/gen/gen_learned_group.py.
func TestLearnedGroupConvMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "learned_group_") {
		t.Run(f.name, func(t *testing.T) {
			progress := fixtureProgress(t, f)
			mk := func() Layer {
				l := learnedFromFixture(t, f)
				condenseStage(t, f, l, 1, progress[0])
				return l
			}
			l := mk().(*LearnedGroupConv)
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			y, dx := runLayer(t, l, x, dy)
			assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
			assertClose(t, "dweight", l.Conv().Weight().Grad, f.tensor(t, "dweight"), fixtureTol)
			assertClose(t, "dgamma", l.Norm().Weight().Grad, f.tensor(t, "dgamma"), fixtureTol)
			assertClose(t, "dbeta", l.Norm().Bias().Grad, f.tensor(t, "dbeta"), fixtureTol)
			checkLayerContract(t, mk, x, dy)

			ZeroGrad(l)
			lasso := l.lasso(1)
			if want := float64(f.tensor(t, "lasso").Float32s()[0]); math.Abs(lasso-want) > fixtureTol*(1+math.Abs(want)) {
				t.Errorf("group lasso = %v, want %v", lasso, want)
			}
			assertClose(t, "dlasso", l.Conv().Weight().Grad, f.tensor(t, "dlasso"), fixtureTol)

			for s := 2; s <= len(progress); s++ {
				condenseStage(t, f, l, s, progress[s-1])
			}
			copy(l.Norm().RunningMean(), f.tensor(t, "running_mean").Float32s())
			copy(l.Norm().RunningVar(), f.tensor(t, "running_var").Float32s())
			SetTraining(l, false)
			xe := f.tensor(t, "x_eval")
			ye, err := l.Forward(xe)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "y_eval", ye, f.tensor(t, "y_eval"), fixtureTol)
			conv, err := l.Convert()
			if err != nil {
				t.Fatal(err)
			}
			sel := conv.Layers[0].(*IndexSelect).Index()
			want := f.tensor(t, "index").Float32s()
			if len(sel) != len(want) {
				t.Fatalf("converted index has %d channels, reference %d", len(sel), len(want))
			}
			for i, j := range sel {
				if float32(j) != want[i] {
					t.Errorf("converted index = %v, reference %v", sel, want)
					break
				}
			}
			yc, err := conv.Forward(xe)
			if err != nil {
				t.Fatal(err)
			}
			assertClose(t, "y_conv", yc, f.tensor(t, "y_conv"), fixtureTol)
		})
	}
}

// convertTol bounds the difference between the trained and the converted layer's
// outputs: both multiply the same weights and inputs, but the dense kernel also adds
// the dropped connections' exact zeros and sums in another order, which changes the
// float32 sums of these few dozen terms by a few ulps, far below 1e-5 of their scale.
const convertTol = 1e-5

// TestLearnedGroupConvConvertEqualsTrained trains layers with SGD (momentum and
// weight decay, which would revive dropped weights if the mask were not applied)
// through all condensation stages, then checks that the converted layer gives the
// trained layer's outputs in evaluation mode and costs PrunedCost.
func TestLearnedGroupConvConvertEqualsTrained(t *testing.T) {
	tests := []LearnedGroupConfig{
		{In: 16, Out: 12, Groups: 4},                            // C = G, the reference's default
		{In: 16, Out: 8, Groups: 2, Condense: 4, Lasso: 1e-3},   // C > G, with the lasso
		{In: 12, Out: 8, Groups: 4, Condense: 2, Dropout: 0.25}, // C < G: channels repeat
		{In: 8, Out: 8, Groups: 8, Condense: 8},                 // one output per group
	}
	for _, cfg := range tests {
		rng := rand.New(rand.NewPCG(1, 2))
		l, err := NewLearnedGroupConv(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		Init(l, rng)
		in := Shape{C: cfg.In, H: 4, W: 3}
		opt := &SGD{LR: 0.05, Momentum: 0.9, WeightDecay: 1e-3, Nesterov: true}
		const steps = 12
		for s := 0; s < steps; s++ {
			l.SetProgress(float64(s) / steps)
			x, dy := randTensor(uint64(10+s), 4, in), randTensor(uint64(100+s), 4, Shape{C: cfg.Out, H: 4, W: 3})
			// The gradient of a mean over the batch's 48 outputs per channel keeps
			// the weights at the scale of training, not growing step by step.
			for i, v := range dy.Float32s() {
				dy.Float32s()[i] = v / 48
			}
			ZeroGrad(l)
			if _, err := l.Forward(x); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Backward(dy); err != nil {
				t.Fatal(err)
			}
			l.Regularize()
			opt.Step(Params(l))
		}
		if got, want := l.Stage(), l.Config().Condense-1; got != want {
			t.Fatalf("%+v: stage %d after training, want %d", cfg, got, want)
		}
		SetTraining(l, false)
		x := randTensor(7, 3, in)
		y, err := l.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		conv, err := l.Convert()
		if err != nil {
			t.Fatal(err)
		}
		yc, err := conv.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		assertClose(t, fmt.Sprintf("%+v: converted output", cfg), yc, y, convertTol)
		if got, want := conv.Cost(in), l.PrunedCost(in); got != want {
			t.Errorf("%+v: converted cost %+v, PrunedCost %+v", cfg, got, want)
		}
		var n int64
		for _, p := range Params(conv) {
			n += int64(p.Size())
		}
		if got := conv.Cost(in).Params; n != got {
			t.Errorf("%+v: converted parameter tensors hold %d values, Cost says %d", cfg, n, got)
		}
	}
}

// TestLearnedGroupConvStages checks the stage schedule of the reference's
// _check_drop: stage i until 2*progress reaches (i+1)/(C-1), all within the first
// half of training.
func TestLearnedGroupConvStages(t *testing.T) {
	tests := []struct {
		condense int
		done     float64
		want     int
	}{
		{4, 0, 0}, {4, 0.16, 0}, {4, 1.0 / 6, 1}, {4, 0.3, 1}, {4, 1.0 / 3, 2}, {4, 0.49, 2}, {4, 0.5, 3}, {4, 1, 3},
		{2, 0.49, 0}, {2, 0.5, 1},
		{1, 0.7, 0}, // C = 1 never condenses
	}
	for _, tt := range tests {
		l, err := NewLearnedGroupConv(LearnedGroupConfig{In: 8, Out: 4, Groups: 1, Condense: tt.condense}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.stageAt(tt.done); got != tt.want {
			t.Errorf("C=%d: stageAt(%v) = %d, want %d", tt.condense, tt.done, got, tt.want)
		}
	}
	// A progress that skips stages condenses once per stage: C=4 from 0 to 1 keeps
	// In/C = 2 of 8 inputs per group.
	l, err := NewLearnedGroupConv(LearnedGroupConfig{In: 8, Out: 4, Groups: 2, Condense: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	Init(l, rand.New(rand.NewPCG(3, 4)))
	l.SetProgress(1)
	for g := 0; g < 2; g++ {
		n := 0
		for j := 0; j < 8; j++ {
			if l.Kept(g, j) {
				n++
			}
		}
		if n != 2 {
			t.Errorf("after SetProgress(1): group %d keeps %d inputs, want 2", g, n)
		}
	}
	if l.GroupLasso() != 0 || l.Regularize() != 0 {
		t.Errorf("at the last stage: GroupLasso %v, Regularize %v, want 0 (the reference stops the lasso)", l.GroupLasso(), l.Regularize())
	}
	// Init starts over with every connection.
	Init(l, rand.New(rand.NewPCG(3, 4)))
	if l.Stage() != 0 || !l.Kept(0, 0) || !l.Kept(1, 7) || l.count != 0 {
		t.Errorf("after Init: stage %d, count %d, want every connection kept", l.Stage(), l.count)
	}
}

// TestLearnedGroupConvCost checks the trained and the pruned price against counts by
// hand.
func TestLearnedGroupConvCost(t *testing.T) {
	tests := []struct {
		cfg                      LearnedGroupConfig
		in                       Shape
		macs, params             int64 // dense, as trained
		prunedMACs, prunedParams int64
	}{
		// CondenseNet-74 (C=G=4), first layer of block 1 at 56x56: 16 -> 32.
		// Trained: 56*56*16*32 = 1,605,632 MACs, 16*32 + 2*16 = 544 params.
		// Pruned: 56*56*32*(16/4) = 401,408 MACs, 32*4 + 2*4*4 = 160 params.
		{LearnedGroupConfig{In: 16, Out: 32, Groups: 4}, Shape{16, 56, 56}, 1605632, 544, 401408, 160},
		// G=2, C=4, 24 -> 8 at 5x5: trained 25*24*8 = 4,800 MACs, 192 + 48 = 240 params;
		// pruned 25*8*6 = 1,200 MACs, 8*6 + 2*2*6 = 72 params.
		{LearnedGroupConfig{In: 24, Out: 8, Groups: 2, Condense: 4}, Shape{24, 5, 5}, 4800, 240, 1200, 72},
	}
	for _, tt := range tests {
		l, err := NewLearnedGroupConv(tt.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Cost(tt.in); got != (Cost{tt.macs, tt.params}) {
			t.Errorf("%+v: Cost(%v) = %+v, want MACs %d params %d", tt.cfg, tt.in, got, tt.macs, tt.params)
		}
		if got := l.PrunedCost(tt.in); got != (Cost{tt.prunedMACs, tt.prunedParams}) {
			t.Errorf("%+v: PrunedCost(%v) = %+v, want MACs %d params %d", tt.cfg, tt.in, got, tt.prunedMACs, tt.prunedParams)
		}
	}
}

// TestLearnedGroupConvPriceConverted checks that PriceConverted prices the layer as
// its converted form, alone and inside a network, whose layer table then shows it as
// one row, and that it changes nothing else: parameters and outputs are those of the
// layer priced as trained.
func TestLearnedGroupConvPriceConverted(t *testing.T) {
	tests := []struct {
		cfg LearnedGroupConfig
		in  Shape
		// want is PrunedCost, counted by hand in TestLearnedGroupConvCost.
		want Cost
	}{
		{LearnedGroupConfig{In: 16, Out: 32, Groups: 4}, Shape{16, 56, 56}, Cost{401408, 160}},
		{LearnedGroupConfig{In: 24, Out: 8, Groups: 2, Condense: 4}, Shape{24, 5, 5}, Cost{1200, 72}},
	}
	for _, tt := range tests {
		priced := tt.cfg
		priced.PriceConverted = true
		l, err := NewLearnedGroupConv(priced, nil)
		if err != nil {
			t.Fatal(err)
		}
		dense, err := NewLearnedGroupConv(tt.cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := l.Cost(tt.in); got != tt.want {
			t.Errorf("%+v: Cost(%v) = %+v, want %+v", priced, tt.in, got, tt.want)
		}
		if got := l.ChildShapes(tt.in); got != nil {
			t.Errorf("%+v: ChildShapes(%v) = %v, want nil", priced, tt.in, got)
		}
		if got, want := l.Describe(), dense.Describe()+" (priced converted)"; got != want {
			t.Errorf("%+v: Describe() = %q, want %q", priced, got, want)
		}
		net, err := NewNetwork(l, tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got := net.Cost(); got != tt.want {
			t.Errorf("%+v: network cost %+v, want %+v", priced, got, tt.want)
		}
		if rows := net.Layers(); len(rows) != 1 || rows[0].Cost != tt.want {
			t.Errorf("%+v: layer table %+v, want one row at %+v", priced, rows, tt.want)
		}
		// The parameters are the training form's either way.
		if got, want := net.ParamCount(), dense.Cost(tt.in).Params; got != want {
			t.Errorf("%+v: %d parameter values, want the training form's %d", priced, got, want)
		}
		rng := rand.New(rand.NewPCG(5, 6))
		Init(l, rng)
		for i, p := range Params(l) {
			copyInto(t, Params(dense)[i].Value, p.Value)
		}
		SetTraining(l, false)
		SetTraining(dense, false)
		x := randTensor(8, 2, Shape{C: tt.cfg.In, H: 3, W: 2})
		y, err := l.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		yd, err := dense.Forward(x)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(y.Float32s(), yd.Float32s()) {
			t.Errorf("%+v: outputs differ from the layer priced as trained", priced)
		}
	}
}

// TestLearnedGroupConvErrors checks invalid configurations.
func TestLearnedGroupConvErrors(t *testing.T) {
	bad := []LearnedGroupConfig{
		{In: 0, Out: 4},
		{In: 8, Out: 6, Groups: 4},
		{In: 6, Out: 4, Groups: 2, Condense: 4},
		{In: 8, Out: 4, Groups: 2, Condense: -1},
		{In: 8, Out: 4, Lasso: -1},
		{In: 8, Out: 4, Dropout: 0.5}, // dropout without a random source
	}
	for _, c := range bad {
		if _, err := NewLearnedGroupConv(c, nil); err == nil {
			t.Errorf("NewLearnedGroupConv(%+v) succeeded, want an error", c)
		}
	}
}

// TestLearnedGroupConvAllocs checks that the mask adds no allocation to a training
// step: the layer allocates as much as batch norm, ReLU and convolution alone.
func TestLearnedGroupConvAllocs(t *testing.T) {
	if raceEnabled() {
		// Under the race detector sync.Pool drops gemm's packing buffers at random,
		// so the two counts differ by chance (1 in 3 runs failed there).
		t.Skip("allocation counts are not meaningful under -race (sync.Pool drops items)")
	}
	in, out := Shape{C: 16, H: 6, W: 6}, Shape{C: 8, H: 6, W: 6}
	x, dy := randTensor(1, 4, in), randTensor(2, 4, out)
	l, err := NewLearnedGroupConv(LearnedGroupConfig{In: 16, Out: 8, Groups: 4}, nil)
	if err != nil {
		t.Fatal(err)
	}
	Init(l, rand.New(rand.NewPCG(1, 1)))
	l.SetProgress(0.4) // stage 2 of 3: the mask is applied
	conv, err := NewConv2D(ConvConfig{In: 16, Out: 8, KH: 1, KW: 1})
	if err != nil {
		t.Fatal(err)
	}
	plain := Seq(NewBatchNorm2D(16), NewReLU(), conv)
	step := func(m Layer) func() {
		return func() {
			m.Forward(x)
			m.Backward(dy)
		}
	}
	step(l)()
	step(plain)()
	if got, want := testing.AllocsPerRun(20, step(l)), testing.AllocsPerRun(20, step(plain)); got > want {
		t.Errorf("learned group conv step allocates %v times, its layers alone %v", got, want)
	}
}

// TestIndexSelectOps checks the selection worked by hand: with 3 input channels and
// index [2, 0, 2], output channels are inputs 2, 0, 2, and the input gradient of
// channel 2 is the sum of output gradients 0 and 2, of channel 1 zero.
func TestIndexSelectOps(t *testing.T) {
	mk := func() Layer {
		l, err := NewIndexSelect([]int{2, 0, 2})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	in := Shape{C: 3, H: 1, W: 2}
	// Sample s, channel c, pixel p holds 100*s + 10*c + p.
	x := FromSlice(2, in, []float32{0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121})
	dy := FromSlice(2, in, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	y, dx := runLayer(t, mk(), x, dy)
	if want := []float32{20, 21, 0, 1, 20, 21, 120, 121, 100, 101, 120, 121}; !slices.Equal(y.Float32s(), want) {
		t.Errorf("Forward = %v, want %v", y.Float32s(), want)
	}
	if want := []float32{3, 4, 0, 0, 6, 8, 9, 10, 0, 0, 18, 20}; !slices.Equal(dx.Float32s(), want) {
		t.Errorf("Backward = %v, want %v", dx.Float32s(), want)
	}
	checkLayerContract(t, mk, x, dy)
	l := mk()
	l.Forward(x)
	if a := testing.AllocsPerRun(10, func() {
		l.Forward(x)
		l.Backward(dy)
	}); a != 0 {
		t.Errorf("Forward+Backward allocate %v times per step, want 0", a)
	}
}
