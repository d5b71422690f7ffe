package ops_test

import (
	"fmt"
	"log"
	"math/rand/v2"

	"nas/ops"
)

// Example builds a small grouped CNN, prices it and runs two training steps.
func Example() {
	must := func(l *ops.Conv2D, err error) *ops.Conv2D {
		if err != nil {
			log.Fatal(err)
		}
		return l
	}
	pool, err := ops.NewMaxPool2D(ops.PoolConfig{K: 3, Stride: 2, CeilMode: true})
	if err != nil {
		log.Fatal(err)
	}
	head, err := ops.NewLinear(32, 10, true)
	if err != nil {
		log.Fatal(err)
	}
	root := ops.Seq(
		must(ops.Conv(3, 16, 3, 1, 1, false)), ops.NewBatchNorm2D(16), ops.NewReLU(),
		pool,
		// A depthwise-separable pair: 3x3 depthwise, then a grouped 1x1.
		must(ops.Conv(16, 16, 3, 1, 16, false)), ops.NewBatchNorm2D(16),
		must(ops.Conv(16, 32, 1, 1, 4, false)), ops.NewBatchNorm2D(32), ops.NewReLU(),
		ops.NewGlobalAvgPool(),
		head,
	)
	net, err := ops.NewNetwork(root, ops.Shape{C: 3, H: 16, W: 16})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Print(net.Summary())

	rng := rand.New(rand.NewPCG(1, 2))
	net.Init(rng)
	const batch = 16
	x := ops.New(batch, net.Input())
	for i, d := 0, x.Float32s(); i < len(d); i++ {
		d[i] = float32(rng.NormFloat64())
	}
	labels := make([]int, batch)
	for i := range labels {
		labels[i] = rng.IntN(10)
	}
	opt := &ops.SGD{LR: 0.1, Momentum: 0.9}
	var loss ops.SoftmaxCrossEntropy
	before, err := net.Step(x, labels, &loss, opt)
	if err != nil {
		log.Fatal(err)
	}
	after, err := net.Step(x, labels, &loss, opt)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loss on the batch: %.2f, after one step %.2f\n", before, after)
	// Output:
	// path   kind                  input     output    MACs    params
	// 0      Conv2D 3x3/1          16x16x3   16x16x16  110592  432
	// 1      BatchNorm2D           16x16x16  16x16x16  0       32
	// 2      ReLU                  16x16x16  16x16x16  0       0
	// 3      MaxPool2D 3x3/2 ceil  16x16x16  8x8x16    0       0
	// 4      Conv2D 3x3/1 dw       8x8x16    8x8x16    9216    144
	// 5      BatchNorm2D           8x8x16    8x8x16    0       32
	// 6      Conv2D 1x1/1 g4       8x8x16    8x8x32    8192    128
	// 7      BatchNorm2D           8x8x32    8x8x32    0       64
	// 8      ReLU                  8x8x32    8x8x32    0       0
	// 9      GlobalAvgPool         8x8x32    1x1x32    0       0
	// 10     Linear                1x1x32    1x1x10    320     330
	// total                        16x16x3   1x1x10    128320  1162
	// loss on the batch: 2.27, after one step 2.24
}
