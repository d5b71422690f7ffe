"""Golden data for engineer B's blocks: Fire, Inception, ResNet bottleneck/basic block and
ResNeXt, octave convolution and the octave ResNet bottleneck, the Big-Little module and
stem, and the interleaved group convolutions IGCV1 and IGCV3.

Each module below re-implements its cited reference in PyTorch, registering its
submodules in the order the Go block lists its children, so that list(m.parameters())
is in the order ops.Params returns the Go block's parameters and the batch norms of
m.modules() are in the order ops.Walk visits the Go ones. A case stores:
  x, y (train-mode forward), dy, dx, y_eval (eval-mode forward after the train step,
  so it also checks the running-statistics update),
  param.NNN / grad.NNN   every parameter and its gradient, in Go order,
  bn_mean.NNN / bn_var.NNN  each batch norm's running statistics before the train step,
and in the config the PyTorch parameter names, and the MACs and parameters of one
sample counted as reference_net.py's count() does (a forward hook on every Conv2d).
Gradients are those of sum(y * dy).

Run with Debian's python3-torch 1.13: cd ops/testdata/gen && /usr/bin/python3 gen_blocks_b.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture import write


# ---------------------------------------------------------------------------------------
# Fire, torchvision/models/squeezenet.py (Iandola et al. 2016).

class Fire(nn.Module):
    def __init__(self, inplanes, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Conv2d(inplanes, squeeze, kernel_size=1)
        self.squeeze_activation = nn.ReLU()
        self.expand1x1 = nn.Conv2d(squeeze, e1, kernel_size=1)
        self.expand1x1_activation = nn.ReLU()
        self.expand3x3 = nn.Conv2d(squeeze, e3, kernel_size=3, padding=1)
        self.expand3x3_activation = nn.ReLU()

    def forward(self, x):
        x = self.squeeze_activation(self.squeeze(x))
        return torch.cat([self.expand1x1_activation(self.expand1x1(x)),
                          self.expand3x3_activation(self.expand3x3(x))], 1)


class FireBN(nn.Module):
    """Fire with a batch norm between each convolution (now without bias) and its ReLU,
    as batch-normalised SqueezeNet variants build it; nas's search space uses it."""

    def __init__(self, inplanes, squeeze, e1, e3):
        super().__init__()
        self.squeeze = nn.Sequential(nn.Conv2d(inplanes, squeeze, 1, bias=False), nn.BatchNorm2d(squeeze), nn.ReLU())
        self.expand1x1 = nn.Sequential(nn.Conv2d(squeeze, e1, 1, bias=False), nn.BatchNorm2d(e1), nn.ReLU())
        self.expand3x3 = nn.Sequential(nn.Conv2d(squeeze, e3, 3, padding=1, bias=False), nn.BatchNorm2d(e3), nn.ReLU())

    def forward(self, x):
        x = self.squeeze(x)
        return torch.cat([self.expand1x1(x), self.expand3x3(x)], 1)


# ---------------------------------------------------------------------------------------
# Inception, torchvision/models/googlenet.py (Szegedy et al. 2015): branch 3 uses a 3x3
# where the paper has a 5x5, as torchvision does.

class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class Inception(nn.Module):
    def __init__(self, cin, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj):
        super().__init__()
        self.branch1 = BasicConv2d(cin, ch1x1, kernel_size=1)
        self.branch2 = nn.Sequential(BasicConv2d(cin, ch3x3red, kernel_size=1),
                                     BasicConv2d(ch3x3red, ch3x3, kernel_size=3, padding=1))
        self.branch3 = nn.Sequential(BasicConv2d(cin, ch5x5red, kernel_size=1),
                                     BasicConv2d(ch5x5red, ch5x5, kernel_size=3, padding=1))
        self.branch4 = nn.Sequential(nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True),
                                     BasicConv2d(cin, pool_proj, kernel_size=1))

    def forward(self, x):
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)], 1)


# ---------------------------------------------------------------------------------------
# ResNet blocks, torchvision/models/resnet.py (He et al. 2016; ResNeXt, Xie et al. 2017).

