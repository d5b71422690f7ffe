package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// kernelSets runs f with each set of batch norm and activation kernels this machine
// has: the Go kernels always, the AVX-512 ones where the CPU has them.
func kernelSets(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	asm := useBNAsm
	defer func() { useBNAsm = asm }()
	sets := []bool{false}
	if asm {
		sets = append(sets, true)
	}
	for _, on := range sets {
		useBNAsm = on
		t.Run(map[bool]string{false: "go", true: "avx512"}[on], f)
	}
}

// bnKernelCases are plane sizes around the AVX-512 kernels' 16- and 32-value steps
// (1, 15, 16, 17, 33) and the reference network's planes (4x4, 7x7, 28x28).
var bnKernelCases = []int{1, 5, 15, 16, 17, 33, 49, 784}

// kernelTol is the tolerance of the kernels against float64 definitions: float32
// sums of at most 784 values in 8 or 16 lanes differ from exact sums by a few ulps
// per lane times about 100 terms each, well below 1e-5 of the values' scale.
const kernelTol = 1e-5

// closeTo reports whether got is within tol of want relative to 1 + |want| (the
// scale used by assertClose).
func closeTo(got float32, want, tol float64) bool {
	return math.Abs(float64(got)-want) <= tol*(1+math.Abs(want))
}

// TestBNActKernels checks each plane kernel against its float64 definition on
// strided planes, including values on the activations' bounds and NaN.
func TestBNActKernels(t *testing.T) {
	kernelSets(t, func(t *testing.T) {
		for _, hw := range bnKernelCases {
			for _, act := range []Act{ActNone, ActReLU, ActReLU6} {
				t.Run(fmt.Sprintf("hw%d/%v", hw, act), func(t *testing.T) {
					checkBNKernels(t, hw, bnFuse{act: act})
				})
			}
		}
	})
}

