package ops

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// TestBackwardParamsSkipsOnlyInputGrad checks, for a first convolution on each of the
// kernel paths, that Network.BackwardParams leaves every parameter gradient bit for
// bit as Backward does, and that the next Backward computes the input gradient again.
func TestBackwardParamsSkipsOnlyInputGrad(t *testing.T) {
	tests := []struct {
		name  string
		first ConvConfig
		in    Shape
	}{
		{"im2col 3x3", sameConv(3, 8, 3, 1, 1), Shape{3, 6, 6}},
		{"pointwise", sameConv(12, 8, 1, 1, 1), Shape{12, 8, 8}},
		{"pointwise flat g2", sameConv(8, 8, 1, 1, 2), Shape{8, 8, 8}},
		{"pointwise batched", sameConv(12, 8, 1, 1, 1), Shape{12, 4, 4}},
		{"depthwise-style stem", sameConv(1, 8, 3, 1, 1), Shape{1, 8, 8}},
		{"depthwise s2", sameConv(4, 8, 3, 2, 4), Shape{4, 8, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := func() *Network {
				conv, err := NewConv2D(tt.first)
				if err != nil {
					t.Fatal(err)
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
			x := randTensor(1, 5, tt.in)
			dy := randTensor(2, 5, a.OutShape())
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
			_, gotDX := grads(b, false)
			if !slices.Equal(gotDX, wantDX) {
				t.Errorf("Backward after BackwardParams: input gradient differs from a fresh network's")
			}
		})
	}
}
