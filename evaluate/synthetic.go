package evaluate

import (
	"fmt"
	"math/rand/v2"

	"nas/ops"
)

// SyntheticConfig describes the synthetic dataset: each class has a random pattern,
// and each image is its class's pattern mixed with uniform noise, so a small network
// learns it in a few steps. The zero value gives the defaults.
type SyntheticConfig struct {
	// Train is the number of training images, before the validation hold-out. If
	// Train is 0, 1000 are made.
	Train int
	// Test is the number of test images. If Test is 0, 200 are made.
	Test int
	// Shape is the shape of an image. If Shape is the zero Shape, 1x12x12 is used.
	Shape ops.Shape
	// Classes is the number of classes, 2 to 256. If Classes is 0, 4 are used.
	Classes int
	// Noise is the weight of the noise in each pixel, in (0, 1]: a pixel is
	// (1-Noise)*pattern + Noise*uniform. If Noise is 0, 0.5 is used.
	Noise float64
	// Seed makes the patterns and the images; Options.Seed only chooses the split.
	Seed uint64
}

// PCG streams of the synthetic dataset's parts, so that they are independent.
const (
	synthPatternStream = 1
	synthTrainStream   = 2
	synthTestStream    = 3
)

// withDefaults returns c with its zero fields set to their defaults, or an error if
// a field is out of range.
func (c SyntheticConfig) withDefaults() (SyntheticConfig, error) {
	if c.Train == 0 {
		c.Train = 1000
	}
	if c.Test == 0 {
		c.Test = 200
	}
	if c.Shape == (ops.Shape{}) {
		c.Shape = ops.Shape{C: 1, H: 12, W: 12}
	}
	if c.Classes == 0 {
		c.Classes = 4
	}
	if c.Noise == 0 {
		c.Noise = 0.5
	}
	switch {
	case c.Train < 0 || c.Test < 0:
		return c, fmt.Errorf("synthetic sizes train %d, test %d: want positive", c.Train, c.Test)
	case c.Shape.C <= 0 || c.Shape.H <= 0 || c.Shape.W <= 0:
		return c, fmt.Errorf("synthetic shape %v: want positive C, H and W", c.Shape)
	case c.Classes < 2 || c.Classes > 256:
		return c, fmt.Errorf("synthetic classes %d: want 2 to 256", c.Classes)
	case !(c.Noise > 0 && c.Noise <= 1):
		return c, fmt.Errorf("synthetic noise %v: want a value in (0, 1]", c.Noise)
	}
	return c, nil
}

// syntheticSource returns the source of the synthetic dataset described by cfg.
func syntheticSource(cfg SyntheticConfig) (*source, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	size := cfg.Shape.Size()
	patterns := make([]uint8, cfg.Classes*size)
	rng := rand.New(rand.NewPCG(cfg.Seed, synthPatternStream))
	for i := range patterns {
		patterns[i] = uint8(rng.IntN(256))
	}
	generate := func(n int, stream uint64) *images {
		rng := rand.New(rand.NewPCG(cfg.Seed, stream))
		im := &images{pix: make([]uint8, n*size), labels: make([]uint8, n)}
		for i := range n {
			c := rng.IntN(cfg.Classes)
			im.labels[i] = uint8(c)
			pat, dst := patterns[c*size:(c+1)*size], im.pix[i*size:(i+1)*size]
			for p, v := range pat {
				u := rng.Float64() * 255
				dst[p] = uint8((1-cfg.Noise)*float64(v) + cfg.Noise*u + 0.5)
			}
		}
		return im
	}
	return &source{
		shape:    cfg.Shape,
		classes:  cfg.Classes,
		train:    generate(cfg.Train, synthTrainStream),
		loadTest: func() (*images, error) { return generate(cfg.Test, synthTestStream), nil },
	}, nil
}
