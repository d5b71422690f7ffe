package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// Upsample2x doubles the height and width by nearest-neighbour interpolation,
// copying each value into a 2x2 block (PyTorch's F.interpolate(x, scale_factor=2,
// mode="nearest")). Octave convolution uses it to bring the low-frequency part up
// to the high frequency's resolution. Backward sums each 2x2 block of the gradient.
type Upsample2x struct {
	planeState
}

var _ Layer = (*Upsample2x)(nil)

// NewUpsample2x returns a nearest-neighbour x2 upsampling layer.
func NewUpsample2x() *Upsample2x { return &Upsample2x{} }

// Describe implements Describer.
func (l *Upsample2x) Describe() string { return "Upsample2x nearest" }

// OutShape implements Layer.
func (l *Upsample2x) OutShape(in Shape) (Shape, error) {
	if !in.valid() {
		return Shape{}, fmt.Errorf("upsample: input shape %v is empty", in)
	}
	return Shape{in.C, 2 * in.H, 2 * in.W}, nil
}

// Cost implements Layer: resampling is free under the package's cost convention.
func (l *Upsample2x) Cost(Shape) Cost { return Cost{} }

// Forward implements Layer.
func (l *Upsample2x) Forward(x *tensor.Dense) (*tensor.Dense, error) {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return nil, err
	}
	y := l.out.get(n, out)
	l.forwardRun(x, whole(y.Float32s(), out.C), n, in, out)
	return y, nil
}

func (l *Upsample2x) forwardPlanes(lo, hi int) {
	in, out := l.job.in, l.job.out
	ip, op := in.H*in.W, out.H*out.W
	for p := lo; p < hi; p++ {
		xp, yp := l.job.srcPlane(p, ip), l.job.dstPlane(p, op)
		if useResampleAsm {
			dup2x2AVX512(&xp[0], &yp[0], in.H, in.W, false)
			continue
		}
		for h := 0; h < in.H; h++ {
			r0 := yp[2*h*out.W : (2*h+1)*out.W]
			for w, v := range xp[h*in.W : (h+1)*in.W] {
				r0[2*w], r0[2*w+1] = v, v
			}
			copy(yp[(2*h+1)*out.W:(2*h+2)*out.W], r0)
		}
	}
}

// forwardInto is Forward into channels of a larger tensor: it writes the upsampled
// x into y's channels.
func (l *Upsample2x) forwardInto(x *tensor.Dense, y planes) error {
	n, in, out, err := checkInput(l, x)
	if err != nil {
		return err
	}
	l.forwardRun(x, y, n, in, out)
	return nil
}

// forwardRun upsamples x, n samples of shape in, into y's channels (shape out).
func (l *Upsample2x) forwardRun(x *tensor.Dense, y planes, n int, in, out Shape) {
	l.n, l.in = n, in
	l.job = planeJob{src: x.Float32s(), in: in, out: out, dstIn: y}
	runPlanes(l, n*in.C, n*out.Size(), (*Upsample2x).forwardPlanes)
	l.job = planeJob{}
}

// backwardFrom is Backward from channels of a larger tensor: dy holds the gradient
// of the last forwardInto's output among its channels. The input gradient is the
// layer's own, as Backward's.
func (l *Upsample2x) backwardFrom(dy planes) (*tensor.Dense, error) {
	if l.n == 0 {
		return nil, fmt.Errorf("upsample: backward before forward")
	}
	out, err := l.OutShape(l.in)
	if err != nil {
		return nil, fmt.Errorf("upsample: %w", err)
	}
	dx := l.dx.get(l.n, l.in)
	l.backwardRun(dy, dx, out)
	return dx, nil
}

// backwardRun writes into dx the input gradient of the gradient in dy's channels,
// of the output shape out.
func (l *Upsample2x) backwardRun(dy planes, dx *tensor.Dense, out Shape) {
	l.job = planeJob{dst: dx.Float32s(), in: l.in, out: out, srcIn: dy}
	runPlanes(l, l.n*l.in.C, l.n*out.Size(), (*Upsample2x).backwardPlanes)
	l.job = planeJob{}
}

// Backward implements Layer.
func (l *Upsample2x) Backward(dy *tensor.Dense) (*tensor.Dense, error) {
	dx, err := l.startBackward(l, "upsample", dy)
	if err != nil {
		return nil, err
	}
	l.backwardRun(whole(dy.Float32s(), l.job.out.C), dx, l.job.out)
	return dx, nil
}

func (l *Upsample2x) backwardPlanes(lo, hi int) {
	in, out := l.job.in, l.job.out
	ip, op := in.H*in.W, out.H*out.W
	for p := lo; p < hi; p++ {
		dxp, dyp := l.job.dstPlane(p, ip), l.job.srcPlane(p, op)
		if useResampleAsm {
			sum2x2AVX512(&dyp[0], &dxp[0], in.H, in.W, false)
			continue
		}
		for h := 0; h < in.H; h++ {
			r0 := dyp[2*h*out.W : (2*h+1)*out.W]
			r1 := dyp[(2*h+1)*out.W : (2*h+2)*out.W]
			dst := dxp[h*in.W : (h+1)*in.W]
			for w := range dst {
				// Row by row, the order in which PyTorch's CPU
				// upsample_nearest2d_backward adds them.
				dst[w] = r0[2*w] + r0[2*w+1] + r1[2*w] + r1[2*w+1]
			}
		}
	}
}
