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

// ExampleFitWidth scales MobileNetV2 and ShuffleNet V2 into a 300M-MAC budget at
// ImageNet's shape, the issue's baselines "scaled into the same budget", and derives
// their proxies for 28x28x1 images as the search derives its candidates': the first
// log2(224/28) = 3 downsamplings at stride 1, so the later stages see 224's feature
// maps. torchvision's mobilenet_v2() costs 300,774,272 MACs, just over the budget.
func ExampleFitWidth() {
	target, proxy := ops.Shape{C: 3, H: 224, W: 224}, ops.Shape{C: 1, H: 28, W: 28}
	for _, name := range []string{"mobilenet_v2", "shufflenet_v2"} {
		w, cost, err := zoo.FitWidth(name, 300_000_000, zoo.Options{Input: target, Classes: 1000})
		if err != nil {
			fmt.Println(err)
			return
		}
		n, err := zoo.BuildWith(name, zoo.Options{Input: proxy, Classes: 10, Width: w,
			ProxyStrides: zoo.ProxyStridesFor(target, proxy)})
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%s: width %v, %d MACs at %v; proxy at %v: %d MACs\n", name, w, cost.MACs, target, proxy, n.Cost().MACs)
	}
	// Output:
	// mobilenet_v2: width 0.987, 299896192 MACs at 224x224x3; proxy at 28x28x1: 225660544 MACs
	// shufflenet_v2: width 1.509, 299994880 MACs at 224x224x3; proxy at 28x28x1: 286038688 MACs
}
