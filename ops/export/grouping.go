package export

import (
	"gorgonia.org/tensor"

	"nas/ops"
)

// This file holds what the exporters need of the learned and dynamic grouping
// operators beyond their layer trees: the weights they export in place of the ones
// the layers hold.

// maskedWeight returns a copy of a learned group convolution's dense 1x1 weight with
// the dropped connections zeroed. The layer zeroes them itself before each forward
// pass, but an optimizer's momentum can write them again after the last one.
func maskedWeight(l *ops.LearnedGroupConv) *tensor.Dense {
	c := l.Config()
	w := l.Conv().Weight().Value
	v := append([]float32(nil), w.Float32s()...)
	for o := range c.Out {
		row := v[o*c.In : (o+1)*c.In]
		for j := range row {
			if !l.Kept(o%c.Groups, j) {
				row[j] = 0
			}
		}
	}
	return tensor.New(tensor.WithShape(w.Shape().Clone()...), tensor.WithBacking(v))
}

// keptChannels returns, per group, the input channels a learned group convolution
// still uses, or nil when every group uses every channel.
func keptChannels(l *ops.LearnedGroupConv) [][]int {
	c := l.Config()
	all := true
	kept := make([][]int, c.Groups)
	for g := range kept {
		kept[g] = []int{}
		for j := range c.In {
			if l.Kept(g, j) {
				kept[g] = append(kept[g], j)
			} else {
				all = false
			}
		}
	}
	if all {
		return nil
	}
	return kept
}

// dsconvWeight returns the weights a DSConv exports under PATH.weight: its
// reconstructed weights (Dequantized) when it has no channel distribution shift, so
// that it is a plain convolution; with one, the kernel shifts times the integers,
// alpha*q, before the shift, which the exported layer multiplies in as DSConv does
// (cds[o]*alpha*q, in float32), so that the shift stays a parameter of its own.
func dsconvWeight(l *ops.DSConv) *tensor.Dense {
	if l.CDS() == nil {
		return l.Dequantized()
	}
	c := l.Config()
	q, kds := l.Quantize()
	cig, kk := c.In/c.Groups, c.KH*c.KW
	blocks := (cig + c.BlockSize - 1) / c.BlockSize
	// Quantize's layout (ops.DSConv): q like the weights (Out, In/Groups, KH, KW),
	// kds (Out, blocks, KH, KW) with block b holding input channels [b*B, (b+1)*B).
	v := make([]float32, len(q))
	for o := range c.Out {
		for ci := range cig {
			for k := range kk {
				i := (o*cig+ci)*kk + k
				v[i] = kds[(o*blocks+ci/c.BlockSize)*kk+k] * float32(q[i])
			}
		}
	}
	return tensor.New(tensor.WithShape(c.Out, cig, c.KH, c.KW), tensor.WithBacking(v))
}
