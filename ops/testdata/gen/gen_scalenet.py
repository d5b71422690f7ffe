"""Golden data for ScaleNet's scale aggregation layer and residual block (Li et al. 2019,
"Data-Driven Neuron Allocation for Scale Aggregation Networks"), re-implemented from the
reference implementation Eli-YiLi/ScaleNet pytorch/scalenet.py (class SABlock).

As in the reference, branch i max-pools its input by scales[i] (1, 2, 4, 7), convolves
it (3x3 with padding 1 when side / 2**i > 1, else 1x1; no bias), upsamples it back
(nearest when the sizes divide, else bilinear without aligned corners) and batch-
normalizes it; the branches are concatenated and pass through a ReLU. A branch with 0
channels is left out. Where a pooling factor (or the block's stride) exceeds a side of the
input (only at inputs smaller than the reference's; PyTorch would reject the window) the
window is clamped to that side, as ops does; sa_rect_clamped and block_s2_tiny check it.

The modules register their submodules in the order the Go layers list their children
(each branch's conv then its batch norm; the block's conv1, bn1, branches, conv3, bn3,
then the shortcut), so list(m.parameters()) is in ops.Params order and the batch norms
of m.modules() are in ops.Walk order. A case stores what ops/block_bottleneck_test.go's
checkBlockFixture reads:
  x, y (train-mode forward), dy, dx, y_eval (eval-mode forward after the train step),
  param.NNN / grad.NNN   every parameter and its gradient, in Go order,
  bn_mean.NNN / bn_var.NNN  each batch norm's running statistics before the step,
and in the config the PyTorch parameter names and the MACs and parameters of one sample
counted as reference_net.py's count() does (a forward hook on every Conv2d). The step
runs in float64 (random values drawn in float32), so the stored float32 results are the
exact ones rounded once. Gradients are those of sum(y * dy).

Run with Debian's python3-torch 1.13: cd ops/testdata/gen && /usr/bin/python3 gen_scalenet.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture import write
from gen_blocks_b import count

SCALES = (1, 2, 4, 7)  # SABlock.scales = [None, 2, 4, 7]


class Branch(nn.Module):
    """One scale of SABlock: conv2[i] and bn2[i]."""

    def __init__(self, cin, cout, i, side, scale):
        super().__init__()
        k = 3 if side / 2 ** i > 1 else 1
        self.scale = scale
        self.conv = nn.Conv2d(cin, cout, kernel_size=k, stride=1, padding=1 if k == 3 else 0, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        h, w = x.shape[2], x.shape[3]
        o = x
        if self.scale > 1:
            k = (min(self.scale, h), min(self.scale, w))  # the reference's (s, s) unless clamped
            o = F.max_pool2d(o, k, k)
        o = self.conv(o)
        if self.scale > 1:
            if h % o.shape[2] == 0 and w % o.shape[3] == 0:
                o = F.interpolate(o, size=(h, w), mode="nearest")
            else:
                o = F.interpolate(o, size=(h, w), mode="bilinear", align_corners=False)
        return self.bn(o)


class ScaleAgg(nn.Module):
    """SABlock's conv2/bn2 part, the concatenation and the ReLU after it."""

    def __init__(self, cin, channels, side, scales=SCALES):
        super().__init__()
        self.branches = nn.ModuleList(
            [Branch(cin, c, i, side, scales[i]) for i, c in enumerate(channels) if c > 0])

    def forward(self, x):
        return F.relu(torch.cat([b(x) for b in self.branches], 1))


class SABlock(nn.Module):
    """SABlock(inplanes, planes, stride, downsample, structure) with one structure row."""

    def __init__(self, inplanes, planes, stride, channels, side):
        super().__init__()
        self.stride = stride
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.sa = ScaleAgg(planes, channels, side)
        self.conv3 = nn.Conv2d(sum(channels), planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, bias=False), nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        if self.stride > 1:  # clamped like the branches' pools (the reference: (s, s))
            k = (min(self.stride, x.shape[2]), min(self.stride, x.shape[3]))
            x = F.max_pool2d(x, k, k)
        residual = self.downsample(x) if self.downsample is not None else x
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.sa(out)
        out = self.bn3(self.conv3(out))
        return F.relu(out + residual)


