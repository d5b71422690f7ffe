# State dict naming scheme
# ------------------------
# Every module below registers its children under their index in nas's layer tree,
# as nn.Sequential does ("0", "1", ...), so a parameter's state_dict name is its nas
# path: "3.0.1.weight" is the weight of child 1 of child 0 of child 3 of the root.
#   - Sequential, Branches, SplitApply: child i is layer i (absent layers of
#     Branches and SplitApply, which pass their input through, have no entry).
#   - Residual: child 0 is the body, 1 the shortcut (absent: identity), 2 the layer
#     applied after the sum (absent: none).
#   - Block (a named block of the literature) and SqueezeExcite: child 0 is the body,
#     respectively the gate.
#   - OctaveSeq (octave convolution, Chen et al. 2019): its children are its leaf
#     layers, numbered in order; PLAN says how they are wired.
#   - LearnedGroupConv (CondenseNet, masked form): children as in nas, batch norm,
#     ReLU, dropout (if any) and the dense 1x1 convolution, whose weight is stored
#     with the dropped connections zeroed; the mask is a constant, not in the
#     state_dict.
#   - DynamicGroupConv (DGC): weight (out, in, kh, kw), fc1 (heads, hidden, in), fc2
#     (heads, in, hidden), fc2_bias (heads, in), as nas names them.
#   - DSConv2d (DSConv with a channel shift): weight holds alpha*q, cds the shift. A
#     DSConv without one is a plain Conv2d holding its reconstructed weights.
#   - ScaleAggregation: child j is the j-th branch with channels; a ScaleBranch's
#     child 0 is its convolution, 1 its batch norm and ReLU.
#   - Conv2d, Linear: weight, bias. BatchNorm2d: weight (gamma), bias (beta) and the
#     buffers running_mean and running_var. nas does not count batches, so
#     num_batches_tracked (used only with momentum=None) is not in weights.safetensors
#     and load_weights leaves it at 0.
# The network's output has shape (N, classes, 1, 1), as in nas; logits() flattens it.

import json
import os
import struct
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def _register(module, layers):
    for i, layer in enumerate(layers):
        if layer is not None:
            module.add_module(str(i), layer)


class Residual(nn.Module):
    """body(x) + shortcut(x) (identity when None), then post (when not None)."""

    def __init__(self, body, shortcut=None, post=None):
        super().__init__()
        _register(self, [body, shortcut, post])

    def forward(self, x):
        body, shortcut, post = (self._modules.get(k) for k in ("0", "1", "2"))
        y = body(x) + (x if shortcut is None else shortcut(x))
        return y if post is None else post(y)


class Branches(nn.Module):
    """Applies each layer (None: identity) to the input and concatenates the channels."""

    def __init__(self, layers):
        super().__init__()
        _register(self, layers)
        self.count = len(layers)

    def forward(self, x):
        layers = (self._modules.get(str(i)) for i in range(self.count))
        return torch.cat([x if l is None else l(x) for l in layers], 1)


class SplitApply(nn.Module):
    """Splits the channels into parts of the given sizes, applies layer i (None:
    identity) to part i and concatenates the results."""

    def __init__(self, splits, layers):
        super().__init__()
        _register(self, layers)
        self.splits = list(splits)

    def forward(self, x):
        parts = torch.split(x, self.splits, 1)
        layers = (self._modules.get(str(i)) for i in range(len(parts)))
        return torch.cat([p if l is None else l(p) for p, l in zip(parts, layers)], 1)


class Block(nn.Module):
    """A named block (inverted residual, ShuffleNet unit, ...); child 0 computes it."""

    def __init__(self, kind, settings, body):
        super().__init__()
        self.kind, self.settings = kind, settings
        self.add_module("0", body)

    def extra_repr(self):
        return "%s %s" % (self.kind, self.settings)

    def forward(self, x):
        return self._modules["0"](x)


class SqueezeExcite(nn.Module):
    """x times gate(x), the gate giving one weight per sample and channel."""

    def __init__(self, gate):
        super().__init__()
        self.add_module("0", gate)

    def forward(self, x):
        return x * self._modules["0"](x)


