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