class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, groups=1, base_width=64):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, 3, stride, 1, groups=groups, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.downsample = None
        if stride != 1 or inplanes != planes * 4:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes * 4, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes * 4))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class BasicBlock(nn.Module):
    def __init__(self, inplanes, planes, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inplanes != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False),
                                            nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


# ---------------------------------------------------------------------------------------
# Octave convolution, d-li14/octconv.pytorch octconv.py and oct_resnet.py (Chen et al.
# 2019). Stride 2 is a 2x2 average pool of the inputs; the low-to-high path is
# upsampled only at stride 1; channel splits are int(alpha*C) low, the rest high.

class OctaveConv(nn.Module):
    def __init__(self, cin, cout, k, alpha_in=0.5, alpha_out=0.5, stride=1, padding=0, groups=1):
        super().__init__()
        self.downsample = nn.AvgPool2d(kernel_size=(2, 2), stride=2)
        self.upsample = nn.Upsample(scale_factor=2, mode="nearest")
        self.stride, self.alpha_in, self.alpha_out = stride, alpha_in, alpha_out
        li, lo = int(alpha_in * cin), int(alpha_out * cout)
        hi, ho = cin - li, cout - lo

        def conv(a, b):
            return nn.Conv2d(a, b, k, 1, padding, 1, groups, False)

        self.conv_l2l = None if alpha_in == 0 or alpha_out == 0 else conv(li, lo)
        self.conv_l2h = None if alpha_in == 0 or alpha_out == 1 else conv(li, ho)
        self.conv_h2l = None if alpha_in == 1 or alpha_out == 0 else conv(hi, lo)
        self.conv_h2h = None if alpha_in == 1 or alpha_out == 1 else conv(hi, ho)

    def forward(self, x):
        x_h, x_l = x if type(x) is tuple else (x, None)
        x_h = self.downsample(x_h) if self.stride == 2 else x_h
        x_h2h = self.conv_h2h(x_h)
        x_h2l = self.conv_h2l(self.downsample(x_h)) if self.alpha_out > 0 else None
        if x_l is None:
            return x_h2h, x_h2l
        x_l2h = self.conv_l2h(x_l)
        x_l2h = self.upsample(x_l2h) if self.stride == 1 else x_l2h
        x_l2l = self.downsample(x_l) if self.stride == 2 else x_l
        x_l2l = self.conv_l2l(x_l2l) if self.alpha_out > 0 else None
        x_h = x_l2h + x_h2h
        x_l = x_h2l + x_l2l if x_h2l is not None and x_l2l is not None else None
        return x_h, x_l


class ConvBN(nn.Module):
    """octconv.py's Conv_BN (act=False) and Conv_BN_ACT (act=True, ReLU)."""

    def __init__(self, cin, cout, k, alpha_in=0.5, alpha_out=0.5, stride=1, padding=0, groups=1, act=True):
        super().__init__()
        self.conv = OctaveConv(cin, cout, k, alpha_in, alpha_out, stride, padding, groups)
        self.bn_h = nn.BatchNorm2d(int(cout * (1 - alpha_out)))
        self.bn_l = None if alpha_out == 0 else nn.BatchNorm2d(int(cout * alpha_out))
        self.act = act

    def forward(self, x):
        x_h, x_l = self.conv(x)
        x_h = self.bn_h(x_h)
        x_l = self.bn_l(x_l) if x_l is not None else None
        if self.act:
            x_h = F.relu(x_h)
            x_l = F.relu(x_l) if x_l is not None else None
        return x_h, x_l