class ChannelShuffle(nn.Module):
    """ShuffleNet's channel shuffle: (groups, C/groups) transposed."""

    def __init__(self, groups):
        super().__init__()
        self.groups = groups

    def extra_repr(self):
        return "groups=%d" % self.groups

    def forward(self, x):
        n, c, h, w = x.shape
        return x.reshape(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)


class IndexSelect(nn.Module):
    """Output channel i is input channel index[i] (torch.index_select)."""

    def __init__(self, index):
        super().__init__()
        self.register_buffer("index", torch.tensor(index, dtype=torch.long), persistent=False)

    def forward(self, x):
        return torch.index_select(x, 1, self.index)


class Linear(nn.Linear):
    """nn.Linear on (N, in) or (N, in, 1, 1) inputs, giving (N, out, 1, 1) as nas does."""

    def forward(self, x):
        return super().forward(x.flatten(1))[:, :, None, None]


class GlobalAvgPool(nn.Module):
    """The mean of each channel's plane: (N, C, H, W) -> (N, C, 1, 1)."""

    def forward(self, x):
        return x.mean((2, 3), keepdim=True)


class Upsample2x(nn.Module):
    """Nearest-neighbour x2 upsampling."""

    def forward(self, x):
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def _upsample(x):
    return F.interpolate(x, scale_factor=2.0, mode="nearest")


class OctaveSeq(nn.Module):
    """A sequence of octave layers on (high, low) feature pairs, the low part at half
    resolution (d-li14/octconv.pytorch). The input is the high part with no low part;
    the output is the last high part. plan is nested tuples over leaf indices:
      ("seq", [plan, ...])
      ("conv", stride, ll, lh, hl, hh)   path convolutions, None when absent
      ("bn", bn_h, bn_l, act_h, act_l)   batch norm then activation per part
      ("res", body, shortcut, post_h, post_l)  (shortcut None: identity)
    """

    def __init__(self, leaves, plan):
        super().__init__()
        _register(self, leaves)
        self.plan = plan

    def _leaf(self, i):
        return None if i is None else self._modules[str(i)]

    def _run(self, p, h, l):
        op = p[0]
        if op == "seq":
            for q in p[1]:
                h, l = self._run(q, h, l)
            return h, l
        if op == "conv":
            stride, ll, lh, hl, hh = p[1], self._leaf(p[2]), self._leaf(p[3]), self._leaf(p[4]), self._leaf(p[5])
            hin = F.avg_pool2d(h, 2, 2) if stride == 2 else h
            yh = hh(hin)
            yl = hl(F.avg_pool2d(hin, 2, 2)) if hl is not None else None
            if l is None:
                return yh, yl
            t = lh(l)
            yh = yh + (t if stride == 2 else _upsample(t))
            if ll is None:
                return yh, None
            lin = F.avg_pool2d(l, 2, 2) if stride == 2 else l
            return yh, yl + ll(lin)
        if op == "bn":
            bh, bl, ah, al = (self._leaf(i) for i in p[1:])
            h = bh(h)
            if ah is not None:
                h = ah(h)
            if l is not None:
                l = bl(l)
                if al is not None:
                    l = al(l)
            return h, l
        if op == "res":
            bh, bl = self._run(p[1], h, l)
            sh, sl = (h, l) if p[2] is None else self._run(p[2], h, l)
            ph, pl = self._leaf(p[3]), self._leaf(p[4])
            yh = bh + sh
            if ph is not None:
                yh = ph(yh)
            if bl is None:
                return yh, None
            yl = bl + sl
            if pl is not None:
                yl = pl(yl)
            return yh, yl
        raise ValueError("unknown octave op %r" % (op,))

    def forward(self, x):
        h, l = self._run(self.plan, x, None)
        if l is not None:
            raise ValueError("octave sequence ends with a low-frequency part")
        return h


