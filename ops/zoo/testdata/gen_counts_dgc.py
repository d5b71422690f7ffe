#!/usr/bin/env python3
"""Reference parameter and MAC counts of dgc_resnet18, the zoo's ResNet-18 with dynamic
group convolutions (Su et al. ECCV 2020), from a re-implementation of its reference
implementation hellozhuo/dgc (models/dynamic_resnet.py dyresnet18, layers.py
DynamicMultiHeadConv and HeadConv) module for module, with the README's ImageNet
settings: heads 4, gate factor 0.45, squeeze rate 16.

Writes reference_counts_dgc.json beside this file, in reference_counts.json's fields.

Counting is gen_counts.py's count() (parameters: sum of p.numel(); MACs:
out.numel()*(in/groups)*kh*kw per nn.Conv2d and in*out per nn.Linear, from forward
hooks), plus the convolution of each DynamicMultiHeadConv, which calls F.conv2d with
its heads' weights rather than their nn.Conv2d modules, so that no hook sees it. It is
priced at the keep ratio, as ops.DynamicGroupConv.Cost does: each of the heads
convolves in - round(in * (1 - gate_factor)) input channels (layers.py's
inactive_channels after training), out.numel() * kept * kh * kw in all. The saliency
heads' nn.Linear layers are counted by the hooks. The reference's own utils.py
measure_model counts more (ReLU elements, pooling windows, linear biases, and the
convolutions at the float gate factor instead of the kept count); its figures are not
this convention's.

Usage (Debian: python3-torch, python3-torchvision): /usr/bin/python3 gen_counts_dgc.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

import gen_counts
from gen_counts import HERE, count, with_input_channels

HEADS, GATE_FACTOR, SQUEEZE_RATE = 4, 0.45, 16


class HeadConv(nn.Module):
    """layers.py HeadConv: a full-input conv (its weight only; DynamicMultiHeadConv
    convolves) and the saliency generator fc1 (no bias) -> ReLU -> fc2 -> ReLU."""

    def __init__(self, cin, cout, squeeze_rate, k, stride, pad):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        if cin < 80:
            squeeze_rate = squeeze_rate // 2
        self.fc1 = nn.Linear(cin, cin // squeeze_rate, bias=False)
        self.fc2 = nn.Linear(cin // squeeze_rate, cin, bias=True)

    def forward(self, x, x_averaged, inactive):
        b, c, _, _ = x.size()
        mask = F.relu(self.fc2(F.relu(self.fc1(x_averaged.view(b, c)))))
        mask_c = mask
        if inactive > 0:
            mask_c = mask.clone()
            low, _ = mask.topk(inactive, dim=1, largest=False, sorted=False)
            clamp_max, _ = low.max(dim=1, keepdim=True)
            mask_c[mask.le(clamp_max)] = 0
        return x * mask_c.view(b, c, 1, 1)


class DynamicMultiHeadConv(nn.Module):
    """layers.py DynamicMultiHeadConv at its trained number of inactive channels."""

    def __init__(self, cin, cout, k, stride=1, padding=0):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.heads, self.stride, self.padding = HEADS, stride, padding
        self.inactive = round(cin * (1 - GATE_FACTOR))
        self.kept = cin - self.inactive
        self.kernel = k
        for i in range(HEADS):
            setattr(self, "headconv_%1d" % i, HeadConv(cin, cout // HEADS, SQUEEZE_RATE, k, stride, padding))

    def forward(self, x):
        x = F.relu(self.norm(x))
        avg = F.adaptive_avg_pool2d(x, 1)
        hs = [getattr(self, "headconv_%1d" % i) for i in range(self.heads)]
        x_mask = torch.cat([h(x, avg, self.inactive) for h in hs], 1)
        weight = torch.cat([h.conv.weight for h in hs], 0)
        out = F.conv2d(x_mask, weight, None, self.stride, self.padding, 1, self.heads)
        b, c, h, w = out.size()
        return out.view(b, self.heads, c // self.heads, h, w).transpose(1, 2).contiguous().view(b, c, h, w)


class BasicBlock(nn.Module):
    """dynamic_resnet.py BasicBlock."""

    def __init__(self, cin, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = DynamicMultiHeadConv(cin, planes, 3, stride, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = DynamicMultiHeadConv(planes, planes, 3, 1, 1)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.downsample is None else self.downsample(x)
        return F.relu(out + identity)


class DyResNet18(nn.Module):
    """dynamic_resnet.py ResNet(BasicBlock, [2, 2, 2, 2]): dyresnet18."""

    def __init__(self, classes=1000):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        layers, cin = [], 64
        for stage, planes in enumerate([64, 128, 256, 512]):
            stride = 1 if stage == 0 else 2
            down = None
            if stride != 1 or cin != planes:
                down = nn.Sequential(DynamicMultiHeadConv(cin, planes, 1, stride, 0), nn.BatchNorm2d(planes))
            layers.append(nn.Sequential(BasicBlock(cin, planes, stride, down), BasicBlock(planes, planes)))
            cin = planes
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def count_dgc(net, c, h, w):
    """gen_counts.py's count() plus each DynamicMultiHeadConv's convolution at its kept
    channels: out.numel() * kept * k * k."""
    params, macs = count(net, c, h, w)
    extra = 0

    def hook(m, i, o):
        nonlocal extra
        extra += o[0].numel() * m.kept * m.kernel * m.kernel

    hs = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, DynamicMultiHeadConv)]
    net.eval()
    with torch.no_grad():
        net(torch.zeros(1, c, h, w))
    for hd in hs:
        hd.remove()
    return params, macs + extra


def proxy_strides(net, c, side, n):
    """gen_counts.py's proxy_strides with DynamicMultiHeadConv among the downsampling
    modules (its stride is an attribute F.conv2d reads): the first n stride-2
    downsamplings, found in a forward pass at side x side, become stride 1."""
    return gen_counts.proxy_strides(net, c, side, n, kinds=(nn.Conv2d, nn.MaxPool2d, DynamicMultiHeadConv))


SOURCE = ("hellozhuo/dgc models/dynamic_resnet.py dyresnet18, layers.py DynamicMultiHeadConv (heads 4, "
          "gate factor 0.45, squeeze rate 16); convolutions priced at the kept channels (gen_counts_dgc.py)")

# name, (C, H, W), classes, proxy strides, target side, source
VARIANTS = [
    ("dgc_resnet18", (3, 224, 224), 1000, 0, 224, SOURCE),
    # Proxies: MNIST's 28x28x1 (224/28 = 8: three proxy strides) and CIFAR's 32x32x3
    # (224/32 = 7: two), 10 classes.
    ("dgc_resnet18", (1, 28, 28), 10, 3, 224, SOURCE + ", 1-channel stem, first 3 stride-2 downsamplings "
     "at stride 1 (gen_counts_dgc.py proxy_strides)"),
    ("dgc_resnet18", (3, 32, 32), 10, 2, 224, SOURCE + ", first 2 stride-2 downsamplings at stride 1 "
     "(gen_counts_dgc.py proxy_strides)"),
]


def main():
    torch.manual_seed(0)
    out = []
    for name, (c, h, w), classes, proxy, target, source in VARIANTS:
        net = with_input_channels(DyResNet18(classes), c)
        if proxy:
            net = proxy_strides(net, c, target, proxy)
        params, macs = count_dgc(net, c, h, w)
        out.append(dict(name=name, input=f"{h}x{w}x{c}", classes=classes, width=1.0, proxy_strides=proxy,
                        params=params, macs=macs, source=source, published=""))
        print(f"{name:18s} {h}x{w}x{c:<2d} p{proxy} params {params:>11,d} MACs {macs:>14,d}")
    with open(os.path.join(HERE, "reference_counts_dgc.json"), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
