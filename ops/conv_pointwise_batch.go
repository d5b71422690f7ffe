package ops

import (
	"unsafe"

	"nas/ops/internal/gemm"
)

// pwBatchMaxHW and pwBatchCols choose the batched pointwise kernels: for planes of at
// most pwBatchMaxHW values, each parallel unit is a block of samples whose planes,
// side by side, make matrices about pwBatchCols columns wide (8 samples at 4x4, 6 at
// 5x5, 4 at 6x6). The per-sample kernels run one Sgemm per (sample, group), whose
// 16 columns at 4x4 fill half of the AVX-512 kernel's 32-wide tile and whose packing
// and call overhead outweigh the arithmetic.
//
// Measured in thread CPU time per call at batch 128 (BenchmarkConvCPU shapes of
// reference_net.py, 1x1 convolutions, per-sample -> batched with 8/6/4 samples):
// at 4x4, C96->384 g8 forward 755 -> 401 us, backward 1698 -> 1023; C384->96 g8 744
// -> 375 and 1329 -> 1128; C192->96 1412 -> 567 and 2014 -> 1140; C96->256 1678 ->
// 800 and 2718 -> 1518. At 5x5 and 6x6 on the same channels forward is 1.1-1.7x and
// backward 1.05-1.6x faster. At 7x7 (49 values) it is no faster: C48->192 g4 forward
// 564 -> 608-647, backward 1613 -> 1420-1528, C192->48 g4 551 -> 537-543 and 1692
// -> 1658-1910; hence the bound of 36. Blocks of 4 to 16 samples at 4x4 were within
// 10% of each other.
//
// With 6 channels per group (C24->96 and C96->24 g4) the batched kernels also beat
// the flat ones forward (4x4: 112 -> 71 us and 74 -> 62; 6x6: 249 -> 149 and 213 ->
// 153) but not backward (4x4: 252 against 284, 6x6: 535 against 641), so forward
// they take precedence over pwFlatMaxFwd and backward pwFlatMaxBwd over them.
//
// Backward, after the batched kernels took their inputs straight from the input
// transform (inputInto, dyInto), 7x7 planes pay too where Sgemm per sample would run
// them: C48->192 at 7x7 (reference_net.py's block 5 expansion) took 195-263 us less
// a training step in per-layer medians of 30 paired steps, C96->48 within 33 us
// either way; hence pwBatchMaxHWBwd. Layers with few channels per group stay on gpw
// or the flat kernels (the g4 7x7 layers above are slower batched).
const (
	pwBatchMaxHW    = 36
	pwBatchMaxHWBwd = 49
	pwBatchCols     = 128
)

// pwBatchSamples returns the samples per unit of the batched pointwise kernels for
// n samples of planes of hw values, or 1 for the per-sample kernels: when pwSamples
// is set it decides, otherwise blocks are as wide as pwBatchCols asks, but never so
// wide that a worker is left without a block, and only on planes of at most
// pwBatchMaxHW values forward, pwBatchMaxHWBwd backward.
func (l *Conv2D) pwBatchSamples(n, hw int, backward bool) int {
	if l.pwSamples != 0 {
		return max(1, min(l.pwSamples, n))
	}
	if hw > pwBatchMaxHW && (!backward || hw > pwBatchMaxHWBwd) {
		return 1
	}
	s := min((pwBatchCols+hw-1)/hw, (n+runtimeWorkers()-1)/runtimeWorkers())
	if s <= 1 {
		return 1
	}
	// Spread the samples evenly over the blocks the width asks for.
	blocks := (n + s - 1) / s
	return (n + blocks - 1) / blocks
}

// pwBatchScratch makes the per-worker scratch of the batched kernels for blocks of
// bs samples: the gathered input (In rows), the output or output gradient (Out rows)
// and backward the input gradient (In rows), each row bs planes long.
func (l *Conv2D) pwBatchScratch(bs, hw int) {
	c := l.cfg
	l.pwb = perWorker(l.pwb, runtimeWorkers(), (2*c.In+c.Out)*bs*hw)
}

// pointwiseBatchForward runs the forward pass in units of pass.bs samples.
func (l *Conv2D) pointwiseBatchForward() {
	p := &l.pass
	l.pwBatchScratch(p.bs, p.in.H*p.in.W)
	l.parallel((p.n+p.bs-1)/p.bs, passPointwiseBatchFwd)
}

// gatherPlanes copies the count planes of hw values in src into column block j of
// the rows of m, which are ld values long.
func gatherPlanes(m, src []float32, j, count, hw, ld int) {
	copyPlanes(m[j*hw:], ld, src, hw, count, hw)
}

// scatterPlanes is the inverse of gatherPlanes: it copies column block j of the count
// rows of m into the planes of dst.
func scatterPlanes(dst, m []float32, j, count, hw, ld int) {
	copyPlanes(dst, hw, m[j*hw:], ld, count, hw)
}

// copyPlanes copies count runs of hw values, srcPitch values apart in src, to runs
// dstPitch values apart in dst. The runs are planes of at most pwBatchMaxHWBwd values
// (1x1 to 7x7), for which a copy (a call of the runtime's memmove) cost twice as much
// as 16-byte moves: 3.5 against 1.6 ns a 4x4 plane gathering 384 channels of 8
// samples. With AVX-512 the planes move 16 values at a time (copyPlanesAVX512).
func copyPlanes(dst []float32, dstPitch int, src []float32, srcPitch, count, hw int) {
	if count <= 0 || hw <= 0 {
		return
	}
	// The last values read and written: the bounds checks of every move below.
	_ = dst[(count-1)*dstPitch+hw-1]
	_ = src[(count-1)*srcPitch+hw-1]
	if useBNAsm {
		copyPlanesAVX512(&dst[0], dstPitch, &src[0], srcPitch, count, hw)
		return
	}
	copyPlanesGo(dst, dstPitch, src, srcPitch, count, hw)
}

