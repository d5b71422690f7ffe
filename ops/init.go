package ops

import (
	"math"
	"math/rand/v2"
)

// Initializer is implemented by layers whose parameters need random initial values.
type Initializer interface {
	// Init draws the layer's initial parameters from rng.
	Init(rng *rand.Rand)
}

// Init initializes every layer inside l, in Walk order, from rng.
func Init(l Layer, rng *rand.Rand) {
	Walk(l, func(_ string, l Layer) {
		if i, ok := l.(Initializer); ok {
			i.Init(rng)
		}
	})
}

// uniform fills w with values drawn uniformly from [-bound, bound).
func uniform(w []float32, bound float64, rng *rand.Rand) {
	for i := range w {
		w[i] = float32((2*rng.Float64() - 1) * bound)
	}
}

// kaimingBound is the bound of PyTorch's default initialization of convolution and
// linear weights, kaiming_uniform_ with a = sqrt(5): 1/sqrt(fan_in).
func kaimingBound(fanIn int) float64 { return 1 / math.Sqrt(float64(fanIn)) }
