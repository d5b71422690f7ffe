#!/usr/bin/env python3
"""Reference parameter and MAC counts of the zoo's networks, from their reference
implementations in PyTorch.

Writes reference_counts.json beside this file: one object per network with its name,
input ("HxWxC"), classes, width (multiplier), proxy_strides (how many of the first
stride-2 downsamplings run at stride 1), params, macs, source (the reference
implementation) and, where the paper or the reference repository publishes them, the
published rounded figures. NETWORKS are the zoo at its reference inputs; VARIANTS are
the networks BuildWith scales (widths, proxy strides) built the same way in PyTorch.

Counting follows ../../../../shared/bench/reference_net.py's count(): parameters are
sum(p.numel()) over net.parameters() (no batch-norm running statistics); MACs come from
forward hooks on one image, out.numel()*(in/groups)*kh*kw per nn.Conv2d and in*out per
nn.Linear, nothing else (no batch norm, activations, pooling, additions, biases).

torchvision's own models are used where the issue names torchvision. The others are
re-implemented here, module for module, from the reference implementation each
function's docstring names; only the parts that carry parameters or MACs matter for the
counts, but the forward passes are complete so that the hooks see the true shapes.

Usage (Debian: python3-torch, python3-torchvision): /usr/bin/python3 gen_counts.py
"""
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED_BENCH = os.path.join(HERE, "..", "..", "..", "..", "shared", "bench")


def count(net, c, h, w):
    """Parameters and MACs of one c x h x w image, as reference_net.py's count()."""
    macs = 0

    def hook(m, i, o):
        nonlocal macs
        if isinstance(m, nn.Conv2d):
            macs += o[0].numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]
        elif isinstance(m, nn.Linear):
            macs += m.in_features * m.out_features

    hs = [m.register_forward_hook(hook) for m in net.modules()]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, c, h, w))
    for hd in hs:
        hd.remove()
    return sum(p.numel() for p in net.parameters()), macs


def channel_shuffle(x, g):
    """ShuffleNet's shuffle: (g, c/g) -> (c/g, g)."""
    n, c, h, w = x.shape
    return x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


# ---------------------------------------------------------------------------------
# MobileNetV1 1.0 (Howard et al. 2017, Table 1, with the second-to-last depthwise at
# stride 1 as in every implementation, e.g. tensorflow/models slim mobilenet_v1.py
# _CONV_DEFS); BN after every convolution, FC with bias.

def mobilenet_v1(classes=1000, alpha=1.0):
    """MobileNetV1 at width multiplier alpha: every convolution's c outputs become
    int(c * alpha), as Keras applications mobilenet.py computes them."""
    def cbr(cin, cout, k, s, g):
        return [nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    defs = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
    cin = int(32 * alpha)
    layers = cbr(3, cin, 3, 2, 1)
    for cout, s in defs:
        cout = int(cout * alpha)
        layers += cbr(cin, cin, 3, s, cin) + cbr(cin, cout, 1, 1, 1)
        cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes))


# ---------------------------------------------------------------------------------
# ShuffleNet V1 1.0x, megvii-model/ShuffleNet-Series ShuffleNetV1/network.py and
# blocks.py: stage widths per group, first pointwise of stage 2 ungrouped, stride-2
# units concatenate a 3x3 average-pooled shortcut, classifier without bias.

