package ops

import (
	"math"
	"math/rand/v2"
	"testing"
)

func convFromFixture(t *testing.T, f *fixture) ConvConfig {
	return ConvConfig{
		In: f.int(t, "cin"), Out: f.int(t, "cout"), KH: f.int(t, "kh"), KW: f.int(t, "kw"),
		StrideH: f.int(t, "stride_h"), StrideW: f.int(t, "stride_w"),
		PadH: f.int(t, "pad_h"), PadW: f.int(t, "pad_w"),
		DilH: f.int(t, "dil_h"), DilW: f.int(t, "dil_w"),
		Groups: f.int(t, "groups"), Bias: f.int(t, "bias") == 1,
	}
}

// TestConv2DMatchesPyTorch compares forward values and all gradients with
// F.conv2d in testdata/gen/gen_conv.py.
func TestConv2DMatchesPyTorch(t *testing.T) {
	for _, f := range loadFixtures(t, "conv_") {
		t.Run(f.name, func(t *testing.T) {
			checkConvFixture(t, f, convFromFixture(t, f), nil, nil)
		})
	}
}

// checkConvFixture builds the convolution cfg of fixture f (x, weight, bias, dy),
// with prep (if not nil) applied before the weights are set, lets check (if not nil)
// look at it, compares the output and every gradient with the fixture's within
// fixtureTol, then runs the layer contract.
func checkConvFixture(t *testing.T, f *fixture, cfg ConvConfig, prep, check func(*Conv2D)) {
	t.Helper()
	mk := func() Layer {
		l, err := NewConv2D(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if prep != nil {
			prep(l)
		}
		copyInto(t, l.Weight().Value, f.tensor(t, "weight"))
		if cfg.Bias {
			copyInto(t, l.Bias().Value, f.tensor(t, "bias"))
		}
		return l
	}
	l := mk().(*Conv2D)
	if check != nil {
		check(l)
	}
	x, dy := f.tensor(t, "x"), f.tensor(t, "dy")
	y, dx := runLayer(t, l, x, dy)
	assertClose(t, "y", y, f.tensor(t, "y"), fixtureTol)
	assertClose(t, "dx", dx, f.tensor(t, "dx"), fixtureTol)
	assertClose(t, "dweight", l.Weight().Grad, f.tensor(t, "dweight"), fixtureTol)
	if cfg.Bias {
		assertClose(t, "dbias", l.Bias().Grad, f.tensor(t, "dbias"), fixtureTol)
	}
	checkLayerContract(t, mk, x, dy)
}

// TestConv2DCost checks MACs and parameters on cases counted by hand.
func TestConv2DCost(t *testing.T) {
	tests := []struct {
		cfg          ConvConfig
		in           Shape
		macs, params int64
	}{
		// From the ops issue: 56*56*128*(128/32)*3*3 = 14,450,688 MACs, 128*4*9 = 4,608 weights.
		{ConvConfig{In: 128, Out: 128, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 32}, Shape{128, 56, 56}, 14450688, 4608},
		// MobileNetV1's first layer: 112*112*32*3*9 = 10,838,016 MACs, 864 weights (paper Table 1).
		{ConvConfig{In: 3, Out: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1}, Shape{3, 224, 224}, 10838016, 864},
		// Depthwise 3x3 on 32 channels at 112x112: 112*112*32*9 = 3,612,672 MACs, 288 weights.
		{ConvConfig{In: 32, Out: 32, KH: 3, KW: 3, PadH: 1, PadW: 1, Groups: 32}, Shape{32, 112, 112}, 3612672, 288},
		// 1x7 with bias, 64->64 at 17x17 stride 1 pad (0,3): 17*17*64*64*7 = 8,286,208 MACs; 64*64*7+64 params.
		{ConvConfig{In: 64, Out: 64, KH: 1, KW: 7, PadW: 3, Bias: true}, Shape{64, 17, 17}, 8286208, 28736},
	}
	for _, tt := range tests {
		l, err := NewConv2D(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := l.Cost(tt.in)
		if c.MACs != tt.macs || c.Params != tt.params {
			t.Errorf("Conv2D(%+v).Cost(%v) = %+v, want MACs %d params %d", tt.cfg, tt.in, c, tt.macs, tt.params)
		}
		var n int64
		for _, p := range l.Params() {
			n += int64(p.Size())
		}
		if n != c.Params {
			t.Errorf("Conv2D(%+v): parameter tensors hold %d values, Cost says %d", tt.cfg, n, c.Params)
		}
	}
}

func TestConv2DErrors(t *testing.T) {
	bad := []ConvConfig{
		{In: 6, Out: 4, KH: 3, KW: 3, Groups: 4},
		{In: 0, Out: 4, KH: 3, KW: 3},
		{In: 4, Out: 4, KH: 0, KW: 3},
		{In: 4, Out: 4, KH: 3, KW: 3, PadH: -1},
	}
	for _, c := range bad {
		if _, err := NewConv2D(c); err == nil {
			t.Errorf("NewConv2D(%+v) succeeded, want an error", c)
		}
	}
	l, _ := Conv(4, 4, 5, 1, 1, false)
	l.cfg.PadH, l.cfg.PadW = 0, 0
	if _, err := l.OutShape(Shape{4, 3, 3}); err == nil {
		t.Errorf("5x5 unpadded conv accepted a 3x3 input")
	}
	if _, err := l.Forward(randTensor(1, 1, Shape{3, 8, 8})); err == nil {
		t.Errorf("conv with 4 input channels accepted 3")
	}
}

func TestConv2DInitMatchesFanIn(t *testing.T) {
	l, _ := Conv(8, 16, 3, 1, 2, true)
	Init(l, rand.New(rand.NewPCG(1, 2)))
	bound := float32(kaimingBound(4 * 9))
	for _, p := range l.Params() {
		for _, v := range p.Value.Float32s() {
			if v < -bound || v >= bound {
				t.Fatalf("%s value %v outside [-%v, %v)", p.Name, v, bound, bound)
			}
		}
	}
}

// TestIm2colMatchesDefinition checks im2col and col2im against their definition
// written out value by value (the input column of output column ow and tap kw is
// ow*stride - pad + kw*dilation, zero or skipped outside the plane), bit for bit:
// col2im must make the same additions in the same order. The configurations take in
// strides 1 to 3, dilation, padding wider than the kernel reach, flattened kernels
// and an input narrower than the kernel.
func TestIm2colMatchesDefinition(t *testing.T) {
	cfgs := []ConvConfig{
		{In: 3, Out: 4, KH: 3, KW: 3, PadH: 1, PadW: 1},
		{In: 2, Out: 2, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1},
		{In: 2, Out: 2, KH: 5, KW: 3, StrideH: 3, StrideW: 3, PadH: 2, PadW: 4},
		{In: 2, Out: 2, KH: 3, KW: 3, DilH: 2, DilW: 3, PadH: 2, PadW: 3},
		{In: 1, Out: 1, KH: 1, KW: 7, PadW: 3},
		{In: 1, Out: 1, KH: 7, KW: 1, PadH: 3},
		{In: 2, Out: 2, KH: 5, KW: 5, StrideW: 2, PadH: 1},
		// Padding past the kernel's reach: on a 1-wide input every tap of the first
		// output columns but one falls outside the plane.
		{In: 1, Out: 1, KH: 1, KW: 6, PadW: 3},
	}
	rng := rand.New(rand.NewPCG(11, 12))
	for _, in := range []Shape{{3, 9, 11}, {3, 4, 3}, {3, 1, 6}, {3, 4, 1}} {
		for _, c := range cfgs {
			c.StrideH, c.StrideW = max(c.StrideH, 1), max(c.StrideW, 1)
			c.DilH, c.DilW = max(c.DilH, 1), max(c.DilW, 1)
			l := Conv2D{cfg: c}
			out, err := l.OutShape(Shape{c.In, in.H, in.W})
			if err != nil {
				continue
			}
			hw, kk := out.H*out.W, c.In*c.KH*c.KW
			x := make([]float32, c.In*in.H*in.W)
			for i := range x {
				x[i] = float32(rng.NormFloat64())
			}
			col, want := make([]float32, kk*hw), make([]float32, kk*hw)
			for i := range col {
				col[i] = float32(rng.NormFloat64()) // im2col must overwrite every value
			}
			dcol := make([]float32, kk*hw)
			for i := range dcol {
				dcol[i] = float32(rng.NormFloat64())
			}
			dx, wantDx := make([]float32, len(x)), make([]float32, len(x))
			for i := range dx {
				dx[i] = float32(rng.NormFloat64())
				wantDx[i] = dx[i]
			}
			r := 0
			for ch := 0; ch < c.In; ch++ {
				for kh := 0; kh < c.KH; kh++ {
					for kw := 0; kw < c.KW; kw++ {
						for oh := 0; oh < out.H; oh++ {
							for ow := 0; ow < out.W; ow++ {
								ih, iw := oh*c.StrideH-c.PadH+kh*c.DilH, ow*c.StrideW-c.PadW+kw*c.DilW
								if ih < 0 || ih >= in.H || iw < 0 || iw >= in.W {
									continue
								}
								i := (ch*in.H+ih)*in.W + iw
								want[r*hw+oh*out.W+ow] = x[i]
								wantDx[i] += dcol[r*hw+oh*out.W+ow]
							}
						}
						r++
					}
				}
			}
			im2col(x, c.In, Shape{c.In, in.H, in.W}, out, c, col)
			col2im(dcol, c.In, Shape{c.In, in.H, in.W}, out, c, dx)
			for i := range want {
				if math.Float32bits(col[i]) != math.Float32bits(want[i]) {
					t.Errorf("%+v on %v: im2col value %d = %g, want %g", c, in, i, col[i], want[i])
					break
				}
			}
			for i := range wantDx {
				if math.Float32bits(dx[i]) != math.Float32bits(wantDx[i]) {
					t.Errorf("%+v on %v: col2im value %d = %g, want %g", c, in, i, dx[i], wantDx[i])
					break
				}
			}
		}
	}
}
