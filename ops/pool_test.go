package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// poolFromFixture builds the pooling layer a pool_ fixture describes.
func poolFromFixture(t *testing.T, f *fixture) Layer {
	t.Helper()
	kind := f.str(t, "kind")
	if kind == "global" {
		return NewGlobalAvgPool()
	}
	cfg := PoolConfig{
		K: f.int(t, "k"), Stride: f.int(t, "stride"), Pad: f.int(t, "pad"),
		CeilMode: f.int(t, "ceil") == 1, ExcludePad: f.int(t, "count_include_pad") == 0,
	}
	var (
		l   Layer
		err error
	)
	switch kind {
	case "max":
		l, err = NewMaxPool2D(cfg)
	case "avg":
		l, err = NewAvgPool2D(cfg)
	default:
		t.Fatalf("%s: unknown kind %q", f.name, kind)
	}
	if err != nil {
		t.Fatalf("%s: %v", f.name, err)
	}
	return l
}

// checkOutShape checks that l's OutShape for x's shape is the shape of want.
func checkOutShape(t *testing.T, l Layer, f *fixture) {
	t.Helper()
	_, in, err := ShapeOf(f.tensor(t, "x"))
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := ShapeOf(f.tensor(t, "y"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := l.OutShape(in)
	if err != nil || got != want {
		t.Errorf("OutShape(%v) = %v, %v, want %v", in, got, err, want)
	}
}

// TestPoolMatchesPyTorch compares output shapes, values and input gradients with
// F.max_pool2d, F.avg_pool2d and F.adaptive_avg_pool2d in testdata/gen/gen_pool.py.
func TestPoolMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "pool_") {
		t.Run(f.name, func(t *testing.T) {
			l := poolFromFixture(t, f)
			checkOutShape(t, l, f)
			x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
			y, dx := runLayer(t, l, x, dy)
			assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
			assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
			checkLayerContract(t, func() Layer { return poolFromFixture(t, f) }, x, dy)
		})
	}
}

// TestMaxPoolTiesExact checks bit-exact routing on the tie fixture: its inputs are
// small integers and each input gradient is a sum of a few upstream values, so a
// gradient sent to the wrong one of several equal maxima shows as an exact mismatch
// that a tolerance could not hide.
func TestMaxPoolTiesExact(t *testing.T) {
	f := loadFixtures(t, "pool_max_ties")[0]
	_, dx := runLayer(t, poolFromFixture(t, f), f.tensor(t, "x"), f.tensor(t, "dy"))
	want := f.tensor(t, "dx")
	// Each input gets at most 4 upstream values (3x3 windows at stride 2 overlap at
	// most twice per axis); summed in float32 in a different order they may differ by
	// a few ulps, but a misrouted gradient moves a whole value of order 1.
	const tol = 1e-6
	for i, w := range want.Float32s() {
		if g := dx.Float32s()[i]; math.Abs(float64(g-w)) > tol {
			t.Errorf("dx[%d] = %v, want %v", i, g, w)
		}
	}
}

