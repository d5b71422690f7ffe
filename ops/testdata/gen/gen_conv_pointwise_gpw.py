"""Golden data for the gpw pointwise kernels of Conv2D (conv_pointwise_gpw.go):
grouped and dense 1x1 convolutions with few channels per group on planes of more
than 36 values, where they run, including channel counts that leave partial tiles
of six and four rows and planes that are not a multiple of 16 values. Each case
stores x, weight, (bias), y = conv(x), a random upstream gradient dy, and the
gradients dx, dweight, (dbias) of sum(y * dy)."""
import torch
import torch.nn.functional as F

from fixture import write

CASES = [
    # name, N, Cin, H, W, Cout, groups, bias
    ("g2_C6to10_HW5x8_b2", 2, 6, 5, 8, 10, 2, False),  # Out > In per group, as in an expansion
    ("g2_C14to6_HW7_b2", 2, 14, 7, 7, 6, 2, True),  # In > Out per group, as in a projection
    ("dense_C5to7_HW1x37_b3", 3, 5, 1, 37, 7, 1, False),  # partial tiles, 37 values: two vectors and 5 lanes
]


def main():
    torch.manual_seed(0)
    for name, n, cin, h, w, cout, groups, bias in CASES:
        x = torch.randn(n, cin, h, w, requires_grad=True)
        wt = torch.randn(cout, cin // groups, 1, 1, requires_grad=True)
        b = torch.randn(cout, requires_grad=True) if bias else None
        y = F.conv2d(x, wt, b, 1, 0, 1, groups)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        t = {"x": x, "weight": wt, "y": y, "dy": dy, "dx": x.grad, "dweight": wt.grad}
        if bias:
            t.update(bias=b, dbias=b.grad)
        write("pwgpw_" + name, dict(cin=cin, cout=cout, groups=groups, bias=int(bias)), t)


if __name__ == "__main__":
    main()
