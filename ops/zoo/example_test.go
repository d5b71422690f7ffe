package zoo_test

import (
	"fmt"

	"nas/ops"
	"nas/ops/zoo"
)

// ExampleBuild prices MobileNetV2 at its reference input and at the search's proxy
// size. The first line equals torchvision's mobilenet_v2 (3,504,872 parameters,
// 300,774,272 MACs); the second has 990 fewer classes of 1280 weights and a bias each
// (1,268,190 parameters fewer).
func ExampleBuild() {
	for _, c := range []struct {
		in      ops.Shape
		classes int
	}{
		{ops.Shape{C: 3, H: 224, W: 224}, 1000},
		{ops.Shape{C: 3, H: 32, W: 32}, 10},
	} {
		n, err := zoo.Build("mobilenet_v2", c.in, c.classes)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("mobilenet_v2 %v, %d classes: %d params, %d MACs\n", c.in, c.classes, n.Cost().Params, n.Cost().MACs)
	}
	// Output:
	// mobilenet_v2 224x224x3, 1000 classes: 3504872 params, 300774272 MACs
	// mobilenet_v2 32x32x3, 10 classes: 2236682 params, 6124928 MACs
}
