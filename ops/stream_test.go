package ops

import (
	"math"
	"slices"
	"testing"

	"nas/ops/internal/dwconv"
)

// TestStreamCopy checks streamCopy against copy at every alignment of the
// destination and lengths around its 64-value blocks, and that it writes nothing
// past the end.
func TestStreamCopy(t *testing.T) {
	src := make([]float32, 300)
	for i := range src {
		src[i] = float32(i) + 0.5
	}
	for off := 0; off < 16; off++ {
		for _, n := range []int{0, 1, 15, 16, 17, 63, 64, 65, 79, 80, 127, 128, 200, 283} {
			buf := make([]float32, 320)
			for i := range buf {
				buf[i] = -1
			}
			streamCopy(buf[off:off+n], src[:n])
			want := slices.Repeat([]float32{-1}, 320)
			copy(want[off:], src[:n])
			if !slices.Equal(buf, want) {
				t.Fatalf("offset %d, %d values: streamCopy differs from copy", off, n)
			}
		}
	}
}

// TestStagingBitIdentical runs the fusion cases with every depthwise input gradient
// staged (stream.go) and without, and checks that no bit of the output, the input
// gradient, the parameter gradients or the running statistics changes, on the flat
// depthwise kernels and the direct ones, and that the flat kernels staged.
func TestStagingBitIdentical(t *testing.T) {
	exactFusions(t)
	oldMin, oldOn := streamMinBytes, streamOutputs
	defer func() { streamMinBytes, streamOutputs = oldMin, oldOn }()
	streamMinBytes = 0
	for _, c := range fuseCases() {
		for _, flat := range []bool{true, false} {
			acc := dwconv.SetAccelerated(flat)
			streamOutputs = false
			want := runFuse(t, c, true)
			streamOutputs = true
			staged := 0
			got := runFuseWith(t, c, true, func(l Layer) {
				Walk(l, func(_ string, m Layer) {
					if cv, ok := m.(*Conv2D); ok && cv.stg.on {
						staged++
					}
				})
			})
			dwconv.SetAccelerated(acc)
			// The direct depthwise kernels (dwDirectBackward) write no staging.
			if flat && staged == 0 && hasDepthwise(c, t) {
				t.Errorf("%s, flat depthwise %v: no depthwise layer staged its input gradient", c.name, flat)
			}
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("%s, flat depthwise %v: result %d differs with staging", c.name, flat, i)
				}
			}
		}
	}
	if streamMinBytes = oldMin; useBNAsm && oldMin == math.MaxInt {
		t.Errorf("streamMinBytes is off with the AVX-512 kernels")
	}
}

// hasDepthwise reports whether case c has a depthwise convolution.
func hasDepthwise(c fuseCase, t *testing.T) bool {
	found := false
	Walk(c.mk(t), func(_ string, m Layer) {
		if cv, ok := m.(*Conv2D); ok && cv.cfg.Groups == cv.cfg.In && cv.cfg.Groups > 1 {
			found = true
		}
	})
	return found
}
