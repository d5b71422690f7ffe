package ops

import (
	"math"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// TestBatchNorm2DMatchesPyTorch compares outputs, all gradients and the running
// statistics after one step with nn.BatchNorm2d in testdata/gen/gen_layers.py, in
// training and evaluation mode.
func TestBatchNorm2DMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "bn_") {
		t.Run(f.name, func(t *testing.T) {
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			_, s, err := ShapeOf(x)
			if err != nil {
				t.Fatal(err)
			}
			training := f.int(t, "training") == 1
			mk := func() Layer {
				l := NewBatchNorm2D(s.C)
				l.Momentum, l.Eps = f.float(t, "momentum"), f.float(t, "eps")
				copyInto(t, l.Weight().Value, f.tensor(t, "weight"))
				copyInto(t, l.Bias().Value, f.tensor(t, "bias"))
				copy(l.RunningMean(), f.tensor(t, "running_mean0").Float32s())
				copy(l.RunningVar(), f.tensor(t, "running_var0").Float32s())
				l.SetTraining(training)
				return l
			}
			l := mk().(*BatchNorm2D)
			y, dx := runLayer(t, l, x, dy)
			assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
			assertClose(t, "dweight", l.Weight().Grad, f.tensor(t, "dweight"), fixtureTol)
			assertClose(t, "dbias", l.Bias().Grad, f.tensor(t, "dbias"), fixtureTol)
			rm := tensor.New(tensor.WithShape(s.C), tensor.WithBacking(l.RunningMean()))
			rv := tensor.New(tensor.WithShape(s.C), tensor.WithBacking(l.RunningVar()))
			assertClose(t, "running_mean", rm, f.tensor(t, "running_mean"), fixtureTol)
			assertClose(t, "running_var", rv, f.tensor(t, "running_var"), fixtureTol)
			if !training {
				// Evaluation must leave the running statistics alone; the fixture's
				// final values equal its initial ones.
				assertClose(t, "eval running_mean", rm, f.tensor(t, "running_mean0"), 0)
			}
			// In training mode each run updates the running statistics, which do not
			// enter the output, so the contract's repeated runs still agree.
			checkLayerContract(t, mk, x, dy)
		})
	}
}

// TestBatchNorm2DModes checks that training mode normalizes with batch statistics
// (each channel of the output has mean beta and biased variance gamma^2 up to eps) and
// evaluation mode with the running ones (a fresh layer is then the identity map up to
// 1/sqrt(1+eps)).
func TestBatchNorm2DModes(t *testing.T) {
	s := Shape{3, 4, 5}
	x := randTensor(1, 6, s)
	for i, v := range x.Float32s() {
		x.Float32s()[i] = 3*v + 7 // far from the initial running statistics
	}
	l := NewBatchNorm2D(s.C)
	y, err := l.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	yd, hw := y.Float32s(), s.H*s.W
	for c := 0; c < s.C; c++ {
		var sum, sq float64
		for i := 0; i < 6; i++ {
			for _, v := range yd[(i*s.C+c)*hw : (i*s.C+c+1)*hw] {
				sum += float64(v)
				sq += float64(v) * float64(v)
			}
		}
		cnt := float64(6 * hw)
		mean, variance := sum/cnt, sq/cnt-(sum/cnt)*(sum/cnt)
		// 1e-4: float32 rounding of a standardized sample of 120 values; variance is
		// var/(var+eps) with var about 9, so eps shifts it by about 1e-6.
		if math.Abs(mean) > 1e-4 || math.Abs(variance-1) > 1e-4 {
			t.Errorf("training channel %d: mean %g variance %g, want 0 and 1", c, mean, variance)
		}
	}
	fresh := NewBatchNorm2D(s.C)
	fresh.SetTraining(false)
	if fresh.Training() {
		t.Fatalf("SetTraining(false) left training mode on")
	}
	ye, err := fresh.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	k := float32(1 / math.Sqrt(1+1e-5))
	for i, v := range x.Float32s() {
		if got, want := ye.Float32s()[i], v*k; got != want {
			t.Fatalf("eval forward of a fresh layer: element %d = %v, want %v", i, got, want)
		}
	}
	for c := 0; c < s.C; c++ {
		if fresh.RunningMean()[c] != 0 || fresh.RunningVar()[c] != 1 {
			t.Errorf("eval forward changed running stats of channel %d: %v %v", c, fresh.RunningMean()[c], fresh.RunningVar()[c])
		}
	}
}

