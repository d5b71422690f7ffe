package zoo

import (
	"math"

	"nas/ops"
)

const srcIGCV3 = "homles11/IGCV3 symbols/igcv3.py (MXNet), IGCV3-D, multiplier 1.0 (Sun et al. 2018)"

// igcv3Unit is IGCV3's inverted_residual_unit (homles11/IGCV3 symbols/igcv3.py): a
// 2-group 1x1 expansion to round(in*t) channels + BN with no activation, a 2-group
// permutation, a 3x3 depthwise (stride) + BN + ReLU6, a 2-group 1x1 projection + BN,
// a permutation over out/2 groups, and the input added when shortcut (every unit of a
// stage but its first).
//
// It is composed from ops layers: ops.InvertedResidual applies its activation after
// the expansion too and has no permutation after the projection, and ops has no
// IGCV3 block yet.
func igcv3Unit(in, out int, t float64, stride int, shortcut bool) (ops.Layer, error) {
	mid := int(math.RoundToEven(float64(in) * t))
	var b builder
	b.add(convBN(in, mid, 1, 1, 0, 2, ops.ActNone))
	b.add(ops.NewChannelShuffle(2))
	b.add(convBN(mid, mid, 3, stride, 1, mid, ops.ActReLU6))
	b.add(convBN(mid, out, 1, 1, 0, 2, ops.ActNone))
	b.add(ops.NewChannelShuffle(out / 2))
	body, err := b.seq()
	if err != nil {
		return nil, err
	}
	blk := &ops.Block{Kind: "igcv3", Settings: blockSettings(in, out, stride), Body: body}
	if shortcut {
		blk.Body = &ops.Residual{Body: body}
	}
	return blk, nil
}

// igcv3 is IGCV3-D 1.0 (symbols/igcv3.py MNetV2Gen at multiplier 1.0): MobileNetV2's
// layout with the middle stages twice as deep (t, c, n, s: 1,16,1,1; 6,24,4,2;
// 6,32,6,2; 6,64,8,2; 6,96,6,1; 6,160,6,2; 6,320,1,1), a 3x3 stride-2 conv-BN-ReLU6
// stem to 32 and a 1x1 conv-BN-ReLU6 to 1280, global average pooling and an FC layer
// with bias. Every unit, t = 1 included, has its expansion; MXNet's BatchNorm with
// fix_gamma=False learns gamma and beta like ops.BatchNorm2D.
func igcv3(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	b.add(convBN(in.C, 32, 3, 2, 1, 1, ops.ActReLU6))
	c := 32
	for _, s := range []struct{ t, c, n, s int }{
		{1, 16, 1, 1}, {6, 24, 4, 2}, {6, 32, 6, 2}, {6, 64, 8, 2}, {6, 96, 6, 1}, {6, 160, 6, 2}, {6, 320, 1, 1},
	} {
		for i := range s.n {
			stride := 1
			if i == 0 {
				stride = s.s
			}
			b.add(igcv3Unit(c, s.c, float64(s.t), stride, i > 0))
			c = s.c
		}
	}
	b.add(convBN(c, 1280, 1, 1, 0, 1, ops.ActReLU6))
	b.add(classifier(1280, classes, true))
	return b.seq()
}
