package ops

import "nas/ops/internal/dwconv"

// convPath names the kernel a Conv2D runs.
type convPath int

const (
	// pathAuto lets pathFor choose.
	pathAuto convPath = iota
	// pathIm2col unfolds the input and multiplies by the weights with Sgemm: any config.
	pathIm2col
	// pathPointwise multiplies the NCHW planes directly: 1x1 kernels, stride 1, no padding.
	pathPointwise
	// pathDirect loops over rows in Go: depthwise (Groups == In), any stride and dilation.
	pathDirect
	// pathFlat runs the masked flat kernels of package dwconv: depthwise at stride 1
	// with as many output as input columns, or at stride 2 with half of them rounded up.
	pathFlat
	// pathPointwiseFlat runs 1x1 convolutions on the dwconv kernels, the input planes
	// of a group being the taps: for groups of few channels, where Sgemm's packing
	// costs more than it saves.
	pathPointwiseFlat
)

// colCacheBytes bounds the im2col columns that Forward keeps for Backward: below it
// Backward skips recomputing them, above it memory matters more than the saved copy.
const colCacheBytes = 64 << 20

// pathFor returns the kernel for input shape in, which OutShape has accepted.
func (l *Conv2D) pathFor(in Shape) convPath {
	if l.force != pathAuto {
		return l.force
	}
	c := l.cfg
	switch {
	case c.Groups == c.In:
		if dwconv.Accelerated() && flatApplies(c, in) {
			return pathFlat
		}
		return pathDirect
	case c.KH == 1 && c.KW == 1 && c.StrideH == 1 && c.StrideW == 1 && c.PadH == 0 && c.PadW == 0:
		return pathPointwise
	}
	return pathIm2col
}

// flatApplies reports whether the flat depthwise kernels can run c on input shape in:
// the source and output rows must share a pitch, directly at stride 1 or after
// splitting the input into even and odd columns at stride 2.
func flatApplies(c ConvConfig, in Shape) bool {
	if c.Groups != c.In || c.StrideH != c.StrideW {
		return false
	}
	h := (in.H+2*c.PadH-c.DilH*(c.KH-1)-1)/c.StrideH + 1
	w := (in.W+2*c.PadW-c.DilW*(c.KW-1)-1)/c.StrideW + 1
	if h <= 0 || w <= 0 {
		return false
	}
	switch c.StrideH {
	case 1:
		return w == in.W
	case 2:
		return w == (in.W+1)/2
	}
	return false
}
