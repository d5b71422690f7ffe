package ops

import (
	"fmt"
	"strconv"
	"strings"

	"gorgonia.org/tensor"
)

// Shape is the shape of one sample: channels, height and width. Tensors add the
// batch size in front (NCHW). A linear layer's input and output use H = W = 1.
type Shape struct {
	C, H, W int
}

// Size returns C*H*W.
func (s Shape) Size() int { return s.C * s.H * s.W }

// String formats s as "HxWxC", the form the command line uses.
func (s Shape) String() string { return fmt.Sprintf("%dx%dx%d", s.H, s.W, s.C) }

func (s Shape) valid() bool { return s.C > 0 && s.H > 0 && s.W > 0 }

// ShapeOf returns the batch size and per-sample shape of a 4-d NCHW tensor, or of a
// 2-d (N, features) tensor as (features, 1, 1).
func ShapeOf(t *tensor.Dense) (int, Shape, error) {
	s := t.Shape()
	switch len(s) {
	case 4:
		return s[0], Shape{s[1], s[2], s[3]}, nil
	case 2:
		return s[0], Shape{s[1], 1, 1}, nil
	}
	return 0, Shape{}, fmt.Errorf("tensor of shape %v: want NCHW or (N, features)", s)
}

// New returns a zeroed NCHW tensor of n samples of shape s.
func New(n int, s Shape) *tensor.Dense {
	return tensor.New(tensor.WithShape(n, s.C, s.H, s.W), tensor.WithBacking(makeFloats(n*s.Size())))
}

// FromSlice wraps data as an NCHW tensor of n samples of shape s without copying.
func FromSlice(n int, s Shape, data []float32) *tensor.Dense {
	if len(data) != n*s.Size() {
		panic(fmt.Sprintf("ops: FromSlice: %d values for %d x %v", len(data), n, s))
	}
	return tensor.New(tensor.WithShape(n, s.C, s.H, s.W), tensor.WithBacking(data))
}

// buffer is a tensor a layer reuses across calls while the shape stays the same.
type buffer struct {
	t *tensor.Dense
	n int
	s Shape
}

// get returns the buffer's tensor for n samples of shape s, reallocating only when
// the shape changes. Its contents are whatever the last user left there.
func (b *buffer) get(n int, s Shape) *tensor.Dense {
	if b.t == nil || b.n != n || b.s != s {
		b.t, b.n, b.s = New(n, s), n, s
	}
	return b.t
}

// zeroed is get followed by clearing the values.
func (b *buffer) zeroed(n int, s Shape) *tensor.Dense {
	t := b.get(n, s)
	clear(t.Float32s())
	return t
}

// checkInput returns the batch size and shape of x, checking that the layer accepts it.
func checkInput(l Layer, x *tensor.Dense) (int, Shape, Shape, error) {
	n, s, err := ShapeOf(x)
	if err != nil {
		return 0, s, s, err
	}
	out, err := l.OutShape(s)
	return n, s, out, err
}

// checkGrad checks that dy has the shape of the output computed by the last Forward.
func checkGrad(dy *tensor.Dense, n int, out Shape) error {
	m, s, err := ShapeOf(dy)
	if err != nil {
		return err
	}
	if m != n || s != out {
		return fmt.Errorf("gradient of shape %d x %v for an output of %d x %v", m, s, n, out)
	}
	return nil
}

// ParseShape parses a per-sample shape written "HxWxC", as String formats it, such
// as "224x224x3".
func ParseShape(s string) (Shape, error) {
	parts := strings.Split(strings.ToLower(strings.TrimSpace(s)), "x")
	if len(parts) != 3 {
		return Shape{}, fmt.Errorf("shape %q: want HxWxC, such as 224x224x3", s)
	}
	var v [3]int
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 {
			return Shape{}, fmt.Errorf("shape %q: %q is not a positive whole number; want HxWxC, such as 224x224x3", s, p)
		}
		v[i] = n
	}
	return Shape{C: v[2], H: v[0], W: v[1]}, nil
}
