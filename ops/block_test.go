package ops

import (
	"fmt"
	"strings"
	"testing"
)

// fixtureInts returns a list of integers from a fixture's configuration.
func fixtureInts(t *testing.T, f *fixture, key string) []int {
	t.Helper()
	vs, ok := f.config[key].([]any)
	if !ok {
		t.Fatalf("%s: config has no list %q", f.name, key)
	}
	out := make([]int, len(vs))
	for i, v := range vs {
		n, ok := v.(float64)
		if !ok {
			t.Fatalf("%s: %q[%d] = %v is not a number", f.name, key, i, v)
		}
		out[i] = int(n)
	}
	return out
}

// fixtureAct returns an activation named in a fixture's configuration.
func fixtureAct(t *testing.T, f *fixture, key string) Act {
	t.Helper()
	var a Act
	if err := a.UnmarshalText([]byte(f.str(t, key))); err != nil {
		t.Fatalf("%s: %s: %v", f.name, key, err)
	}
	return a
}

func TestActTextRoundTrip(t *testing.T) {
	for a := ActNone; a.valid(); a++ {
		b, err := a.MarshalText()
		if err != nil {
			t.Fatalf("%d.MarshalText: %v", int(a), err)
		}
		var got Act
		if err := got.UnmarshalText(b); err != nil || got != a {
			t.Errorf("UnmarshalText(%q) = %v, %v, want %v", b, got, err, a)
		}
		if a.String() != string(b) {
			t.Errorf("%d.String() = %q, MarshalText %q", int(a), a.String(), b)
		}
		if l := newAct(a); (l == nil) != (a == ActNone) {
			t.Errorf("newAct(%v) = %v", a, l)
		}
	}
	var a Act
	if err := a.UnmarshalText([]byte("gelu")); err == nil {
		t.Errorf("UnmarshalText(%q) succeeded, want an error", "gelu")
	}
	if _, err := Act(99).MarshalText(); err == nil {
		t.Errorf("Act(99).MarshalText succeeded, want an error")
	}
	if got := Act(99).String(); got != "Act(99)" {
		t.Errorf("Act(99).String() = %q, want %q", got, "Act(99)")
	}
}

// TestBlockDelegates checks that Block passes shapes, cost, values and errors of its
// body through, and names its kind in errors and in Describe.
func TestBlockDelegates(t *testing.T) {
	body, err := Conv(4, 6, 3, 2, 2, true)
	if err != nil {
		t.Fatal(err)
	}
	b := &Block{Kind: "test_block", Settings: "k3 s2", Body: body}
	in := Shape{4, 7, 7}
	got, err := b.OutShape(in)
	want, _ := body.OutShape(in)
	if err != nil || got != want {
		t.Errorf("OutShape(%v) = %v, %v, want %v", in, got, err, want)
	}
	if b.Cost(in) != body.Cost(in) {
		t.Errorf("Cost(%v) = %+v, want the body's %+v", in, b.Cost(in), body.Cost(in))
	}
	if d := b.Describe(); d != "test_block k3 s2" {
		t.Errorf("Describe() = %q, want %q", d, "test_block k3 s2")
	}
	if d := (&Block{Kind: "bare", Body: body}).Describe(); d != "bare" {
		t.Errorf("Describe() without settings = %q, want %q", d, "bare")
	}
	if ps := Params(b); len(ps) != 2 || ps[0].Path != "0.weight" || ps[1].Path != "0.bias" {
		t.Errorf("Params paths = %v, want 0.weight and 0.bias", paths(ps))
	}
	if _, err := b.Forward(randTensor(1, 2, Shape{3, 7, 7})); err == nil || !strings.Contains(err.Error(), "test_block") {
		t.Errorf("Forward of a bad input: error %v, want one naming test_block", err)
	}
	if _, err := b.OutShape(Shape{3, 7, 7}); err == nil || !strings.Contains(err.Error(), "test_block") {
		t.Errorf("OutShape of a bad input: error %v, want one naming test_block", err)
	}
	x, dy := randTensor(2, 2, in), randTensor(3, 2, want)
	checkLayerContract(t, func() Layer {
		c, _ := Conv(4, 6, 3, 2, 2, true)
		copy(c.Weight().Value.Float32s(), randTensor(4, 1, Shape{6 * 2 * 9, 1, 1}).Float32s())
		return &Block{Kind: "test_block", Body: c}
	}, x, dy)
}

func paths(ps []*Param) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.Path
	}
	return s
}

func TestConvBN(t *testing.T) {
	s, err := convBN(ConvConfig{In: 4, Out: 8, KH: 3, KW: 3, PadH: 1, PadW: 1, Bias: true}, ActReLU6)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Layers) != 3 {
		t.Fatalf("convBN with an activation has %d layers, want 3", len(s.Layers))
	}
	if c := s.Layers[0].(*Conv2D); c.Bias() != nil {
		t.Errorf("convBN's convolution has a bias; batch norm follows, so it must not")
	}
	if _, ok := s.Layers[2].(*ReLU6); !ok {
		t.Errorf("convBN's activation is %T, want *ReLU6", s.Layers[2])
	}
	s, err = convBN(ConvConfig{In: 4, Out: 8, KH: 1, KW: 1}, ActNone)
	if err != nil || len(s.Layers) != 2 {
		t.Errorf("convBN without activation: %v layers, error %v; want 2 layers", len(s.Layers), err)
	}
	if _, err := convBN(ConvConfig{In: 4, Out: 8, KH: 1, KW: 1}, Act(42)); err == nil {
		t.Errorf("convBN accepted activation 42")
	}
	if _, err := convBN(ConvConfig{In: 4, Out: 6, KH: 1, KW: 1, Groups: 4}, ActReLU); err == nil {
		t.Errorf("convBN accepted 4 groups of 6 outputs")
	}
}

// checkCost compares a block's cost at an input shape with a hand count, and checks
// that its parameter tensors hold as many values as the cost says.
func checkCost(t *testing.T, name string, l Layer, in Shape, macs, params int64) {
	t.Helper()
	c := l.Cost(in)
	if c.MACs != macs || c.Params != params {
		t.Errorf("%s.Cost(%v) = %+v, want MACs %d params %d", name, in, c, macs, params)
	}
	var n int64
	for _, p := range Params(l) {
		n += int64(p.Size())
	}
	if n != c.Params {
		t.Errorf("%s: parameter tensors hold %d values, Cost says %d", name, n, c.Params)
	}
}

// blockName formats a constructor call for error messages.
func blockName(kind string, cfg any) string { return fmt.Sprintf("%s(%+v)", kind, cfg) }

// blockLayer fails the test if a block constructor failed and returns the block.
func blockLayer(t *testing.T, b *Block, err error) Layer {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	return b
}
