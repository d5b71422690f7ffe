package evaluate

import (
	"flag"
	"testing"

	"nas/ops"
)

// The DSConv learning run's size, small by default so that the test takes seconds;
// the flags give the longer measurement quoted with the operator, for example
//
//	go test -run TestDSConvLearnsMNIST -v ./evaluate -args -dsconv.train-size 4096 -dsconv.val-size 1000
var (
	dsconvTrainSize = flag.Int("dsconv.train-size", 2048, "MNIST training images of TestDSConvLearnsMNIST")
	dsconvValSize   = flag.Int("dsconv.val-size", 1000, "MNIST validation images of TestDSConvLearnsMNIST")
	dsconvEpochs    = flag.Int("dsconv.epochs", 1, "epochs of TestDSConvLearnsMNIST")
	dsconvBits      = flag.Int("dsconv.bits", 4, "DSConv weight bits of TestDSConvLearnsMNIST; 32 trains the same network with float Conv2D")
)

// dsconvNet is a small MNIST CNN whose every weight is in a DSConv at bits bits in
// blocks of 8 input channels (or in a Conv2D when bits is 32): two 3x3 stride-2
// convolutions, 28x28 -> 16 at 14x14 -> 32 at 7x7, each followed by batch norm and
// ReLU, and a 7x7 unpadded convolution to the 10 logits, a linear classifier on the
// flattened 7x7x32 map. (The stem's single input channel makes each of its blocks
// one value, which quantises exactly.)
func dsconvNet(t *testing.T, bits int) *ops.Network {
	t.Helper()
	conv := func(in, out, k, stride, pad int) ops.Layer {
		c := ops.ConvConfig{In: in, Out: out, KH: k, KW: k, StrideH: stride, StrideW: stride, PadH: pad, PadW: pad}
		var (
			l   ops.Layer
			err error
		)
		if bits == 32 {
			l, err = ops.NewConv2D(c)
		} else {
			l, err = ops.NewDSConv(ops.DSConvConfig{ConvConfig: c, Bits: bits, BlockSize: 8})
		}
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	root := ops.Seq(
		conv(1, 16, 3, 2, 1), ops.NewBatchNorm2D(16), ops.NewReLU(),
		conv(16, 32, 3, 2, 1), ops.NewBatchNorm2D(32), ops.NewReLU(),
		conv(32, 10, 7, 1, 0))
	net, err := ops.NewNetwork(root, ops.Shape{C: 1, H: 28, W: 28})
	if err != nil {
		t.Fatal(err)
	}
	return net
}

// TestDSConvLearnsMNIST trains the DSConv network on a slice of MNIST with the
// integers and shifts re-derived at every step: the loss must fall and the
// validation accuracy must be far above chance.
func TestDSConvLearnsMNIST(t *testing.T) {
	net := dsconvNet(t, *dsconvBits)
	learnMNIST(t, net, *dsconvTrainSize, *dsconvValSize, *dsconvEpochs)
	t.Logf("%d bits: weights %d bits (%d as float32)", *dsconvBits, ops.WeightBits(net.Root()), 32*net.ParamCount())
}
