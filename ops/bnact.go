package ops

import (
	"math"
	"unsafe"
)

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
// in float64. The Go kernel (bnStatsLanes) adds in the AVX-512 kernel's 16 lanes and
// order, so both give the same bits. The AVX-512 kernels take planes of 16 to
// bnGroupMaxHW values 16 at a time, in that same order: 4x4 planes transposed, one
// plane per lane (bnStats16AVX512), larger ones accumulated per plane and their
// lanes added in HSUM's order for 16 planes at once, so that the dependent chain of
// sum, mean and deviations runs once per 16 planes (bnStatsG16AVX512).
func bnStatsPlanes(x []float32, hw, planes, stride int, out []float32) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, stride)
	_ = out[3*planes-1]
	if !useBNAsm {
		for p := 0; p < planes; p++ {
			c, d, m := bnStatsLanes(x[p*stride : p*stride+hw])
			out[3*p], out[3*p+1], out[3*p+2] = c, d, m
		}
		return
	}
	if g := planes / 16; g > 0 && hw >= 16 && hw <= bnGroupMaxHW {
		if hw == 16 {
			bnStats16AVX512(&x[0], g, stride*4, &out[0])
		} else {
			bnStatsG16AVX512(&x[0], hw, g, stride*4, &out[0])
		}
		if planes == 16*g {
			return
		}
		x, out, planes = x[16*g*stride:], out[48*g:], planes-16*g
	}
	bnStatsAVX512(&x[0], hw, planes, stride*4, &out[0])
}

// lanes16 is a vector of 16 float32 lanes, as the AVX-512 kernels hold them.
type lanes16 [16]float32

// hsum adds the lanes of v in the order of the kernels' HSUM: lane i and i+8, then
// i and i+4, i and i+2, and the last two.
func (v *lanes16) hsum() float32 {
	var a [8]float32
	for i := range a {
		a[i] = v[i] + v[i+8]
	}
	for i := range 4 {
		a[i] += a[i+4]
	}
	a[0] += a[2]
	a[1] += a[3]
	return a[0] + a[1]
}

// load16 returns the 16 values of x from i, 0 past its end (a masked load).
func load16(x []float32, i int) lanes16 {
	var v lanes16
	copy(v[:], x[i:])
	return v
}

// bnStatsLanes returns the mean c of v, sum(v-c) and sum((v-c)^2) as bnStatsAVX512
// computes them: the sum in two 16-lane accumulators (32 values a step, then 16,
// then the tail into the second), the deviations in one pair of accumulators with
// one rounding per square and addition (FMA).
func bnStatsLanes(v []float32) (c, d, m float32) {
	var s0, s1 lanes16
	i := 0
	for ; i+32 <= len(v); i += 32 {
		for l := range 16 {
			s0[l] += v[i+l]
			s1[l] += v[i+16+l]
		}
	}
	if i+16 <= len(v) {
		for l := range 16 {
			s0[l] += v[i+l]
		}
		i += 16
	}
	if i < len(v) {
		t := load16(v, i)
		for l := range 16 {
			s1[l] += t[l]
		}
	}
	for l := range 16 {
		s0[l] += s1[l]
	}
	c = s0.hsum() / float32(len(v))
	var dv, mv lanes16
	for i = 0; i < len(v); i += 16 {
		t := load16(v, i)
		for l := range 16 {
			e := float32(0)
			if i+l < len(v) {
				e = t[l] - c
			}
			dv[l] += e
			mv[l] = fma32(e, e, mv[l])
		}
	}
	return c, dv.hsum(), mv.hsum()
}

// fma32 returns a*b + c rounded once to float32, as the FMA instructions do. The
// product is exact in float64, and the float64 sum s differs from the exact one by
// at most half its last place: rounding s to float32 is right except when s falls
// on the midpoint of two float32 values while the exact sum does not, where the
// error term of the float64 addition decides.
func fma32(a, b, c float32) float32 {
	p, cc := float64(a)*float64(b), float64(c)
	s := p + cc
	r := float32(s)
	if float64(r) == s || math.IsInf(s, 0) || math.IsNaN(s) {
		return r
	}
	// The other float32 on s's side of r, and whether s is their midpoint.
	o := math.Nextafter32(r, float32(math.Copysign(math.Inf(1), s-float64(r))))
	if s-float64(r) != float64(o)-s {
		return r
	}
	bb := s - p
	e := (p - (s - bb)) + (cc - bb) // the exact sum is s + e
	if e == 0 {
		return r
	}
	if (e > 0) == (float64(o) > float64(r)) {
		return o
	}
	return r
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
// out[2p:2p+2], where gm is dy, or with mask dy where x*a[p]+b[p] (one rounding) is
// inside (lo, hi) and 0 elsewhere: the gradient at the batch norm's output. dy's
// planes are dystride values apart, x's xstride. The Go kernel (bnBackReduceLanes)
// adds in the AVX-512 kernel's 16 lanes and order, so both give the same bits; on
// 4x4 planes the AVX-512 kernels take 16 planes per call
// (bnActBackReduce16AVX512), in that same order.
func bnActBackReducePlanes(x, dy []float32, hw, planes, xstride, dystride int, a, b, mean []float32, lo, hi float32, mask bool, out []float32) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, xstride)
	checkPlanes(len(dy), hw, planes, dystride)
	_, _, _, _ = a[planes-1], b[planes-1], mean[planes-1], out[2*planes-1]
	if !useBNAsm {
		for p := 0; p < planes; p++ {
			s, d := bnBackReduceLanes(x[p*xstride:p*xstride+hw], dy[p*dystride:p*dystride+hw], a[p], b[p], mean[p], lo, hi, mask)
			out[2*p], out[2*p+1] = s, d
		}
		return
	}
	if g := planes / 16; hw == 16 && g > 0 {
		bnActBackReduce16AVX512(&x[0], &dy[0], g, xstride*4, dystride*4, &a[0], &b[0], &mean[0], lo, hi, mask, &out[0])
		if planes == 16*g {
			return
		}
		n := 16 * g
		x, dy, planes = x[n*xstride:], dy[n*dystride:], planes-n
		a, b, mean, out = a[n:], b[n:], mean[n:], out[2*n:]
	}
	bnActBackReduceAVX512(&x[0], &dy[0], nil, hw, planes, xstride*4, dystride*4, 0, &a[0], &b[0], &mean[0], nil, lo, hi, mask, &out[0])
}