func checkBNKernels(t *testing.T, hw int, f bnFuse) {
	const planes = 3
	rng := rand.New(rand.NewPCG(uint64(hw), uint64(f.act)))
	xstride, ystride := hw+3, 2*hw+1 // gaps between planes that the kernels must not touch
	x := make([]float32, planes*xstride)
	dy := make([]float32, planes*ystride)
	for i := range x {
		x[i] = float32(rng.NormFloat64()*4 + 10) // mean far from 0, as a channel's can be
	}
	for i := range dy {
		dy[i] = float32(rng.NormFloat64())
	}
	a, b := []float32{0.5, -1, 2}, []float32{-4, 10, -20}
	mean := []float32{9, 10, 11}
	// Put values on the clamp's bounds: x*a+b = 0 and 6 exactly for plane 0.
	x[0], x[1] = 8, 20
	lo, hi, mask := f.bounds()

	// Statistics.
	st := make([]float32, 3*planes)
	bnStatsPlanes(x, hw, planes, xstride, st)
	for p := 0; p < planes; p++ {
		v := x[p*xstride : p*xstride+hw]
		var s float64
		for _, e := range v {
			s += float64(e)
		}
		// The plane's sum is hw*c + sum(x-c), and its squared deviations around c
		// are compared with their float64 value; c itself is any value near the mean.
		c := float64(st[3*p])
		var m float64
		for _, e := range v {
			m += (float64(e) - c) * (float64(e) - c)
		}
		got := float64(hw)*c + float64(st[3*p+1])
		if math.Abs(got-s) > kernelTol*(1+math.Abs(s)) || !closeTo(st[3*p+2], m, kernelTol) || !closeTo(st[3*p], s/float64(hw), kernelTol) {
			t.Errorf("stats of plane %d = %v: sum %v, want %v; squares %v, want %v", p, st[3*p:3*p+3], got, s, st[3*p+2], m)
		}
	}

	// Forward, into planes ystride apart; the gaps must stay as they are.
	const gap = -7.5
	y := make([]float32, planes*ystride)
	for i := range y {
		y[i] = gap
	}
	bnActFwdPlanes(x, y, hw, planes, xstride, ystride, a, b, lo, hi)
	z := func(p, i int) float32 { return x[p*xstride+i]*a[p] + b[p] }
	for p := 0; p < planes; p++ {
		for i := 0; i < ystride; i++ {
			got := y[p*ystride+i]
			if i >= hw {
				if got != gap {
					t.Fatalf("forward wrote %v into the gap at plane %d, offset %d", got, p, i)
				}
				continue
			}
			want := float64(z(p, i))
			switch f.act {
			case ActReLU:
				want = max(want, 0)
			case ActReLU6:
				want = min(max(want, 0), 6)
			}
			if !closeTo(got, want, kernelTol) {
				t.Fatalf("forward plane %d value %d = %v, want %v", p, i, got, want)
			}
		}
	}

	// Backward: the masked gradient's sums, then the input gradient.
	pass := func(p, i int) float64 {
		g := float64(dy[p*ystride+i])
		if mask {
			// The mask is taken from the value the forward kernel computed.
			v := y[p*ystride+i]
			if !(v > 0 && (f.act == ActReLU || v < 6)) {
				return 0
			}
		}
		return g
	}
	red := make([]float32, 2*planes)
	bnActBackReducePlanes(x, dy, hw, planes, xstride, ystride, a, b, mean, lo, hi, mask, red)
	for p := 0; p < planes; p++ {
		var s, d float64
		for i := 0; i < hw; i++ {
			s += pass(p, i)
			d += (float64(x[p*xstride+i]) - float64(mean[p])) * pass(p, i)
		}
		if !closeTo(red[2*p], s, kernelTol) || !closeTo(red[2*p+1], d, kernelTol) {
			t.Errorf("backward sums of plane %d = %v, want %v, %v", p, red[2*p:2*p+2], s, d)
		}
	}
	k := []float32{1.5, -0.25, 0.125, -2, 0.5, 3, 0.75, 0, -1}
	dxstride := hw + 5 // its own layout, as where a convolution gathers samples' planes
	dx := make([]float32, planes*dxstride)
	for i := range dx {
		dx[i] = gap
	}
	bnActBackApplyPlanes(dx, dy, x, hw, planes, dxstride, xstride, ystride, a, b, k, lo, hi, mask)
	for p := 0; p < planes; p++ {
		for i := 0; i < dxstride; i++ {
			got := dx[p*dxstride+i]
			if i >= hw {
				if got != gap {
					t.Fatalf("backward wrote %v into the gap at plane %d, offset %d", got, p, i)
				}
				continue
			}
			want := pass(p, i)*float64(k[3*p]) + float64(x[p*xstride+i])*float64(k[3*p+1]) + float64(k[3*p+2])
			if !closeTo(got, want, kernelTol) {
				t.Fatalf("backward plane %d value %d = %v, want %v", p, i, got, want)
			}
		}
	}
}

// TestBNActNaN checks that NaN passes through the forward kernels (divergence must
// stay visible) and gets no gradient through a masked activation.
func TestBNActNaN(t *testing.T) {
	nan := float32(math.NaN())
	kernelSets(t, func(t *testing.T) {
		for _, act := range []Act{ActNone, ActReLU, ActReLU6} {
			f := bnFuse{act: act}
			lo, hi, mask := f.bounds()
			x := []float32{nan, 1, -1, 7, nan}
			y := make([]float32, len(x))
			bnActFwdPlanes(x, y, len(x), 1, len(x), len(x), []float32{1}, []float32{0}, lo, hi)
			if !math.IsNaN(float64(y[0])) || !math.IsNaN(float64(y[4])) {
				t.Errorf("%v forward of NaN = %v, %v, want NaN", act, y[0], y[4])
			}
			// The masked gradient's sum counts the values that pass (dy is 1): NaN
			// passes only when nothing is masked.
			red := make([]float32, 2)
			bnActBackReducePlanes([]float32{nan, 1, -1, 7, 2}, []float32{1, 1, 1, 1, 1}, len(x), 1, len(x), len(x),
				[]float32{1}, []float32{0}, []float32{0}, lo, hi, mask, red)
			want := map[Act]float32{ActNone: 5, ActReLU: 3, ActReLU6: 2}[act]
			if red[0] != want {
				t.Errorf("%v: gradient passes %v of [NaN 1 -1 7 2], want %v", act, red[0], want)
			}
		}
		// The clamp alone, as ReLU and ReLU6 use it.
		y := make([]float32, 3)
		clampRow(y, []float32{nan, -1, 9}, 0, 6)
		if !math.IsNaN(float64(y[0])) || y[1] != 0 || y[2] != 6 {
			t.Errorf("clamp(NaN, -1, 9) to [0, 6] = %v, want [NaN 0 6]", y)
		}
	})
}

