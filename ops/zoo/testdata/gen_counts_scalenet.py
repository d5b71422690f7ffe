#!/usr/bin/env python3
"""Reference parameter and MAC counts of the zoo's scalenet50 (Li et al. 2019, "Data-Driven
Neuron Allocation for Scale Aggregation Networks"), from its reference implementation
Eli-YiLi/ScaleNet pytorch/scalenet.py (scalenet50(), ScaleNet, SABlock) with the published
structure structures/scalenet50.json, copied beside this file as scalenet50.json.

Writes reference_counts_scalenet.json (224x224x3) and scalenet50_small_counts.json (28x28x1
and 32x32x3, see SMALL) beside this file, with the fields of
reference_counts.json (see gen_counts.py) and its count() convention: parameters are
sum(p.numel()) over net.parameters(); MACs come from forward hooks on one image,
out.numel()*(in/groups)*kh*kw per nn.Conv2d and in*out per nn.Linear, nothing else.

The modules below re-implement the reference module for module, with three changes that
only matter away from its 224x224 ImageNet input, where the script checks that they change
nothing:
  - SABlock takes its structure row as an argument instead of a class-level counter;
  - the side that picks each branch's kernel (3x3 when side / 2**i > 1) is the feature
    map's actual side rather than the structure's (at 224 they are equal: asserted);
  - a pooling factor (of a branch, or the block's stride) larger than the feature map
    pools the whole side (at 224 the factors 2, 4 and 7 meet sides of 7 at the least:
    asserted), where PyTorch would reject the window, so that the network runs at small
    inputs such as MNIST's 28x28 (stages 3 and 4 at 1x1).

Usage (Debian: python3-torch): /usr/bin/python3 gen_counts_scalenet.py
"""
import json
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from gen_counts import count

HERE = os.path.dirname(os.path.abspath(__file__))
STRUCTURE = os.path.join(HERE, "scalenet50.json")
SOURCE = ("Eli-YiLi/ScaleNet pytorch/scalenet.py scalenet50(), SABlock, with structures/scalenet50.json "
          "(Li et al. 2019)")


class SABlock(nn.Module):
    """scalenet.py SABlock(inplanes, planes, stride, bias=False, downsample, structure)."""
    expansion = 4

    def __init__(self, inplanes, planes, stride, downsample, row, side, reference):
        super().__init__()
        channels = row[:-1]
        if reference:
            assert side == row[-1], f"feature side {side}, structure side {row[-1]}"
        self.scales = [None, 2, 4, 7]
        self.stride = stride
        self.downsample = None if not downsample else nn.Sequential(
            nn.Conv2d(inplanes, planes * 4, kernel_size=1, stride=1, bias=False), nn.BatchNorm2d(planes * 4))
        self.conv1 = nn.Conv2d(inplanes, planes, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.ModuleList([
            nn.Conv2d(planes, channels[i], kernel_size=3 if side / 2 ** i > 1 else 1, stride=1,
                      padding=1 if side / 2 ** i > 1 else 0, bias=False) if channels[i] > 0 else None
            for i in range(len(self.scales))])
        self.bn2 = nn.ModuleList([nn.BatchNorm2d(channels[i]) if channels[i] > 0 else None
                                  for i in range(len(self.scales))])
        self.conv3 = nn.Conv2d(sum(channels), planes * 4, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.reference = reference

    def forward(self, x):
        if self.stride > 1:
            k = (min(self.stride, x.shape[2]), min(self.stride, x.shape[3]))
            if self.reference:
                assert k == (self.stride, self.stride), f"stride {self.stride} clamped at {x.shape}"
            x = F.max_pool2d(x, k, k)
        residual = self.downsample(x) if self.downsample is not None else x
        out1 = F.relu(self.bn1(self.conv1(x)))
        out2_list = []
        size = [out1.size(2), out1.size(3)]
        for i in range(len(self.scales)):
            out2_i = out1
            s = self.scales[i]
            if s is not None:
                k = (min(s, size[0]), min(s, size[1]))
                if self.reference:
                    assert k == (s, s), f"factor {s} clamped at {size}"
                out2_i = F.max_pool2d(out2_i, k, k)
            if self.conv2[i] is not None:
                out2_i = self.conv2[i](out2_i)
            if s is not None:
                mode = "nearest" if size[0] % out2_i.shape[2] == 0 and size[1] % out2_i.shape[3] == 0 else "bilinear"
                out2_i = F.interpolate(out2_i, size=size, mode=mode,
                                       align_corners=False if mode == "bilinear" else None)
            if self.bn2[i] is not None:
                out2_list.append(self.bn2[i](out2_i))
        out2 = F.relu(torch.cat(out2_list, 1))
        out3 = self.bn3(self.conv3(out2))
        return F.relu(out3 + residual)


class ScaleNet(nn.Module):
    """scalenet.py ScaleNet(SABlock, [3, 4, 6, 3], structure, num_classes), reading c
    channels; side is the input's."""

    def __init__(self, structure, c, side, classes, reference):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(c, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        side = (side + 6 - 7) // 2 + 1
        side = (side + 2 - 3) // 2 + 1
        rows = iter(structure)
        layers = []
        for planes, blocks, stride in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
            side = max(side // stride, 1)
            downsample = stride != 1 or self.inplanes != planes * 4
            mods = [SABlock(self.inplanes, planes, stride, downsample, next(rows), side, reference)]
            self.inplanes = planes * 4
            for _ in range(1, blocks):
                mods.append(SABlock(self.inplanes, planes, 1, False, next(rows), side, reference))
            layers.append(nn.Sequential(*mods))
        self.layer1, self.layer2, self.layer3, self.layer4 = layers
        self.fc = nn.Linear(512 * 4, classes)

    def forward(self, x):
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.max_pool2d(x, 3, 2, 1)
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


CASES = [
    # (C, H, W), classes, published
    ((3, 224, 224), 1000, "repository README (GPU time table): ScaleNet-50 3.8 GFLOPs"),
]

# The zoo builds scalenet50 at other inputs without proxy strides (its Spec has none:
# ops/zoo's options_test.go ties proxy strides to width multipliers, which ScaleNet does
# not define). These are written to scalenet50_small_counts.json, not to the reference
# counts, because zoo_test.go reads an entry of width 1 without proxy strides as the
# network's default input; zoo_scalenet_test.go reads them. MNIST's 28x28x1 runs stages 3
# and 4 at 1x1, CIFAR's 32x32x3 (the zoo tests' training input) at 2x2 and 1x1.
SMALL = [((1, 28, 28), 10, ""), ((3, 32, 32), 10, "")]


def main():
    with open(STRUCTURE) as f:
        structure = json.load(f)
    write(structure, CASES, "reference_counts_scalenet.json")
    write(structure, SMALL, "scalenet50_small_counts.json")


def write(structure, cases, name):
    out = []
    for (c, h, w), classes, published in cases:
        reference = (c, h, w) == (3, 224, 224)
        net = ScaleNet(structure, c, h, classes, reference)
        params, macs = count(net, c, h, w)
        source = SOURCE
        if not reference:
            source += (f", {c}-channel stem, {classes} classes, branch kernels by the actual feature side and "
                       "pooling clamped to it (gen_counts_scalenet.py)")
        out.append(dict(name="scalenet50", input=f"{h}x{w}x{c}", classes=classes, width=1.0, proxy_strides=0,
                        params=params, macs=macs, source=source, published=published))
        print(f"scalenet50 {h}x{w}x{c:<2d} params {params:>11,d} MACs {macs:>14,d}")
    with open(os.path.join(HERE, name), "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
