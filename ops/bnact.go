package ops

import "math"

// This file holds the kernels of batch norm with a fused clamp activation and
// channel shuffle (see bnFuse), and of the clamp activations and the addition: a
// Go version of each, and a wrapper that checks the slices' bounds and runs the
// AVX-512 version of bnact_amd64.s where the CPU has it. The network this library
// trains is memory-bound (an expanded activation of the reference network is 25 MB
// at batch 128), so the point of fusing is to cross memory fewer times: batch norm
// and ReLU6 forward read the input twice and write the output once, and backward
// reads the input and the gradient twice and writes once, against 8 and 10 passes
// for batch norm, ReLU6 and a shuffle run one after another.

// bnFuse describes what a batch norm pass computes after normalizing: an optional
// clamp activation, and an optional channel shuffle of its output (see
// ChannelShuffle), so that input channel gi*(C/groups)+j lands on output channel
// j*groups+gi.
type bnFuse struct {
	// act is ActNone, ActReLU or ActReLU6.
	act Act
	// groups is the number of shuffle groups; 0 or 1 means no shuffle.
	groups int
}

// fusableAct reports whether batch norm can apply a as a clamp.
func fusableAct(a Act) bool { return a == ActNone || a == ActReLU || a == ActReLU6 }

// bounds returns the clamp of the activation, NaN standing for no bound (the kernels'
// comparisons are false for NaN), and whether the gradient is masked to the values
// strictly inside the bounds (lo < z and not z >= hi). This is PyTorch's
// threshold_backward for ReLU (gradient where the output is > 0) and
// hardtanh_backward for ReLU6 (where 0 < input < 6).
func (f bnFuse) bounds() (lo, hi float32, mask bool) {
	nan := float32(math.NaN())
	switch f.act {
	case ActReLU:
		return 0, nan, true
	case ActReLU6:
		return 0, 6, true
	}
	return nan, nan, false
}

// shuffleGroups returns the number of shuffle groups, at least 1.
func (f bnFuse) shuffleGroups() int { return max(f.groups, 1) }

// clampValue is min(max(z, lo), hi) where NaN bounds do not apply and a NaN z stays NaN.
func clampValue(z, lo, hi float32) float32 {
	if z < lo {
		z = lo
	}
	if z > hi {
		z = hi
	}
	return z
}

// inside reports whether lo < z and not z >= hi.
func inside(z, lo, hi float32) bool { return z > lo && !(z >= hi) }

// checkPlanes panics unless a slice of length n holds planes planes of hw values
// whose starts are stride apart.
func checkPlanes(n, hw, planes, stride int) {
	if planes > 0 && (planes-1)*stride+hw > n {
		panic("ops: plane kernel out of bounds")
	}
}

// bnStatsPlanes writes, for each of planes planes of hw values starting stride
// values apart in x, the plane's float32 mean c, sum(x-c) and sum((x-c)^2) to
// out[3p:3p+3]. Centering each plane on its own mean keeps the float32 sums accurate
// when a channel's mean is large against its spread; the caller combines the planes
// in float64.
func bnStatsPlanes(x []float32, hw, planes, stride int, out []float32) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, stride)
	_ = out[3*planes-1]
	if useBNAsm {
		bnStatsAVX512(&x[0], hw, planes, stride*4, &out[0])
		return
	}
	for p := 0; p < planes; p++ {
		v := x[p*stride : p*stride+hw]
		c := sumRow(v) / float32(hw)
		var d, m float32
		for _, e := range v {
			e -= c
			d += e
			m += e * e
		}
		out[3*p], out[3*p+1], out[3*p+2] = c, d, m
	}
}

// bnActFwdPlanes sets y = clamp(x*a[p] + b[p], lo, hi) over planes planes of hw
// values, xstride values apart in x and ystride apart in y.
func bnActFwdPlanes(x, y []float32, hw, planes, xstride, ystride int, a, b []float32, lo, hi float32) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, xstride)
	checkPlanes(len(y), hw, planes, ystride)
	_, _ = a[planes-1], b[planes-1]
	if useBNAsm {
		bnActFwdAVX512(&x[0], &y[0], hw, planes, xstride*4, ystride*4, &a[0], &b[0], lo, hi)
		return
	}
	for p := 0; p < planes; p++ {
		xs, ys := x[p*xstride:p*xstride+hw], y[p*ystride:p*ystride+hw]
		ap, bp := a[p], b[p]
		for i, v := range xs {
			ys[i] = clampValue(v*ap+bp, lo, hi)
		}
	}
}