// copyPlanesGo is copyPlanes in Go, 16 bytes a move; the caller checks the bounds.
func copyPlanesGo(dst []float32, dstPitch int, src []float32, srcPitch, count, hw int) {
	d0, s0 := unsafe.Pointer(&dst[0]), unsafe.Pointer(&src[0])
	n4 := hw &^ 3
	for ch := range count {
		d, s := unsafe.Add(d0, ch*dstPitch*4), unsafe.Add(s0, ch*srcPitch*4)
		k := 0
		for ; k < n4; k += 4 {
			*(*[4]float32)(unsafe.Add(d, k*4)) = *(*[4]float32)(unsafe.Add(s, k*4))
		}
		for ; k < hw; k++ {
			*(*float32)(unsafe.Add(d, k*4)) = *(*float32)(unsafe.Add(s, k*4))
		}
	}
}

// pointwiseBatchFwdChunk computes, for each block of samples, Y_g = W_g * X_g per
// group with the block's planes side by side as the columns of X_g and Y_g. Every
// output value is the same sum, in the same order, as in pointwiseFwdChunk. An input
// transform writes each sample straight into its columns (inputInto), rather than
// into the worker's scratch to be copied from there: on reference_net.py's 4x4
// layers this and the same for the output gradient backward took 0.3-0.5 ms off a
// 52 ms step (per-layer medians of 30 paired steps).
func (l *Conv2D) pointwiseBatchFwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	for u := lo; u < hi; u++ {
		s0 := u * p.bs
		sb := min(p.bs, p.n-s0)
		ld := sb * hw
		xb := l.pwb[wk][:c.In*ld]
		yb := l.pwb[wk][c.In*ld : (c.In+c.Out)*ld]
		for j := 0; j < sb; j++ {
			l.inputInto(wk, xb[j*hw:], ld, s0+j)
		}
		for g := 0; g < c.Groups; g++ {
			gemm.Sgemm(false, false, cog, ld, cig, 1, wd[g*cog*cig:], cig, xb[g*cig*ld:], ld, 0, yb[g*cog*ld:], ld)
		}
		for j := 0; j < sb; j++ {
			ys := p.y.span(s0+j, 0, c.Out, hw)
			scatterPlanes(ys, yb, j, c.Out, hw, ld)
			l.addBias(ys, 0, c.Out, hw)
			l.outStats(s0+j, 0, c.Out)
		}
	}
}

// pointwiseBatchBackward runs the backward pass in units of pass.bs samples.
func (l *Conv2D) pointwiseBatchBackward() {
	p, c := &l.pass, l.cfg
	l.pwBatchScratch(p.bs, p.in.H*p.in.W)
	units := (p.n + p.bs - 1) / p.bs
	l.gradBuffers(units)
	l.parallel(units, passPointwiseBatchBwd)
	if pwSwapDW(c) {
		l.reduceGradsT(workers(units))
		return
	}
	l.reduceGrads(workers(units))
}

// pointwiseBatchBwdChunk computes, for each block of samples and each group,
// dW_g += dY_g * X_g^T over all the block's columns at once, and dX_g = W_g^T * dY_g,
// which is the same sum in the same order as in pointwiseBwdChunk.
func (l *Conv2D) pointwiseBatchBwdChunk(wk, lo, hi int) {
	p, c := &l.pass, l.cfg
	wd := l.weight.Value.Float32s()
	cig, cog := c.In/c.Groups, c.Out/c.Groups
	hw := p.in.H * p.in.W
	dw, db := l.dw[wk], l.db[wk]
	swap := pwSwapDW(c)
	for u := lo; u < hi; u++ {
		s0 := u * p.bs
		sb := min(p.bs, p.n-s0)
		ld := sb * hw
		sc := l.pwb[wk]
		xb := sc[:c.In*ld]
		dyb := sc[c.In*ld : (c.In+c.Out)*ld]
		dxb := sc[(c.In+c.Out)*ld : (2*c.In+c.Out)*ld]
		for j := 0; j < sb; j++ {
			l.inputInto(wk, xb[j*hw:], ld, s0+j)
			if l.bias == nil {
				l.dyInto(wk, dyb[j*hw:], ld, s0+j)
				continue
			}
			// The bias gradient sums the output gradient's planes as they are.
			dy, sd := l.dyOf(wk, s0+j)
			dys := dy.span(sd, 0, c.Out, hw)
			gatherPlanes(dyb, dys, j, c.Out, hw, ld)
			if l.bias != nil {
				biasGrad(db, dys, 0, c.Out, hw)
			}
		}
		for g := 0; g < c.Groups; g++ {
			xs, dys := xb[g*cig*ld:], dyb[g*cog*ld:]
			if swap {
				gemm.Sgemm(false, true, cig, cog, ld, 1, xs, ld, dys, ld, 1, dw[g*cog*cig:], cog)
			} else {
				gemm.Sgemm(false, true, cog, cig, ld, 1, dys, ld, xs, ld, 1, dw[g*cog*cig:], cig)
			}
			if !l.noDX {
				gemm.Sgemm(true, false, cig, ld, cog, 1, wd[g*cog*cig:], cig, dys, ld, 0, dxb[g*cig*ld:], ld)
			}
		}
		if l.noDX {
			continue
		}
		for j := 0; j < sb; j++ {
			scatterPlanes(p.y.span(s0+j, 0, c.In, hw), dxb, j, c.In, hw, ld)
			l.gradStats(wk, s0+j, 0, c.In)
		}
	}
}
