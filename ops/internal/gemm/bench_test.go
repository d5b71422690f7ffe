package gemm

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// benchShapes are the convolution GEMMs of package ops: M = output channels per group,
// N = H*W, K = Cin/groups*kh*kw for the forward pass (false, false); the transposed
// ones are the backward GEMMs of the same layers (weight gradient: false, true with
// K = H*W; input gradient: true, false with K = output channels).
var benchShapes = []struct {
	name           string
	transA, transB bool
	m, n, k        int
	beta           float32
}{
	{"M64K288N12544", false, false, 64, 12544, 288, 0},  // 3x3, 32->64 channels at 112x112
	{"M32K16N12544", false, false, 32, 12544, 16, 0},    // 1x1, 16->32 at 112x112
	{"M24K6N3136", false, false, 24, 3136, 6, 0},        // grouped 1x1, 6 channels a group, 56x56
	{"M96K96N196", false, false, 96, 196, 96, 0},        // 1x1, 96->96 at 14x14
	{"M256K2304N196", false, false, 256, 196, 2304, 0},  // 3x3, 256->256 at 14x14
	{"M128K1152N784", false, false, 128, 784, 1152, 0},  // 3x3, 128->128 at 28x28
	{"M512K4608N49", false, false, 512, 49, 4608, 0},    // 3x3, 512->512 at 7x7
	{"M64K12544N288TB", false, true, 64, 288, 12544, 1}, // weight gradient of the first
	{"M288K64N12544TA", true, false, 288, 12544, 64, 0}, // input gradient of the first
	{"M128K784N1152TB", false, true, 128, 1152, 784, 1}, // weight gradient, 28x28
	{"M1152K128N784TA", true, false, 1152, 784, 128, 0}, // input gradient, 28x28
}

// BenchmarkSgemm reports single-threaded GFLOP/s (2*m*n*k flops a call) for the best
// kernel of this machine, over wall time and, on Linux, over the thread's CPU time.
func BenchmarkSgemm(b *testing.B) {
	benchKernel(b, nil)
}

// BenchmarkSgemmKernel reports every kernel of this machine on the same shapes.
func BenchmarkSgemmKernel(b *testing.B) {
	for _, kern := range kernels {
		b.Run(kern.name, func(b *testing.B) { benchKernel(b, kern) })
	}
}

func benchKernel(b *testing.B, kern *kernel) {
	for _, s := range benchShapes {
		b.Run(s.name, func(b *testing.B) {
			active = kern
			defer func() { active = nil }()
			rng := rand.New(rand.NewPCG(1, 1))
			x, y := randSlice(rng, s.m*s.k), randSlice(rng, s.k*s.n)
			c := make([]float32, s.m*s.n)
			lda, ldb := s.k, s.n
			if s.transA {
				lda = s.m
			}
			if s.transB {
				ldb = s.k
			}
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			cpu0, cpuOK := threadCPU()
			b.ResetTimer()
			for b.Loop() {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, x, lda, y, ldb, s.beta, c, s.n)
			}
			flop := 2 * float64(s.m) * float64(s.n) * float64(s.k) * float64(b.N)
			b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if cpu1, ok := threadCPU(); ok && cpuOK && cpu1 > cpu0 {
				// The same rate over the thread's CPU time: on a busy shared
				// machine it is far steadier than the wall-time figure.
				b.ReportMetric(flop/(cpu1-cpu0)/1e9, "GFLOP/s-cpu")
			}
		})
	}
}

func ExampleSgemm() {
	// C = A*B for A = [[1 2] [3 4]] and B = [[5 6] [7 8]].
	a := []float32{1, 2, 3, 4}
	b := []float32{5, 6, 7, 8}
	c := make([]float32, 4)
	Sgemm(false, false, 2, 2, 2, 1, a, 2, b, 2, 0, c, 2)
	fmt.Println(c)
	// Output: [19 22 43 50]
}
