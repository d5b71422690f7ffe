"""Golden data for engineer A's blocks: the swish and hard-sigmoid activations,
squeeze-and-excitation, MixConv, depthwise-separable convolutions (MobileNetV1 and
Xception forms), the inverted residual (torchvision's MobileNetV2, the reference
network's grouped/shuffled/MixConv block, timm's MixNet block), the ShuffleNet V1 and
V2 units and flattened convolutions.

Each module below re-implements its cited reference in PyTorch, registering its
submodules in the order the Go block lists its children, so that list(m.parameters())
is in the order ops.Params returns the Go block's parameters and the batch norms of
m.modules() are in the order ops.Walk visits the Go ones. A case stores:
  x, y (train-mode forward), dy, dx, y_eval (eval-mode forward after the train step,
  so it also checks the running-statistics update),
  param.NNN / grad.NNN   every parameter and its gradient, in Go order,
  bn_mean.NNN / bn_var.NNN  each batch norm's running statistics before the train step,
and in the config the block's settings, the PyTorch parameter names, and the MACs and
parameters of one sample counted as reference_net.py's count() does (a forward hook on
every Conv2d). Gradients are those of sum(y * dy).

Run with Debian's python3-torch 1.13: cd ops/testdata/gen && /usr/bin/python3 gen_blocks_a.py
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture import write


def shuffle(x, g):
    """torchvision's channel_shuffle (shufflenetv2.py), the reference network's shuffle."""
    n, c, h, w = x.shape
    return x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)


def act_layer(name):
    return {"relu": nn.ReLU(), "relu6": nn.ReLU6(), "swish": nn.SiLU(), "hswish": nn.Hardswish(),
            "sigmoid": nn.Sigmoid(), "hsigmoid": nn.Hardsigmoid(), "none": nn.Identity()}[name]


def split_channels(c, k):
    """MixNet's _split_channels (timm mixed_conv2d.py): equal parts, the remainder to the first."""
    s = [c // k] * k
    s[0] += c - sum(s)
    return s


# ---------------------------------------------------------------------------------------
# Squeeze-and-excitation, timm efficientnet_blocks.SqueezeExcite.

class SqueezeExcite(nn.Module):
    def __init__(self, c, rd, act="relu", gate="sigmoid"):
        super().__init__()
        self.conv_reduce = nn.Conv2d(c, rd, 1, bias=True)
        self.act1 = act_layer(act)
        self.conv_expand = nn.Conv2d(rd, c, 1, bias=True)
        self.gate = act_layer(gate)

    def forward(self, x):
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.conv_expand(self.act1(self.conv_reduce(s))))


# ---------------------------------------------------------------------------------------
# MixConv, timm mixed_conv2d.MixedConv2d with depthwise=True (Tan and Le 2019).

