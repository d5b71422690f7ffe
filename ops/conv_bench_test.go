package ops

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"gorgonia.org/tensor"
)

// convCase is one convolution shape of the benchmarks.
type convCase struct {
	name string
	cfg  ConvConfig
	in   Shape
	n    int
}

// sameConv returns a square k x k convolution with "same" padding.
func sameConv(in, out, k, stride, groups int) ConvConfig {
	return ConvConfig{In: in, Out: out, KH: k, KW: k, StrideH: stride, StrideW: stride,
		PadH: k / 2, PadW: k / 2, Groups: groups}
}

// convCases are the benchmark shapes: grouped 1x1, dense 3x3 and depthwise kxk at
// batch 64, then every convolution of /work/shared/bench/reference_net.py at its
// batch of 128 on 28x28x1 inputs.
func convCases() []convCase {
	var cs []convCase
	for _, g := range []int{1, 2, 4, 8} {
		cs = append(cs, convCase{fmt.Sprintf("1x1_g%d_C96_HW14", g), sameConv(96, 96, 1, 1, g), Shape{96, 14, 14}, 64})
	}
	cs = append(cs, convCase{"3x3_dense_C32_HW14", sameConv(32, 32, 3, 1, 1), Shape{32, 14, 14}, 64})
	for _, k := range []int{3, 5, 7} {
		cs = append(cs, convCase{fmt.Sprintf("dw%dx%d_C96_HW14", k, k), sameConv(96, 96, k, 1, 96), Shape{96, 14, 14}, 64})
	}
	cs = append(cs, convCase{"dw3x3_s2_C96_HW14", sameConv(96, 96, 3, 2, 96), Shape{96, 14, 14}, 64})
	ref := []struct {
		name          string
		in, out, k, s int
		g, hw         int
	}{
		{"stem_3x3_C1to16_HW28", 1, 16, 3, 1, 1, 28},
		{"b1_pw_C16to64_HW28", 16, 64, 1, 1, 1, 28},
		{"b1_dw3x3_s2_C64_HW28", 64, 64, 3, 2, 64, 28},
		{"b1_pl_C64to24_HW14", 64, 24, 1, 1, 1, 14},
		{"b2_pw_g4_C24to96_HW14", 24, 96, 1, 1, 4, 14},
		{"b2_dw3x3_C96_HW14", 96, 96, 3, 1, 96, 14},
		{"b2_pl_g4_C96to24_HW14", 96, 24, 1, 1, 4, 14},
		{"b3_pw_C24to96_HW14", 24, 96, 1, 1, 1, 14},
		{"b3_dw3x3_s2_C48_HW14", 48, 48, 3, 2, 48, 14},
		{"b3_dw5x5_s2_C48_HW14", 48, 48, 5, 2, 48, 14},
		{"b3_pl_C96to48_HW7", 96, 48, 1, 1, 1, 7},
		{"b4_pw_g4_C48to192_HW7", 48, 192, 1, 1, 4, 7},
		{"b4_dw3x3_C64_HW7", 64, 64, 3, 1, 64, 7},
		{"b4_dw5x5_C64_HW7", 64, 64, 5, 1, 64, 7},
		{"b4_dw7x7_C64_HW7", 64, 64, 7, 1, 64, 7},
		{"b4_pl_g4_C192to48_HW7", 192, 48, 1, 1, 4, 7},
		{"b5_pw_C48to192_HW7", 48, 192, 1, 1, 1, 7},
		{"b5_dw3x3_s2_C192_HW7", 192, 192, 3, 2, 192, 7},
		{"b5_pl_C192to96_HW4", 192, 96, 1, 1, 1, 4},
		{"b6_pw_g8_C96to384_HW4", 96, 384, 1, 1, 8, 4},
		{"b6_dw3x3_C384_HW4", 384, 384, 3, 1, 384, 4},
		{"b6_pl_g8_C384to96_HW4", 384, 96, 1, 1, 8, 4},
		{"head_C96to256_HW4", 96, 256, 1, 1, 1, 4},
	}
	for _, r := range ref {
		cs = append(cs, convCase{"ref_" + r.name, sameConv(r.in, r.out, r.k, r.s, r.g), Shape{r.in, r.hw, r.hw}, 128})
	}
	return cs
}

// benchLayer is a convolution ready to time: one forward pass done, dy drawn.
type benchLayer struct {
	l     *Conv2D
	x, dy *tensor.Dense
	flops float64 // 2*MACs for the batch: one forward pass
}

func newBenchLayer(b *testing.B, c convCase) *benchLayer {
	l, err := NewConv2D(c.cfg)
	if err != nil {
		b.Fatal(err)
	}
	Init(l, rand.New(rand.NewPCG(1, 2)))
	x := randTensor(3, c.n, c.in)
	y, err := l.Forward(x)
	if err != nil {
		b.Fatal(err)
	}
	_, out, _ := ShapeOf(y)
	return &benchLayer{l: l, x: x, dy: randTensor(4, c.n, out), flops: 2 * float64(l.Cost(c.in).MACs) * float64(c.n)}
}

// run times dir ("fwd", or "bwd": the input and weight gradients, twice the forward
// work) and reports GFLOP/s.
func (bl *benchLayer) run(b *testing.B, dir string) {
	flops := bl.flops
	if dir == "bwd" {
		flops *= 2
		if _, err := bl.l.Forward(bl.x); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		var err error
		if dir == "fwd" {
			_, err = bl.l.Forward(bl.x)
		} else {
			_, err = bl.l.Backward(bl.dy)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkConv times every shape of convCases forward and backward at GOMAXPROCS,
// then the reference network's convolutions all together ("ref_all").
func BenchmarkConv(b *testing.B) {
	for _, c := range convCases() {
		for _, dir := range []string{"fwd", "bwd"} {
			b.Run(c.name+"_"+dir, func(b *testing.B) { newBenchLayer(b, c).run(b, dir) })
		}
	}
	b.Run("ref_all_fwdbwd", func(b *testing.B) {
		var ls []*benchLayer
		var flops float64
		for _, c := range convCases() {
			if strings.HasPrefix(c.name, "ref_") {
				bl := newBenchLayer(b, c)
				ls = append(ls, bl)
				flops += 3 * bl.flops
			}
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for _, bl := range ls {
				if _, err := bl.l.Forward(bl.x); err != nil {
					b.Fatal(err)
				}
			}
			for j := len(ls) - 1; j >= 0; j-- {
				if _, err := ls[j].l.Backward(ls[j].dy); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		b.ReportMetric(128*float64(b.N)/b.Elapsed().Seconds(), "images/s")
	})
}

// BenchmarkDepthwise3x3 is the depthwise target: C=32, batch 64, 14x14, stride 1,
// pad 1, forward, on one thread (PyTorch 1.13 reaches about 29 GFLOP/s per core).
func BenchmarkDepthwise3x3(b *testing.B) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	newBenchLayer(b, depthwiseTarget).run(b, "fwd")
}

// depthwiseTarget is the shape of BenchmarkDepthwise3x3.
var depthwiseTarget = convCase{"Depthwise3x3_C32_HW14", sameConv(32, 32, 3, 1, 32), Shape{32, 14, 14}, 64}
