package ops

import (
	"runtime"
	"syscall"
	"testing"
)

// threadCPUSeconds returns the CPU time the calling OS thread has used.
func threadCPUSeconds(b *testing.B) float64 {
	var ru syscall.Rusage
	const rusageThread = 1 // RUSAGE_THREAD, Linux's getrusage(2)
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		b.Fatal(err)
	}
	return float64(ru.Utime.Nano()+ru.Stime.Nano()) / 1e9
}

// BenchmarkConvCPU times the shapes of BenchmarkDepthwise3x3 and BenchmarkConv on one
// locked thread and reports
// GFLOP/s over that thread's CPU time ("GFLOP/s-cpu") as well as over wall time: on a
// machine shared with other jobs the CPU-time figure still measures the kernels,
// and it compares with bench_conv.py --cpu-time, which does the same for PyTorch.
func BenchmarkConvCPU(b *testing.B) {
	for _, c := range append([]convCase{depthwiseTarget}, convCases()...) {
		for _, dir := range []string{"fwd", "bwd"} {
			b.Run(c.name+"_"+dir, func(b *testing.B) {
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				bl := newBenchLayer(b, c)
				if _, err := bl.l.Forward(bl.x); err != nil {
					b.Fatal(err)
				}
				flops := bl.flops
				if dir == "bwd" {
					flops *= 2
				}
				b.ResetTimer()
				t0 := threadCPUSeconds(b)
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
				cpu := threadCPUSeconds(b) - t0
				b.ReportMetric(flops*float64(b.N)/cpu/1e9, "GFLOP/s-cpu")
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}
