package ops

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"gorgonia.org/tensor"
)

// runLayer does one forward and one backward pass with fresh parameter gradients and
// returns copies of the output and the input gradient.
func runLayer(t *testing.T, l Layer, x, dy *tensor.Dense) (y, dx *tensor.Dense) {
	t.Helper()
	ZeroGrad(l)
	return runLayerKeepGrad(t, l, x, dy)
}

// runLayerKeepGrad is runLayer adding to the parameter gradients as they are.
func runLayerKeepGrad(t *testing.T, l Layer, x, dy *tensor.Dense) (y, dx *tensor.Dense) {
	t.Helper()
	out, err := l.Forward(x)
	if err != nil {
		t.Fatalf("forward: %v", err)
	}
	y = clone(out)
	g, err := l.Backward(dy)
	if err != nil {
		t.Fatalf("backward: %v", err)
	}
	return y, clone(g)
}

// checkLayerContract checks what every op promises besides its values: it leaves x
// and dy unchanged, a second call gives bit-identical results (buffers are reused,
// never stale), and separate instances built by mk run concurrently with the same
// results (run with -race to check sharing).
func checkLayerContract(t *testing.T, mk func() Layer, x, dy *tensor.Dense) {
	t.Helper()
	x0, dy0 := clone(x), clone(dy)
	l := mk()
	y1, dx1 := runLayer(t, l, x, dy)
	if !slices.Equal(x.Float32s(), x0.Float32s()) {
		t.Errorf("forward or backward modified its input")
	}
	if !slices.Equal(dy.Float32s(), dy0.Float32s()) {
		t.Errorf("backward modified the output gradient")
	}
	y2, dx2 := runLayer(t, l, x, dy)
	if !slices.Equal(y1.Float32s(), y2.Float32s()) || !slices.Equal(dx1.Float32s(), dx2.Float32s()) {
		t.Errorf("a second call gave different results")
	}
	var wg sync.WaitGroup
	res := make([][2]*tensor.Dense, 3)
	for i := range res {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			l := mk()
			ZeroGrad(l)
			out, err := l.Forward(x)
			if err != nil {
				t.Errorf("concurrent forward: %v", err)
				return
			}
			y := clone(out)
			g, err := l.Backward(dy)
			if err != nil {
				t.Errorf("concurrent backward: %v", err)
				return
			}
			res[i] = [2]*tensor.Dense{y, clone(g)}
		}(i)
	}
	wg.Wait()
	for _, r := range res {
		if r[0] == nil {
			continue
		}
		if !slices.Equal(r[0].Float32s(), y1.Float32s()) || !slices.Equal(r[1].Float32s(), dx1.Float32s()) {
			t.Errorf("concurrent instances gave different results")
		}
	}
}

// randTensor returns an NCHW tensor of standard normal values from a fixed seed.
func randTensor(seed uint64, n int, s Shape) *tensor.Dense {
	rng := rand.New(rand.NewPCG(seed, 0))
	t := New(n, s)
	for i, d := 0, t.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	return t
}