// fusedCase is a batch norm followed by what Sequential fuses into it.
type fusedCase struct {
	act    Act
	groups int
	s      Shape
	n      int
}

var fusedCases = []fusedCase{
	{ActReLU6, 0, Shape{6, 3, 5}, 3},
	{ActReLU, 0, Shape{5, 4, 4}, 2},
	{ActNone, 3, Shape{6, 2, 3}, 4},
	{ActReLU6, 4, Shape{8, 7, 7}, 2},
	{ActReLU, 2, Shape{4, 1, 1}, 6},
	// Above bnParallelMin, so that channels are split over cores mid-group.
	{ActReLU6, 3, Shape{24, 14, 14}, 4},
}

// build returns the layers of the case as a Sequential: a batch norm with
// non-trivial gamma, beta and running statistics, the activation and the shuffle.
func (c fusedCase) build(training bool) *Sequential {
	bn := NewBatchNorm2D(c.s.C)
	for i := range bn.Weight().Value.Float32s() {
		bn.Weight().Value.Float32s()[i] = 0.5 + float32(i)/4
		bn.Bias().Value.Float32s()[i] = float32(i)/8 - 0.25
		bn.RunningMean()[i] = float32(i) / 10
		bn.RunningVar()[i] = 1 + float32(i)/5
	}
	bn.SetTraining(training)
	s := Seq(bn)
	if a := newAct(c.act); a != nil {
		s.Layers = append(s.Layers, a)
	}
	if c.groups > 0 {
		sh, err := NewChannelShuffle(c.groups)
		if err != nil {
			panic(err)
		}
		s.Layers = append(s.Layers, sh)
	}
	return s
}

func (c fusedCase) String() string {
	return fmt.Sprintf("%v_g%d_%dx%v", c.act, c.groups, c.n, c.s)
}

// TestSequentialFusedMatchesSeparate checks that a Sequential's fused batch norm,
// activation and shuffle give what the layers give run one by one (each layer's own
// Forward and Backward): outputs, input gradients, parameter gradients and running
// statistics, in both modes and with both kernel sets; and the layer contract.
func TestSequentialFusedMatchesSeparate(t *testing.T) {
	kernelSets(t, func(t *testing.T) {
		for _, c := range fusedCases {
			for _, training := range []bool{true, false} {
				t.Run(fmt.Sprintf("%v/training=%v", c, training), func(t *testing.T) {
					x := randTensor(21, c.n, c.s)
					for i := range x.Float32s() {
						x.Float32s()[i] = 3*x.Float32s()[i] + 1 // reach both of ReLU6's bounds
					}
					dy := randTensor(22, c.n, c.s)
					fused := c.build(training)
					y, dx := runLayer(t, fused, x, dy)
					sep := c.build(training)
					wantY, wantDx := runSeparately(t, sep.Layers, x, dy)
					// The fused pass computes x*a+b with one rounding (FMA) and clamps
					// it; the separate layers round twice. So the mask can differ only
					// where x*a+b is within an ulp of a bound, which these random
					// values do not reach, and values differ by about an ulp.
					assertClose(t, "y", y, wantY, kernelTol)
					assertClose(t, "dx", dx, wantDx, kernelTol)
					fb, sb := fused.Layers[0].(*BatchNorm2D), sep.Layers[0].(*BatchNorm2D)
					assertClose(t, "dweight", fb.Weight().Grad, sb.Weight().Grad, kernelTol)
					assertClose(t, "dbias", fb.Bias().Grad, sb.Bias().Grad, kernelTol)
					assertClose(t, "running_mean", vec(fb.RunningMean()), vec(sb.RunningMean()), kernelTol)
					assertClose(t, "running_var", vec(fb.RunningVar()), vec(sb.RunningVar()), kernelTol)
					checkLayerContract(t, func() Layer { return c.build(training) }, x, dy)
				})
			}
		}
	})
}

