"""Golden data for Conv2D: grouped, depthwise, strided, dilated, padded, rectangular and
biased cases. Each case stores x, weight, (bias), y = conv(x), a random upstream
gradient dy, and the gradients dx, dweight, (dbias) of sum(y * dy)."""
import torch
import torch.nn.functional as F

from fixture import write

CASES = [
    # name, N, Cin, H, W, Cout, KH, KW, stride, pad, dilation, groups, bias
    ("dense3x3", 2, 4, 7, 6, 5, 3, 3, (1, 1), (1, 1), (1, 1), 1, False),
    ("grouped1x1", 2, 8, 5, 5, 12, 1, 1, (1, 1), (0, 0), (1, 1), 4, False),
    ("grouped3x3_stride2", 2, 6, 9, 8, 9, 3, 3, (2, 2), (1, 1), (1, 1), 3, True),
    ("depthwise3x3", 2, 5, 8, 7, 5, 3, 3, (1, 1), (1, 1), (1, 1), 5, False),
    ("depthwise5x5_stride2", 2, 4, 11, 10, 4, 5, 5, (2, 2), (2, 2), (1, 1), 4, False),
    ("depthwise7x7", 1, 3, 9, 9, 3, 7, 7, (1, 1), (3, 3), (1, 1), 3, False),
    ("depthwise_mult2", 2, 3, 6, 6, 6, 3, 3, (1, 1), (1, 1), (1, 1), 3, True),
    ("dilated3x3", 2, 3, 9, 9, 4, 3, 3, (1, 1), (2, 2), (2, 2), 1, True),
    ("rect3x1", 2, 4, 7, 5, 4, 3, 1, (1, 1), (1, 0), (1, 1), 1, False),
    ("rect1x5_grouped", 2, 4, 5, 8, 6, 1, 5, (1, 2), (0, 2), (1, 1), 2, True),
    ("nopad_stride3", 1, 2, 10, 11, 3, 4, 3, (3, 2), (0, 0), (1, 1), 1, True),
    # Depthwise cases for the flat kernels (stride 1, or stride 2 with "same" padding),
    # at odd sizes, batches 1 and 3, with multipliers.
    ("dw3x3_s1_odd_b3", 3, 4, 7, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 4, True),
    ("dw3x3_s2_odd_b1", 1, 3, 7, 9, 3, 3, 3, (2, 2), (1, 1), (1, 1), 3, False),
    ("dw3x3_s2_even_b3", 3, 2, 8, 6, 2, 3, 3, (2, 2), (1, 1), (1, 1), 2, False),
    ("dw5x5_s1_b2", 2, 3, 9, 6, 3, 5, 5, (1, 1), (2, 2), (1, 1), 3, False),
    ("dw5x5_s2_odd_b1", 1, 2, 9, 9, 2, 5, 5, (2, 2), (2, 2), (1, 1), 2, True),
    ("dw7x7_s2_b2", 2, 2, 11, 9, 2, 7, 7, (2, 2), (3, 3), (1, 1), 2, False),
    ("dw9x9_s1_b1", 1, 2, 10, 10, 2, 9, 9, (1, 1), (4, 4), (1, 1), 2, False),
    ("dw9x9_s2_b1", 1, 2, 13, 11, 2, 9, 9, (2, 2), (4, 4), (1, 1), 2, True),
    ("dw_mult3_s2_b2", 2, 2, 7, 7, 6, 3, 3, (2, 2), (1, 1), (1, 1), 2, True),
    ("dw_mult2_s1_b3", 3, 2, 5, 6, 4, 5, 5, (1, 1), (2, 2), (1, 1), 2, False),
    ("dw_stem_1to4", 2, 1, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, False),
    ("dw_dilated_s1", 2, 3, 9, 8, 3, 3, 3, (1, 1), (2, 2), (2, 2), 3, False),
    ("dw_rect3x5_s1", 2, 2, 6, 8, 2, 3, 5, (1, 1), (1, 2), (1, 1), 2, True),
    # Depthwise cases for the direct Go loops: no padding, stride 3, mixed strides.
    ("dw3x3_s2_nopad", 2, 3, 9, 9, 3, 3, 3, (2, 2), (0, 0), (1, 1), 3, False),
    ("dw3x3_s3", 1, 2, 10, 8, 4, 3, 3, (3, 3), (1, 1), (1, 1), 2, True),
    ("dw3x3_s1x2", 2, 2, 7, 8, 2, 3, 3, (1, 2), (1, 1), (1, 1), 2, False),
    # 1x1 convolutions without im2col (grouped, batches 1 and 3) and strided 1x1.
    ("pw1x1_g2_b3", 3, 6, 4, 3, 8, 1, 1, (1, 1), (0, 0), (1, 1), 2, True),
    ("pw1x1_g8_b1", 1, 16, 3, 3, 8, 1, 1, (1, 1), (0, 0), (1, 1), 8, False),
    ("pw1x1_dense_b2", 2, 5, 4, 4, 7, 1, 1, (1, 1), (0, 0), (1, 1), 1, False),
    ("pw1x1_g2_wide", 2, 20, 3, 4, 18, 1, 1, (1, 1), (0, 0), (1, 1), 2, True),  # > 8 channels per group: Sgemm
    ("pw1x1_s2_g2", 2, 4, 7, 6, 6, 1, 1, (2, 2), (0, 0), (1, 1), 2, True),
    ("dense3x3_b1", 1, 3, 6, 5, 4, 3, 3, (1, 1), (1, 1), (1, 1), 1, True),
]


def main():
    torch.manual_seed(0)
    for name, n, cin, h, w, cout, kh, kw, stride, pad, dil, groups, bias in CASES:
        x = torch.randn(n, cin, h, w, requires_grad=True)
        wt = torch.randn(cout, cin // groups, kh, kw, requires_grad=True)
        b = torch.randn(cout, requires_grad=True) if bias else None
        y = F.conv2d(x, wt, b, stride, pad, dil, groups)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        t = {"x": x, "weight": wt, "y": y, "dy": dy, "dx": x.grad, "dweight": wt.grad}
        if bias:
            t.update(bias=b, dbias=b.grad)
        write("conv_" + name, dict(cin=cin, cout=cout, kh=kh, kw=kw, stride_h=stride[0], stride_w=stride[1],
                                   pad_h=pad[0], pad_w=pad[1], dil_h=dil[0], dil_w=dil[1], groups=groups,
                                   bias=int(bias)), t)


if __name__ == "__main__":
    main()
