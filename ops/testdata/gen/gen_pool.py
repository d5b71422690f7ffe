"""Golden data for pooling, upsampling and the merge ops.

Pooling cases store x, y = pool(x), a random upstream gradient dy and dx, the gradient
of sum(y * dy). They cover ceil mode with an overhanging last window and with a
window that ceil mode drops, padding, strides other than the window size, both
count_include_pad settings, rectangular inputs and ties for max pooling. Upsample
and the merge ops (add, channel concat, channel split) store the same kind of data."""
import torch
import torch.nn.functional as F

from fixture import write

POOLS = [
    # name, kind, N, C, H, W, k, stride, pad, ceil_mode, count_include_pad
    ("max_3x3s2_floor", "max", 2, 3, 8, 8, 3, 2, 0, False, True),
    # SqueezeNet's MaxPool2d(3, 2, ceil_mode=True): 8 -> 4 with an overhanging window.
    ("max_3x3s2_ceil", "max", 2, 3, 8, 8, 3, 2, 0, True, True),
    # GoogLeNet's MaxPool2d(3, 1, padding=1, ceil_mode=True).
    ("max_3x3s1_pad1_ceil", "max", 1, 2, 6, 5, 3, 1, 1, True, True),
    ("max_2x2s2_ceil_odd", "max", 2, 2, 7, 5, 2, 2, 0, True, True),
    # Ceil mode would start a last window at 6 >= 5 + pad 1: PyTorch drops it.
    ("max_2x2s2_pad1_ceil_drop", "max", 1, 2, 5, 5, 2, 2, 1, True, True),
    ("max_3x3s2_pad1_ceil_rect", "max", 2, 2, 9, 6, 3, 2, 1, True, True),
    ("max_2x2s3", "max", 1, 3, 8, 7, 2, 3, 0, False, True),
    ("avg_3x3s2_pad1_ceil_incl", "avg", 2, 3, 6, 7, 3, 2, 1, True, True),
    ("avg_3x3s2_pad1_ceil_excl", "avg", 2, 3, 6, 7, 3, 2, 1, True, False),
    ("avg_3x3s1_pad1_incl", "avg", 1, 2, 5, 6, 3, 1, 1, False, True),
    ("avg_3x3s1_pad1_excl", "avg", 1, 2, 5, 6, 3, 1, 1, False, False),
    ("avg_2x2s2_ceil_odd", "avg", 2, 2, 7, 5, 2, 2, 0, True, True),
    ("avg_2x2s2_pad1_ceil_drop", "avg", 1, 2, 5, 5, 2, 2, 1, True, True),
    ("avg_2x2s3", "avg", 1, 3, 8, 7, 2, 3, 0, False, True),
    ("avg_5x5s3_pad2_floor", "avg", 1, 2, 11, 9, 5, 3, 2, False, True),
]


def pool(kind, x, k, stride, pad, ceil, incl):
    if kind == "max":
        return F.max_pool2d(x, k, stride, pad, ceil_mode=ceil)
    return F.avg_pool2d(x, k, stride, pad, ceil_mode=ceil, count_include_pad=incl)


def case(x, y):
    """Returns the tensors of a single-input case with a random upstream gradient."""
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    return {"x": x, "y": y, "dy": dy, "dx": x.grad}


def main():
    torch.manual_seed(0)
    for name, kind, n, c, h, w, k, stride, pad, ceil, incl in POOLS:
        x = torch.randn(n, c, h, w, requires_grad=True)
        y = pool(kind, x, k, stride, pad, ceil, incl)
        write("pool_" + name, dict(kind=kind, k=k, stride=stride, pad=pad, ceil=int(ceil),
                                   count_include_pad=int(incl)), case(x, y))

    # Ties: values from {0, 1, 2} with overlapping windows, so most windows hold
    # several maxima and PyTorch routes the gradient to the first in row-major order.
    x = torch.randint(0, 3, (2, 2, 7, 7)).float().requires_grad_()
    write("pool_max_ties", dict(kind="max", k=3, stride=2, pad=1, ceil=1, count_include_pad=1),
          case(x, F.max_pool2d(x, 3, 2, 1, ceil_mode=True)))

    x = torch.randn(2, 3, 5, 7, requires_grad=True)
    write("pool_global_5x7", dict(kind="global"), case(x, F.adaptive_avg_pool2d(x, 1)))
    x = torch.randn(3, 4, 1, 1, requires_grad=True)
    write("pool_global_1x1", dict(kind="global"), case(x, F.adaptive_avg_pool2d(x, 1)))

    x = torch.randn(2, 3, 4, 5, requires_grad=True)
    write("upsample_4x5", {}, case(x, F.interpolate(x, scale_factor=2, mode="nearest")))
    x = torch.randn(1, 2, 1, 3, requires_grad=True)
    write("upsample_1x3", {}, case(x, F.interpolate(x, scale_factor=2, mode="nearest")))

    xs = [torch.randn(2, 3, 4, 5, requires_grad=True) for _ in range(3)]
    y = xs[0] + xs[1] + xs[2]
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    t = {"y": y, "dy": dy}
    for i, x in enumerate(xs):
        t["x%d" % i], t["dx%d" % i] = x, x.grad
    write("merge_add3", dict(op="add", inputs=3), t)

    xs = [torch.randn(2, c, 3, 4, requires_grad=True) for c in (2, 3, 1)]
    y = torch.cat(xs, dim=1)
    dy = torch.randn_like(y)
    (y * dy).sum().backward()
    t = {"y": y, "dy": dy}
    for i, x in enumerate(xs):
        t["x%d" % i], t["dx%d" % i] = x, x.grad
    write("merge_concat3", dict(op="concat", inputs=3), t)

    sizes = [1, 4, 2]
    x = torch.randn(2, sum(sizes), 3, 3, requires_grad=True)
    ys = torch.split(x, sizes, dim=1)
    dys = [torch.randn_like(y) for y in ys]
    sum((y * d).sum() for y, d in zip(ys, dys)).backward()
    t = {"x": x, "dx": x.grad}
    for i, (y, d) in enumerate(zip(ys, dys)):
        t["y%d" % i], t["dy%d" % i] = y, d
    write("merge_split", dict(op="split", sizes=sizes), t)


if __name__ == "__main__":
    main()
