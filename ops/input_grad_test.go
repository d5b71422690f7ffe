package ops

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"nas/ops/internal/dwconv"
	"nas/ops/internal/gpw"
)

// TestBackwardParamsSkipsOnlyInputGrad checks, for a first convolution on each of the
// kernel paths, that Network.BackwardParams leaves every parameter gradient bit for
// bit as Backward does, and that the next Backward computes the input gradient again.
// The pointwise cases check that their backward pass runs the kernels they are for
// (on a CPU with AVX-512, where every path exists).
func TestBackwardParamsSkipsOnlyInputGrad(t *testing.T) {
	const batch = 5
	tests := []struct {
		name    string
		first   ConvConfig
		in      Shape
		samples int      // the first convolution's pwSamples
		kernel  pwKernel // pointwise: the backward kernels
	}{
		{"im2col 3x3", sameConv(3, 8, 3, 1, 1), Shape{3, 6, 6}, 0, -1},
		{"pointwise Sgemm", sameConv(12, 8, 1, 1, 1), Shape{12, 8, 8}, 1, pwOnSgemm},
		{"pointwise gpw", sameConv(12, 8, 1, 1, 1), Shape{12, 8, 8}, 0, pwOnGpw},
		{"pointwise flat g2", sameConv(8, 8, 1, 1, 2), Shape{8, 4, 4}, 0, pwOnFlat},
		{"pointwise batched", sameConv(12, 8, 1, 1, 1), Shape{12, 4, 4}, 3, pwOnBatched},
		{"depthwise-style stem", sameConv(1, 8, 3, 1, 1), Shape{1, 8, 8}, 0, -1},
		{"depthwise s2", sameConv(4, 8, 3, 2, 4), Shape{4, 8, 8}, 0, -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := func() *Network {
				conv, err := NewConv2D(tt.first)
				if err != nil {
					t.Fatal(err)
				}
				conv.pwSamples = tt.samples
				if k, _ := conv.pwKernelFor(true, batch, tt.in.H*tt.in.W); tt.kernel >= 0 && gpw.Accelerated() && dwconv.Accelerated() && k != tt.kernel {
					t.Fatalf("backward runs pointwise kernels %d, want %d: the case does not test its path", k, tt.kernel)
				}
				bn := NewBatchNorm2D(8)
				head, err := NewConv2D(sameConv(8, 4, 1, 1, 1))
				if err != nil {
					t.Fatal(err)
				}
				n, err := NewNetwork(Seq(conv, bn, NewReLU6(), head), tt.in)
				if err != nil {
					t.Fatal(err)
				}
				n.Init(rand.New(rand.NewPCG(5, 6)))
				return n
			}
			a, b := net(), net()
			x := randTensor(1, batch, tt.in)
			dy := randTensor(2, batch, a.OutShape())
			grads := func(n *Network, params bool) ([][]float32, []float32) {
				n.ZeroGrad()
				if _, err := n.Forward(x); err != nil {
					t.Fatal(err)
				}
				var dx []float32
				if params {
					if err := n.BackwardParams(dy); err != nil {
						t.Fatal(err)
					}
				} else {
					d, err := n.Backward(dy)
					if err != nil {
						t.Fatal(err)
					}
					dx = slices.Clone(d.Float32s())
				}
				var g [][]float32
				for _, p := range n.Params() {
					g = append(g, slices.Clone(p.Grad.Float32s()))
				}
				return g, dx
			}
			want, wantDX := grads(a, false)
			got, _ := grads(b, true)
			for i := range want {
				if !slices.Equal(got[i], want[i]) {
					t.Errorf("parameter %d: gradient after BackwardParams differs from Backward's", i)
				}
			}
			// The input gradient was not computed: a poisoned buffer stays as it was.
			first := b.Root().(*Sequential).Layers[0].(*Conv2D)
			poison := first.dx.t.Float32s()
			for i := range poison {
				poison[i] = float32(math.NaN())
			}
			grads(b, true)
			for i, v := range poison {
				if !math.IsNaN(float64(v)) {
					t.Fatalf("BackwardParams wrote the input gradient (value %d = %v)", i, v)
				}
			}
			_, gotDX := grads(b, false)
			if !slices.Equal(gotDX, wantDX) {
				t.Errorf("Backward after BackwardParams: input gradient differs from a fresh network's")
			}
		})
	}
}
