package ops

import (
	"slices"
	"strings"
	"testing"
)

// TestIndexSelect checks a selection that repeats one channel and drops another
// against torch.index_select's definition, worked by hand: with 3 input channels and
// index [2, 0, 2], output channels are inputs 2, 0, 2, and the input gradient of
// channel 2 is the sum of output gradients 0 and 2, of channel 1 zero.
func TestIndexSelect(t *testing.T) {
	l, err := NewIndexSelect([]int{2, 0, 2})
	if err != nil {
		t.Fatal(err)
	}
	in := Shape{C: 3, H: 1, W: 2}
	// Two samples; sample s, channel c, pixel p holds 100*s + 10*c + p.
	x := FromSlice(2, in, []float32{0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121})
	xCopy := slices.Clone(x.Float32s())
	y, err := l.Forward(x)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{20, 21, 0, 1, 20, 21, 120, 121, 100, 101, 120, 121}; !slices.Equal(y.Float32s(), want) {
		t.Errorf("Forward = %v, want %v", y.Float32s(), want)
	}
	if !slices.Equal(x.Float32s(), xCopy) {
		t.Errorf("Forward modified its input")
	}
	dy := FromSlice(2, Shape{C: 3, H: 1, W: 2}, []float32{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	dx, err := l.Backward(dy)
	if err != nil {
		t.Fatal(err)
	}
	if want := []float32{3, 4, 0, 0, 6, 8, 9, 10, 0, 0, 18, 20}; !slices.Equal(dx.Float32s(), want) {
		t.Errorf("Backward = %v, want %v", dx.Float32s(), want)
	}
	// A second step gives the same results and, at the same shapes, allocates nothing.
	y2, _ := l.Forward(x)
	if !slices.Equal(y2.Float32s(), y.Float32s()) {
		t.Errorf("second Forward = %v, first %v", y2.Float32s(), y.Float32s())
	}
	if a := testing.AllocsPerRun(10, func() {
		l.Forward(x)
		l.Backward(dy)
	}); a != 0 {
		t.Errorf("Forward+Backward allocate %v times per step, want 0", a)
	}
	if c := l.Cost(in); c != (Cost{}) {
		t.Errorf("Cost(%v) = %+v, want zero", in, c)
	}
}

// TestIndexSelectErrors checks invalid indices and calls.
func TestIndexSelectErrors(t *testing.T) {
	if _, err := NewIndexSelect(nil); err == nil {
		t.Errorf("NewIndexSelect(nil) succeeded")
	}
	if _, err := NewIndexSelect([]int{0, -1}); err == nil {
		t.Errorf("NewIndexSelect([0 -1]) succeeded")
	}
	l, err := NewIndexSelect([]int{0, 3})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.OutShape(Shape{C: 3, H: 2, W: 2}); err == nil || !strings.Contains(err.Error(), "channel 3 of a 3-channel input") {
		t.Errorf("OutShape of 3 channels for index [0 3]: error %v", err)
	}
	if _, err := l.Backward(New(1, Shape{C: 2, H: 1, W: 1})); err == nil {
		t.Errorf("Backward before Forward succeeded")
	}
	if _, err := l.Forward(New(1, Shape{C: 4, H: 1, W: 1})); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Backward(New(1, Shape{C: 3, H: 1, W: 1})); err == nil {
		t.Errorf("Backward with a gradient of the wrong shape succeeded")
	}
}