// TestPoolOutShape checks output sizes against PyTorch's pooling_output_shape on the
// networks that use ceil mode.
func TestPoolOutShape(t *testing.T) {
	tests := []struct {
		cfg  PoolConfig
		in   Shape
		want Shape
	}{
		// SqueezeNet 1.0 (torchvision squeezenet.py): 111 -> 55 -> 27 -> 13 with
		// MaxPool2d(3, 2, ceil_mode=True).
		{PoolConfig{K: 3, Stride: 2, CeilMode: true}, Shape{96, 111, 111}, Shape{96, 55, 55}},
		{PoolConfig{K: 3, Stride: 2, CeilMode: true}, Shape{256, 55, 55}, Shape{256, 27, 27}},
		{PoolConfig{K: 3, Stride: 2, CeilMode: true}, Shape{512, 27, 27}, Shape{512, 13, 13}},
		// GoogLeNet (torchvision googlenet.py): 112 -> 56, 56 -> 28, 14 -> 7 with
		// MaxPool2d(3, 2, ceil_mode=True), and MaxPool2d(2, 2, ceil_mode=True) 14 -> 7.
		{PoolConfig{K: 3, Stride: 2, CeilMode: true}, Shape{64, 112, 112}, Shape{64, 56, 56}},
		{PoolConfig{K: 3, Stride: 2, CeilMode: true}, Shape{192, 56, 56}, Shape{192, 28, 28}},
		{PoolConfig{K: 2, Stride: 2, CeilMode: true}, Shape{832, 14, 14}, Shape{832, 7, 7}},
		// Floor mode: ResNet's MaxPool2d(3, 2, 1): 112 -> 56.
		{PoolConfig{K: 3, Stride: 2, Pad: 1}, Shape{64, 112, 112}, Shape{64, 56, 56}},
		// Stride 0 means the window size: 2x2 pooling halves 8 -> 4.
		{PoolConfig{K: 2}, Shape{3, 8, 8}, Shape{3, 4, 4}},
		// A window larger than the input still fits in ceil mode: PyTorch's
		// F.max_pool2d(torch.ones(1, 1, 2, 2), 3, 2, ceil_mode=True) is 1x1.
		{PoolConfig{K: 3, Stride: 2, CeilMode: true}, Shape{1, 2, 2}, Shape{1, 1, 1}},
	}
	for _, tt := range tests {
		for _, mk := range []func(PoolConfig) (Layer, error){
			func(c PoolConfig) (Layer, error) { return NewMaxPool2D(c) },
			func(c PoolConfig) (Layer, error) { return NewAvgPool2D(c) },
		} {
			l, err := mk(tt.cfg)
			if err != nil {
				t.Fatalf("%+v: %v", tt.cfg, err)
			}
			got, err := l.OutShape(tt.in)
			if err != nil || got != tt.want {
				t.Errorf("%T(%+v).OutShape(%v) = %v, %v, want %v", l, tt.cfg, tt.in, got, err, tt.want)
			}
			if c := l.Cost(tt.in); c != (Cost{}) {
				t.Errorf("%T(%+v).Cost(%v) = %+v, want zero", l, tt.cfg, tt.in, c)
			}
		}
	}
}

func TestPoolErrors(t *testing.T) {
	bad := []PoolConfig{
		{K: 0},
		{K: 3, Stride: -1},
		{K: 3, Pad: -1},
		// PyTorch: "pad should be at most half of effective kernel size".
		{K: 3, Pad: 2},
	}
	for _, c := range bad {
		if _, err := NewMaxPool2D(c); err == nil {
			t.Errorf("NewMaxPool2D(%+v) succeeded, want an error", c)
		}
		if _, err := NewAvgPool2D(c); err == nil {
			t.Errorf("NewAvgPool2D(%+v) succeeded, want an error", c)
		}
	}
	if _, err := NewMaxPool2D(PoolConfig{K: 2, ExcludePad: true}); err == nil {
		t.Errorf("NewMaxPool2D with ExcludePad succeeded, want an error")
	}
	l, _ := NewMaxPool2D(PoolConfig{K: 5, Stride: 1})
	if _, err := l.OutShape(Shape{2, 4, 9}); err == nil {
		t.Errorf("5x5 unpadded max pool accepted a 4x9 input")
	}
	if _, err := l.Forward(randTensor(1, 1, Shape{2, 3, 3})); err == nil {
		t.Errorf("5x5 unpadded max pool forwarded a 3x3 input")
	}
	if _, err := l.Backward(randTensor(1, 1, Shape{2, 1, 1})); err == nil {
		t.Errorf("max pool backward before any forward succeeded")
	}
	if _, err := l.Forward(randTensor(1, 2, Shape{2, 6, 6})); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Backward(randTensor(1, 2, Shape{2, 3, 3})); err == nil {
		t.Errorf("max pool backward accepted a gradient of the wrong shape")
	}
	g := NewGlobalAvgPool()
	if _, err := g.OutShape(Shape{0, 3, 3}); err == nil {
		t.Errorf("global avg pool accepted an empty shape")
	}
}