// TestBatchNorm2DErrors checks the rejected inputs.
func TestBatchNorm2DErrors(t *testing.T) {
	l := NewBatchNorm2D(4)
	if _, err := l.Forward(New(2, Shape{3, 2, 2})); err == nil || !strings.Contains(err.Error(), "channels") {
		t.Errorf("Forward with 3 channels into BatchNorm2D(4): err = %v, want a channel error", err)
	}
	if _, err := l.OutShape(Shape{5, 1, 1}); err == nil {
		t.Errorf("OutShape(5x1x1 channels) on BatchNorm2D(4): no error")
	}
	if _, err := l.Forward(New(1, Shape{4, 1, 1})); err == nil {
		t.Errorf("training Forward with one value per channel: no error, PyTorch raises one")
	}
	if _, err := l.Backward(New(1, Shape{4, 1, 1})); err == nil {
		t.Errorf("Backward before Forward: no error")
	}
	if _, err := l.Forward(New(2, Shape{4, 2, 2})); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Backward(New(3, Shape{4, 2, 2})); err == nil {
		t.Errorf("Backward with a gradient of the wrong batch size: no error")
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Errorf("NewBatchNorm2D(0) did not panic")
			}
		}()
		NewBatchNorm2D(0)
	}()
}

// TestBatchNorm2DCost checks that batch norm costs no MACs and 2*C parameters.
func TestBatchNorm2DCost(t *testing.T) {
	for _, c := range []int{1, 16, 256} {
		l := NewBatchNorm2D(c)
		got := l.Cost(Shape{c, 7, 7})
		if want := (Cost{Params: int64(2 * c)}); got != want {
			t.Errorf("BatchNorm2D(%d).Cost = %+v, want %+v", c, got, want)
		}
		var n int64
		for _, p := range l.Params() {
			n += int64(p.Size())
		}
		if n != got.Params {
			t.Errorf("BatchNorm2D(%d): parameter tensors hold %d values, Cost says %d", c, n, got.Params)
		}
		if ps := l.Params(); ps[0].Name != "weight" || ps[1].Name != "bias" {
			t.Errorf("BatchNorm2D params named %q, %q, want weight, bias", ps[0].Name, ps[1].Name)
		}
	}
}

// TestBatchNorm2DParallelMatchesSerial checks that a shape big enough to be split over
// cores gives the results of the per-channel definition computed here in float64.
func TestBatchNorm2DParallelMatchesSerial(t *testing.T) {
	s := Shape{8, 16, 16}
	n := 16 // 16*8*256 = 32768 values, above bnParallelMin
	x, dy := randTensor(2, n, s), randTensor(3, n, s)
	l := NewBatchNorm2D(s.C)
	for i := range l.Weight().Value.Float32s() {
		l.Weight().Value.Float32s()[i] = 0.5 + float32(i)/4
		l.Bias().Value.Float32s()[i] = float32(i) / 8
	}
	y, dx := runLayer(t, l, x, dy)
	want, wantDx := New(n, s), New(n, s)
	hw, cnt := s.H*s.W, float64(n*s.H*s.W)
	xd, dyd := x.Float32s(), dy.Float32s()
	for c := 0; c < s.C; c++ {
		idx := func(i, j int) int { return (i*s.C+c)*hw + j }
		var mean, v, sdy, dot float64
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				mean += float64(xd[idx(i, j)]) / cnt
			}
		}
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				d := float64(xd[idx(i, j)]) - mean
				v += d * d / cnt
				sdy += float64(dyd[idx(i, j)])
				dot += d * float64(dyd[idx(i, j)])
			}
		}
		inv := 1 / math.Sqrt(v+1e-5)
		g, b := float64(l.Weight().Value.Float32s()[c]), float64(l.Bias().Value.Float32s()[c])
		for i := 0; i < n; i++ {
			for j := 0; j < hw; j++ {
				d := float64(xd[idx(i, j)]) - mean
				want.Float32s()[idx(i, j)] = float32(d*inv*g + b)
				wantDx.Float32s()[idx(i, j)] = float32(g * inv * (float64(dyd[idx(i, j)]) - sdy/cnt - d*inv*inv*dot/cnt))
			}
		}
	}
	assertClose(t, "y", y, want, fixtureTol)
	assertClose(t, "dx", dx, wantDx, fixtureTol)
}