class MixedConv2d(nn.Module):
    def __init__(self, c, kernels, stride=1, dilation=1, depthwise=True, cout=None):
        super().__init__()
        cout = c if cout is None else cout
        self.splits = split_channels(c, len(kernels))
        outs = split_channels(cout, len(kernels))
        self.convs = nn.ModuleList(
            nn.Conv2d(ci, co, k, stride, dilation * (k - 1) // 2, dilation, groups=co if depthwise else 1, bias=False)
            for ci, co, k in zip(self.splits, outs, kernels))

    def forward(self, x):
        return torch.cat([conv(p) for conv, p in zip(self.convs, torch.split(x, self.splits, 1))], 1)


# ---------------------------------------------------------------------------------------
# Depthwise-separable convolutions. MobileNetV1 (Howard et al. 2017, Fig. 3): dw -> BN ->
# ReLU -> pw -> BN -> ReLU. Xception's SeparableConv2d (Cadene's pretrainedmodels
# xception.py, Keras's SeparableConv2D): [ReLU] -> dw -> pw -> BN.

class DWSepMobileNet(nn.Module):
    def __init__(self, cin, cout, k=3, stride=1, pw_groups=1, act="relu"):
        super().__init__()
        self.dw = nn.Conv2d(cin, cin, k, stride, k // 2, groups=cin, bias=False)
        self.bn1 = nn.BatchNorm2d(cin)
        self.act1 = act_layer(act)
        self.pw = nn.Conv2d(cin, cout, 1, groups=pw_groups, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = act_layer(act)

    def forward(self, x):
        return self.act2(self.bn2(self.pw(self.act1(self.bn1(self.dw(x))))))


class DWSepXception(nn.Module):
    def __init__(self, cin, cout, k=3, stride=1, pw_groups=1, act="relu"):
        super().__init__()
        self.act = act_layer(act)
        self.conv1 = nn.Conv2d(cin, cin, k, stride, k // 2, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, groups=pw_groups, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.pointwise(self.conv1(self.act(x))))


# ---------------------------------------------------------------------------------------
# Inverted residuals.

class RefBlock(nn.Module):
    """The Block of /work/shared/bench/reference_net.py, copied: grouped 1x1 (+shuffle) ->
    MixConv depthwise -> grouped 1x1, ReLU6."""

    def __init__(self, cin, cout, t, stride, ks=(3,), g=1):
        super().__init__()
        mid = cin * t
        self.g, self.res = g, stride == 1 and cin == cout
        self.pw = nn.Conv2d(cin, mid, 1, groups=g, bias=False)
        self.bn1 = nn.BatchNorm2d(mid)
        splits = [mid // len(ks)] * len(ks)
        splits[0] += mid - sum(splits)
        self.splits = splits
        self.dw = nn.ModuleList(nn.Conv2d(c, c, k, stride, k // 2, groups=c, bias=False) for c, k in zip(splits, ks))
        self.bn2 = nn.BatchNorm2d(mid)
        self.pl = nn.Conv2d(mid, cout, 1, groups=g, bias=False)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = F.relu6(self.bn1(self.pw(x)))
        if self.g > 1:
            y = shuffle(y, self.g)
        y = torch.cat([conv(p) for conv, p in zip(self.dw, torch.split(y, self.splits, 1))], 1)
        y = F.relu6(self.bn2(y))
        y = self.bn3(self.pl(y))
        return x + y if self.res else y


class MobileNetV2IR(nn.Module):
    """torchvision mobilenetv2.InvertedResidual (Sandler et al. 2018)."""

    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden_dim = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = []
        if expand_ratio != 1:
            layers += [nn.Conv2d(inp, hidden_dim, 1, bias=False), nn.BatchNorm2d(hidden_dim), nn.ReLU6()]
        layers += [nn.Conv2d(hidden_dim, hidden_dim, 3, stride, 1, groups=hidden_dim, bias=False),
                   nn.BatchNorm2d(hidden_dim), nn.ReLU6(),
                   nn.Conv2d(hidden_dim, oup, 1, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MixNetIR(nn.Module):
    """timm efficientnet_blocks.InvertedResidual as _gen_mixnet_s/m build it: conv_pw and
    conv_pwl are MixedConv2d over kernels [1]*groups (the "a1.1"/"p1.1" of the arch
    strings), conv_dw a depthwise MixedConv2d, SqueezeExcite with the block's activation
    and reduced channels max(1, int(in * se_ratio)) (the TF mixnet_builder's)."""

    def __init__(self, cin, cout, exp, kernels, stride, exp_groups, pwl_groups, se_ratio, act):
        super().__init__()
        mid = cin * exp
        self.has_skip = stride == 1 and cin == cout
        self.conv_pw = MixedConv2d(cin, [1] * exp_groups, depthwise=False, cout=mid)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act1 = act_layer(act)
        self.conv_dw = MixedConv2d(mid, kernels, stride)
        self.bn2 = nn.BatchNorm2d(mid)
        self.act2 = act_layer(act)
        self.se = SqueezeExcite(mid, max(1, int(cin * se_ratio)), act) if se_ratio else nn.Identity()
        self.conv_pwl = MixedConv2d(mid, [1] * pwl_groups, depthwise=False, cout=cout)
        self.bn3 = nn.BatchNorm2d(cout)

    def forward(self, x):
        y = self.act1(self.bn1(self.conv_pw(x)))
        y = self.se(self.act2(self.bn2(self.conv_dw(y))))
        y = self.bn3(self.conv_pwl(y))
        return x + y if self.has_skip else y


# ---------------------------------------------------------------------------------------
# ShuffleNet V1 unit, megvii-model/ShuffleNet-Series ShuffleNetV1/blocks.py ShuffleV1Block.

class ShuffleV1Block(nn.Module):
    def __init__(self, inp, oup, group, first_group, mid_channels, ksize, stride):
        super().__init__()
        self.stride, self.group = stride, group
        pad = ksize // 2
        outputs = oup - inp if stride == 2 else oup
        if stride == 2:
            # Registered first: the Go unit is Branches{pool, main}. It has no parameters.
            self.branch_proj = nn.AvgPool2d(kernel_size=3, stride=2, padding=1)
        self.branch_main_1 = nn.Sequential(
            nn.Conv2d(inp, mid_channels, 1, 1, 0, groups=1 if first_group else group, bias=False),
            nn.BatchNorm2d(mid_channels), nn.ReLU(),
            nn.Conv2d(mid_channels, mid_channels, ksize, stride, pad, groups=mid_channels, bias=False),
            nn.BatchNorm2d(mid_channels))
        self.branch_main_2 = nn.Sequential(
            nn.Conv2d(mid_channels, outputs, 1, 1, 0, groups=group, bias=False), nn.BatchNorm2d(outputs))

    def channel_shuffle(self, x):
        b, c, h, w = x.shape
        x = x.reshape(b, c // self.group, self.group, h, w).permute(0, 2, 1, 3, 4)
        return x.reshape(b, c, h, w)

    def forward(self, old_x):
        x = self.branch_main_1(old_x)
        if self.group > 1:
            x = self.channel_shuffle(x)
        x = self.branch_main_2(x)
        if self.stride == 1:
            return F.relu(x + old_x)
        return torch.cat((self.branch_proj(old_x), F.relu(x)), 1)


# ---------------------------------------------------------------------------------------
# ShuffleNet V2 unit, torchvision shufflenetv2.InvertedResidual.

class ShuffleV2Block(nn.Module):
    def __init__(self, inp, oup, stride):
        super().__init__()
        self.stride = stride
        bf = oup // 2
        if stride > 1:
            self.branch1 = nn.Sequential(
                nn.Conv2d(inp, inp, 3, stride, 1, groups=inp, bias=False), nn.BatchNorm2d(inp),
                nn.Conv2d(inp, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())
        self.branch2 = nn.Sequential(
            nn.Conv2d(inp if stride > 1 else bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU(),
            nn.Conv2d(bf, bf, 3, stride, 1, groups=bf, bias=False), nn.BatchNorm2d(bf),
            nn.Conv2d(bf, bf, 1, bias=False), nn.BatchNorm2d(bf), nn.ReLU())

    def forward(self, x):
        if self.stride == 1:
            x1, x2 = x.chunk(2, dim=1)
            out = torch.cat((x1, self.branch2(x2)), 1)
        else:
            out = torch.cat((self.branch1(x), self.branch2(x)), 1)
        return shuffle(out, 2)


# ---------------------------------------------------------------------------------------
# Flattened convolutions. Jin et al. 2014: lateral 1x1, vertical k x 1 and horizontal
# 1 x k per channel, then BN and activation. Inception-v3 (torchvision inception.py
# InceptionC's BasicConv2d pairs): k x 1 -> BN -> act -> 1 x k -> BN -> act.

class FlattenedLVH(nn.Module):
    def __init__(self, cin, cout, k, stride, act):
        super().__init__()
        self.lateral = nn.Conv2d(cin, cout, 1, bias=False)
        self.vertical = nn.Conv2d(cout, cout, (k, 1), (stride, 1), (k // 2, 0), groups=cout, bias=False)
        self.horizontal = nn.Conv2d(cout, cout, (1, k), (1, stride), (0, k // 2), groups=cout, bias=False)
        self.bn = nn.BatchNorm2d(cout)
        self.act = act_layer(act)

    def forward(self, x):
        return self.act(self.bn(self.horizontal(self.vertical(self.lateral(x)))))


class FlattenedRect(nn.Module):
    def __init__(self, cin, mid, cout, k, stride, horizontal_first, act):
        super().__init__()
        v = dict(kernel_size=(k, 1), stride=(stride, 1), padding=(k // 2, 0))
        h = dict(kernel_size=(1, k), stride=(1, stride), padding=(0, k // 2))
        first, second = (h, v) if horizontal_first else (v, h)
        self.conv1 = nn.Conv2d(cin, mid, bias=False, **first)
        self.bn1 = nn.BatchNorm2d(mid)
        self.act1 = act_layer(act)
        self.conv2 = nn.Conv2d(mid, cout, bias=False, **second)
        self.bn2 = nn.BatchNorm2d(cout)
        self.act2 = act_layer(act)

    def forward(self, x):
        return self.act2(self.bn2(self.conv2(self.act1(self.bn1(self.conv1(x))))))


# ---------------------------------------------------------------------------------------

def count(m, shape):
    """Parameters and MACs of one sample, as reference_net.py's count() does."""
    macs = 0

    def hook(mod, i, o):
        nonlocal macs
        if isinstance(mod, nn.Conv2d):
            macs += o[0].numel() * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
        elif isinstance(mod, nn.Linear):
            macs += mod.in_features * mod.out_features

    hs = [mod.register_forward_hook(hook) for mod in m.modules()]
    was = m.training
    m.eval()
    with torch.no_grad():
        m(torch.zeros(1, *shape))
    m.train(was)
    for h in hs:
        h.remove()
    return sum(p.numel() for p in m.parameters()), macs


def randomize(m):
    """Moves batch norms away from the identity a little, as after some training."""
    with torch.no_grad():
        for mod in m.modules():
            if isinstance(mod, nn.BatchNorm2d):
                c = mod.num_features
                mod.weight.copy_(1 + 0.2 * torch.randn(c))
                mod.bias.copy_(0.2 * torch.randn(c))
                mod.running_mean.copy_(0.2 * torch.randn(c))
                mod.running_var.copy_(0.5 + torch.rand(c))


def run(name, m, shape, config, params=None, n=2):
    """Runs m in training mode on a random batch, then in evaluation mode, and writes the
    fixture block_NAME. params, called after the backward pass, returns (name, value,
    gradient) in Go order; None means m.named_parameters()."""
    randomize(m)
    bns = [mod for mod in m.modules() if isinstance(mod, nn.BatchNorm2d)]
    t = {}
    for i, bn in enumerate(bns):
        t["bn_mean.%03d" % i] = bn.running_mean.clone()
        t["bn_var.%03d" % i] = bn.running_var.clone()
    nparams, macs = count(m, shape)
    m.train()
    x = torch.randn(n, *shape, requires_grad=True)
    y = m(x)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    m.eval()
    with torch.no_grad():
        y_eval = m(x)
    if params is None:
        params = [(pn, p, p.grad) for pn, p in m.named_parameters()]
    else:
        params = params()
    for i, (pn, p, g) in enumerate(params):
        t["param.%03d" % i] = p
        t["grad.%03d" % i] = g
    t.update(x=x, y=y, dy=dy, dx=x.grad, y_eval=y_eval)
    cfg = dict(config, c=shape[0], h=shape[1], w=shape[2], macs=macs, params=nparams,
               param_names=[pn for pn, _, _ in params], bns=len(bns))
    write("block_" + name, cfg, t)


def gen_act():
    special = torch.tensor([-3.0, 3.0, 0.0, -2.999, 2.999, -3.001, 3.001, 1e-7, -20.0, 20.0])
    x = torch.randn(2, 3, 4, 5) * 4
    x.view(-1)[: len(special)] = special
    for name, f in [("swish", F.silu), ("hsigmoid", F.hardsigmoid)]:
        xi = x.clone().requires_grad_(True)
        y = f(xi)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        write("block_act_" + name, dict(op=name), {"x": xi, "y": y, "dy": dy, "dx": xi.grad})


def gen_se():
    for name, c, rd, act, gate, hw in [("relu_sigmoid", 12, 3, "relu", "sigmoid", (5, 4)),
                                       ("swish_hsigmoid", 16, 4, "swish", "hsigmoid", (3, 3)),
                                       ("none_sigmoid_hw1", 8, 2, "none", "sigmoid", (1, 1))]:
        m = SqueezeExcite(c, rd, act, gate)
        if gate == "hsigmoid":
            # Larger gate inputs, so the hard sigmoid sees its flat parts as well as its slope.
            with torch.no_grad():
                m.conv_expand.weight.mul_(8)
                m.conv_expand.bias.mul_(8)
        run("se_" + name, m, (c,) + hw, dict(kind="se", cin=c, reduced=rd, act=act, gate=gate))


def gen_mixconv():
    for name, c, ks, stride, dil, hw in [("k357_s2_uneven", 13, [3, 5, 7], 2, 1, (9, 8)),
                                         ("k35_s1", 10, [3, 5], 1, 1, (6, 7)),
                                         ("k3_single_dil2", 6, [3], 1, 2, (7, 7)),
                                         ("k3579_s2", 12, [3, 5, 7, 9], 2, 1, (9, 9))]:
        m = MixedConv2d(c, ks, stride, dil)
        run("mixconv_" + name, m, (c,) + hw, dict(kind="mixconv", cin=c, kernels=ks, stride=stride, dilation=dil))


def gen_dwsep():
    for name, cls, xc, cin, cout, k, stride, g, act, hw in [
            ("mobilenet_s2", DWSepMobileNet, False, 8, 16, 3, 2, 1, "relu", (7, 8)),
            ("mobilenet_k5_g2_relu6", DWSepMobileNet, False, 6, 8, 5, 1, 2, "relu6", (6, 5)),
            ("xception_relu", DWSepXception, True, 8, 12, 3, 1, 1, "relu", (6, 6)),
            ("xception_noact_s2", DWSepXception, True, 6, 10, 3, 2, 1, "none", (7, 7))]:
        m = cls(cin, cout, k, stride, g, act)
        run("dwsep_" + name, m, (cin,) + hw, dict(kind="dwsep", cin=cin, cout=cout, k=k, stride=stride,
                                                  pw_groups=g, act=act, xception=int(xc)))


def gen_invres():
    # The reference network's block configurations, scaled to small channels: MixConv
    # (3, 5, 7) with groups 4 and shuffle, (3, 5) at stride 2, plain stride 2 without
    # residual, and groups 4 with shuffle and a single kernel.
    for name, cin, cout, t, stride, ks, g, hw in [
            ("ref_k357_g4_shuffle", 8, 8, 3, 1, (3, 5, 7), 4, (7, 7)),
            ("ref_k35_s2", 8, 12, 3, 2, (3, 5), 1, (8, 8)),
            ("ref_s2_nores", 4, 8, 4, 2, (3,), 1, (7, 6)),
            ("ref_g4_shuffle", 8, 8, 2, 1, (3,), 4, (5, 5))]:
        m = RefBlock(cin, cout, t, stride, ks, g)
        run("invres_" + name, m, (cin,) + hw, dict(
            kind="invres", cin=cin, cout=cout, mid=cin * t, stride=stride, kernels=list(ks),
            groups=g, expand_groups=g, project_groups=g, shuffle=int(g > 1), act="relu6",
            se=0, keep_expand=0))
    for name, cin, cout, t, stride, hw in [("mbv2_t1", 8, 6, 1, 1, (6, 6)),
                                           ("mbv2_t6_s2", 4, 8, 6, 2, (7, 7)),
                                           ("mbv2_t3_res", 8, 8, 3, 1, (5, 6))]:
        m = MobileNetV2IR(cin, cout, stride, t)
        run("invres_" + name, m, (cin,) + hw, dict(
            kind="invres", cin=cin, cout=cout, mid=cin * t, stride=stride, kernels=[3],
            groups=1, expand_groups=1, project_groups=1, shuffle=0, act="relu6", se=0, keep_expand=0))
    for name, cin, cout, t, stride, ks, eg, pg, se, act, hw in [
            ("mixnet_a11_p11_se_swish", 8, 8, 3, 1, [3, 5], 2, 2, 0.5, "swish", (6, 6)),
            ("mixnet_k3579_s2_a11_se", 4, 8, 6, 2, [3, 5, 7, 9], 2, 1, 0.5, "swish", (9, 9)),
            ("mixnet_relu_a11_p11", 6, 6, 3, 1, [3], 2, 2, 0, "relu", (5, 5)),
            ("mixnet_e1_keep_se", 8, 8, 1, 1, [3, 5], 1, 1, 0.25, "swish", (5, 5))]:
        m = MixNetIR(cin, cout, t, ks, stride, eg, pg, se, act)
        # Check that a 1x1 MixedConv2d is the grouped convolution the Go block uses.
        with torch.no_grad():
            xt = torch.randn(1, cin, 3, 3)
            w = torch.cat([c.weight for c in m.conv_pw.convs], 0)
            assert torch.allclose(m.conv_pw(xt), F.conv2d(xt, w, groups=eg), atol=1e-6)
        run("invres_" + name, m, (cin,) + hw, dict(
            kind="invres", cin=cin, cout=cout, mid=cin * t, stride=stride, kernels=ks, groups=1,
            expand_groups=eg, project_groups=pg, shuffle=0, act=act, se=max(1, int(cin * se)) if se else 0,
            keep_expand=int(t == 1)), params=mixnet_params(m))


def mixnet_params(m):
    """Returns a function run calls after backward: the parameters in Go order with each
    1x1 MixedConv2d's split weights (and gradients) concatenated into one grouped weight."""
    def go():
        out = []
        for name, mod in m.named_children():
            if isinstance(mod, MixedConv2d) and all(c.kernel_size == (1, 1) for c in mod.convs):
                out.append((name + ".convs.*.weight", torch.cat([c.weight for c in mod.convs], 0),
                            torch.cat([c.weight.grad for c in mod.convs], 0)))
            else:
                out += [(name + "." + pn, p, p.grad) for pn, p in mod.named_parameters()]
        return out
    return go


def gen_shufflev1():
    for name, cin, cout, g, first, stride, hw in [("s2_g3_first", 6, 24, 3, True, 2, (7, 7)),
                                                  ("s1_g3", 24, 24, 3, False, 1, (5, 4)),
                                                  ("s2_g2", 8, 24, 2, False, 2, (6, 6)),
                                                  ("s1_g1", 12, 12, 1, False, 1, (4, 4))]:
        m = ShuffleV1Block(cin, cout, g, first, cout // 4, 3, stride)
        run("shufflev1_" + name, m, (cin,) + hw, dict(kind="shufflev1", cin=cin, cout=cout, groups=g,
                                                      first_group=int(first), stride=stride))


def gen_shufflev2():
    for name, cin, cout, stride, hw in [("s1", 12, 12, 1, (5, 5)), ("s2", 8, 16, 2, (7, 6)),
                                        ("s2_wide", 6, 20, 2, (4, 4))]:
        m = ShuffleV2Block(cin, cout, stride)
        run("shufflev2_" + name, m, (cin,) + hw, dict(kind="shufflev2", cin=cin, cout=cout, stride=stride))


def gen_flattened():
    for name, m, cin, cfg, hw in [
            ("lvh_k3", FlattenedLVH(6, 8, 3, 1, "relu"), 6, dict(cout=8, k=3, stride=1, act="relu"), (6, 6)),
            ("lvh_k5_s2", FlattenedLVH(4, 6, 5, 2, "relu"), 4, dict(cout=6, k=5, stride=2, act="relu"), (8, 7)),
            ("rect_k3", FlattenedRect(6, 8, 8, 3, 1, False, "relu"), 6,
             dict(cout=8, mid=8, k=3, stride=1, act="relu", rect=1), (6, 5)),
            ("rect_k5_hfirst_s2", FlattenedRect(4, 6, 8, 5, 2, True, "relu6"), 4,
             dict(cout=8, mid=6, k=5, stride=2, act="relu6", rect=1, hfirst=1), (7, 8))]:
        cfg = dict(dict(mid=0, rect=0, hfirst=0), **cfg)
        run("flattened_" + name, m, (cin,) + hw, dict(cfg, kind="flattened", cin=cin))


def main():
    torch.manual_seed(0)
    gen_act()
    gen_se()
    gen_mixconv()
    gen_dwsep()
    gen_invres()
    gen_shufflev1()
    gen_shufflev2()
    gen_flattened()


if __name__ == "__main__":
    main()
