"""Golden data for the elementwise, normalization, linear, loss and optimizer ops:
batch norm (training and evaluation), activations, channel shuffle, linear, softmax
cross-entropy with label smoothing, and SGD. Gradients are those of sum(y * dy) for a
random upstream gradient dy, as in gen_conv.py."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture import write

BN_CASES = [
    # name, N, C, H, W, momentum, eps, training
    ("train_4x3x5x5", 4, 3, 5, 5, 0.1, 1e-5, True),
    ("train_2x5x3x4", 2, 5, 3, 4, 0.1, 1e-5, True),
    ("train_hw1", 8, 4, 1, 1, 0.1, 1e-5, True),
    ("train_momentum_eps", 3, 2, 4, 4, 0.3, 1e-3, True),
    ("eval_4x3x5x5", 4, 3, 5, 5, 0.1, 1e-5, False),
    ("eval_2x6x2x3", 2, 6, 2, 3, 0.1, 1e-3, False),
]


def gen_bn():
    for name, n, c, h, w, mom, eps, training in BN_CASES:
        bn = nn.BatchNorm2d(c, eps=eps, momentum=mom)
        with torch.no_grad():
            bn.weight.copy_(torch.randn(c))
            bn.bias.copy_(torch.randn(c))
            bn.running_mean.copy_(torch.randn(c))
            bn.running_var.copy_(torch.rand(c) + 0.5)
        t = {"weight": bn.weight.detach().clone(), "bias": bn.bias.detach().clone(),
             "running_mean0": bn.running_mean.clone(), "running_var0": bn.running_var.clone()}
        bn.train(training)
        # A non-zero mean and a non-unit scale per channel, as after a convolution.
        x = (torch.randn(n, c, h, w) * (torch.rand(1, c, 1, 1) * 3 + 0.5) + torch.randn(1, c, 1, 1) * 2)
        x.requires_grad_(True)
        y = bn(x)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        t.update(x=x, y=y, dy=dy, dx=x.grad, dweight=bn.weight.grad, dbias=bn.bias.grad,
                 running_mean=bn.running_mean, running_var=bn.running_var)
        write("bn_" + name, dict(momentum=mom, eps=eps, training=int(training)), t)


def gen_act():
    # Random values plus the points where the activations change form.
    special = torch.tensor([-3.0, 3.0, 0.0, 6.0, -2.999, 2.999, -3.001, 3.001, 5.999, 6.001, -0.0, 1e-7])
    x = torch.randn(2, 3, 4, 5) * 4
    x.view(-1)[: len(special)] = special
    for name, f in [("relu", F.relu), ("relu6", F.relu6), ("hswish", F.hardswish), ("sigmoid", torch.sigmoid)]:
        xi = x.clone().requires_grad_(True)
        y = f(xi)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        write("act_" + name, dict(op=name), {"x": xi, "y": y, "dy": dy, "dx": xi.grad})


def gen_shuffle():
    for name, shape, g in [("g3", (2, 12, 3, 2), 3), ("g4", (2, 8, 2, 2), 4), ("g1", (1, 4, 2, 3), 1),
                           ("g2_hw1", (3, 6, 1, 1), 2), ("g6_depth", (1, 6, 2, 2), 6)]:
        n, c, h, w = shape
        x = torch.randn(*shape, requires_grad=True)
        y = x.view(n, g, c // g, h, w).transpose(1, 2).reshape(n, c, h, w)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        write("shuffle_" + name, dict(groups=g), {"x": x, "y": y, "dy": dy, "dx": x.grad})


def gen_linear():
    for name, n, fin, fout, bias in [("bias", 5, 7, 4, True), ("nobias", 3, 6, 5, False),
                                     ("wide", 4, 33, 10, True)]:
        lin = nn.Linear(fin, fout, bias=bias)
        x = torch.randn(n, fin, requires_grad=True)
        y = lin(x)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        t = {"x": x, "weight": lin.weight, "y": y, "dy": dy, "dx": x.grad, "dweight": lin.weight.grad}
        if bias:
            t.update(bias=lin.bias, dbias=lin.bias.grad)
        write("linear_" + name, dict(fin=fin, fout=fout, bias=int(bias)), t)


def gen_loss():
    for name, n, k, scale, eps in [("plain", 6, 5, 1.0, 0.0), ("smooth", 6, 5, 1.0, 0.1),
                                   ("large_logits", 4, 10, 60.0, 0.1), ("large_plain", 4, 7, 60.0, 0.0),
                                   ("smooth_03", 8, 3, 2.0, 0.3)]:
        logits = (torch.randn(n, k) * scale).requires_grad_(True)
        labels = torch.randint(0, k, (n,))
        loss = F.cross_entropy(logits, labels, label_smoothing=eps)
        loss.backward()
        correct = int((logits.argmax(1) == labels).sum())
        write("loss_" + name, dict(smoothing=eps, correct=correct),
              {"logits": logits, "labels": labels.float(), "loss": loss.reshape(1), "dlogits": logits.grad})


SGD_CASES = [
    # name, lr, momentum, weight decay, nesterov
    ("plain", 0.1, 0.0, 0.0, False),
    ("wd", 0.05, 0.0, 1e-2, False),
    ("momentum", 0.1, 0.9, 0.0, False),
    ("momentum_wd", 0.1, 0.9, 5e-4, False),
    ("nesterov", 0.1, 0.9, 0.0, True),
    ("nesterov_wd", 0.1, 0.9, 4e-5, True),
]
SGD_STEPS = 4


def gen_sgd():
    for name, lr, mom, wd, nesterov in SGD_CASES:
        ps = [torch.randn(3, 4, requires_grad=True), torch.randn(5, requires_grad=True)]
        t = {"p%d_0" % i: p.detach().clone() for i, p in enumerate(ps)}
        opt = torch.optim.SGD(ps, lr=lr, momentum=mom, weight_decay=wd, nesterov=nesterov)
        lrs = []
        for s in range(1, SGD_STEPS + 1):
            # A schedule: the learning rate halves after the second step.
            step_lr = lr if s <= 2 else lr / 2
            for g in opt.param_groups:
                g["lr"] = step_lr
            lrs.append(step_lr)
            for i, p in enumerate(ps):
                p.grad = torch.randn_like(p)
                t["g%d_%d" % (i, s)] = p.grad.clone()
            opt.step()
            for i, p in enumerate(ps):
                t["p%d_%d" % (i, s)] = p.detach().clone()
        write("sgd_" + name, dict(lr=lr, momentum=mom, weight_decay=wd, nesterov=int(nesterov),
                                  steps=SGD_STEPS, lrs=lrs, params=len(ps)), t)


def main():
    torch.manual_seed(0)
    gen_bn()
    gen_act()
    gen_shuffle()
    gen_linear()
    gen_loss()
    gen_sgd()


if __name__ == "__main__":
    main()