def case(name, net, shape, config, batch=4):
    """Randomises the weights and batch norms, runs a train step on batch samples in
    float64 and an eval forward, and writes the fixture.

    Every case has a branch pooled to 1x1, whose batch norm sees one value per
    sample: with 2 samples it normalizes them to -1 and 1 and its gradient is
    rounding noise, which float32 summed in another order (on one worker instead of
    two) missed by up to 1e-3; hence 4 samples."""
    bns = [m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    with torch.no_grad():
        for bn in bns:
            c = bn.num_features
            bn.weight.copy_(1 + 0.3 * torch.randn(c))
            bn.bias.copy_(0.3 * torch.randn(c))
            bn.running_mean.copy_(0.2 * torch.randn(c))
            bn.running_var.copy_(0.5 + torch.rand(c))
    macs, params = count(net, shape)
    t = {}
    for i, bn in enumerate(bns):
        t["bn_mean.%03d" % i] = bn.running_mean.clone()
        t["bn_var.%03d" % i] = bn.running_var.clone()
    x = torch.randn(batch, *shape)
    net.train()
    with torch.no_grad():
        dy = torch.randn_like(net(x.clone()))
        for i, bn in enumerate(bns):  # undo that forward's update of the running statistics
            bn.running_mean.copy_(t["bn_mean.%03d" % i])
            bn.running_var.copy_(t["bn_var.%03d" % i])
    net, x, dy = net.double(), x.double(), dy.double()
    x.requires_grad_(True)
    y = net(x)
    (y * dy).sum().backward()
    net.eval()
    with torch.no_grad():
        ye = net(x)
    names = []
    for i, (n, p) in enumerate(net.named_parameters()):
        names.append(n)
        t["param.%03d" % i] = p
        t["grad.%03d" % i] = p.grad
    t.update(x=x, y=y, dy=dy, dx=x.grad, y_eval=ye)
    write("scalenet_" + name, dict(config, macs=macs, params=params, param_names=names, bns=len(bns)), t)


def main():
    torch.manual_seed(0)
    # Side 8: pooled 8, 4, 2, 1, all nearest; kernels 3, 3, 3 and 1 (8 / 2**3 = 1).
    case("sa_side8", ScaleAgg(2, [2, 1, 1, 1], 8), (2, 8, 8), dict(in_=2, out=[2, 1, 1, 1], side=8))
    # Side 7, like ScaleNet-50's layer4: 7 / 2 = 3, which upsamples bilinearly (7 % 3 != 0).
    case("sa_side7_bilinear", ScaleAgg(2, [1, 2, 1, 1], 7), (2, 7, 7), dict(in_=2, out=[1, 2, 1, 1], side=7))
    # 6x9 with branch 1 dropped: factor 4 gives 1x2 (bilinear along the 9), factor 7
    # clamps to a 6x7 window, 1x1 (nearest).
    case("sa_rect_clamped", ScaleAgg(2, [1, 0, 2, 1], 6), (2, 6, 9), dict(in_=2, out=[1, 0, 2, 1], side=6))
    # The residual block: stride 2 (max pool 10 -> 5, then factors give 5, 2 (bilinear),
    # 1 and a clamped 1) with the projection shortcut, and stride 1 with the identity.
    case("block_s2", SABlock(4, 2, 2, [2, 1, 1, 1], 5), (4, 10, 10),
         dict(in_=4, planes=2, stride=2, out=[2, 1, 1, 1], side=5))
    case("block_s1", SABlock(8, 2, 1, [2, 1, 0, 1], 5), (8, 5, 5),
         dict(in_=8, planes=2, stride=1, out=[2, 1, 0, 1], side=5))
    # A stride-2 block on a 1x2 map: the stride pool clamps to 1x2 -> 1x1, and side 1
    # gives every branch a 1x1 kernel.
    case("block_s2_tiny", SABlock(4, 2, 2, [1, 1, 1, 1], 1), (4, 1, 2),
         dict(in_=4, planes=2, stride=2, out=[1, 1, 1, 1], side=1))


if __name__ == "__main__":
    main()