// checkNoAllocs fails if a Forward and Backward of l, after a first warm-up call,
// allocate. Shapes below the ops' parallel thresholds run on one goroutine, where
// nothing needs the heap.
func checkNoAllocs(t *testing.T, l Layer, x, dy *tensor.Dense) {
	t.Helper()
	run := func() {
		if _, err := l.Forward(x); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Backward(dy); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if a := testing.AllocsPerRun(10, run); a != 0 {
		t.Errorf("%T: Forward and Backward allocate %v times per step, want 0", l, a)
	}
}

// TestBatchNorm2DNoAllocs checks both modes.
func TestBatchNorm2DNoAllocs(t *testing.T) {
	s := Shape{8, 4, 4}
	x, dy := randTensor(12, 4, s), randTensor(13, 4, s)
	for _, training := range []bool{true, false} {
		l := NewBatchNorm2D(s.C)
		l.SetTraining(training)
		checkNoAllocs(t, l, x, dy)
	}
}

// bnBenchShapes are the batch norm inputs of reference_net.py at batch 128 (stem,
// expanded 1x1 outputs of its blocks, and the last expansion).
var bnBenchShapes = []Shape{{16, 28, 28}, {64, 28, 28}, {96, 14, 14}, {192, 7, 7}, {384, 4, 4}}

// BenchmarkBatchNorm2D times a training-mode forward and backward pass at batch 128,
// reporting values processed per second.
func BenchmarkBatchNorm2D(b *testing.B) {
	for _, s := range bnBenchShapes {
		for _, training := range []bool{true, false} {
			name := s.String() + map[bool]string{true: "/train", false: "/eval"}[training]
			b.Run(name, func(b *testing.B) {
				const n = 128
				x, dy := randTensor(1, n, s), randTensor(2, n, s)
				l := NewBatchNorm2D(s.C)
				l.SetTraining(training)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := l.Forward(x); err != nil {
						b.Fatal(err)
					}
					if _, err := l.Backward(dy); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(n*s.Size())*float64(b.N)/b.Elapsed().Seconds()/1e9, "Gvalues/s")
			})
		}
	}
}

// TestBatchNormSampleSplitBitIdentical checks that the parallel passes of batch norm
// (over samples, the sums per channel in sample order in a pass over the channels;
// over channels for a single sample) give the bits of the one-goroutine path: alone,
// fused with activations and shuffles, after a convolution that computed its
// statistics, and adding a residual shortcut; in training and evaluation mode.
func TestBatchNormSampleSplitBitIdentical(t *testing.T) {
	defer func(m, c int) { bnParallelMin, bnCoefSerialMax = m, c }(bnParallelMin, bnCoefSerialMax)
	cases := []fuseCase{
		{"bn_alone", func(t *testing.T) Layer { return NewBatchNorm2D(6) }, Shape{6, 5, 7}, 9},
		// One sample: the workers split the channels.
		{"bn_alone_batch1", func(t *testing.T) Layer { return NewBatchNorm2D(6) }, Shape{6, 5, 7}, 1},
		{"bn_relu6_shuffle", func(t *testing.T) Layer { return fusedCases[len(fusedCases)-1].build(true) }, Shape{24, 14, 14}, 3},
		{"conv_bn_relu", func(t *testing.T) Layer {
			c, err := Conv(3, 8, 3, 1, 1, false)
			if err != nil {
				t.Fatal(err)
			}
			return Seq(c, NewBatchNorm2D(8), NewReLU())
		}, Shape{3, 9, 9}, 5},
		{"invres_residual", func(t *testing.T) Layer {
			b, err := NewInvertedResidual(InvertedResidualConfig{In: 8, Out: 8, Expand: 2, Groups: 2, Shuffle: true, Act: ActReLU6})
			if err != nil {
				t.Fatal(err)
			}
			return b
		}, Shape{8, 7, 7}, 6},
	}
	for _, c := range cases {
		for _, training := range []bool{true, false} {
			bnParallelMin = math.MaxInt
			want := runFuse(t, c, training)
			bnParallelMin = 1
			for _, coefSerial := range []int{math.MaxInt, 0} {
				// The passes over the channels on one goroutine and in parallel
				// (channelPass).
				bnCoefSerialMax = coefSerial
				got := runFuse(t, c, training)
				for i := range want {
					if !slices.Equal(got[i], want[i]) {
						t.Errorf("%s, training %v, channel passes on one goroutine %v: result %d differs between the parallel and the one-goroutine batch norm",
							c.name, training, coefSerial > 0, i)
					}
				}
			}
		}
	}
}
