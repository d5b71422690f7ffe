package evaluate

import (
	"flag"
	"testing"

	"nas/ops"
)

// The dynamic group convolution learning run's size, small by default so that the
// test takes seconds; the flags give a longer measurement, for example
//
//	go test -run TestDGCLearnsMNIST -v ./evaluate -args -dgc.train-size 4096 -dgc.epochs 2
var (
	dgcTrainSize = flag.Int("dgc.train-size", 2048, "MNIST training images of TestDGCLearnsMNIST")
	dgcValSize   = flag.Int("dgc.val-size", 1000, "MNIST validation images of TestDGCLearnsMNIST")
	dgcEpochs    = flag.Int("dgc.epochs", 1, "epochs of TestDGCLearnsMNIST")
)

// dgcNet is a small MNIST CNN whose convolutions after the stem are dynamic group
// convolutions of four heads keeping half their input channels, in dgc_resnet18's
// pre-activation form: a 3x3 stride-2 convolution to 16 channels at 14x14, then
// twice BN -> ReLU -> DGC (16 -> 32 at stride 2, to 7x7; 32 -> 32), BN -> ReLU and
// a 7x7 unpadded convolution to the 10 logits, a linear classifier on the flattened
// 7x7x32 map (as TestDSConvLearnsMNIST's network; global average pooling instead
// learns far slower on MNIST). It returns the network and its dynamic layers.
func dgcNet(t *testing.T) (*ops.Network, []*ops.DynamicGroupConv) {
	t.Helper()
	var dgcs []*ops.DynamicGroupConv
	dgc := func(in, out, stride int) ops.Layer {
		l, err := ops.NewDynamicGroupConv(ops.DGCConfig{In: in, Out: out, KH: 3, KW: 3, StrideH: stride, StrideW: stride,
			PadH: 1, PadW: 1, Heads: 4, Keep: 0.5, SqueezeRate: 8, Lasso: 1e-5})
		if err != nil {
			t.Fatal(err)
		}
		dgcs = append(dgcs, l)
		return l
	}
	stem, err := ops.Conv(1, 16, 3, 2, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	head, err := ops.NewConv2D(ops.ConvConfig{In: 32, Out: 10, KH: 7, KW: 7})
	if err != nil {
		t.Fatal(err)
	}
	root := ops.Seq(stem,
		ops.NewBatchNorm2D(16), ops.NewReLU(), dgc(16, 32, 2),
		ops.NewBatchNorm2D(32), ops.NewReLU(), dgc(32, 32, 1),
		ops.NewBatchNorm2D(32), ops.NewReLU(), head)
	net, err := ops.NewNetwork(root, ops.Shape{C: 1, H: 28, W: 28})
	if err != nil {
		t.Fatal(err)
	}
	return net, dgcs
}

// TestDGCLearnsMNIST trains the dynamic group convolution network on a slice of
// MNIST, with Fit driving the reference's schedule of dropped channels: the loss must
// fall, the validation accuracy must be far above chance, and the layers must end
// the run dropping half their channels, the configured keep ratio.
func TestDGCLearnsMNIST(t *testing.T) {
	net, dgcs := dgcNet(t)
	learnMNIST(t, net, *dgcTrainSize, *dgcValSize, *dgcEpochs)
	for i, l := range dgcs {
		if got, want := l.Dropped(), l.Config().In-l.Kept(); got != want {
			t.Errorf("dynamic layer %d drops %d channels after training, want %d (keep ratio 0.5 of %d)", i, got, want, l.Config().In)
		}
	}
}