// TestPoolParallelMatchesSerial runs shapes large enough for parallelPlanes to split
// the planes and compares with a naive single-threaded reference of the same sums.
func TestPoolParallelMatchesSerial(t *testing.T) {
	in := Shape{16, 33, 33} // 2*16*17*17*9 = 83,232 window steps, above parallelMinWork
	x := randTensor(7, 2, in)
	cfg := PoolConfig{K: 3, Stride: 2, Pad: 1, CeilMode: true}
	mp, _ := NewMaxPool2D(cfg)
	y, err := mp.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := mp.OutShape(in)
	xd := x.Float32s()
	for p := 0; p < 2*in.C; p++ {
		for oh := 0; oh < out.H; oh++ {
			for ow := 0; ow < out.W; ow++ {
				m := float32(math.Inf(-1))
				for ih := max(oh*2-1, 0); ih < min(oh*2+2, in.H); ih++ {
					for iw := max(ow*2-1, 0); iw < min(ow*2+2, in.W); iw++ {
						m = max(m, xd[p*in.H*in.W+ih*in.W+iw])
					}
				}
				if got := y.Float32s()[(p*out.H+oh)*out.W+ow]; got != m {
					t.Fatalf("plane %d (%d,%d) = %v, want %v", p, oh, ow, got, m)
				}
			}
		}
	}
}

// TestPoolNoAllocs checks that a training step through pooling and upsampling does
// not allocate once shapes are stable (small shapes, so the planes run inline).
func TestPoolNoAllocs(t *testing.T) {
	mp, _ := NewMaxPool2D(PoolConfig{K: 3, Stride: 2, CeilMode: true})
	ap, _ := NewAvgPool2D(PoolConfig{K: 3, Stride: 1, Pad: 1})
	layers := []Layer{mp, ap, NewGlobalAvgPool(), NewUpsample2x()}
	x := randTensor(3, 2, Shape{3, 7, 7})
	for _, l := range layers {
		out, _ := l.OutShape(Shape{3, 7, 7})
		dy := randTensor(4, 2, out)
		step := func() {
			if _, err := l.Forward(x); err != nil {
				t.Fatal(err)
			}
			if _, err := l.Backward(dy); err != nil {
				t.Fatal(err)
			}
		}
		step()
		if a := testing.AllocsPerRun(10, step); a != 0 {
			t.Errorf("%T: %v allocations per step, want 0", l, a)
		}
	}
}

func TestPoolDescribe(t *testing.T) {
	mp, _ := NewMaxPool2D(PoolConfig{K: 3, Stride: 2, CeilMode: true})
	ap, _ := NewAvgPool2D(PoolConfig{K: 3, Stride: 1, Pad: 1, ExcludePad: true})
	got := []string{mp.Describe(), ap.Describe()}
	want := []string{"MaxPool2D 3x3/2 ceil", "AvgPool2D 3x3/1 pad1 excl-pad"}
	if !slices.Equal(got, want) {
		t.Errorf("Describe() = %q, want %q", got, want)
	}
}