// runSeparately runs layers one by one, forward then backward, and returns copies of
// the output and the input gradient.
func runSeparately(t *testing.T, layers []Layer, x, dy *tensor.Dense) (y, dx *tensor.Dense) {
	t.Helper()
	for _, l := range layers {
		ZeroGrad(l)
		var err error
		if x, err = l.Forward(x); err != nil {
			t.Fatal(err)
		}
	}
	y = clone(x)
	for i := len(layers) - 1; i >= 0; i-- {
		var err error
		if dy, err = layers[i].Backward(dy); err != nil {
			t.Fatal(err)
		}
	}
	return y, clone(dy)
}

// vec wraps a per-channel slice as a tensor for assertClose.
func vec(v []float32) *tensor.Dense {
	return tensor.New(tensor.WithShape(len(v)), tensor.WithBacking(slices.Clone(v)))
}

// TestSequentialFusedState checks what the fused layers can do on their own after a
// fused Forward: the batch norm's and the shuffle's Backward work, an activation that
// was not the last layer fused refuses (its output was never written), and one that
// was last goes back from its output.
func TestSequentialFusedState(t *testing.T) {
	c := fusedCase{ActReLU6, 2, Shape{4, 3, 3}, 2}
	x, dy := randTensor(31, c.n, c.s), randTensor(32, c.n, c.s)
	s := c.build(true)
	if _, err := s.Forward(x); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Layers[1].Backward(dy); err == nil {
		t.Errorf("ReLU6 fused before a shuffle: Backward = nil error, want backward before forward")
	}
	if _, err := s.Layers[2].Backward(dy); err != nil {
		t.Errorf("shuffle fused last: Backward: %v", err)
	}
	if _, err := s.Layers[0].Backward(dy); err != nil {
		t.Errorf("batch norm fused first: Backward: %v", err)
	}
	c.groups = 0
	s = c.build(true)
	y, err := s.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	y = clone(y)
	got, err := s.Layers[1].Backward(dy)
	if err != nil {
		t.Fatalf("ReLU6 fused last: Backward: %v", err)
	}
	for i, v := range y.Float32s() {
		want := dy.Float32s()[i]
		if !(v > 0 && v < 6) {
			want = 0
		}
		if got.Float32s()[i] != want {
			t.Fatalf("ReLU6 fused last: dx[%d] = %v at output %v, want %v", i, got.Float32s()[i], v, want)
		}
	}
}

// TestSequentialFusedErrors checks that a shuffle whose groups do not divide the
// channels fails in the fused pass as it does alone, naming the layer.
func TestSequentialFusedErrors(t *testing.T) {
	sh, err := NewChannelShuffle(4)
	if err != nil {
		t.Fatal(err)
	}
	s := Seq(NewBatchNorm2D(6), NewReLU6(), sh)
	_, err = s.Forward(randTensor(1, 2, Shape{6, 2, 2}))
	if err == nil {
		t.Fatalf("4-group shuffle of 6 channels: Forward = nil error")
	}
	if want := "layer 2"; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name %q", err, want)
	}
	if _, err := Seq(NewBatchNorm2D(3), NewReLU()).Backward(randTensor(1, 2, Shape{3, 2, 2})); err == nil {
		t.Errorf("Backward before Forward = nil error")
	}
}

// TestFixturesWithGoKernels runs the PyTorch fixtures of batch norm, the
// activations and the blocks that fuse them with the Go kernels, which machines
// without AVX-512 use (the default test run covers the AVX-512 ones where they exist).
func TestFixturesWithGoKernels(t *testing.T) {
	asm := useBNAsm
	defer func() { useBNAsm = asm }()
	useBNAsm = false
	t.Run("batchnorm", TestBatchNorm2DMatchesPyTorch)
	t.Run("activations", TestActivationsMatchPyTorch)
	t.Run("activations_large", TestActivationsLarge)
	t.Run("inverted_residual", TestInvertedResidualMatchesPyTorch)
	t.Run("shufflenet_v1", TestShuffleV1MatchesPyTorch)
	t.Run("network_step", TestNetworkStep)
}

