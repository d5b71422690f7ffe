"""Golden data for DynamicGroupConv: a re-implementation of hellozhuo/dgc layers.py
(DynamicMultiHeadConv and HeadConv, Su et al. ECCV 2020) without the layer's leading
BatchNorm2d and ReLU (the Go layer leaves them to the network) and with the number of
inactive channels fixed at round(in * (1 - gate_factor)), its value after the first
three quarters of training.

Each case stores x, the convolution weight (the heads' conv weights stacked along the
output dimension, as DynamicMultiHeadConv.forward concatenates them), the saliency
generators' fc1, fc2 and fc2_bias stacked over the heads, y, a random upstream
gradient dy, the gradients of sum(y * dy) + lasso * (the sum over the heads of
their mean saliency, layers.py's _lasso_loss) with respect to x and every parameter, and
nkept, the number of channels each (sample, head) convolves.

The inputs are redrawn until no decision is closer than MARGIN to flipping: the
saliency threshold against the next larger saliency, and every pre-ReLU value of the
generators against 0, so that float32 rounding in a different summation order cannot
change which channels are kept (top-k has no ties but the exact zeros of the ReLU)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture import write

# A decision this close to flipping is redrawn: far above the ~1e-6 rounding
# differences of these few-term sums.
MARGIN = 1e-3

CASES = [
    # name, N, Cin, H, W, Cout, K, stride, pad, dil, heads, keep, squeeze rate, fc2 bias shift, lasso
    # A shift of 2 makes the saliencies positive: exactly round(in*keep) channels are kept.
    ("k3_h2_keep50", 2, 8, 5, 5, 6, 3, 1, 1, 1, 2, 0.5, 4, 2.0, 0.0),
    # A negative shift: most saliencies are 0, the threshold is 0 and fewer channels
    # than round(in*keep) are kept.
    ("k3_s2_h3_zeros", 2, 9, 5, 5, 6, 3, 2, 1, 1, 3, 0.45, 4, -1.0, 0.0),
    # The ResNet shortcut: 1x1 stride 2, four heads, the ResNet-18 keep ratio.
    ("k1_s2_h4", 2, 8, 6, 6, 8, 1, 2, 0, 1, 4, 0.45, 8, 1.0, 0.0),
    # Keep 1: no channel dropped, zero saliencies included.
    ("k1_s1_h2_keepall", 3, 6, 4, 3, 4, 1, 1, 0, 1, 2, 1.0, 4, 0.0, 0.0),
    # Pointwise at stride 1 with drops (the no-im2col path), batch 1.
    ("k1_s1_h3_b1", 1, 12, 3, 4, 6, 1, 1, 0, 1, 3, 0.25, 8, 1.0, 0.0),
    # Dilated, one head, hidden width 1 (10 // (16 // 2)).
    ("k3_dil2_h1", 1, 10, 6, 6, 4, 3, 1, 2, 2, 1, 0.25, 16, 1.0, 0.0),
    # The lasso term on the saliencies (main.py's group_lasso_lambda, here large enough
    # that its gradient, lasso/(N*Cin) per saliency, is far above the tolerance).
    ("k3_h2_lasso", 2, 8, 5, 5, 4, 3, 1, 1, 1, 2, 0.5, 4, 0.5, 2.0),
]


class HeadConv(nn.Module):
    """layers.py HeadConv: fc1 (no bias) -> ReLU -> fc2 (bias) -> ReLU gives each
    channel's saliency; the inactive channels of lowest saliency are zeroed and the
    others scaled by it."""

    def __init__(self, cin, cout, squeeze_rate, k, stride, pad, dil):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, dil, bias=False)
        if cin < 80:
            squeeze_rate = squeeze_rate // 2
        self.fc1 = nn.Linear(cin, cin // squeeze_rate, bias=False)
        self.fc2 = nn.Linear(cin // squeeze_rate, cin, bias=True)

    def forward(self, x, x_averaged, inactive):
        b, c, _, _ = x.size()
        z1 = self.fc1(x_averaged.view(b, c))
        z2 = self.fc2(F.relu(z1))
        mask = F.relu(z2)
        mask_d = mask.detach()
        mask_c = mask
        if inactive > 0:
            mask_c = mask.clone()
            low, _ = mask_d.topk(inactive, dim=1, largest=False, sorted=False)
            clamp_max, _ = low.max(dim=1, keepdim=True)
            mask_c[mask_d.le(clamp_max)] = 0
        return x * mask_c.view(b, c, 1, 1), mask.mean(), mask_d, z1.detach(), z2.detach()


class DGC(nn.Module):
    """layers.py DynamicMultiHeadConv without its leading norm and ReLU."""

    def __init__(self, cin, cout, k, stride, pad, dil, heads, keep, squeeze_rate):
        super().__init__()
        self.heads, self.stride, self.pad, self.dil = heads, stride, pad, dil
        self.inactive = round(cin * (1 - keep))
        self.hs = nn.ModuleList(HeadConv(cin, cout // heads, squeeze_rate, k, stride, pad, dil) for _ in range(heads))

    def forward(self, x):
        avg = F.adaptive_avg_pool2d(x, 1)
        parts, info, lasso = [], [], 0.0
        for h in self.hs:
            xm, lasso_h, m, z1, z2 = h(x, avg, self.inactive)
            parts.append(xm)
            info.append((m, z1, z2))
            lasso = lasso + lasso_h
        weight = torch.cat([h.conv.weight for h in self.hs], 0)
        out = F.conv2d(torch.cat(parts, 1), weight, None, self.stride, self.pad, self.dil, self.heads)
        b, c, hh, ww = out.size()
        out = out.view(b, self.heads, c // self.heads, hh, ww).transpose(1, 2).contiguous().view(b, c, hh, ww)
        return out, info, lasso


def safe(info, inactive):
    """Whether no kept/dropped decision or ReLU is within MARGIN of flipping."""
    for m, z1, z2 in info:
        if z1.abs().min() < MARGIN or z2.abs().min() < MARGIN:
            return False
        if 0 < inactive < m.shape[1]:
            # Exact zeros tie harmlessly (none of them is kept); a positive saliency
            # must be clear of the threshold.
            s, _ = m.sort(dim=1)
            gap = s[:, inactive] - s[:, inactive - 1]
            if ((s[:, inactive] > 0) & (gap < MARGIN)).any():
                return False
    return True


def kept_counts(info, inactive):
    """Channels convolved per (sample, head): saliency above the threshold, or all."""
    rows = []
    for m, _, _ in info:
        if inactive == 0:
            rows.append(torch.full((m.shape[0],), float(m.shape[1])))
        else:
            s, _ = m.sort(dim=1)
            rows.append((m > s[:, inactive - 1:inactive]).sum(1).float())
    return torch.stack(rows, 1)  # (N, heads)


def main():
    torch.manual_seed(0)
    for name, n, cin, h, w, cout, k, stride, pad, dil, heads, keep, sq, shift, lasso in CASES:
        net = DGC(cin, cout, k, stride, pad, dil, heads, keep, sq)
        for attempt in range(1000):
            with torch.no_grad():
                for hd in net.hs:
                    for p in (hd.conv.weight, hd.fc1.weight, hd.fc2.weight):
                        p.copy_(torch.randn_like(p))
                    hd.fc2.bias.copy_(torch.randn_like(hd.fc2.bias) + shift)
            x = torch.randn(n, cin, h, w, requires_grad=True)
            y, info, lasso_sum = net(x)
            if safe(info, net.inactive):
                break
        else:
            raise RuntimeError(name + ": no draw without near-ties")
        dy = torch.randn_like(y)
        ((y * dy).sum() + lasso * lasso_sum).backward()
        stack = lambda f: torch.stack([f(hd) for hd in net.hs])
        t = {
            "x": x, "y": y, "dy": dy, "dx": x.grad,
            "weight": torch.cat([hd.conv.weight for hd in net.hs]),
            "dweight": torch.cat([hd.conv.weight.grad for hd in net.hs]),
            "fc1": stack(lambda hd: hd.fc1.weight), "dfc1": stack(lambda hd: hd.fc1.weight.grad),
            "fc2": stack(lambda hd: hd.fc2.weight), "dfc2": stack(lambda hd: hd.fc2.weight.grad),
            "fc2_bias": stack(lambda hd: hd.fc2.bias), "dfc2_bias": stack(lambda hd: hd.fc2.bias.grad),
            "nkept": kept_counts(info, net.inactive),
        }
        write("dgc_" + name, dict(cin=cin, cout=cout, k=k, stride=stride, pad=pad, dil=dil, heads=heads, keep=keep,
                                  squeeze_rate=sq, inactive=net.inactive, lasso=lasso), t)
        print(name, "attempts", attempt + 1, "kept", t["nkept"].tolist())


if __name__ == "__main__":
    main()
