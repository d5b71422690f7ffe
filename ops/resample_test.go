package ops

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gorgonia.org/tensor"
)

// TestResampleKernels checks the AVX-512 kernels of AvgPool2D's 2x2 tiling windows
// and of Upsample2x, forward and backward, against the Go loops bit for bit: rows
// of 1 to 40 outputs (a partial vector, one, two and more, with tails), one to
// three rows, a sample of negative zeros and one of random values with signed zeros,
// infinities, NaNs and denormals among them.
func TestResampleKernels(t *testing.T) {
	if !useResampleAsm {
		t.Skip("no AVX-512: the layers run the Go loops only")
	}
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		float32(math.NaN()), 1e-40, -1e-40, 3, -7.5}
	for _, up := range []bool{false, true} {
		for _, h := range []int{1, 2, 3} {
			for w := 1; w <= 40; w++ {
				name := fmt.Sprintf("upsample %v, %dx%d", up, h, w)
				small, big := Shape{3, h, w}, Shape{3, 2 * h, 2 * w}
				in, out := big, small
				var l Layer = mustLayer(t)(NewAvgPool2D(PoolConfig{K: 2}))
				if up {
					in, out = small, big
					l = NewUpsample2x()
				}
				x, dy := specialTensor(uint64(w), 2, in, special), specialTensor(uint64(w)+99, 2, out, special)
				run := func(asm bool) (y, dx []float32) {
					defer func(v bool) { useResampleAsm = v }(useResampleAsm)
					useResampleAsm = asm
					yt, err := l.Forward(x)
					if err != nil {
						t.Fatal(err)
					}
					y = append([]float32(nil), yt.Float32s()...)
					dxt, err := l.Backward(dy)
					if err != nil {
						t.Fatal(err)
					}
					return y, append([]float32(nil), dxt.Float32s()...)
				}
				y, dx := run(true)
				wantY, wantDX := run(false)
				if i := firstBitDiff(y, wantY); i >= 0 {
					t.Errorf("%s: output %d is %v, the Go loop's %v", name, i, y[i], wantY[i])
				}
				if i := firstBitDiff(dx, wantDX); i >= 0 {
					t.Errorf("%s: input gradient %d is %v, the Go loop's %v", name, i, dx[i], wantDX[i])
				}
			}
		}
	}
}

// specialTensor returns n samples of shape s: the first all negative zeros (whose
// sums of four are -0 unless they start from +0), the others random values, every
// fifth one of the special values.
func specialTensor(seed uint64, n int, s Shape, special []float32) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 7))
	t := New(n, s)
	d := t.Float32s()
	for i := range d {
		v := float32(rng.NormFloat64())
		if rng.IntN(5) == 0 {
			v = special[rng.IntN(len(special))]
		}
		if i < s.Size() {
			v = float32(math.Copysign(0, -1))
		}
		d[i] = v
	}
	return t
}

// firstBitDiff returns the first index at which a and b hold different bits, or -1.
func firstBitDiff(a, b []float32) int {
	if len(a) != len(b) {
		return 0
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return i
		}
	}
	return -1
}

// BenchmarkOctaveResample times an octave block's resampling, on the AVX-512 kernels
// and on the Go loops: a 2x2 average pooling of 32 samples of 8 channels of 28x28,
// the nearest upsampling back, and both backward.
func BenchmarkOctaveResample(b *testing.B) {
	for _, asm := range []bool{true, false} {
		if asm && !useResampleAsm {
			continue
		}
		b.Run(map[bool]string{false: "go", true: "asm"}[asm], func(b *testing.B) {
			defer func(v bool) { useResampleAsm = v }(useResampleAsm)
			useResampleAsm = asm
			pool, err := NewAvgPool2D(PoolConfig{K: 2})
			if err != nil {
				b.Fatal(err)
			}
			up := NewUpsample2x()
			x := randTensor(1, 32, Shape{8, 28, 28})
			for b.Loop() {
				y, err := pool.Forward(x)
				if err == nil {
					y, err = up.Forward(y)
				}
				if err == nil {
					y, err = up.Backward(y)
				}
				if err == nil {
					_, err = pool.Backward(y)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
