"""Golden data for the batched pointwise kernels of Conv2D (conv_pointwise_batch.go):
grouped and dense 1x1 convolutions on the small planes where they run, at batches
that leave a partial last block of samples. Each case stores x, weight, (bias),
y = conv(x), a random upstream gradient dy, and the gradients dx, dweight, (dbias)
of sum(y * dy)."""
import torch
import torch.nn.functional as F

from fixture import write

CASES = [
    # name, N, Cin, H, W, Cout, groups, bias
    ("g4_C12to8_HW2x3_b5", 5, 12, 2, 3, 8, 4, False),  # more input than output channels, as in a projection
    ("g2_C6to10_HW3_b3", 3, 6, 3, 3, 10, 2, True),  # Out > In: the transposed weight gradient
    ("dense_C5to7_HW2_b3", 3, 5, 2, 2, 7, 1, True),
    ("g3_C6to9_HW2_b4", 4, 6, 2, 2, 9, 3, False),
]


def write_cases(prefix, cases):
    """Writes fixture prefix+name for each case (name, N, Cin, H, W, Cout, groups,
    bias), drawing from a generator seeded with 0 first."""
    torch.manual_seed(0)
    for name, n, cin, h, w, cout, groups, bias in cases:
        x = torch.randn(n, cin, h, w, requires_grad=True)
        wt = torch.randn(cout, cin // groups, 1, 1, requires_grad=True)
        b = torch.randn(cout, requires_grad=True) if bias else None
        y = F.conv2d(x, wt, b, 1, 0, 1, groups)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        t = {"x": x, "weight": wt, "y": y, "dy": dy, "dx": x.grad, "dweight": wt.grad}
        if bias:
            t.update(bias=b, dbias=b.grad)
        write(prefix + name, dict(cin=cin, cout=cout, groups=groups, bias=int(bias)), t)


def main():
    write_cases("pwbatch_", CASES)


if __name__ == "__main__":
    main()