class OctBottleneck(nn.Module):
    """oct_resnet.py's Bottleneck; conv2 and conv3 use alpha_out (the reference's 0.5, or
    0 in the output stage), the shortcut is Conv_BN(1x1, stride) when present."""

    def __init__(self, inplanes, planes, stride=1, downsample=False, groups=1, base_width=64,
                 alpha_in=0.5, alpha_out=0.5):
        super().__init__()
        width = int(planes * (base_width / 64.0)) * groups
        a = alpha_out
        self.conv1 = ConvBN(inplanes, width, 1, alpha_in, alpha_out)
        self.conv2 = ConvBN(width, width, 3, a, a, stride, 1, groups)
        self.conv3 = ConvBN(width, planes * 4, 1, a, a, act=False)
        self.downsample = ConvBN(inplanes, planes * 4, 1, alpha_in, alpha_out, stride, act=False) if downsample else None

    def forward(self, x):
        identity_h = x[0] if type(x) is tuple else x
        identity_l = x[1] if type(x) is tuple else None
        x_h, x_l = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            identity_h, identity_l = self.downsample(x)
        x_h = F.relu(x_h + identity_h)
        x_l = F.relu(x_l + identity_l) if identity_l is not None else None
        return x_h, x_l


class OctSeq(nn.Module):
    """Runs octave modules from one tensor to one tensor (the last has alpha_out 0)."""

    def __init__(self, *mods):
        super().__init__()
        self.mods = nn.ModuleList(mods)

    def forward(self, x):
        for m in self.mods:
            x = m(x)
        assert x[1] is None
        return x[0]


# ---------------------------------------------------------------------------------------
# Big-Little Net, IBM/BigLittleNet models/blresnet.py (Chen et al. 2019).

