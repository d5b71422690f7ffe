package gpw

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchShapes are the (m, k, n) shapes BenchmarkApply and BenchmarkWeightGrad time:
// the per-group shapes of reference_net.py's grouped 1x1 layers in block 2 (14x14
// planes) and block 4 (7x7), then the dense b1 pw (16->64 at 28x28), b1 pl (64->24
// at 14x14) and b3 pw (24->96 at 14x14) as forward and input-gradient products.
var benchShapes = [][3]int{{24, 6, 196}, {6, 24, 196}, {48, 12, 49}, {12, 48, 49},
	{64, 16, 784}, {16, 64, 784}, {24, 64, 196}, {64, 24, 196}, {96, 24, 196}, {24, 96, 196}}

// BenchmarkApply and BenchmarkWeightGrad time the kernels on benchShapes.
func BenchmarkApply(b *testing.B) {
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("m%d_k%d_n%d", m, k, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			a, src := randPadded(rng, m, k, k), randPadded(rng, k, n, n)
			ap, dst := make([]float32, PackedLen(m, k)), make([]float32, m*n)
			Pack(ap, a, m, k, k, 1)
			for i := 0; i < b.N; i++ {
				Apply(dst, n, ap, src, n, m, k, n)
			}
			b.ReportMetric(2*float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func BenchmarkWeightGrad(b *testing.B) {
	for _, s := range benchShapes {
		m, k, n := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("m%d_k%d_n%d", m, k, n), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			a, x := randPadded(rng, m, n, n), randPadded(rng, k, n, n)
			acc := make([]float32, LanesLen(m, k))
			for i := 0; i < b.N; i++ {
				WeightGrad(acc, a, n, m, x, n, k, n)
			}
			b.ReportMetric(2*float64(m*k*n)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