class LearnedGroupConv(nn.Module):
    """CondenseNet's learned group convolution in its masked (training) form (Huang et
    al. 2018; ShichenLiu/CondenseNet layers.py LearnedGroupConv): the children up to
    the last, then the last, a dense 1x1 convolution, with its weight times the mask.
    Output channel o belongs to group o % groups, which uses the input channels
    kept[g] (None: every group uses every channel)."""

    def __init__(self, groups, kept, layers):
        super().__init__()
        _register(self, layers)
        self.count = len(layers)
        conv = layers[-1]
        mask = torch.ones(conv.out_channels, conv.in_channels)
        if kept is not None:
            mask.zero_()
            for o in range(conv.out_channels):
                mask[o, kept[o % groups]] = 1
        self.groups = groups
        self.register_buffer("mask", mask[:, :, None, None], persistent=False)

    def extra_repr(self):
        return "groups=%d" % self.groups

    def forward(self, x):
        for i in range(self.count - 1):
            x = self._modules[str(i)](x)
        conv = self._modules[str(self.count - 1)]
        return F.conv2d(x, conv.weight * self.mask, conv.bias)


class DynamicGroupConv(nn.Module):
    """Dynamic group convolution (Su et al. 2020; hellozhuo/dgc layers.py
    DynamicMultiHeadConv without its batch norm and ReLU, which precede it here). Head
    h's saliency generator maps the input's channel means through fc1, ReLU, fc2 with
    bias and ReLU to one saliency per input channel and sample; the head drops the
    `drop` channels of lowest saliency (every channel at or below the drop-th
    smallest) and convolves the others, each times its saliency, with its filters,
    weight rows [h*out/heads, (h+1)*out/heads). Output channel j*heads + h is filter j
    of head h. The heads run as one convolution with `heads` groups over the input
    repeated per head."""

    def __init__(self, cin, cout, kernel, stride, padding, dilation, heads, hidden, drop):
        super().__init__()
        self.stride, self.padding, self.dilation = stride, padding, dilation
        self.heads, self.drop = heads, drop
        self.weight = nn.Parameter(torch.empty(cout, cin, *kernel))
        self.fc1 = nn.Parameter(torch.empty(heads, hidden, cin))
        self.fc2 = nn.Parameter(torch.empty(heads, cin, hidden))
        self.fc2_bias = nn.Parameter(torch.ones(heads, cin))
        nn.init.kaiming_uniform_(self.weight, a=5 ** 0.5)
        nn.init.normal_(self.fc1, std=(2.0 / cin) ** 0.5)
        nn.init.normal_(self.fc2, std=(2.0 / hidden) ** 0.5)

    def extra_repr(self):
        return "heads=%d, drop=%d" % (self.heads, self.drop)

    def saliency(self, x):
        """The saliencies (N, heads, in), the dropped channels' zeroed."""
        pooled = x.mean((2, 3))
        hid = F.relu(torch.einsum("nc,hkc->nhk", pooled, self.fc1))
        sal = F.relu(torch.einsum("nhk,hck->nhc", hid, self.fc2) + self.fc2_bias)
        if self.drop > 0:
            t = sal.topk(self.drop, -1, largest=False).values[..., -1:]
            sal = sal * (sal > t).to(sal.dtype)
        return sal

    def forward(self, x):
        n, c = x.shape[:2]
        sal = self.saliency(x)
        xs = (x.unsqueeze(1) * sal[:, :, :, None, None]).flatten(1, 2)
        y = F.conv2d(xs, self.weight, None, self.stride, self.padding, self.dilation, self.heads)
        o, h, w = y.shape[1:]
        return y.reshape(n, self.heads, o // self.heads, h, w).transpose(1, 2).reshape(n, o, h, w)


class DSConv2d(nn.Conv2d):
    """DSConv with a channel distribution shift (Nascimento et al. 2019): a
    convolution whose weight, the kernel shifts times the integers, is multiplied per
    output channel by cds."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cds = nn.Parameter(torch.ones(self.out_channels))

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.cds[:, None, None, None], self.bias)


def _scale_pool(x, factor):
    k = (min(factor, x.shape[2]), min(factor, x.shape[3]))
    return F.max_pool2d(x, k, k)


class ScalePool(nn.Module):
    """Max pooling with window and stride factor, each clamped to the input's side
    (ScaleNet's pooling as nas runs it at small inputs; the reference's
    F.max_pool2d(x, factor, factor) where the input is large enough)."""

    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def extra_repr(self):
        return "factor=%d" % self.factor

    def forward(self, x):
        return _scale_pool(x, self.factor)


class ScaleBranch(nn.Module):
    """One branch of ScaleNet's scale aggregation (Eli-YiLi/ScaleNet scalenet.py
    SABlock): pooling by factor (ScalePool), the convolution (child 0), resizing back
    to the input's size, nearest when both sides divide and bilinear otherwise
    (align_corners False), then batch norm and ReLU (child 1)."""

    def __init__(self, factor, conv, post):
        super().__init__()
        self.factor = factor
        _register(self, [conv, post])

    def extra_repr(self):
        return "factor=%d" % self.factor

    def forward(self, x):
        h, w = x.shape[2:]
        y = x if self.factor == 1 else _scale_pool(x, self.factor)
        y = self._modules["0"](y)
        ph, pw = y.shape[2:]
        if (ph, pw) != (h, w):
            if h % ph == 0 and w % pw == 0:
                y = F.interpolate(y, size=(h, w), mode="nearest")
            else:
                y = F.interpolate(y, size=(h, w), mode="bilinear", align_corners=False)
        return self._modules["1"](y)


class ScaleAggregation(nn.Module):
    """ScaleNet's scale aggregation: its branches on the input, concatenated."""

    def __init__(self, branches):
        super().__init__()
        _register(self, branches)
        self.count = len(branches)

    def forward(self, x):
        return torch.cat([self._modules[str(i)](x) for i in range(self.count)], 1)