// bnActBackReducePlanes writes sum(gm) and sum((x-mean[p])*gm) of each plane to
// out[2p:2p+2], where gm is dy, or with mask dy where x*a[p]+b[p] is inside (lo, hi)
// and 0 elsewhere: the gradient at the batch norm's output. dy's planes are dystride
// values apart, x's xstride.
func bnActBackReducePlanes(x, dy []float32, hw, planes, xstride, dystride int, a, b, mean []float32, lo, hi float32, mask bool, out []float32) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, xstride)
	checkPlanes(len(dy), hw, planes, dystride)
	_, _, _, _ = a[planes-1], b[planes-1], mean[planes-1], out[2*planes-1]
	if useBNAsm {
		bnActBackReduceAVX512(&x[0], &dy[0], hw, planes, xstride*4, dystride*4, &a[0], &b[0], &mean[0], lo, hi, mask, &out[0])
		return
	}
	for p := 0; p < planes; p++ {
		xs, gs := x[p*xstride:p*xstride+hw], dy[p*dystride:p*dystride+hw]
		ap, bp, m := a[p], b[p], mean[p]
		var s, d float32
		for i, v := range xs {
			g := gs[i]
			if mask && !inside(v*ap+bp, lo, hi) {
				g = 0
			}
			s += g
			d += (v - m) * g
		}
		out[2*p], out[2*p+1] = s, d
	}
}

// bnActBackApplyPlanes sets dx = gm*k[3p] + (x*k[3p+1] + k[3p+2]) with gm as in
// bnActBackReducePlanes; dx has x's layout.
func bnActBackApplyPlanes(dx, dy, x []float32, hw, planes, xstride, dystride int, a, b, k []float32, lo, hi float32, mask bool) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, xstride)
	checkPlanes(len(dx), hw, planes, xstride)
	checkPlanes(len(dy), hw, planes, dystride)
	_, _, _ = a[planes-1], b[planes-1], k[3*planes-1]
	if useBNAsm {
		bnActBackApplyAVX512(&dx[0], &dy[0], &x[0], hw, planes, xstride*4, dystride*4, &a[0], &b[0], &k[0], lo, hi, mask)
		return
	}
	for p := 0; p < planes; p++ {
		xs, gs, ds := x[p*xstride:p*xstride+hw], dy[p*dystride:p*dystride+hw], dx[p*xstride:p*xstride+hw]
		ap, bp := a[p], b[p]
		ka, kb, ke := k[3*p], k[3*p+1], k[3*p+2]
		for i, v := range xs {
			g := gs[i]
			if mask && !inside(v*ap+bp, lo, hi) {
				g = 0
			}
			ds[i] = g*ka + (v*kb + ke)
		}
	}
}

// clampRow sets y = clamp(x, lo, hi), NaN bounds not applying.
func clampRow(y, x []float32, lo, hi float32) {
	x = x[:len(y)]
	if useBNAsm && len(y) > 0 {
		clampAVX512(&y[0], &x[0], len(y), lo, hi)
		return
	}
	for i, v := range x {
		y[i] = clampValue(v, lo, hi)
	}
}

// maskGradRow sets dx = dy where y is inside (lo, hi) and 0 elsewhere.
func maskGradRow(dx, dy, y []float32, lo, hi float32) {
	dy, y = dy[:len(dx)], y[:len(dx)]
	if useBNAsm && len(dx) > 0 {
		maskGradAVX512(&dx[0], &dy[0], &y[0], len(dx), lo, hi)
		return
	}
	for i, g := range dy {
		if !inside(y[i], lo, hi) {
			g = 0
		}
		dx[i] = g
	}
}

// addRow sets z = a + b.
func addRow(z, a, b []float32) {
	a, b = a[:len(z)], b[:len(z)]
	if useBNAsm && len(z) > 0 {
		addAVX512(&z[0], &a[0], &b[0], len(z))
		return
	}
	for i, v := range a {
		z[i] = v + b[i]
	}
}