class BLBottleneck(nn.Module):
    def __init__(self, inplanes, planes, stride=1, downsample=None, last_relu=True):
        super().__init__()
        mid = planes // 4
        self.conv1 = nn.Conv2d(inplanes, mid, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        self.conv2 = nn.Conv2d(mid, mid, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(mid)
        self.conv3 = nn.Conv2d(mid, planes, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.last_relu = last_relu

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = F.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        out = out + (x if self.downsample is None else self.downsample(x))
        return F.relu(out) if self.last_relu else out


def bl_make_layer(inplanes, planes, blocks, stride=1, last_relu=True):
    downsample = []
    if stride != 1:
        downsample.append(nn.AvgPool2d(3, stride=2, padding=1))
    if inplanes != planes:
        downsample.append(nn.Conv2d(inplanes, planes, kernel_size=1, stride=1, bias=False))
        downsample.append(nn.BatchNorm2d(planes))
    downsample = None if downsample == [] else nn.Sequential(*downsample)
    if blocks == 1:
        return nn.Sequential(BLBottleneck(inplanes, planes, stride=stride, downsample=downsample))
    layers = [BLBottleneck(inplanes, planes, stride, downsample)]
    for i in range(1, blocks):
        layers.append(BLBottleneck(planes, planes, last_relu=last_relu if i == blocks - 1 else True))
    return nn.Sequential(*layers)


class BLModule(nn.Module):
    def __init__(self, cin, cout, blocks, alpha, beta, stride):
        super().__init__()
        self.big = bl_make_layer(cin, cout, blocks - 1, 2, last_relu=False)
        self.little = bl_make_layer(cin, cout // alpha, max(1, blocks // beta - 1))
        self.little_e = nn.Sequential(nn.Conv2d(cout // alpha, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.fusion = bl_make_layer(cout, cout, 1, stride=stride)

    def forward(self, x):
        big = self.big(x)
        little = self.little_e(self.little(x))
        big = F.interpolate(big, little.shape[2:])
        return self.fusion(F.relu(big + little))


class BLStem(nn.Module):
    """bLResNet's layers between conv1 and layer1: b_conv0 (big), l_conv0..2 (little),
    add, ReLU, bl_init. Registered big first, as the Go Residual's body."""

    def __init__(self, c, alpha):
        super().__init__()
        self.b_conv0 = nn.Conv2d(c, c, 3, 2, 1, bias=False)
        self.bn_b0 = nn.BatchNorm2d(c)
        self.l_conv0 = nn.Conv2d(c, c // alpha, 3, 1, 1, bias=False)
        self.bn_l0 = nn.BatchNorm2d(c // alpha)
        self.l_conv1 = nn.Conv2d(c // alpha, c // alpha, 3, 2, 1, bias=False)
        self.bn_l1 = nn.BatchNorm2d(c // alpha)
        self.l_conv2 = nn.Conv2d(c // alpha, c, 1, bias=False)
        self.bn_l2 = nn.BatchNorm2d(c)
        self.bl_init = nn.Conv2d(c, c, 1, bias=False)
        self.bn_bl_init = nn.BatchNorm2d(c)

    def forward(self, x):
        bx = self.bn_b0(self.b_conv0(x))
        lx = F.relu(self.bn_l0(self.l_conv0(x)))
        lx = F.relu(self.bn_l1(self.l_conv1(lx)))
        lx = self.bn_l2(self.l_conv2(lx))
        x = F.relu(bx + lx)
        return F.relu(self.bn_bl_init(self.bl_init(x)))


# ---------------------------------------------------------------------------------------
# Interleaved group convolutions.

def reorder(x, g):
    """The permutation of IGCV1's Reorder op (hellozting/InterleavedGroupConvolutions
    src/reorder-inl.h) and IGCV3's permutation (homles11/IGCV3 symbols/igcv3.py): view
    the channels as (g, C/g), swap, flatten; ShuffleNet's channel shuffle."""
    n, c, h, w = x.shape
    return x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


class IGC(nn.Module):
    """get_igc of hellozting/InterleavedGroupConvolutions network/resnet_igc.py: primary
    kxk group conv (L groups), reorder(L), secondary 1x1 group conv (M groups),
    reorder(M), BN (MXNet eps 2e-5), ReLU."""

    def __init__(self, cin, cout, k, stride, L, M, relu=True):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, k, stride, k // 2, groups=L, bias=False)
        self.conv2 = nn.Conv2d(cout, cout, 1, groups=M, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=2e-5)
        self.L, self.M, self.relu = L, M, relu

    def forward(self, x):
        x = reorder(self.conv1(x), self.L)
        x = self.bn(reorder(self.conv2(x), self.M))
        return F.relu(x) if self.relu else x


class IGCV1Block(nn.Module):
    """get_fusion of resnet_igc.py: two IGCs (the second without ReLU; the secondary
    partitions are kin/L and kout/L as get_two sets them), a 1x1 stride-2 group conv
    (L groups) + BN shortcut when the width changes, add, ReLU."""

    def __init__(self, kin, kout, L):
        super().__init__()
        stride = 1 if kin == kout else 2
        self.two1 = IGC(kin, kout, 3, stride, L, kin // L)
        self.two2 = IGC(kout, kout, 3, 1, L, kout // L, relu=False)
        self.line = None
        if kin != kout:
            self.line = nn.Sequential(nn.Conv2d(kin, kout, 1, 2, groups=L, bias=False), nn.BatchNorm2d(kout, eps=2e-5))

    def forward(self, x):
        s = x if self.line is None else self.line(x)
        return F.relu(s + self.two2(self.two1(x)))


class IGCV3Block(nn.Module):
    """inverted_residual_unit of homles11/IGCV3 symbols/igcv3.py: 1x1 group conv (2 groups)
    + BN (no activation in the reference; exp_act=True adds xxradon/IGCV3-pytorch's
    ReLU6), permutation(2), depthwise 3x3 + BN + ReLU6, 1x1 group conv (2 groups) + BN,
    permutation(C_out/2), identity shortcut when stride 1 and C_in == C_out."""

    def __init__(self, cin, cout, mid, stride, exp_act=False):
        super().__init__()
        self.exp = nn.Conv2d(cin, mid, 1, groups=2, bias=False)
        self.exp_bn = nn.BatchNorm2d(mid)
        self.dw = nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False)
        self.dw_bn = nn.BatchNorm2d(mid)
        self.linear = nn.Conv2d(mid, cout, 1, groups=2, bias=False)
        self.linear_bn = nn.BatchNorm2d(cout)
        self.res = stride == 1 and cin == cout
        self.exp_act, self.cout = exp_act, cout

    def forward(self, x):
        y = self.exp_bn(self.exp(x))
        if self.exp_act:
            y = F.relu6(y)
        y = reorder(y, 2)
        y = F.relu6(self.dw_bn(self.dw(y)))
        y = reorder(self.linear_bn(self.linear(y)), self.cout // 2)
        return x + y if self.res else y


# ---------------------------------------------------------------------------------------

def count(net, shape):
    """MACs and parameters of one sample, as reference_net.py's count()."""
    macs = 0

    def hook(m, i, o):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += o[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    hs = [m.register_forward_hook(hook) for m in net.modules()]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, *shape))
    for h in hs:
        h.remove()
    return macs, sum(p.numel() for p in net.parameters())


def case(name, net, shape, config, float64=False):
    """Randomises batch norms, runs a train step and an eval forward, writes the fixture.
    With float64 the step runs in double precision (random values drawn in float32, as
    always), so the stored float32 results are the exact ones rounded once."""
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
    net.train()
    x = torch.randn(2, *shape)
    dy = torch.randn_like(net(x.clone()))
    with torch.no_grad():  # undo that forward's update of the running statistics
        for i, bn in enumerate(bns):
            bn.running_mean.copy_(t["bn_mean.%03d" % i])
            bn.running_var.copy_(t["bn_var.%03d" % i])
    if float64:
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
    config = dict(config, macs=macs, params=params, param_names=names, bns=len(bns))
    write("block_" + name, config, t)


def oct_resnet50_layers():
    """oct_resnet.py's OctResNet(Bottleneck, [3, 4, 6, 3]) layer1..layer4 as _make_layer
    builds them: layer1 alpha_in 0; layer4 alpha_out 0 (output=True)."""
    mods, inplanes = [], 64
    for planes, blocks, stride, ain, aout in [(64, 3, 1, 0, 0.5), (128, 4, 2, 0.5, 0.5),
                                              (256, 6, 2, 0.5, 0.5), (512, 3, 2, 0.5, 0)]:
        ds = stride != 1 or inplanes != planes * 4
        mods.append(OctBottleneck(inplanes, planes, stride, ds, alpha_in=ain, alpha_out=aout))
        inplanes = planes * 4
        for _ in range(1, blocks):
            mods.append(OctBottleneck(inplanes, planes, alpha_in=aout, alpha_out=aout))
    return OctSeq(*mods)


def bl_resnet50_body():
    """blresnet.py's bLResNet(Bottleneck, [3, 4, 6, 3], alpha=2, beta=4) from after bn1's
    ReLU (64 channels at 112x112) to layer4: the stem branches, layer1..3, layer4."""
    layer4, inplanes, planes = [], 1024, 2048
    ds = nn.Sequential(nn.AvgPool2d(3, stride=2, padding=1), nn.Conv2d(inplanes, planes, 1, bias=False),
                       nn.BatchNorm2d(planes))
    layer4.append(BLBottleneck(inplanes, planes, 2, ds))
    for _ in range(1, 3):
        layer4.append(BLBottleneck(planes, planes))
    return nn.Sequential(BLStem(64, 2), BLModule(64, 256, 3, 2, 4, 2), BLModule(256, 512, 4, 2, 4, 2),
                         BLModule(512, 1024, 6, 2, 4, 1), *layer4)


def counts():
    """Whole-stage counts at ImageNet resolution, checked against the Go blocks' Cost."""
    macs, params = count(oct_resnet50_layers(), (64, 56, 56))
    write("block_count_oct_resnet50_layers", dict(macs=macs, params=params), {})
    macs, params = count(bl_resnet50_body(), (64, 112, 112))
    write("block_count_bl_resnet50_body", dict(macs=macs, params=params), {})


def main():
    torch.manual_seed(0)
    case("fire", Fire(8, 4, 6, 5), (8, 6, 5), dict(in_=8, squeeze=4, e1=6, e3=5))
    case("inception", Inception(6, 4, 3, 5, 2, 3, 4), (6, 5, 6),
         dict(in_=6, ch1=4, ch3red=3, ch3=5, ch5red=2, ch5=3, pool=4))
    case("bottleneck_s1", Bottleneck(16, 4), (16, 5, 5), dict(in_=16, planes=4, stride=1, groups=1, base_width=64))
    case("bottleneck_s2_proj", Bottleneck(8, 4, 2), (8, 7, 6), dict(in_=8, planes=4, stride=2, groups=1, base_width=64))
    # ResNeXt-style: 4 groups, base width 32: width int(4*32/64)*4 = 8.
    case("resnext_s2", Bottleneck(12, 4, 2, groups=4, base_width=32), (12, 6, 6),
         dict(in_=12, planes=4, stride=2, groups=4, base_width=32))
    case("basic_s1", BasicBlock(6, 6), (6, 5, 5), dict(in_=6, planes=6, stride=1))
    case("basic_s2", BasicBlock(4, 8, 2), (4, 7, 7), dict(in_=4, planes=8, stride=2))
    # Octave: first (alpha_in 0), grouped and strided middle, last (alpha_out 0) layers.
    case("octconv_seq", OctSeq(ConvBN(4, 8, 3, 0, 0.5, padding=1),
                                ConvBN(8, 8, 3, 0.5, 0.5, padding=1, groups=4),
                                ConvBN(8, 12, 3, 0.5, 0.5, stride=2, padding=1, groups=2),
                                ConvBN(12, 6, 1, 0.5, 0, act=False)), (4, 8, 8), {})
    # oct_resnet50's block kinds: layer1's first (alpha_in 0, projection), layer2's first
    # (stride 2, projection), a plain one, layer4's first (alpha_out 0, stride 2,
    # projection) and one after it (alpha 0 throughout). At 8x8 the last batch norms saw
    # 8 values per channel and amplified float32 rounding past 1e-4 (PyTorch's own
    # float32 gradients were 1.1e-4 off its float64 ones), so the input is 16x16 and the
    # reference runs in float64.
    case("octave_bottleneck_seq", OctSeq(OctBottleneck(4, 4, 1, True, alpha_in=0, alpha_out=0.5),
                                         OctBottleneck(16, 4, 2, True),
                                         OctBottleneck(16, 4),
                                         OctBottleneck(16, 4, 2, True, alpha_in=0.5, alpha_out=0),
                                         OctBottleneck(16, 4, alpha_in=0, alpha_out=0)), (4, 16, 16), {},
         float64=True)
    case("biglittle", BLModule(8, 16, 3, 2, 4, 2), (8, 8, 8), dict(in_=8, out=16, blocks=3, alpha=2, beta=4, stride=2))
    case("biglittle_s1", BLModule(16, 16, 4, 2, 1, 1), (16, 6, 6), dict(in_=16, out=16, blocks=4, alpha=2, beta=1, stride=1))
    case("biglittle_stem", BLStem(8, 2), (8, 8, 8), dict(c=8, alpha=2))
    case("igc", IGC(8, 12, 3, 2, 4, 3), (8, 7, 7), dict(in_=8, out=12, k=3, stride=2, primary=4, secondary=3))
    case("igcv1_same", IGCV1Block(8, 8, 2), (8, 5, 5), dict(in_=8, out=8, primary=2))
    case("igcv1_down", IGCV1Block(8, 16, 4), (8, 6, 6), dict(in_=8, out=16, primary=4))
    case("igcv3_res", IGCV3Block(8, 8, 24, 1), (8, 5, 5), dict(in_=8, out=8, mid=24, stride=1, exp_act=0))
    case("igcv3_s2", IGCV3Block(6, 8, 12, 2), (6, 7, 7), dict(in_=6, out=8, mid=12, stride=2, exp_act=0))
    case("igcv3_expact", IGCV3Block(4, 4, 8, 1, exp_act=True), (4, 5, 5), dict(in_=4, out=4, mid=8, stride=1, exp_act=1))
    # Appended last so that the cases above keep their random draws.
    case("fire_bn", FireBN(8, 4, 6, 5), (8, 6, 5), dict(in_=8, squeeze=4, e1=6, e3=5, bn=1))
    counts()


if __name__ == "__main__":
    main()
