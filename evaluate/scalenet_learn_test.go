package evaluate

import (
	"flag"
	"testing"

	"nas/ops"
)

// The scale aggregation learning run's size, small by default so that the test takes
// seconds; the flags give longer measurements, for example
//
//	go test -run TestScaleAggregationLearnsMNIST -v ./evaluate -args -scalenet.train-size 4096
var (
	scalenetTrainSize = flag.Int("scalenet.train-size", 2048, "MNIST training images of TestScaleAggregationLearnsMNIST")
	scalenetValSize   = flag.Int("scalenet.val-size", 1000, "MNIST validation images of TestScaleAggregationLearnsMNIST")
	scalenetEpochs    = flag.Int("scalenet.epochs", 1, "epochs of TestScaleAggregationLearnsMNIST")
)

// scaleNetMini is a small ScaleNet for MNIST: a 3x3 stride-2 conv-BN-ReLU stem to 32
// channels at 14x14, two of ScaleNet's residual blocks (ops.NewScaleBottleneck) with
// scale aggregation over pooling factors 1, 2, 4 and 7 (the second at stride 2, 7x7,
// where the factor-2 branch resizes 3 -> 7 bilinearly), global average pooling and a
// linear classifier. The branch widths halve from the finest scale down, a made-up
// allocation of the kind ScaleNet-50's first blocks have (most channels at scale 1).
func scaleNetMini(t *testing.T) *ops.Network {
	t.Helper()
	stem, err := ops.NewConv2D(ops.ConvConfig{In: 1, Out: 32, KH: 3, KW: 3, StrideH: 2, StrideW: 2, PadH: 1, PadW: 1})
	if err != nil {
		t.Fatal(err)
	}
	b1, err := ops.NewScaleBottleneck(ops.ScaleBottleneckConfig{In: 32, Planes: 16, Out: []int{16, 8, 4, 4}, Side: 14})
	if err != nil {
		t.Fatal(err)
	}
	b2, err := ops.NewScaleBottleneck(ops.ScaleBottleneckConfig{In: 64, Planes: 32, Stride: 2, Out: []int{32, 16, 8, 8}, Side: 7})
	if err != nil {
		t.Fatal(err)
	}
	fc, err := ops.NewLinear(128, 10, true)
	if err != nil {
		t.Fatal(err)
	}
	root := ops.Seq(stem, ops.NewBatchNorm2D(32), ops.NewReLU(), b1, b2, ops.NewGlobalAvgPool(), fc)
	net, err := ops.NewNetwork(root, ops.Shape{C: 1, H: 28, W: 28})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestScaleAggregationLearnsMNIST trains the small ScaleNet on a slice of MNIST: the
// loss must fall and the validation accuracy must be far above chance. Then it
// allocates the first block's 32 aggregated channels from its trained batch-norm
// scales, as ScaleNet's neuron allocation does, and checks that the allocation
// builds a block.
func TestScaleAggregationLearnsMNIST(t *testing.T) {
	net := scaleNetMini(t)
	learnMNIST(t, net, *scalenetTrainSize, *scalenetValSize, *scalenetEpochs)

	var sa *ops.ScaleAggregation
	ops.Walk(net.Root(), func(_ string, l ops.Layer) {
		if s, ok := l.(*ops.ScaleAggregation); ok && sa == nil {
			sa = s
		}
	})
	if sa == nil {
		t.Fatal("no scale aggregation layer in the network")
	}
	counts, err := ops.AllocateScaleChannels(sa.Gammas(), 16)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first block's 32 channels (16, 8, 4, 4 over factors 1, 2, 4, 7) reallocated to 16 by trained |gamma|: %v", counts)
	total := 0
	for _, c := range counts {
		total += c
	}
	if total != 16 {
		t.Errorf("allocation %v keeps %d channels, want 16", counts, total)
	}
	if _, err := ops.NewScaleBottleneck(ops.ScaleBottleneckConfig{In: 32, Planes: 16, Out: counts, Side: 14}); err != nil {
		t.Errorf("the allocation %v does not build a block: %v", counts, err)
	}
}