// bnActBackReduceGPlanes is bnActBackReducePlanes that also writes gm*k[3p] of each
// plane p into g (planes gstride apart): what bnActBackApplyPlanes writes with
// k[3p+1] and k[3p+2] zero, in the same pass over x and dy. The AVX-512 kernel does
// both at once on planes other than 4x4 (whose reductions take another kernel);
// otherwise it runs the two functions, with the same bits.
func bnActBackReduceGPlanes(x, dy, g []float32, hw, planes, xstride, dystride, gstride int, a, b, mean, k []float32, lo, hi float32, mask bool, out []float32) {
	if planes == 0 {
		return
	}
	if !useBNAsm || hw == 16 {
		bnActBackReducePlanes(x, dy, hw, planes, xstride, dystride, a, b, mean, lo, hi, mask, out)
		bnActBackApplyPlanes(g, dy, x, hw, planes, gstride, xstride, dystride, a, b, k, lo, hi, mask)
		return
	}
	checkPlanes(len(x), hw, planes, xstride)
	checkPlanes(len(dy), hw, planes, dystride)
	checkPlanes(len(g), hw, planes, gstride)
	_, _, _, _, _ = a[planes-1], b[planes-1], mean[planes-1], k[3*planes-1], out[2*planes-1]
	bnActBackReduceAVX512(&x[0], &dy[0], &g[0], hw, planes, xstride*4, dystride*4, gstride*4, &a[0], &b[0], &mean[0], &k[0], lo, hi, mask, &out[0])
}

// bnBackReduceLanes returns sum(gm) and sum((x-m)*gm) over one plane as
// bnActBackReduceAVX512 computes them: 16 lanes, x*a+b and (x-m)*gm plus the
// accumulator each rounded once (FMA), the tail's missing lanes 0.
func bnBackReduceLanes(x, dy []float32, a, b, m, lo, hi float32, mask bool) (float32, float32) {
	var s, d lanes16
	for i := 0; i < len(x); i += 16 {
		for l := range 16 {
			if i+l >= len(x) {
				break
			}
			v, g := x[i+l], dy[i+l]
			if mask && !inside(fma32(v, a, b), lo, hi) {
				g = 0
			}
			s[l] += g
			d[l] = fma32(v-m, g, d[l])
		}
	}
	return s.hsum(), d.hsum()
}

// bnActBackApplyPlanes sets dx = gm*k[3p] + (x*k[3p+1] + k[3p+2]) with gm as in
// bnActBackReducePlanes; the planes of dx are dxstride values apart.
func bnActBackApplyPlanes(dx, dy, x []float32, hw, planes, dxstride, xstride, dystride int, a, b, k []float32, lo, hi float32, mask bool) {
	if planes == 0 {
		return
	}
	checkPlanes(len(x), hw, planes, xstride)
	checkPlanes(len(dx), hw, planes, dxstride)
	checkPlanes(len(dy), hw, planes, dystride)
	_, _, _ = a[planes-1], b[planes-1], k[3*planes-1]
	if useBNAsm {
		bnActBackApplyAVX512(&dx[0], &dy[0], &x[0], hw, planes, dxstride*4, xstride*4, dystride*4, &a[0], &b[0], &k[0], lo, hi, mask)
		return
	}
	for p := 0; p < planes; p++ {
		xs, gs, ds := x[p*xstride:p*xstride+hw], dy[p*dystride:p*dystride+hw], dx[p*dxstride:p*dxstride+hw]
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

// bnGroupMaxHW is the largest plane the AVX-512 statistics take 16 planes at a time
// (bnStatsG16AVX512): beyond it the per-plane kernel's HSUMs are a small part of
// the work, and 16 larger planes read twice no longer stay in the L1 cache.
const bnGroupMaxHW = 256

// streamCopy copies src into dst (of src's length) with non-temporal stores where
// the CPU has AVX-512, so that writing dst does not first read it into the cache.
func streamCopy(dst, src []float32) {
	dst = dst[:len(src)]
	if !useBNAsm || len(src) < 64 {
		copy(dst, src)
		return
	}
	head := int((64 - uintptr(unsafe.Pointer(&dst[0]))%64) % 64 / 4)
	copy(dst[:head], src)
	body := (len(src) - head) &^ 15
	if body > 0 {
		streamAVX512(&dst[head], &src[head], body)
	}
	copy(dst[head+body:], src[head+body:])
}
