package dwconv

import (
	"fmt"
	"testing"
)

// BenchmarkDeinterleave times splitting one plane into its four phases.
func BenchmarkDeinterleave(b *testing.B) {
	for _, hw := range []int{7, 14, 28} {
		b.Run(fmt.Sprintf("HW%d", hw), func(b *testing.B) {
			g := Phases(hw, hw)
			src, dst := make([]float32, hw*hw), make([]float32, 4*g.Rows*g.Pitch)
			for i := 0; i < b.N; i++ {
				Deinterleave(dst, src, hw, hw)
			}
		})
	}
}

// BenchmarkConv3x3 times a 3x3 "same" convolution of one plane.
func BenchmarkConv3x3(b *testing.B) {
	for _, hw := range []int{4, 7, 14, 28} {
		b.Run(fmt.Sprintf("HW%d", hw), func(b *testing.B) {
			g := Grid{Rows: hw, Cols: hw, Pitch: hw}
			var taps []Tap
			for i := 0; i < 9; i++ {
				taps = append(taps, Tap{DR: i/3 - 1, DC: i%3 - 1, W: i})
			}
			p, err := NewPlan(g, g, taps)
			if err != nil {
				b.Fatal(err)
			}
			src, dst, w := make([]float32, hw*hw), make([]float32, hw*hw), make([]float32, 9)
			for i := 0; i < b.N; i++ {
				p.Conv(dst, src, w, 0, false)
			}
			b.ReportMetric(2*9*float64(hw*hw)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// s2Shapes are the stride-2 depthwise convolutions of the reference network
// (/work/shared/bench/reference_net.py): input side and kernel size.
var s2Shapes = []struct{ hw, k int }{{28, 3}, {14, 3}, {14, 5}, {7, 3}}

// s2Bench runs f over 64 planes of one stride-2 shape, b.N times, and reports the
// forward GFLOP/s (2*K*K multiply-adds per output value) of those planes.
func s2Bench(b *testing.B, f func(p *S2Plan, x, y, w, dwv []float32, s Strides)) {
	const planes = 64
	for _, c := range s2Shapes {
		b.Run(fmt.Sprintf("HW%d_k%d", c.hw, c.k), func(b *testing.B) {
			o := (c.hw + 1) / 2
			p, err := NewS2Plan(c.hw, c.hw, o, o, c.k, c.k, c.k/2, c.k/2, 1, 1)
			if err != nil {
				b.Fatal(err)
			}
			x, y := make([]float32, planes*c.hw*c.hw), make([]float32, planes*o*o)
			w, dwv := make([]float32, planes*c.k*c.k), make([]float32, planes*16*c.k*c.k)
			s := Strides{Count: planes, Dst: o * o, Src: c.hw * c.hw, W: c.k * c.k}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f(p, x, y, w, dwv, s)
			}
			b.ReportMetric(2*float64(c.k*c.k*o*o*planes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkS2Conv times the direct stride-2 forward kernel over 64 planes.
func BenchmarkS2Conv(b *testing.B) {
	s2Bench(b, func(p *S2Plan, x, y, w, _ []float32, s Strides) { p.ConvPlanes(y, x, w, nil, s) })
}

// BenchmarkS2WeightGrad times the direct stride-2 weight gradient over 64 planes.
func BenchmarkS2WeightGrad(b *testing.B) {
	s2Bench(b, func(p *S2Plan, x, y, _, dwv []float32, s Strides) {
		s.W = 16 * p.Taps()
		p.WeightGradPlanes(dwv, x, y, s)
	})
}

// BenchmarkS2InputGrad times the direct stride-2 input gradient over 64 planes.
func BenchmarkS2InputGrad(b *testing.B) {
	s2Bench(b, func(p *S2Plan, x, y, w, _ []float32, s Strides) {
		p.InputGradPlanes(x, y, w, Strides{Count: s.Count, Dst: s.Src, Src: s.Dst, W: s.W}, false)
	})
}

// BenchmarkStemBackward times the backward pass of the reference network's stem for
// one sample (a 3x3 "same" convolution of one 28x28 plane into 16, as
// /work/shared/bench/reference_net.py): BackwardPlanes per output plane, as the
// layer runs it when it computes the input gradient, against BackwardWeightPlanes
// over the 16 planes at once, as it runs without (noDX).
func BenchmarkStemBackward(b *testing.B) {
	const hw, mult, t = 28, 16, 9
	g := Grid{Rows: hw, Cols: hw, Pitch: hw}
	var taps []Tap
	for i := 0; i < t; i++ {
		taps = append(taps, Tap{DR: 1 - i/3, DC: 1 - i%3, W: i})
	}
	p, err := NewPlan(g, g, taps)
	if err != nil {
		b.Fatal(err)
	}
	n := hw * hw
	dy, x, dx := make([]float32, mult*n), make([]float32, n), make([]float32, n)
	w, dwv := make([]float32, mult*t), make([]float32, 16*mult*t)
	b.Run("with-dx", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			for m := 0; m < mult; m++ {
				p.BackwardPlanes(dx, dwv[16*m*t:], dy[m*n:], x, w[m*t:], BackwardStrides{Count: 1}, m > 0)
			}
		}
	})
	b.Run("weights-only", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p.BackwardWeightPlanes(dwv, dy, x, BackwardStrides{Count: mult, DY: n, DWV: 16 * t})
		}
	})
}

// BenchmarkConvPlanes times the flat forward kernel over 64 planes at stride 1, on
// planes large enough for its general loop (more than four 16-value blocks), with the
// kernel sizes of the search space's MixConv parts.
func BenchmarkConvPlanes(b *testing.B) {
	const planes = 64
	for _, c := range []struct{ hw, k int }{{14, 3}, {14, 5}, {14, 7}, {28, 3}, {28, 5}} {
		b.Run(fmt.Sprintf("HW%d_k%d", c.hw, c.k), func(b *testing.B) {
			g := Grid{Rows: c.hw, Cols: c.hw, Pitch: c.hw}
			var taps []Tap
			for i := 0; i < c.k*c.k; i++ {
				taps = append(taps, Tap{DR: i/c.k - c.k/2, DC: i%c.k - c.k/2, W: i})
			}
			p, err := NewPlan(g, g, taps)
			if err != nil {
				b.Fatal(err)
			}
			n := c.hw * c.hw
			src, dst, w := make([]float32, planes*n), make([]float32, planes*n), make([]float32, planes*c.k*c.k)
			s := Strides{Count: planes, Dst: n, Src: n, W: c.k * c.k}
			for i := 0; i < b.N; i++ {
				p.ConvPlanes(dst, src, w, nil, s, false)
			}
			b.ReportMetric(2*float64(c.k*c.k*n*planes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
