package export_test

import (
	"fmt"

	"nas/ops"
	"nas/ops/export"
)

// ExampleLayers prints the decoded layer list of a small network: the rows JSON and
// the command's --format json write, with their shapes and costs.
func ExampleLayers() {
	conv, err := ops.Conv(3, 8, 3, 2, 1, false)
	if err != nil {
		panic(err)
	}
	fc, err := ops.NewLinear(8, 10, true)
	if err != nil {
		panic(err)
	}
	net, err := ops.NewNetwork(ops.Seq(conv, ops.NewBatchNorm2D(8), ops.NewReLU6(), ops.NewGlobalAvgPool(), fc),
		ops.Shape{C: 3, H: 8, W: 8})
	if err != nil {
		panic(err)
	}
	doc := export.Layers(net)
	for _, l := range doc.Layers {
		fmt.Printf("%s %s %s -> %s %d MACs %d params\n", l.Path, l.Kind, l.Input, l.Output, l.MACs, l.Params)
	}
	fmt.Printf("total %d MACs %d params\n", doc.MACs, doc.Params)
	// Output:
	// 0 Conv2D 3x3/2 8x8x3 -> 4x4x8 3456 MACs 216 params
	// 1 BatchNorm2D 4x4x8 -> 4x4x8 0 MACs 16 params
	// 2 ReLU6 4x4x8 -> 4x4x8 0 MACs 0 params
	// 3 GlobalAvgPool 4x4x8 -> 1x1x8 0 MACs 0 params
	// 4 Linear 1x1x8 -> 1x1x10 80 MACs 90 params
	// total 3536 MACs 322 params
}
