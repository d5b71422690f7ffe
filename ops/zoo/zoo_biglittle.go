package zoo

import "nas/ops"

const srcBLResNet = "IBM/BigLittleNet models/blresnet.py blresnet_model(50, alpha=2, beta=4) " +
	"(Chen et al. 2019)"

// blLayer is blresnet.py's _make_layer(block, in, planes, blocks, stride, last_relu):
// Big-Little bottlenecks (inner width planes/4) whose first block has the stride and
// the average-pool shortcut (ops.BottleneckConfig.AvgDown); with several blocks the
// last one's ReLU after the addition follows lastReLU.
func blLayer(b *builder, in, planes, blocks, stride int, lastReLU bool) {
	for i := range blocks {
		cfg := ops.BottleneckConfig{In: planes, Mid: planes / 4, Out: planes, AvgDown: true}
		if i == 0 {
			cfg.In, cfg.Stride = in, stride
		}
		if blocks > 1 && i == blocks-1 {
			cfg.NoLastReLU = !lastReLU
		}
		b.add(ops.NewBottleneck(cfg))
	}
}

// blModule is blresnet.py's bLModule: the big branch (blocks-1 bottlenecks from a
// stride 2, the last without its final ReLU) upsampled 2x (nearest, F.interpolate to
// the little branch's size), added to the little branch (max(1, blocks/beta-1)
// bottlenecks at out/alpha channels and a 1x1 conv + BN back to out), ReLU, then one
// fusion bottleneck with the module's stride.
//
// It is composed from ops.Bottleneck, ops.Residual and ops.Upsample2x: ops has no
// Big-Little block yet.
func blModule(in, out, blocks, alpha, beta, stride int) (ops.Layer, error) {
	var big, little, fusion builder
	blLayer(&big, in, out, blocks-1, 2, false)
	big.add(ops.NewUpsample2x(), nil)
	blLayer(&little, in, out/alpha, max(1, blocks/beta-1), 1, true)
	little.add(convBN(out/alpha, out, 1, 1, 0, 1, ops.ActNone))
	blLayer(&fusion, out, out, 1, stride, true)
	bs, err := big.seq()
	if err != nil {
		return nil, err
	}
	ls, err := little.seq()
	if err != nil {
		return nil, err
	}
	fs, err := fusion.seq()
	if err != nil {
		return nil, err
	}
	body := ops.Seq(&ops.Residual{Body: bs, Shortcut: ls, Post: ops.NewReLU()}, fs)
	return &ops.Block{Kind: "big_little", Settings: blockSettings(in, out, stride), Body: body}, nil
}

// blResNet50 is blresnet.py's bLResNet(Bottleneck, [3, 4, 6, 3], alpha=2, beta=4): a
// 7x7 stride-2 conv-BN-ReLU to 64; the two-branch stem, big (3x3 stride-2 conv + BN)
// plus little (3x3 conv-BN-ReLU to 32, 3x3 stride-2 conv-BN-ReLU, 1x1 conv + BN to 64),
// ReLU, then a 1x1 conv-BN-ReLU; big-little modules to 256 (stride 2), 512 (stride 2)
// and 1024 (stride 1); a plain stage of 3 bottlenecks to 2048 at stride 2 with the
// average-pool shortcut; global average pooling and an FC layer with bias.
func blResNet50(in ops.Shape, classes int) (ops.Layer, error) {
	const alpha, beta = 2, 4
	var b builder
	b.add(convBN(in.C, 64, 7, 2, 3, 1, ops.ActReLU))
	big, err := convBN(64, 64, 3, 2, 1, 1, ops.ActNone)
	if err != nil {
		return nil, err
	}
	var little builder
	little.add(convBN(64, 64/alpha, 3, 1, 1, 1, ops.ActReLU))
	little.add(convBN(64/alpha, 64/alpha, 3, 2, 1, 1, ops.ActReLU))
	little.add(convBN(64/alpha, 64, 1, 1, 0, 1, ops.ActNone))
	ls, err := little.seq()
	if err != nil {
		return nil, err
	}
	b.add(&ops.Block{Kind: "big_little_stem", Settings: blockSettings(64, 64, 2),
		Body: &ops.Residual{Body: big, Shortcut: ls, Post: ops.NewReLU()}}, nil)
	b.add(convBN(64, 64, 1, 1, 0, 1, ops.ActReLU))
	b.add(blModule(64, 256, 3, alpha, beta, 2))
	b.add(blModule(256, 512, 4, alpha, beta, 2))
	b.add(blModule(512, 1024, 6, alpha, beta, 1))
	blLayer(&b, 1024, 2048, 3, 2, true)
	b.add(classifier(2048, classes, true))
	return b.seq()
}