def read_safetensors(path):
    """Reads a safetensors file without the safetensors package: an 8-byte
    little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
    then the raw little-endian data. Returns {name: tensor}."""
    dtypes = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I64": (torch.int64, 8), "I32": (torch.int32, 4)}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        dtype, size = dtypes[info["dtype"]]
        begin, end = info["data_offsets"]
        raw = bytearray(data[base + begin:base + end])
        if sys.byteorder != "little":
            for i in range(0, len(raw), size):
                raw[i:i + size] = raw[i:i + size][::-1]
        t = torch.frombuffer(raw, dtype=dtype) if raw else torch.empty(0, dtype=dtype)
        out[name] = t.reshape(info["shape"]).clone()
    return out


def load_weights(model, path):
    """Loads weights.safetensors into model. Every parameter and batch norm running
    statistic must be in the file, and every tensor of the file must be one of them."""
    tensors = read_safetensors(path)
    state = model.state_dict()
    missing = [k for k in state if k not in tensors and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in tensors if k not in state]
    if missing or unexpected:
        raise ValueError("%s: missing %s, unexpected %s" % (path, missing[:5], unexpected[:5]))
    for k, t in tensors.items():
        if tuple(state[k].shape) != tuple(t.shape):
            raise ValueError("%s: %s has shape %s, the model %s" % (path, k, tuple(t.shape), tuple(state[k].shape)))
    model.load_state_dict(tensors, strict=False)
    return model


def logits(model, x):
    """The model's logits for the batch x, as (N, classes)."""
    return model(x).flatten(1)


def param_count(model):
    """The number of trainable values, as nas counts params."""
    return sum(p.numel() for p in model.parameters())


def check(model_dir):
    """Loads weights.safetensors and check.safetensors from model_dir, runs the model
    in eval mode on the check input and prints the largest difference from nas's
    logits relative to their largest magnitude. Returns that difference."""
    model = build_model()
    load_weights(model, os.path.join(model_dir, "weights.safetensors"))
    model.eval()
    ref = read_safetensors(os.path.join(model_dir, "check.safetensors"))
    with torch.no_grad():
        got = logits(model, ref["input"])
    want = ref["logits"]
    diff = ((got - want).abs().max() / want.abs().max().clamp_min(1e-30)).item()
    print("params %d, max relative logit difference %.3g" % (param_count(model), diff))
    return diff
