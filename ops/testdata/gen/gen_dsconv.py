"""Golden data for DSConv (ops/dsconv.go): a PyTorch re-implementation of the
quantisation of ActiveVisionLab/DSConv's Quantizer.py (signed-extreme scaling to
-2^(b-1), rint, least-squares kernel distribution shift per block) applied per block
of B input channels as DSConv2d.py expands its alpha, with the integers clamped to b
bits, an optional channel distribution shift (a scale per output channel), and the
straight-through estimator of ops.DSConv's doc comment.

Each case stores x, weight (the float shadow weights), (bias), (cds), the integers q
and shifts kds, the reconstructed weights wq = cds * kds * q that the convolution
uses, y, a random upstream gradient dy, and the gradients dx, dweight, (dbias),
(dcds) of sum(y * dy)."""
import math

import torch
import torch.nn.functional as F

from fixture import write

CASES = [
    # name, N, Cin, H, W, Cout, KH, KW, stride, pad, groups, bits, block, bias, cds
    # B = 3 does not divide 8 input channels: blocks of 3, 3 and 2.
    ("b4_B3_dense3x3", 2, 8, 5, 4, 4, 3, 3, 1, 1, 1, 4, 3, False, False),
    # 2 bits, grouped and strided; 6 channels per group in blocks of 4 and 2.
    ("b2_B4_grouped3x3_s2_cds", 1, 12, 6, 5, 6, 3, 3, 2, 1, 2, 2, 4, True, True),
    # 8 bits on a 1x1 convolution (the pointwise path): blocks of 5 and 2.
    ("b8_B5_pw1x1_cds", 2, 7, 4, 5, 6, 1, 1, 1, 0, 1, 8, 5, False, True),
    # Depthwise: one input channel per group, so every block holds a single value.
    ("b4_B2_depthwise3x3", 2, 4, 6, 6, 4, 3, 3, 1, 1, 4, 4, 2, True, False),
    # The default block of 32 is wider than the 5 channels: one block per kernel tap.
    ("b2_B32_dense3x1", 1, 5, 6, 5, 4, 3, 1, 1, 1, 1, 2, 32, False, False),
    # 8 bits on an unpadded 2x2 at stride 2: 10 channels in blocks of 4, 4 and 2.
    ("b8_B4_dense2x2_s2", 1, 10, 6, 7, 3, 2, 2, 2, 0, 1, 8, 4, True, False),
]


def quantize(w, bits, block):
    """Returns the integers q (as floats) and the shifts kds of (Cout, blocks, KH, KW)."""
    lo, hi = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    cout, cig, kh, kw = w.shape
    nb = math.ceil(cig / block)
    q = torch.zeros_like(w)
    kds = torch.zeros(cout, nb, kh, kw)
    for j in range(nb):
        v = w[:, j * block:(j + 1) * block]
        mx, mn = v.max(dim=1).values, v.min(dim=1).values
        m = torch.where(mx.abs() > mn.abs(), mx, mn)  # Quantizer.quantize_block's absmax
        s = torch.full_like(m, lo) / m
        qj = torch.clamp(torch.round(s.unsqueeze(1) * v), lo, hi)  # round: half to even, like np.rint
        qj = torch.where(m.unsqueeze(1) == 0, torch.zeros_like(qj), qj)
        num = (v.double() * qj.double()).sum(1)
        den = (qj.double() * qj.double()).sum(1)
        kds[:, j] = torch.where(den > 0, num / den, torch.zeros_like(num)).float()  # _finding_alpha_
        q[:, j * block:(j + 1) * block] = qj
    return q, kds


def expand(kds, cig, block):
    """Repeats each block's shift over its input channels, as DSConv2d.get_weight_res."""
    return torch.cat([kds[:, j:j + 1].expand(-1, min(block, cig - j * block), -1, -1)
                      for j in range(kds.shape[1])], dim=1)


class StraightThrough(torch.autograd.Function):
    """Returns the reconstructed weights; passes the gradient to the shadow weights."""

    @staticmethod
    def forward(ctx, w, wq):
        return wq.clone()

    @staticmethod
    def backward(ctx, g):
        return g, None


def main():
    torch.manual_seed(0)
    for name, n, cin, h, w, cout, kh, kw, stride, pad, groups, bits, block, bias, cds in CASES:
        cig = cin // groups
        x = torch.randn(n, cin, h, w, requires_grad=True)
        wt = (torch.randn(cout, cig, kh, kw) / math.sqrt(cig * kh * kw)).requires_grad_()
        b = torch.randn(cout, requires_grad=True) if bias else None
        c = (1 + 0.3 * torch.randn(cout)).requires_grad_() if cds else None
        q, kds = quantize(wt.detach(), bits, block)
        wq = expand(kds, cig, block) * q
        weff = StraightThrough.apply(wt, wq)
        if cds:
            weff = c.view(-1, 1, 1, 1) * weff
        y = F.conv2d(x, weff, b, stride, pad, 1, groups)
        dy = torch.randn_like(y)
        (y * dy).sum().backward()
        t = {"x": x, "weight": wt, "q": q, "kds": kds, "wq": weff, "y": y, "dy": dy,
             "dx": x.grad, "dweight": wt.grad}
        if bias:
            t.update(bias=b, dbias=b.grad)
        if cds:
            t.update(cds=c, dcds=c.grad)
        write("dsconv_" + name, dict(cin=cin, cout=cout, kh=kh, kw=kw, stride=stride, pad=pad, groups=groups,
                                     bits=bits, block=block, bias=int(bias), cds=int(cds)), t)


if __name__ == "__main__":
    main()
