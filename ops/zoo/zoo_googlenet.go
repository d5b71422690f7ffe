package zoo

import "nas/ops"

const srcGoogLeNet = "torchvision 0.14 models/googlenet.py googlenet(aux_logits=False) (Szegedy et al. 2015)"

// googLeNetBNEps is the batch norm epsilon of torchvision googlenet.py's BasicConv2d.
const googLeNetBNEps = 0.001

// basicConv2d is torchvision googlenet.py's BasicConv2d for the stem: a k x k
// convolution without bias (stride, padding), batch norm with eps 0.001, and ReLU.
func basicConv2d(in, out, k, stride, pad int) (*ops.Sequential, error) {
	s, err := convBN(in, out, k, stride, pad, 1, ops.ActReLU)
	if err != nil {
		return nil, err
	}
	s.Layers[1].(*ops.BatchNorm2D).Eps = googLeNetBNEps
	return s, nil
}

// googLeNet is torchvision's GoogLeNet without the auxiliary heads: BasicConv2d 7x7/2
// to 64, a 3x3/2 ceil-mode max pool, BasicConv2d 1x1 to 64 and 3x3 to 192, a max pool,
// Inception 3a and 3b, a max pool, 4a to 4e, a 2x2/2 ceil-mode max pool, 5a and 5b,
// global average pooling and an FC layer with bias (its dropout is left out). The
// Inception widths are torchvision's (the paper's Table 1), each module's third branch
// a 3x3 as in torchvision.
func googLeNet(in ops.Shape, classes int) (ops.Layer, error) {
	var b builder
	b.add(basicConv2d(in.C, 64, 7, 2, 3))
	b.add(maxPool(3, 2, 0, true))
	b.add(basicConv2d(64, 64, 1, 1, 0))
	b.add(basicConv2d(64, 192, 3, 1, 1))
	b.add(maxPool(3, 2, 0, true))
	b.add(ops.NewInception(ops.InceptionConfig{In: 192, Ch1x1: 64, Ch3x3Red: 96, Ch3x3: 128, Ch5x5Red: 16, Ch5x5: 32, PoolProj: 32}))
	b.add(ops.NewInception(ops.InceptionConfig{In: 256, Ch1x1: 128, Ch3x3Red: 128, Ch3x3: 192, Ch5x5Red: 32, Ch5x5: 96, PoolProj: 64}))
	b.add(maxPool(3, 2, 0, true))
	b.add(ops.NewInception(ops.InceptionConfig{In: 480, Ch1x1: 192, Ch3x3Red: 96, Ch3x3: 208, Ch5x5Red: 16, Ch5x5: 48, PoolProj: 64}))
	b.add(ops.NewInception(ops.InceptionConfig{In: 512, Ch1x1: 160, Ch3x3Red: 112, Ch3x3: 224, Ch5x5Red: 24, Ch5x5: 64, PoolProj: 64}))
	b.add(ops.NewInception(ops.InceptionConfig{In: 512, Ch1x1: 128, Ch3x3Red: 128, Ch3x3: 256, Ch5x5Red: 24, Ch5x5: 64, PoolProj: 64}))
	b.add(ops.NewInception(ops.InceptionConfig{In: 512, Ch1x1: 112, Ch3x3Red: 144, Ch3x3: 288, Ch5x5Red: 32, Ch5x5: 64, PoolProj: 64}))
	b.add(ops.NewInception(ops.InceptionConfig{In: 528, Ch1x1: 256, Ch3x3Red: 160, Ch3x3: 320, Ch5x5Red: 32, Ch5x5: 128, PoolProj: 128}))
	b.add(maxPool(2, 2, 0, true))
	b.add(ops.NewInception(ops.InceptionConfig{In: 832, Ch1x1: 256, Ch3x3Red: 160, Ch3x3: 320, Ch5x5Red: 32, Ch5x5: 128, PoolProj: 128}))
	b.add(ops.NewInception(ops.InceptionConfig{In: 832, Ch1x1: 384, Ch3x3Red: 192, Ch3x3: 384, Ch5x5Red: 48, Ch5x5: 128, PoolProj: 128}))
	b.add(classifier(1024, classes, true))
	return b.seq()
}
