package zoo

import "nas/ops"

const srcXception = "Cadene/pretrained-models.pytorch pretrainedmodels/models/xception.py " +
	"(= timm legacy_xception; Chollet 2017), 299x299x3"

// xceptionBlock is Cadene's xception.py Block(in, out, reps, strides, start_with_relu,
// grow_first): reps separable convolutions (ReLU -> depthwise 3x3 -> pointwise -> BN,
// ops.DWSep in its Xception form; the first without ReLU unless startWithReLU; the
// width changes at the first when growFirst, else at the last), a 3x3 max pool
// (padding 1) when strided, plus the input or, when the shape changes, a strided 1x1
// conv + BN.
func xceptionBlock(in, out, reps, stride int, startWithReLU, growFirst bool) (ops.Layer, error) {
	var b builder
	for i := range reps {
		cin, cout := out, out
		switch {
		case growFirst && i == 0:
			cin = in
		case !growFirst && i < reps-1:
			cin, cout = in, in
		case !growFirst:
			cin = in
		}
		a := ops.ActReLU
		if i == 0 && !startWithReLU {
			a = ops.ActNone
		}
		b.add(ops.NewDWSep(ops.DWSepConfig{In: cin, Out: cout, Act: a, Xception: true}))
	}
	if stride != 1 {
		b.add(maxPool(3, stride, 1, false))
	}
	body, err := b.seq()
	if err != nil {
		return nil, err
	}
	r := &ops.Residual{Body: body}
	if in != out || stride != 1 {
		if r.Shortcut, err = convBN(in, out, 1, stride, 0, 1, ops.ActNone); err != nil {
			return nil, err
		}
	}
	return &ops.Block{Kind: "xception", Settings: blockSettings(in, out, stride), Body: r}, nil
}

// xception is Cadene's Xception (pretrainedmodels/models/xception.py): two unpadded
// 3x3 conv-BN-ReLU (32 channels at stride 2, then 64), the entry flow's three
// strided blocks (128, 256, 728), eight middle-flow blocks of three separable
// convolutions at 728, the exit block (728 -> 1024, growing last), separable
// convolutions to 1536 and 2048 each followed by BN and ReLU, global average pooling
// and an FC layer with bias.
func xception(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	b.add(convBN(in.C, 32, 3, 2, 0, 1, ops.ActReLU))
	b.add(convBN(32, 64, 3, 1, 0, 1, ops.ActReLU))
	b.add(xceptionBlock(64, 128, 2, 2, false, true))
	b.add(xceptionBlock(128, 256, 2, 2, true, true))
	b.add(xceptionBlock(256, 728, 2, 2, true, true))
	for range 8 {
		b.add(xceptionBlock(728, 728, 3, 1, true, true))
	}
	b.add(xceptionBlock(728, 1024, 2, 2, true, false))
	b.add(ops.NewDWSep(ops.DWSepConfig{In: 1024, Out: 1536, Xception: true}))
	b.add(ops.NewReLU(), nil)
	b.add(ops.NewDWSep(ops.DWSepConfig{In: 1536, Out: 2048, Xception: true}))
	b.add(ops.NewReLU(), nil)
	b.add(classifier(2048, classes, true))
	return b.seq()
}