class ShuffleV1Block(nn.Module):
    def __init__(self, inp, oup, group, first_group, mid, stride):
        super().__init__()
        self.stride, self.group = stride, group
        outputs = oup - inp if stride == 2 else oup
        self.main1 = nn.Sequential(
            nn.Conv2d(inp, mid, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid))
        self.main2 = nn.Sequential(nn.Conv2d(mid, outputs, 1, 1, 0, groups=group, bias=False),
                                   nn.BatchNorm2d(outputs))
        self.proj = nn.AvgPool2d(3, 2, 1) if stride == 2 else None

    def forward(self, x):
        y = self.main1(x)
        if self.group > 1:  # megvii's shuffle is the transpose of channel_shuffle
            n, c, h, w = y.shape
            y = y.reshape(n, c // self.group, self.group, h, w).permute(0, 2, 1, 3, 4).reshape(n, c, h, w)
        y = self.main2(y)
        if self.stride == 1:
            return F.relu(y + x)
        return torch.cat((self.proj(x), F.relu(y)), 1)


def shufflenet_v1(group, classes=1000):
    widths = {3: [24, 240, 480, 960], 8: [24, 384, 768, 1536]}[group]
    layers = [nn.Conv2d(3, 24, 3, 2, 1, bias=False), nn.BatchNorm2d(24), nn.ReLU(), nn.MaxPool2d(3, 2, 1)]
    cin = 24
    for stage, reps in enumerate([4, 8, 4]):
        cout = widths[stage + 1]
        for i in range(reps):
            layers.append(ShuffleV1Block(cin, cout, group, stage == 0 and i == 0, cout // 4, 2 if i == 0 else 1))
            cin = cout
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes, bias=False))


# ---------------------------------------------------------------------------------
# MixNet-S and MixNet-M as timm builds them (huggingface/pytorch-image-models
# timm/models/efficientnet.py _gen_mixnet_s/_gen_mixnet_m, _efficientnet_builder.py,
# _efficientnet_blocks.py, layers/mixed_conv2d.py), itself a port of tensorflow/tpu
# models/official/mnasnet/mixnet. Symmetric padding (timm's non-"tf_" variants).

def split_channels(c, n):
    """timm's _split_channels: equal parts, the remainder to the first."""
    s = [c // n] * n
    s[0] += c - sum(s)
    return s


class MixedConv(nn.Module):
    def __init__(self, cin, cout, ks, stride=1, depthwise=False):
        super().__init__()
        ks = ks if isinstance(ks, list) else [ks]
        self.ins, outs = split_channels(cin, len(ks)), split_channels(cout, len(ks))
        self.convs = nn.ModuleList(
            nn.Conv2d(i, o, k, stride, ((stride - 1) + (k - 1)) // 2, groups=o if depthwise else 1, bias=False)
            for i, o, k in zip(self.ins, outs, ks))

    def forward(self, x):
        return torch.cat([c(p) for c, p in zip(self.convs, torch.split(x, self.ins, 1))], 1)


class SqueezeExcite(nn.Module):
    def __init__(self, c, rd, act):
        super().__init__()
        self.reduce, self.act, self.expand = nn.Conv2d(c, rd, 1), act(), nn.Conv2d(rd, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.expand(self.act(self.reduce(x.mean((2, 3), keepdim=True)))))


class MixBlock(nn.Module):
    """timm's InvertedResidual ('ir') and DepthwiseSeparableConv ('ds')."""

    def __init__(self, kind, cin, cout, dw, stride, exp, a, p, se, act):
        super().__init__()
        self.skip = stride == 1 and cin == cout
        layers = []
        mid = cin
        if kind == "ir":
            mid = make_divisible(cin * exp)
            layers += [MixedConv(cin, mid, a), nn.BatchNorm2d(mid), act()]
        layers += [MixedConv(mid, mid, dw, stride, depthwise=True), nn.BatchNorm2d(mid), act()]
        if se:
            # builder: se_ratio / exp_ratio of the expanded width (se_from_exp=False)
            layers.append(SqueezeExcite(mid, round(mid * se / exp), act))
        layers += [MixedConv(mid, cout, p), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        y = self.body(x)
        return x + y if self.skip else y


def make_divisible(v, divisor=8, round_limit=0.9):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < round_limit * v:
        new_v += divisor
    return new_v


def decode(block_str):
    """One block string of timm's arch_def ('ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c40_se0.5_nsw')."""
    parts = block_str.split("_")
    o = {"kind": parts[0], "a": [1], "p": [1], "e": 1.0, "se": 0.0, "act": None}
    for op in parts[1:]:
        if op == "nsw":
            o["act"] = nn.SiLU
        elif op.startswith("se"):
            o["se"] = float(op[2:])
        elif op[0] in "ak" or op[0] == "p":
            o[op[0]] = [int(k) for k in op[1:].split(".")]
        elif op[0] == "e":
            o["e"] = float(op[1:])
        elif op[0] in "rsc":
            o[op[0]] = int(op[1:])
    return o


MIXNET_S = [
    ["ds_r1_k3_s1_e1_c16"],
    ["ir_r1_k3_a1.1_p1.1_s2_e6_c24", "ir_r1_k3_a1.1_p1.1_s1_e3_c24"],
    ["ir_r1_k3.5.7_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"],
    ["ir_r1_k3.5.7_p1.1_s2_e6_c80_se0.25_nsw", "ir_r2_k3.5_p1.1_s1_e6_c80_se0.25_nsw"],
    ["ir_r1_k3.5.7_a1.1_p1.1_s1_e6_c120_se0.5_nsw", "ir_r2_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"],
    ["ir_r1_k3.5.7.9.11_s2_e6_c200_se0.5_nsw", "ir_r2_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"],
]
MIXNET_M = [
    ["ds_r1_k3_s1_e1_c24"],
    ["ir_r1_k3.5.7_a1.1_p1.1_s2_e6_c32", "ir_r1_k3_a1.1_p1.1_s1_e3_c32"],
    ["ir_r1_k3.5.7.9_s2_e6_c40_se0.5_nsw", "ir_r3_k3.5_a1.1_p1.1_s1_e6_c40_se0.5_nsw"],
    ["ir_r1_k3.5.7_s2_e6_c80_se0.25_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e6_c80_se0.25_nsw"],
    ["ir_r1_k3_s1_e6_c120_se0.5_nsw", "ir_r3_k3.5.7.9_a1.1_p1.1_s1_e3_c120_se0.5_nsw"],
    ["ir_r1_k3.5.7.9_s2_e6_c200_se0.5_nsw", "ir_r3_k3.5.7.9_p1.1_s1_e6_c200_se0.5_nsw"],
]


def mixnet(arch, stem, classes=1000, features=1536):
    layers = [nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU()]
    cin = stem
    for stage in arch:
        for s in stage:
            o = decode(s)
            for i in range(o["r"]):
                layers.append(MixBlock(o["kind"], cin, o["c"], o["k"], o["s"] if i == 0 else 1, o["e"],
                                       o["a"], o["p"], o["se"], o["act"] or nn.ReLU))
                cin = o["c"]
    layers += [nn.Conv2d(cin, features, 1, bias=False), nn.BatchNorm2d(features), nn.ReLU(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(features, classes)]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------------------
# Xception (Chollet 2017) at 299x299, Cadene/pretrained-models.pytorch
# pretrainedmodels/models/xception.py (the same as timm's legacy_xception): unpadded
# stem convolutions, separable convolutions without bias, blocks ending in a 3x3
# stride-2 max pool when they downsample, FC with bias.

class SeparableConv(nn.Sequential):
    def __init__(self, cin, cout):
        super().__init__(nn.Conv2d(cin, cin, 3, 1, 1, groups=cin, bias=False), nn.Conv2d(cin, cout, 1, bias=False))


class XceptionBlock(nn.Module):
    def __init__(self, cin, cout, reps, stride, start_with_relu, grow_first):
        super().__init__()
        self.skip = None
        if cout != cin or stride != 1:
            self.skip = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        rep, c = [], cin
        if grow_first:
            rep += [nn.ReLU(), SeparableConv(cin, cout), nn.BatchNorm2d(cout)]
            c = cout
        for _ in range(reps - 1):
            rep += [nn.ReLU(), SeparableConv(c, c), nn.BatchNorm2d(c)]
        if not grow_first:
            rep += [nn.ReLU(), SeparableConv(cin, cout), nn.BatchNorm2d(cout)]
        if not start_with_relu:
            rep = rep[1:]
        if stride != 1:
            rep.append(nn.MaxPool2d(3, stride, 1))
        self.rep = nn.Sequential(*rep)

    def forward(self, x):
        return self.rep(x) + (self.skip(x) if self.skip is not None else x)


def xception(classes=1000):
    blocks = [XceptionBlock(64, 128, 2, 2, False, True), XceptionBlock(128, 256, 2, 2, True, True),
              XceptionBlock(256, 728, 2, 2, True, True)]
    blocks += [XceptionBlock(728, 728, 3, 1, True, True) for _ in range(8)]
    blocks += [XceptionBlock(728, 1024, 2, 2, True, False)]
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 2, 0, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.Conv2d(32, 64, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(), *blocks,
        SeparableConv(1024, 1536), nn.BatchNorm2d(1536), nn.ReLU(),
        SeparableConv(1536, 2048), nn.BatchNorm2d(2048), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2048, classes))


# ---------------------------------------------------------------------------------
# IGCV3-D 1.0 (Sun et al. 2018), homles11/IGCV3 symbols/igcv3.py (MXNet): MobileNetV2's
# layout with the middle stages twice as deep; every unit, t=1 included, expands with a
# 2-group 1x1 convolution without activation, permutes (groups 2), runs a 3x3 depthwise
# with ReLU6 and projects with a 2-group 1x1 convolution, permuted again; the first unit
# of each stage has no shortcut; BN has gamma (fix_gamma=False); FC with bias.

class IGCV3Unit(nn.Module):
    def __init__(self, cin, cout, t, stride, shortcut):
        super().__init__()
        mid = int(round(cin * t))
        self.shortcut, self.cout = shortcut, cout
        self.exp = nn.Sequential(nn.Conv2d(cin, mid, 1, groups=2, bias=False), nn.BatchNorm2d(mid))
        self.dw = nn.Sequential(nn.Conv2d(mid, mid, 3, stride, 1, groups=mid, bias=False), nn.BatchNorm2d(mid),
                                nn.ReLU6())
        self.lin = nn.Sequential(nn.Conv2d(mid, cout, 1, groups=2, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = self.lin(self.dw(channel_shuffle(self.exp(x), 2)))
        y = channel_shuffle(y, self.cout // 2)
        return x + y if self.shortcut else y


def igcv3(classes=1000):
    settings = [(1, 16, 1, 1), (6, 24, 4, 2), (6, 32, 6, 2), (6, 64, 8, 2), (6, 96, 6, 1), (6, 160, 6, 2),
                (6, 320, 1, 1)]
    layers = [nn.Conv2d(3, 32, 3, 2, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
    cin = 32
    for t, c, n, s in settings:
        for i in range(n):
            layers.append(IGCV3Unit(cin, c, t, s if i == 0 else 1, i > 0))
            cin = c
    layers += [nn.Conv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6(),
               nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(1280, classes)]
    return nn.Sequential(*layers)


# ---------------------------------------------------------------------------------
# Octave ResNet-50, alpha 0.5 (Chen et al. 2019), d-li14/octconv.pytorch oct_resnet.py
# and octconv.py: every octave convolution runs at stride 1, a stride of 2 is a 2x2
# average pool of the high-frequency input first; the low branch of a stride-1
# convolution is upsampled (nearest) after the low-to-high convolution; stage 1 starts
# from alpha_in 0, stage 4 merges back to alpha_out 0 in its first 1x1 convolution and
# its shortcut.

class OctaveConv(nn.Module):
    def __init__(self, cin, cout, k, ain, aout, stride=1, padding=0):
        super().__init__()
        self.stride, self.aout = stride, aout
        lin, lout = int(ain * cin), int(aout * cout)
        hin, hout = cin - lin, cout - lout

        def conv(i, o, on):
            return nn.Conv2d(i, o, k, 1, padding, bias=False) if on else None

        self.l2l = conv(lin, lout, ain != 0 and aout != 0)
        self.l2h = conv(lin, hout, ain != 0 and aout != 1)
        self.h2l = conv(hin, lout, ain != 1 and aout != 0)
        self.h2h = conv(hin, hout, ain != 1 and aout != 1)
        self.down = nn.AvgPool2d(2, 2)

    def forward(self, x):
        xh, xl = x if isinstance(x, tuple) else (x, None)
        if self.stride == 2:
            xh = self.down(xh)
        h2h = self.h2h(xh)
        h2l = self.h2l(self.down(xh)) if self.aout > 0 else None
        if xl is None:
            return h2h, h2l
        l2h = self.l2h(xl)
        if self.stride == 1:
            l2h = F.interpolate(l2h, scale_factor=2, mode="nearest")
        xl2 = self.down(xl) if self.stride == 2 else xl
        l2l = self.l2l(xl2) if self.aout > 0 else None
        return l2h + h2h, (h2l + l2l if h2l is not None and l2l is not None else None)


class OctConvBN(nn.Module):
    def __init__(self, cin, cout, k, ain, aout, stride=1, padding=0, act=True):
        super().__init__()
        self.conv = OctaveConv(cin, cout, k, ain, aout, stride, padding)
        self.bn_h = nn.BatchNorm2d(int(cout * (1 - aout))) if aout != 1 else None
        self.bn_l = nn.BatchNorm2d(int(cout * aout)) if aout != 0 else None
        self.act = act

    def forward(self, x):
        h, l = self.conv(x)
        h = self.bn_h(h)
        l = self.bn_l(l) if l is not None else None
        if self.act:
            h = F.relu(h)
            l = F.relu(l) if l is not None else None
        return h, l


class OctBottleneck(nn.Module):
    def __init__(self, cin, planes, stride, downsample, ain, aout, output):
        super().__init__()
        a = 0 if output else 0.5
        self.conv1 = OctConvBN(cin, planes, 1, ain, aout)
        self.conv2 = OctConvBN(planes, planes, 3, a, a, stride, 1)
        self.conv3 = OctConvBN(planes, planes * 4, 1, a, a, act=False)
        self.downsample = downsample

    def forward(self, x):
        ih, il = x if isinstance(x, tuple) else (x, None)
        h, l = self.conv3(self.conv2(self.conv1(x)))
        if self.downsample is not None:
            ih, il = self.downsample(x)
        h = F.relu(h + ih)
        l = F.relu(l + il) if il is not None else None
        return h, l


class OctResNet50(nn.Module):
    def __init__(self, classes=1000):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                                  nn.MaxPool2d(3, 2, 1))
        layers, self.cin = [], 64
        layers += self.make(64, 3, 1, 0, 0.5, False)
        layers += self.make(128, 4, 2, 0.5, 0.5, False)
        layers += self.make(256, 6, 2, 0.5, 0.5, False)
        layers += self.make(512, 3, 2, 0.5, 0, True)
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(2048, classes)

    def make(self, planes, blocks, stride, ain, aout, output):
        down = None
        if stride != 1 or self.cin != planes * 4:
            down = OctConvBN(self.cin, planes * 4, 1, ain, aout, stride, act=False)
        out = [OctBottleneck(self.cin, planes, stride, down, ain, aout, output)]
        self.cin = planes * 4
        a = 0 if output else 0.5
        out += [OctBottleneck(self.cin, planes, 1, None, a, a, output) for _ in range(1, blocks)]
        return out

    def forward(self, x):
        h, _ = self.layers(self.stem(x))
        return self.fc(h.mean((2, 3)))


# ---------------------------------------------------------------------------------
# bL-ResNet-50, alpha 2, beta 4 (Chen et al. 2019), IBM/BigLittleNet models/blresnet.py:
# a two-branch stem, three big-little modules (big branch: blocks-1 bottlenecks from a
# stride 2, the last without its ReLU; little branch: max(1, blocks//beta-1) bottlenecks
# at width/alpha then a 1x1 expansion; nearest upsampling; a fusion bottleneck), then a
# plain ResNet stage 4 whose downsampling shortcut is a 3x3 average pool and a 1x1 conv.

class BLBottleneck(nn.Module):
    def __init__(self, cin, planes, stride=1, downsample=None, last_relu=True):
        super().__init__()
        mid = planes // 4
        self.body = nn.Sequential(
            nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, mid, 3, stride, 1, bias=False), nn.BatchNorm2d(mid), nn.ReLU(),
            nn.Conv2d(mid, planes, 1, bias=False), nn.BatchNorm2d(planes))
        self.downsample, self.last_relu = downsample, last_relu

    def forward(self, x):
        y = self.body(x) + (self.downsample(x) if self.downsample is not None else x)
        return F.relu(y) if self.last_relu else y


def bl_layer(cin, planes, blocks, stride=1, last_relu=True):
    down = []
    if stride != 1:
        down.append(nn.AvgPool2d(3, 2, 1))
    if cin != planes:
        down += [nn.Conv2d(cin, planes, 1, bias=False), nn.BatchNorm2d(planes)]
    down = nn.Sequential(*down) if down else None
    if blocks == 1:
        return nn.Sequential(BLBottleneck(cin, planes, stride, down))
    layers = [BLBottleneck(cin, planes, stride, down)]
    layers += [BLBottleneck(planes, planes, last_relu=last_relu if i == blocks - 1 else True) for i in range(1, blocks)]
    return nn.Sequential(*layers)


class BLModule(nn.Module):
    def __init__(self, cin, cout, blocks, alpha, beta, stride):
        super().__init__()
        self.big = bl_layer(cin, cout, blocks - 1, 2, last_relu=False)
        self.little = bl_layer(cin, cout // alpha, max(1, blocks // beta - 1))
        self.little_e = nn.Sequential(nn.Conv2d(cout // alpha, cout, 1, bias=False), nn.BatchNorm2d(cout))
        self.fusion = bl_layer(cout, cout, 1, stride)

    def forward(self, x):
        little = self.little_e(self.little(x))
        big = F.interpolate(self.big(x), little.shape[2:])
        return self.fusion(F.relu(big + little))


class BLResNet50(nn.Module):
    def __init__(self, alpha=2, beta=4, classes=1000):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        self.b0 = nn.Sequential(nn.Conv2d(64, 64, 3, 2, 1, bias=False), nn.BatchNorm2d(64))
        la = 64 // alpha
        self.l0 = nn.Sequential(
            nn.Conv2d(64, la, 3, 1, 1, bias=False), nn.BatchNorm2d(la), nn.ReLU(),
            nn.Conv2d(la, la, 3, 2, 1, bias=False), nn.BatchNorm2d(la), nn.ReLU(),
            nn.Conv2d(la, 64, 1, bias=False), nn.BatchNorm2d(64))
        self.init = nn.Sequential(nn.Conv2d(64, 64, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        self.layers = nn.Sequential(BLModule(64, 256, 3, alpha, beta, 2), BLModule(256, 512, 4, alpha, beta, 2),
                                    BLModule(512, 1024, 6, alpha, beta, 1), bl_layer(1024, 2048, 3, 2))
        self.fc = nn.Linear(2048, classes)

    def forward(self, x):
        x = self.conv1(x)
        x = self.init(F.relu(self.b0(x) + self.l0(x)))
        return self.fc(self.layers(x).mean((2, 3)))


# ---------------------------------------------------------------------------------
# CondenseNet-74 (Huang et al. 2018), converted (inference) form, ShichenLiu/CondenseNet
# models/condensenet_converted.py and layers.py (CondenseConv, Conv, CondenseLinear):
# stages 4-6-8-10-8, growth 8-16-32-64-128, bottleneck 4, C = G; each dense layer is
# index-select -> BN -> ReLU -> 1x1 conv with G groups -> shuffle, then BN -> ReLU -> 3x3
# conv with G groups; transitions are 2x2 average pools; the classifier selects half of
# the features before its linear layer (CondenseLinear, drop rate 0.5).

class CondenseLayer(nn.Module):
    def __init__(self, cin, growth, g):
        super().__init__()
        self.g = g
        self.register_buffer("index", torch.arange(cin))
        self.conv1 = nn.Sequential(nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, groups=g, bias=False))
        self.conv2 = nn.Sequential(nn.BatchNorm2d(4 * growth), nn.ReLU(),
                                   nn.Conv2d(4 * growth, growth, 3, 1, 1, groups=g, bias=False))

    def forward(self, x):
        y = channel_shuffle(self.conv1(torch.index_select(x, 1, self.index)), self.g)
        return torch.cat([x, self.conv2(y)], 1)


class CondenseNet74(nn.Module):
    def __init__(self, g, classes=1000):
        super().__init__()
        stages, growth = [4, 6, 8, 10, 8], [8, 16, 32, 64, 128]
        c = 2 * growth[0]
        layers = [nn.Conv2d(3, c, 3, 2, 1, bias=False)]
        for i, (n, k) in enumerate(zip(stages, growth)):
            for j in range(n):
                layers.append(CondenseLayer(c + j * k, k, g))
            c += n * k
            if i != len(stages) - 1:
                layers.append(nn.AvgPool2d(2, 2))
        layers += [nn.BatchNorm2d(c), nn.ReLU(), nn.AvgPool2d(7)]
        self.features = nn.Sequential(*layers)
        self.register_buffer("index", torch.arange(c // 2))
        self.fc = nn.Linear(c // 2, classes)

    def forward(self, x):
        x = self.features(x).flatten(1)
        return self.fc(torch.index_select(x, 1, self.index))


# ---------------------------------------------------------------------------------

def reference_net_module():
    sys.path.insert(0, SHARED_BENCH)
    import reference_net as rn
    return rn


def reference_net():
    return reference_net_module().Net()


def reference_net_width(w, classes=10):
    """reference_net.py's Net at width w, built from its Block: every channel count c
    becomes torchvision's _make_divisible(c * w, d), d the least common multiple of 8
    and the groups of the blocks producing and reading it (all of 1, 4, 8 divide 8, so
    d = 8). reference_net.py has no width multiplier: this is the rule the zoo's
    BuildWith documents, re-implemented here from the reference Block."""
    rn = reference_net_module()
    div = torchvision.models.mobilenetv2._make_divisible
    stem, head = div(16 * w, 8), div(256 * w, 8)
    c, blocks = stem, []
    for cout, stride, ks, g in [(24, 2, (3,), 1), (24, 1, (3,), 4), (48, 2, (3, 5), 1), (48, 1, (3, 5, 7), 4),
                                (96, 2, (3,), 1), (96, 1, (3,), 8)]:
        cout = div(cout * w, 8)
        blocks.append(rn.Block(c, cout, 4, stride, ks=ks, g=g))
        c = cout

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(1, stem, 3, 1, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU6())
            self.blocks = nn.Sequential(*blocks)
            self.head = nn.Sequential(nn.Conv2d(c, head, 1, bias=False), nn.BatchNorm2d(head), nn.ReLU6())
            self.fc = nn.Linear(head, classes)

        def forward(self, x):
            return self.fc(self.head(self.blocks(self.stem(x))).mean((2, 3)))

    return Net()


# ---------------------------------------------------------------------------------
# The proxy derivation (the zoo's Options.ProxyStrides, package space's strides): on
# an input smaller than the target, the network's first stride-2 downsamplings become
# stride 1.

def with_input_channels(net, c):
    """Replace net's first convolution by one reading c channels (the proxy's images)."""
    for name, m in net.named_modules():
        if isinstance(m, nn.Conv2d):
            if m.in_channels != c:
                parent, _, attr = name.rpartition(".")
                setattr(net.get_submodule(parent) if parent else net, attr,
                        nn.Conv2d(c, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation, m.groups,
                                  m.bias is not None))
            return net
    raise ValueError("no convolution")


def proxy_strides(net, c, side, n, kinds=(nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
    """Set net's first n stride-2 downsamplings to stride 1. A downsampling is the set
    of stride-2 modules of the given kinds (convolutions and pools by default) whose
    inputs have one side length in a forward pass at the target side (a ShuffleNet
    unit's two strided depthwise convolutions are one); they are counted in the order
    the forward pass meets them. A module that is not an nn.Conv2d gets the int
    stride 1."""
    sites = []

    def hook(m, i, o):
        s = m.stride if isinstance(m.stride, int) else m.stride[0]
        if s == 2:
            sites.append((i[0].shape[-1], m))

    hs = [m.register_forward_hook(hook) for m in net.modules()
          if isinstance(m, kinds)]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, c, side, side))
    for hd in hs:
        hd.remove()
    sides = []
    for s, _ in sites:
        if s not in sides:
            sides.append(s)
    if len(sides) < n:
        raise ValueError(f"{n} proxy strides, only {len(sides)} downsamplings")
    for s, m in sites:
        if s in sides[:n]:
            m.stride = (1, 1) if isinstance(m, nn.Conv2d) else 1
    return net


TV = "torchvision " + torchvision.__version__.split("a")[0] + " torchvision.models."

NETWORKS = [
    # name, builder, (C, H, W), classes, source, published
    ("mobilenet_v1", mobilenet_v1, (3, 224, 224), 1000,
     "MobileNetV1 1.0 (Howard et al. 2017, Table 1; second-to-last depthwise at stride 1, as "
     "tensorflow/models research/slim/nets/mobilenet_v1.py _CONV_DEFS); BN; FC with bias",
     "paper Table 8: 569M Mult-Adds, 4.2M params"),
    ("mobilenet_v2", lambda: torchvision.models.mobilenet_v2(), (3, 224, 224), 1000, TV + "mobilenet_v2()",
     "torchvision docs: 3,504,872 params, 0.30 GFLOPS; paper Table 4: 300M MAdds, 3.4M params"),
    ("shufflenet_v1_g3", lambda: shufflenet_v1(3), (3, 224, 224), 1000,
     "megvii-model/ShuffleNet-Series ShuffleNetV1/network.py, blocks.py (1.0x, group=3)",
     "repository README: 138M FLOPs, 1.9M params; paper Table 2: 140 MFLOPs"),
    ("shufflenet_v1_g8", lambda: shufflenet_v1(8), (3, 224, 224), 1000,
     "megvii-model/ShuffleNet-Series ShuffleNetV1/network.py, blocks.py (1.0x, group=8)",
     "repository README: 138M FLOPs, 2.4M params; paper Table 2: 140 MFLOPs"),
    ("shufflenet_v2", lambda: torchvision.models.shufflenet_v2_x1_0(), (3, 224, 224), 1000,
     TV + "shufflenet_v2_x1_0()", "torchvision docs: 2,278,604 params, 0.14 GFLOPS; paper: 146M FLOPs"),
    ("squeezenet1_0", lambda: torchvision.models.squeezenet1_0(), (3, 224, 224), 1000, TV + "squeezenet1_0()",
     "torchvision docs: 1,248,424 params, 0.82 GFLOPS"),
    ("squeezenet1_1", lambda: torchvision.models.squeezenet1_1(), (3, 224, 224), 1000, TV + "squeezenet1_1()",
     "torchvision docs: 1,235,496 params, 0.35 GFLOPS"),
    ("mixnet_s", lambda: mixnet(MIXNET_S, 16), (3, 224, 224), 1000,
     "timm mixnet_s (huggingface/pytorch-image-models timm/models/efficientnet.py _gen_mixnet_s, "
     "_efficientnet_builder.py, _efficientnet_blocks.py, layers/mixed_conv2d.py)",
     "paper Table 3: 256M FLOPS, 4.1M params (the paper counts with TensorFlow's profiler, "
     "which prices more than convolutions and linear layers; the parameters agree)"),
    ("mixnet_m", lambda: mixnet(MIXNET_M, 24), (3, 224, 224), 1000,
     "timm mixnet_m (huggingface/pytorch-image-models timm/models/efficientnet.py _gen_mixnet_m, "
     "_efficientnet_builder.py, _efficientnet_blocks.py, layers/mixed_conv2d.py)",
     "paper Table 3: 360M FLOPS, 5.0M params (the paper counts with TensorFlow's profiler, "
     "which prices more than convolutions and linear layers; the parameters agree)"),
    ("xception", xception, (3, 299, 299), 1000,
     "Cadene/pretrained-models.pytorch pretrainedmodels/models/xception.py (timm legacy_xception)",
     "Keras applications: 22,855,952 trainable params (22.9M with BN statistics)"),
    ("googlenet", lambda: torchvision.models.googlenet(aux_logits=False, init_weights=False), (3, 224, 224), 1000,
     TV + "googlenet(aux_logits=False)", "torchvision docs: 6,624,904 params, 1.50 GFLOPS; paper: 1.5B mult-adds"),
    ("resnet50", lambda: torchvision.models.resnet50(), (3, 224, 224), 1000, TV + "resnet50()",
     "torchvision docs: 25,557,032 params, 4.09 GFLOPS"),
    ("resnext50_32x4d", lambda: torchvision.models.resnext50_32x4d(), (3, 224, 224), 1000,
     TV + "resnext50_32x4d()", "torchvision docs: 25,028,904 params, 4.23 GFLOPS"),
    ("igcv3", igcv3, (3, 224, 224), 1000, "homles11/IGCV3 symbols/igcv3.py (IGCV3-D, multiplier 1.0)",
     "repository README: 3.5M params"),
    ("oct_resnet50", OctResNet50, (3, 224, 224), 1000,
     "d-li14/octconv.pytorch oct_resnet.py oct_resnet50(), octconv.py (alpha 0.5)",
     "paper Table 3 (ResNet-50, alpha 0.5): 2.4 GFLOPs"),
    ("bl_resnet50", lambda: BLResNet50(2, 4), (3, 224, 224), 1000,
     "IBM/BigLittleNet models/blresnet.py blresnet_model(50, alpha=2, beta=4)",
     "paper Table 2 / repository README (bL-ResNet-50, a=2, b=4): 2.85 GFLOPs, 26.69M params"),
    ("condensenet74_c4", lambda: CondenseNet74(4), (3, 224, 224), 1000,
     "ShichenLiu/CondenseNet models/condensenet_converted.py, layers.py (stages 4-6-8-10-8, "
     "growth 8-16-32-64-128, C=G=4)", "repository README: 529M FLOPs, 4.8M params (its utils.py measure_model also counts ReLU "
     "elements, pooling window ops and linear biases: 516,640,576 + 12,687,688 = 529,328,264)"),
    ("condensenet74_c8", lambda: CondenseNet74(8), (3, 224, 224), 1000,
     "ShichenLiu/CondenseNet models/condensenet_converted.py, layers.py (stages 4-6-8-10-8, "
     "growth 8-16-32-64-128, C=G=8)", "repository README: 274M FLOPs, 2.9M params (its utils.py measure_model also counts ReLU "
     "elements, pooling window ops and linear biases: 261,545,792 + 12,687,688 = 274,233,480)"),
    ("reference_net", reference_net, (1, 28, 28), 10, "shared/bench/reference_net.py Net",
     "reference_net.py docstring: 98,266 params, 4,340,896 MACs"),
]


# The networks of BuildWith: widths and proxy strides, each against its reference
# implementation built at that width (torchvision's width_mult and shufflenet_v2_xW,
# Keras's alpha for MobileNetV1) and, for the proxies, modified by with_input_channels
# and proxy_strides above. Target is the side at which the downsamplings are found.
VARIANTS = [
    # name, builder(classes), (C, H, W), classes, width, proxy strides, target side, source, published
    ("mobilenet_v2", lambda k: torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=k), (3, 224, 224), 1000,
     0.5, 0, 224, TV + "mobilenet_v2(width_mult=0.5)",
     "Keras applications mobilenet_v2 table (TF-Slim checkpoints): mobilenet_v2_0.5_224 97M MACs, 1.95M params"),
    ("mobilenet_v2", lambda k: torchvision.models.mobilenet_v2(width_mult=0.75, num_classes=k), (3, 224, 224), 1000,
     0.75, 0, 224, TV + "mobilenet_v2(width_mult=0.75)",
     "Keras applications mobilenet_v2 table (TF-Slim checkpoints): mobilenet_v2_0.75_224 209M MACs, 2.61M params"),
    ("mobilenet_v2", lambda k: torchvision.models.mobilenet_v2(width_mult=1.4, num_classes=k), (3, 224, 224), 1000,
     1.4, 0, 224, TV + "mobilenet_v2(width_mult=1.4)",
     "Keras applications mobilenet_v2 table (TF-Slim checkpoints): mobilenet_v2_1.4_224 582M MACs, 6.06M params"),
    ("shufflenet_v2", lambda k: torchvision.models.shufflenet_v2_x0_5(num_classes=k), (3, 224, 224), 1000,
     0.5, 0, 224, TV + "shufflenet_v2_x0_5()", "torchvision docs: 1,366,792 params, 0.04 GFLOPS; paper: 41M FLOPs"),
    ("shufflenet_v2", lambda k: torchvision.models.shufflenet_v2_x1_5(num_classes=k), (3, 224, 224), 1000,
     1.5, 0, 224, TV + "shufflenet_v2_x1_5()", "torchvision docs: 3,503,624 params, 0.30 GFLOPS; paper: 299M FLOPs"),
    ("shufflenet_v2", lambda k: torchvision.models.shufflenet_v2_x2_0(num_classes=k), (3, 224, 224), 1000,
     2.0, 0, 224, TV + "shufflenet_v2_x2_0()", "torchvision docs: 7,393,996 params, 0.58 GFLOPS; paper: 591M FLOPs"),
    ("mobilenet_v1", lambda k: mobilenet_v1(k, 0.75), (3, 224, 224), 1000, 0.75, 0, 224,
     "MobileNetV1 as above, alpha 0.75 (int(c * alpha), Keras applications mobilenet.py)",
     "paper Table 6: 325M Mult-Adds, 2.6M params"),
    ("mobilenet_v1", lambda k: mobilenet_v1(k, 0.5), (3, 224, 224), 1000, 0.5, 0, 224,
     "MobileNetV1 as above, alpha 0.5 (int(c * alpha), Keras applications mobilenet.py)",
     "paper Table 6: 149M Mult-Adds, 1.3M params"),
    ("mobilenet_v1", lambda k: mobilenet_v1(k, 0.25), (3, 224, 224), 1000, 0.25, 0, 224,
     "MobileNetV1 as above, alpha 0.25 (int(c * alpha), Keras applications mobilenet.py)",
     "paper Table 6: 41M Mult-Adds, 0.5M params"),
    ("reference_net", lambda k: reference_net_width(0.5, k), (1, 28, 28), 10, 0.5, 0, 28,
     "shared/bench/reference_net.py Block, channels _make_divisible(c * 0.5, 8) (gen_counts.py reference_net_width)", ""),
    ("reference_net", lambda k: reference_net_width(1.5, k), (1, 28, 28), 10, 1.5, 0, 28,
     "shared/bench/reference_net.py Block, channels _make_divisible(c * 1.5, 8) (gen_counts.py reference_net_width)", ""),
    # Proxies: MNIST's 28x28x1 (224/28 = 8: three proxy strides) and CIFAR's 32x32x3
    # (224/32 = 7: two), 10 classes.
    ("mobilenet_v2", lambda k: torchvision.models.mobilenet_v2(width_mult=0.5, num_classes=k), (1, 28, 28), 10,
     0.5, 3, 224, TV + "mobilenet_v2(width_mult=0.5, num_classes=10), 1-channel stem, first 3 stride-2 "
     "downsamplings at stride 1 (gen_counts.py proxy_strides)", ""),
    ("mobilenet_v2", lambda k: torchvision.models.mobilenet_v2(num_classes=k), (3, 32, 32), 10,
     1.0, 2, 224, TV + "mobilenet_v2(num_classes=10), first 2 stride-2 downsamplings at stride 1 "
     "(gen_counts.py proxy_strides)", ""),
    ("shufflenet_v2", lambda k: torchvision.models.shufflenet_v2_x1_0(num_classes=k), (1, 28, 28), 10,
     1.0, 3, 224, TV + "shufflenet_v2_x1_0(num_classes=10), 1-channel stem, first 3 stride-2 downsamplings "
     "(stem, max pool, stage 2's unit) at stride 1 (gen_counts.py proxy_strides)", ""),
    ("shufflenet_v2", lambda k: torchvision.models.shufflenet_v2_x0_5(num_classes=k), (1, 28, 28), 10,
     0.5, 5, 224, TV + "shufflenet_v2_x0_5(num_classes=10), 1-channel stem, all 5 stride-2 downsamplings "
     "at stride 1 (gen_counts.py proxy_strides)", ""),
    ("mobilenet_v1", lambda k: mobilenet_v1(k, 0.5), (1, 28, 28), 10, 0.5, 3, 224,
     "MobileNetV1 as above, alpha 0.5, 10 classes, 1-channel stem, first 3 stride-2 downsamplings at "
     "stride 1 (gen_counts.py proxy_strides)", ""),
    ("reference_net", lambda k: reference_net(), (1, 14, 14), 10, 1.0, 1, 28,
     "shared/bench/reference_net.py Net, first stride-2 downsampling at stride 1 (gen_counts.py proxy_strides)", ""),
]


def main():
    torch.manual_seed(0)
    out = []
    for name, build, (c, h, w), classes, source, published in NETWORKS:
        net = build()
        params, macs = count(net, c, h, w)
        out.append(dict(name=name, input=f"{h}x{w}x{c}", classes=classes, width=1.0, proxy_strides=0,
                        params=params, macs=macs, source=source, published=published))
        print(f"{name:18s} {h}x{w}x{c:<2d} params {params:>11,d} MACs {macs:>14,d}")
    for name, build, (c, h, w), classes, width, proxy, target, source, published in VARIANTS:
        net = with_input_channels(build(classes), c)
        if proxy:
            net = proxy_strides(net, c, target, proxy)
        params, macs = count(net, c, h, w)
        out.append(dict(name=name, input=f"{h}x{w}x{c}", classes=classes, width=width, proxy_strides=proxy,
                        params=params, macs=macs, source=source, published=published))
        print(f"{name:18s} {h}x{w}x{c:<2d} w{width:<4} p{proxy} params {params:>11,d} MACs {macs:>14,d}")
    with open(os.path.join(HERE, "reference_counts.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