// BenchmarkBNReLU6 times batch norm and ReLU6 forward and backward at the reference
// network's expanded shapes, fused in a Sequential and as separate layers, in values
// per second.
func BenchmarkBNReLU6(b *testing.B) {
	for _, s := range bnBenchShapes {
		for _, fused := range []bool{true, false} {
			b.Run(fmt.Sprintf("%v/fused=%v", s, fused), func(b *testing.B) {
				const n = 128
				x, dy := randTensor(1, n, s), randTensor(2, n, s)
				layers := []Layer{NewBatchNorm2D(s.C), NewReLU6()}
				var l Layer = Seq(layers...)
				if !fused {
					l = &unfused{layers}
				}
				for b.Loop() {
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

// unfused runs its layers one after another without Sequential's fusion.
type unfused struct{ layers []Layer }

func (u *unfused) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	for _, l := range u.layers {
		var err error
		if x, err = l.Forward(x); err != nil {
			return nil, err
		}
	}
	return x, nil
}

func (u *unfused) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	for i := len(u.layers) - 1; i >= 0; i-- {
		var err error
		if dy, err = u.layers[i].Backward(dy); err != nil {
			return nil, err
		}
	}
	return dy, nil
}

func (u *unfused) OutShape(in Shape) (Shape, error) { return in, nil }
func (u *unfused) Cost(Shape) Cost                  { return Cost{} }

// bnStatsSizes are plane sizes around the statistics kernels' 16- and 32-value steps
// the reference network's 4x4, 7x7, 14x14 and 28x28 planes, and the largest plane
// the grouped kernels take (bnGroupMaxHW, 256); bnStatsCounts are plane counts
// around the 16-plane groups of bnStats16AVX512 and bnStatsG16AVX512.
var (
	bnStatsSizes  = []int{1, 2, 3, 7, 8, 15, 16, 17, 31, 32, 33, 47, 48, 49, 64, 100, 196, 255, 256, 257, 784}
	bnStatsCounts = []int{1, 3, 15, 16, 17, 31, 32, 35, 48, 64}
)

// bnStatsInput returns planes planes of hw values stride apart with a mean far
// from 0 (as a channel's can be), some negative zeros, whose sign the kernels'
// additions to zero must treat alike, and whole planes of -0.
func bnStatsInput(rng *rand.Rand, hw, planes, stride int) []float32 {
	x := make([]float32, (planes-1)*stride+hw)
	for i := range x {
		switch rng.IntN(16) {
		case 0:
			x[i] = float32(math.Copysign(0, -1))
		default:
			x[i] = float32(rng.NormFloat64()*3 + 20)
		}
	}
	if planes > 2 {
		for i := range hw {
			x[2*stride+i] = float32(math.Copysign(0, -1))
		}
	}
	return x
}

// TestBNStatsKernels checks that the statistics kernels give the same bits whichever
// runs: the Go kernel (bnStatsLanes), the AVX-512 plane kernel called one plane at a
// time, and bnStatsPlanes with the AVX-512 kernels, which takes planes of 16 to
// bnGroupMaxHW values 16 at a time (bnStats16AVX512 and bnStatsG16AVX512).
func TestBNStatsKernels(t *testing.T) {
	asm := useBNAsm
	if !asm {
		t.Skip("no AVX-512 kernels to compare with the Go ones on this CPU")
	}
	defer func() { useBNAsm = asm }()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, hw := range bnStatsSizes {
		for _, planes := range bnStatsCounts {
			for _, stride := range []int{hw, hw + 5} {
				x := bnStatsInput(rng, hw, planes, stride)
				var outs [3][]float32
				for i := range outs {
					outs[i] = make([]float32, 3*planes)
				}
				useBNAsm = false
				bnStatsPlanes(x, hw, planes, stride, outs[0])
				useBNAsm = asm
				bnStatsPlanes(x, hw, planes, stride, outs[1])
				for p := range planes {
					bnStatsAVX512(&x[p*stride], hw, 1, 0, &outs[2][3*p])
				}
				sameAsOnePlane(t, outs, 3, "bnStatsPlanes", fmt.Sprintf("hw %d, %d planes, stride %d", hw, planes, stride))
			}
		}
	}
}

// sameAsOnePlane fails unless the Go kernel's results (outs[0]) and the planes
// function's (outs[1], named name) equal bit for bit those of the AVX-512 kernel
// called one plane at a time (outs[2]), per values per plane; what names the case.
func sameAsOnePlane(t *testing.T, outs [3][]float32, per int, name, what string) {
	t.Helper()
	for i := range outs[0] {
		want := math.Float32bits(outs[2][i])
		for k, n := range []string{"go", name} {
			if got := math.Float32bits(outs[k][i]); got != want {
				t.Fatalf("%s: %s value %d of plane %d = %v, want %v (one plane per call)",
					what, n, i%per, i/per, outs[k][i], outs[2][i])
			}
		}
	}
}

// TestFMA32 checks fma32 against products and sums that are exact in float32, and
// against sums whose float64 value falls on the midpoint of two float32 values
// while the exact sum lies just off it, where rounding twice would be wrong.
func TestFMA32(t *testing.T) {
	one := float32(1)
	ulp := math.Nextafter32(one, 2) - one // 2^-23
	tests := []struct {
		a, b, c, want float32
	}{
		{2, 3, 1, 7},
		{-2, 3, 6, 0},
		{0, 5, float32(math.Copysign(0, -1)), 0},
		// (1+2^-23)(1+2^-23) = 1 + 2^-22 + 2^-46: 2^-46 is below half an ulp of the
		// result, so it rounds to 1 + 2^-22.
		{one + ulp, one + ulp, 0, one + 2*ulp},
		// (1+2^-12)^2 - 1 = 2^-11 + 2^-24, exact in float32 after the FMA.
		{one + ulp*(1<<11), one + ulp*(1<<11), -1, ulp*(1<<12) + ulp/2},
		// 2^-24(1+2^-15)(1-2^-15) + (1+2^-23) = 1 + 3*2^-24 - 2^-54 exactly: in
		// float64 it rounds onto the midpoint 1 + 3*2^-24 of 1+2^-23 and 1+2^-22,
		// which rounds (ties to even) up to 1+2^-22; the exact sum is below it.
		{ulp / 2 * (1 + ulp*(1<<8)), one - ulp*(1<<8), one + ulp, one + ulp},
	}
	for _, tt := range tests {
		if got := fma32(tt.a, tt.b, tt.c); math.Float32bits(got) != math.Float32bits(tt.want) {
			t.Errorf("fma32(%v, %v, %v) = %v, want %v", tt.a, tt.b, tt.c, got, tt.want)
		}
	}
}

// TestCombineStatsKernels checks that the AVX-512 combination of per-plane
// statistics gives the bits of the Go loop, on channel counts around its 8-channel
// steps.
func TestCombineStatsKernels(t *testing.T) {
	asm := useBNAsm
	if !asm {
		t.Skip("no AVX-512 kernels to compare with the Go ones on this CPU")
	}
	defer func() { useBNAsm = asm }()
	rng := rand.New(rand.NewPCG(13, 14))
	for _, n := range []int{1, 7, 8, 9, 16, 23, 64, 385} {
		st := make([]float32, 3*n)
		for i := range st {
			st[i] = float32(rng.NormFloat64() * 100)
		}
		var s, q [2][]float64
		for k, on := range []bool{false, asm} {
			useBNAsm = on
			s[k], q[k] = make([]float64, n), make([]float64, n)
			for i := range n {
				s[k][i], q[k][i] = float64(i)/3, float64(i)*7
			}
			combineStats(st, 49, s[k], q[k])
		}
		for j := range n {
			if math.Float64bits(s[1][j]) != math.Float64bits(s[0][j]) || math.Float64bits(q[1][j]) != math.Float64bits(q[0][j]) {
				t.Fatalf("%d channels: channel %d = %v, %v (avx512), want %v, %v (go)", n, j, s[1][j], q[1][j], s[0][j], q[0][j])
			}
		}
	}
}

// TestAddPairsKernels checks addPairs against the float64 sums it must give, bit for
// bit, with the Go loop and, where the CPU has it, the AVX-512 kernel, on channel
// counts around the kernel's 8-channel steps.
func TestAddPairsKernels(t *testing.T) {
	asm := useBNAsm
	defer func() { useBNAsm = asm }()
	kernels := []bool{false}
	if asm {
		kernels = append(kernels, true)
	}
	rng := rand.New(rand.NewPCG(15, 16))
	for _, n := range []int{1, 7, 8, 9, 16, 23, 64, 385} {
		r := make([]float32, 2*n+3)
		for i := range r {
			r[i] = float32(rng.NormFloat64() * 100)
		}
		for _, on := range kernels {
			useBNAsm = on
			s, d := make([]float64, n), make([]float64, n)
			for i := range n {
				s[i], d[i] = float64(i)/3, -float64(i)*7.1
			}
			addPairs(r, s, d)
			for j := range n {
				ws, wd := float64(j)/3+float64(r[2*j]), -float64(j)*7.1+float64(r[2*j+1])
				if math.Float64bits(s[j]) != math.Float64bits(ws) || math.Float64bits(d[j]) != math.Float64bits(wd) {
					t.Fatalf("%d channels, avx512 %v: channel %d = %v, %v, want %v, %v", n, on, j, s[j], d[j], ws, wd)
				}
			}
		}
	}
}

// TestBNBackReduceKernels checks that the backward reductions give the same bits
// whichever kernel runs: the Go kernel (bnBackReduceLanes), the AVX-512 plane kernel
// called one plane at a time, and bnActBackReducePlanes with the AVX-512 kernels,
// which takes 4x4 planes 16 at a time; with each activation's mask, values on its
// bounds and negative zeros in the gradient.
func TestBNBackReduceKernels(t *testing.T) {
	asm := useBNAsm
	if !asm {
		t.Skip("no AVX-512 kernels to compare with the Go ones on this CPU")
	}
	defer func() { useBNAsm = asm }()
	rng := rand.New(rand.NewPCG(15, 16))
	for _, act := range []Act{ActNone, ActReLU, ActReLU6} {
		lo, hi, mask := bnFuse{act: act}.bounds()
		for _, hw := range bnStatsSizes {
			for _, planes := range bnStatsCounts {
				xstride, dystride := hw+3, 2*hw+1
				if planes%2 == 0 {
					xstride, dystride = hw, hw
				}
				x := bnStatsInput(rng, hw, planes, xstride)
				dy := make([]float32, (planes-1)*dystride+hw)
				for i := range dy {
					dy[i] = float32(rng.NormFloat64())
					if rng.IntN(8) == 0 {
						dy[i] = float32(math.Copysign(0, -1))
					}
				}
				a, b, mean := make([]float32, planes), make([]float32, planes), make([]float32, planes)
				for p := range planes {
					a[p] = float32(rng.NormFloat64())
					b[p] = float32(rng.NormFloat64()*2) - 20*a[p] + 3 // x*a+b near (0, 6) for x near 20
					mean[p] = float32(20 + rng.NormFloat64())
				}
				// Values on the clamp's bounds: x*a+b = 0 and 6 exactly.
				a[0], b[0], x[0] = 1, -20, 20
				if hw > 1 {
					x[1] = 26
				}
				var outs [3][]float32
				for i := range outs {
					outs[i] = make([]float32, 2*planes)
				}
				useBNAsm = false
				bnActBackReducePlanes(x, dy, hw, planes, xstride, dystride, a, b, mean, lo, hi, mask, outs[0])
				useBNAsm = asm
				bnActBackReducePlanes(x, dy, hw, planes, xstride, dystride, a, b, mean, lo, hi, mask, outs[1])
				for p := range planes {
					xs, gs := x[p*xstride:p*xstride+hw], dy[p*dystride:p*dystride+hw]
					bnActBackReduceAVX512(&xs[0], &gs[0], nil, hw, 1, 0, 0, 0, &a[p], &b[p], &mean[p], nil, lo, hi, mask, &outs[2][2*p])
				}
				sameAsOnePlane(t, outs, 2, "bnActBackReducePlanes", fmt.Sprintf("%v, hw %d, %d planes", act, hw, planes))
			}
		}
	}
}

// BenchmarkBNPlaneKernels times the statistics, backward reductions, forward and
// backward applications of the reference network's 7x7 and 14x14 planes (its 192- and 96-channel expansions at
// 16 samples, as one call of the fused convolutions handles), in planes per second.
func BenchmarkBNPlaneKernels(b *testing.B) {
	for _, s := range []struct{ hw, planes int }{{49, 192 * 16}, {196, 96 * 16}, {49, 192}, {196, 96}} {
		rng := rand.New(rand.NewPCG(17, 18))
		x := bnStatsInput(rng, s.hw, s.planes, s.hw)
		dy := bnStatsInput(rng, s.hw, s.planes, s.hw)
		a, bb, mean := make([]float32, s.planes), make([]float32, s.planes), make([]float32, s.planes)
		for p := range a {
			a[p], bb[p], mean[p] = 0.1, -1, 20
		}
		out := make([]float32, 3*s.planes)
		lo, hi, mask := bnFuse{act: ActReLU6}.bounds()
		b.Run(fmt.Sprintf("stats/hw=%d/planes=%d", s.hw, s.planes), func(b *testing.B) {
			for b.Loop() {
				bnStatsPlanes(x, s.hw, s.planes, s.hw, out)
			}
			b.ReportMetric(float64(s.planes)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mplanes/s")
		})
		b.Run(fmt.Sprintf("backreduce/hw=%d/planes=%d", s.hw, s.planes), func(b *testing.B) {
			for b.Loop() {
				bnActBackReducePlanes(x, dy, s.hw, s.planes, s.hw, s.hw, a, bb, mean, lo, hi, mask, out)
			}
			b.ReportMetric(float64(s.planes)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mplanes/s")
		})
		y, k := make([]float32, len(x)), make([]float32, 3*s.planes)
		for i := range k {
			k[i] = 0.5
		}
		b.Run(fmt.Sprintf("fwd/hw=%d/planes=%d", s.hw, s.planes), func(b *testing.B) {
			for b.Loop() {
				bnActFwdPlanes(x, y, s.hw, s.planes, s.hw, s.hw, a, bb, lo, hi)
			}
			b.ReportMetric(float64(s.planes)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mplanes/s")
		})
		b.Run(fmt.Sprintf("backapply/hw=%d/planes=%d", s.hw, s.planes), func(b *testing.B) {
			for b.Loop() {
				bnActBackApplyPlanes(y, dy, x, s.hw, s.planes, s.hw, s.hw, s.hw, a, bb, k, lo, hi, mask)
			}
			b.ReportMetric(float64(s.planes)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mplanes/s")
		})
	}
}

// TestBNBackReduceGKernel checks that the fused reductions and gradient of
// bnActBackReduceGPlanes give the bits of bnActBackReducePlanes and
// bnActBackApplyPlanes (k's second and third values zero) run one after the other, on
// plane sizes with and without a tail, with and without the mask, with inputs on
// the clamp's bounds.
func TestBNBackReduceGKernel(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 18))
	for _, hw := range []int{7, 16, 49, 50, 196, 784} {
		for _, mask := range []bool{false, true} {
			const planes = 5
			xs, ds, gs := hw+3, 2*hw+1, hw+5
			x, dy := make([]float32, planes*xs), make([]float32, planes*ds)
			for i := range x {
				x[i] = float32(rng.NormFloat64() * 3)
				if i%11 == 0 {
					x[i] = 2 // on a bound of the clamp below (a = 1.5, b = 3: 6)
				}
			}
			for i := range dy {
				dy[i] = float32(rng.NormFloat64())
			}
			a, b, mean, k := make([]float32, planes), make([]float32, planes), make([]float32, planes), make([]float32, 3*planes)
			for p := range planes {
				a[p], b[p], mean[p], k[3*p] = 1.5, 3, float32(p)/7, float32(rng.NormFloat64())
			}
			want, got := make([]float32, 2*planes), make([]float32, 2*planes)
			wg, gg := make([]float32, planes*gs), make([]float32, planes*gs)
			bnActBackReducePlanes(x, dy, hw, planes, xs, ds, a, b, mean, 0, 6, mask, want)
			bnActBackApplyPlanes(wg, dy, x, hw, planes, gs, xs, ds, a, b, k, 0, 6, mask)
			bnActBackReduceGPlanes(x, dy, gg, hw, planes, xs, ds, gs, a, b, mean, k, 0, 6, mask, got)
			if !slices.Equal(got, want) {
				t.Errorf("hw %d, mask %v: reductions %v, want %v", hw, mask, got, want)
			}
			for i := range wg {
				if math.Float32bits(gg[i]) != math.Float32bits(wg[i]) {
					t.Fatalf("hw %d, mask %v: gradient value %d = %v, want %v", hw, mask, i, gg[i], wg[i])
				}
			}
		}
	}
}
