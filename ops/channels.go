package ops

import (
	"fmt"

	"gorgonia.org/tensor"
)

// concatChannels copies the parts, n samples each, one after another along the
// channel axis of dst.
func concatChannels(dst *tensor.Dense, parts []*tensor.Dense) {
	n, _, _ := ShapeOf(dst)
	concatSamples(dst, parts, 0, n)
}

// splitChannels copies consecutive channel ranges of src into the parts.
func splitChannels(src *tensor.Dense, parts []*tensor.Dense) {
	n, _, _ := ShapeOf(src)
	splitSamples(src, parts, 0, n)
}

// concatSamples is concatChannels for samples [lo, hi).
func concatSamples(dst *tensor.Dense, parts []*tensor.Dense, lo, hi int) {
	_, s, _ := ShapeOf(dst)
	d := dst.Float32s()
	hw := s.H * s.W
	off := 0
	for _, p := range parts {
		_, ps, _ := ShapeOf(p)
		pd := p.Float32s()
		for i := lo; i < hi; i++ {
			copy(d[(i*s.C+off)*hw:(i*s.C+off+ps.C)*hw], pd[i*ps.C*hw:(i+1)*ps.C*hw])
		}
		off += ps.C
	}
}

// splitSamples is splitChannels for samples [lo, hi).
func splitSamples(src *tensor.Dense, parts []*tensor.Dense, lo, hi int) {
	_, s, _ := ShapeOf(src)
	d := src.Float32s()
	hw := s.H * s.W
	off := 0
	for _, p := range parts {
		_, ps, _ := ShapeOf(p)
		pd := p.Float32s()
		for i := lo; i < hi; i++ {
			copy(pd[i*ps.C*hw:(i+1)*ps.C*hw], d[(i*s.C+off)*hw:(i*s.C+off+ps.C)*hw])
		}
		off += ps.C
	}
}

// chanRun is a copy of count channels of each sample, from channel from of src, a
// tensor of sc channels, to channel to of dst, a tensor of dc channels.
type chanRun struct {
	dst, src                []float32
	dc, to, sc, from, count int
}

// copyRunSamples runs the copies of runs for samples [lo, hi), hw values per channel.
func copyRunSamples(runs []chanRun, hw, lo, hi int) {
	for _, r := range runs {
		k := r.count * hw
		for i := lo; i < hi; i++ {
			d, s := (i*r.dc+r.to)*hw, (i*r.sc+r.from)*hw
			copy(r.dst[d:d+k], r.src[s:s+k])
		}
	}
}

// addInto adds src to dst element by element.
func addInto(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// sameShapes checks that every shape equals the first, for additions.
func sameShapes(what string, shapes ...Shape) error {
	for _, s := range shapes[1:] {
		if s != shapes[0] {
			return fmt.Errorf("%s: shapes %v and %v differ", what, shapes[0], s)
		}
	}
	return nil
}

// concatShape returns the shape of the channel concatenation of the given shapes.
func concatShape(shapes []Shape) (Shape, error) {
	if len(shapes) == 0 {
		return Shape{}, fmt.Errorf("concat: no inputs")
	}
	out := shapes[0]
	for _, s := range shapes[1:] {
		if s.H != out.H || s.W != out.W {
			return Shape{}, fmt.Errorf("concat: spatial sizes %dx%d and %dx%d differ", out.H, out.W, s.H, s.W)
		}
		out.C += s.C
	}
	return out, nil
}