// BenchmarkPool runs a forward and a backward pass of each cheap op over the
// feature-map shapes of a CIFAR-sized network and the reference network's head
// (256x4x4) at batch 64, reporting the input bytes read per second.
func BenchmarkPool(b *testing.B) {
	mp, _ := NewMaxPool2D(PoolConfig{K: 3, Stride: 2, CeilMode: true})
	ap, _ := NewAvgPool2D(PoolConfig{K: 3, Stride: 1, Pad: 1})
	ops := []struct {
		name string
		l    Layer
	}{
		{"MaxPool3x3s2ceil", mp}, {"AvgPool3x3s1pad1", ap},
		{"GlobalAvgPool", NewGlobalAvgPool()}, {"Upsample2x", NewUpsample2x()},
	}
	const batch = 64
	for _, op := range ops {
		for _, in := range []Shape{{16, 32, 32}, {64, 16, 16}, {256, 8, 8}, {256, 4, 4}} {
			b.Run(fmt.Sprintf("%s/%dx%dx%d", op.name, in.C, in.H, in.W), func(b *testing.B) {
				x := randTensor(1, batch, in)
				out, _ := op.l.OutShape(in)
				dy := randTensor(2, batch, out)
				b.SetBytes(int64(4 * batch * in.Size()))
				for b.Loop() {
					if _, err := op.l.Forward(x); err != nil {
						b.Fatal(err)
					}
					if _, err := op.l.Backward(dy); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestGlobalPoolKernels checks that the AVX-512 kernels of GlobalAvgPool give the
// same bits as their Go twins (the same additions in the same order, one division),
// on plane sizes around the kernels' 16-value steps and the reference network's 4x4
// and 7x7 planes, and plane counts around their 16-plane groups.
func TestGlobalPoolKernels(t *testing.T) {
	asm := useBNAsm
	if !asm {
		t.Skip("no AVX-512 kernels to compare with the Go ones on this CPU")
	}
	defer func() { useBNAsm = asm }()
	rng := rand.New(rand.NewPCG(7, 8))
	for _, hw := range []int{1, 3, 15, 16, 17, 49, 64} {
		for _, planes := range []int{1, 4, 15, 16, 17, 35, 64} {
			x := make([]float32, planes*hw)
			dy := make([]float32, planes)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 3)
			}
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			var ys, dxs [2][]float32
			for i, on := range []bool{false, asm} {
				useBNAsm = on
				ys[i] = make([]float32, planes)
				globalPoolPlanes(x, ys[i], hw)
				dxs[i] = make([]float32, planes*hw+1)
				dxs[i][planes*hw] = -7.5 // past the end: must stay
				globalPoolGradPlanes(dxs[i][:planes*hw], dy, hw)
			}
			for p := range ys[0] {
				if math.Float32bits(ys[1][p]) != math.Float32bits(ys[0][p]) {
					t.Fatalf("hw %d, %d planes: forward plane %d = %v (avx512), want %v (go)", hw, planes, p, ys[1][p], ys[0][p])
				}
			}
			for i := range dxs[0] {
				if math.Float32bits(dxs[1][i]) != math.Float32bits(dxs[0][i]) {
					t.Fatalf("hw %d, %d planes: backward value %d = %v (avx512), want %v (go)", hw, planes, i, dxs[1][i], dxs[0][i])
				}
			}
		}
	}
}

// TestAvgPoolHalvesMatchGeneral checks that 2x2/2 average pooling on planes it tiles
// (AvgPool2D.halves) gives bit for bit the output and input gradient of the general
// windows, on values that include signed zeros, subnormals and large magnitudes, and
// that a plane it does not tile (odd) still takes the general loops.
func TestAvgPoolHalvesMatchGeneral(t *testing.T) {
	defer func() { avgPoolHalves = true }()
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -3e-39, 3e38, -3e38, 0.1, -7}
	for _, c := range []PoolConfig{{K: 2}, {K: 2, ExcludePad: true}} {
		for _, in := range []Shape{{3, 6, 8}, {2, 5, 7}} {
			l, err := NewAvgPool2D(c)
			if err != nil {
				t.Fatal(err)
			}
			x := randTensor(5, 4, in)
			for i, d := 0, x.Float32s(); i < len(d); i += 3 {
				d[i] = special[(i/3)%len(special)]
			}
			out, err := l.OutShape(in)
			if err != nil {
				t.Fatal(err)
			}
			dy := randTensor(6, 4, out)
			for i, d := 0, dy.Float32s(); i < len(d); i += 2 {
				d[i] = special[(i/2)%len(special)]
			}
			if got := l.halves(in, out); got != (in.H%2 == 0 && in.W%2 == 0) {
				t.Fatalf("%v on %v: halves %v", c, in, got)
			}
			avgPoolHalves = false
			wantY, wantDX := runLayer(t, l, x, dy)
			avgPoolHalves = true
			y, dx := runLayer(t, l, x, dy)
			if !slices.Equal(bitsOf(y.Float32s()), bitsOf(wantY.Float32s())) {
				t.Errorf("%v on %v: output differs from the general windows", c, in)
			}
			if !slices.Equal(bitsOf(dx.Float32s()), bitsOf(wantDX.Float32s())) {
				t.Errorf("%v on %v: input gradient differs from the general windows", c, in)
			}
		}
	}
}

// bitsOf returns the bit patterns of v, so that comparisons tell -0 from 0.
func bitsOf(v []float32) []uint32 {
	b := make([]uint32, len(v))
	for i, f := range v {
		b[i] = math.Float32bits(f)
	}
	return b
}
