package ops

import "nas/ops/internal/gemm"

// pointwiseForward runs a 1x1, stride-1, unpadded convolution without im2col: in NCHW
// the cin/g input planes of one sample and group already form a (cin/g) x HW matrix,
// so each (sample, group) unit is one product Y_g = W_g * X_g.
func (l *Conv2D) pointwiseForward(xd, yd []float32, n int, in, out Shape) {
	c := l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := in.H * in.W
	parallelFor(n*c.Groups, func(_, lo, hi int) {
		for u := lo; u < hi; u++ {
			s, g := u/c.Groups, u%c.Groups
			xs := xd[(s*in.C+g*cig)*hw : (s*in.C+(g+1)*cig)*hw]
			ys := yd[(s*out.C+g*cog)*hw : (s*out.C+(g+1)*cog)*hw]
			gemm.Sgemm(false, false, cog, hw, cig, 1, wd[g*cog*cig:], cig, xs, hw, 0, ys, hw)
			l.addBias(ys, g*cog, cog, hw)
		}
	})
}

// pointwiseBackward computes dW_g += dY_g * X_g^T and dX_g = W_g^T * dY_g per unit.
func (l *Conv2D) pointwiseBackward(dyd, dxd []float32, n int, in, out Shape) {
	c := l.cfg
	xd, wd := l.x.Float32s(), l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := in.H * in.W
	units := n * c.Groups
	dw, db := l.gradBuffers(units)
	parallelFor(units, func(wk, lo, hi int) {
		dw, db := dw[wk], db[wk]
		for u := lo; u < hi; u++ {
			s, g := u/c.Groups, u%c.Groups
			xs := xd[(s*in.C+g*cig)*hw : (s*in.C+(g+1)*cig)*hw]
			dxs := dxd[(s*in.C+g*cig)*hw : (s*in.C+(g+1)*cig)*hw]
			dys := dyd[(s*out.C+g*cog)*hw : (s*out.C+(g+1)*cog)*hw]
			gemm.Sgemm(false, true, cog, cig, hw, 1, dys, hw, xs, hw, 1, dw[g*cog*cig:], cig)
			gemm.Sgemm(true, false, cig, hw, cog, 1, wd[g*cog*cig:], cig, dys, hw, 0, dxs, hw)
			biasGrad(db, dys, g*cog, cog, hw)
		}
	})
	l.reduceGrads(workers(units))
}
