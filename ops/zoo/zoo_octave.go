package zoo

import "nas/ops"

const srcOctResNet = "d-li14/octconv.pytorch oct_resnet.py oct_resnet50() and octconv.py, alpha 0.5 " +
	"(Chen et al. 2019)"

// octAlpha is Octave ResNet-50's low-frequency ratio (oct_resnet.py's default 0.5).
const octAlpha = 0.5

// octResNet50 is d-li14/octconv.pytorch's oct_resnet50(): torchvision's ResNet stem,
// then an ops.OctaveSeq of octave bottlenecks in stages of 3, 4, 6 and 3 (64, 128, 256
// and 512 planes; stage 1 starts from alpha_in 0, stage 4 returns to alpha_out 0 in its
// first block; the first block of stages 2-4 at stride 2), global average pooling of
// the high-frequency output and an FC layer with bias.
func octResNet50(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	resNetStem(&b, in.C)
	var blocks []ops.PairLayer
	c := 64
	for stage, n := range []int{3, 4, 6, 3} {
		planes := 64 << stage
		for i := range n {
			cfg := ops.OctBottleneckConfig{In: c, Planes: planes, Stride: 1, AlphaIn: octAlpha, AlphaOut: octAlpha}
			switch {
			case stage == 0 && i == 0:
				cfg.AlphaIn = 0
			case stage == 3 && i == 0:
				cfg.AlphaOut = 0
			case stage == 3:
				cfg.AlphaIn, cfg.AlphaOut = 0, 0
			}
			if i == 0 && stage > 0 {
				cfg.Stride = 2
			}
			blk, err := ops.NewOctBottleneck(cfg)
			if err != nil {
				return nil, err
			}
			blocks = append(blocks, blk)
			c = 4 * planes
		}
	}
	b.add(ops.NewOctaveSeq(blocks...))
	b.add(classifier(c, classes, true))
	return b.seq()
}
