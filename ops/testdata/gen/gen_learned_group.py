"""Golden data for LearnedGroupConv, from a re-implementation of ShichenLiu/CondenseNet
layers.py (LearnedGroupConv: BN -> ReLU -> 1x1 conv with weight * mask, _check_drop,
_dropping and lasso_loss; CondensingConv and ShuffleLayer for the converted form).

Each case condenses a layer stage by stage: before stage s the weights are set to a
fresh random w_s, the progress p_s (inside stage s) is applied, and the mask after it
is stored as mask_s. After stage 1 (part condensed) it stores one training-mode
forward and backward (x, dy, y, dx and the gradients of conv weight, BN gamma and
beta) and the group-lasso value and its gradient. After the last stage it sets
random running statistics, and stores the evaluation-mode output of the masked layer
(y_eval) and of the converted layer (y_conv), with the converted index."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from fixture import write

CASES = [
    # name, N, Cin, Cout, H, W, groups G, condense factor C
    ("g2c2", 2, 8, 6, 3, 3, 2, 2),
    ("g4c4", 2, 8, 8, 3, 2, 4, 4),
    ("g2c4", 3, 8, 4, 2, 3, 2, 4),
]


class LearnedGroupConv(nn.Module):
    """layers.py LearnedGroupConv for 1x1 kernels, with progress passed explicitly."""

    def __init__(self, cin, cout, groups, condense):
        super().__init__()
        self.norm = nn.BatchNorm2d(cin)
        self.weight = nn.Parameter(torch.zeros(cout, cin, 1, 1))
        self.register_buffer("mask", torch.ones(cout, cin, 1, 1))
        self.cin, self.cout, self.groups, self.condense = cin, cout, groups, condense
        self.count, self.stage = 0, 0

    def forward(self, x):
        return F.conv2d(F.relu(self.norm(x)), self.weight * self.mask)

    def check_drop(self, progress):
        c = self.condense
        for i in range(c - 1):
            if progress * 2 < (i + 1) / (c - 1):
                stage = i
                break
        else:
            stage = c - 1
        if self.stage < stage:
            self.stage = stage
            self.dropping(self.cin // c)

    def dropping(self, delta):
        w = (self.weight * self.mask).detach().abs().squeeze(-1).squeeze(-1)
        d_out = self.cout // self.groups
        # Output o = k*G + i belongs to group i: rows i*d_out + k after the transpose.
        w = w.view(d_out, self.groups, self.cin).transpose(0, 1).contiguous().view(self.cout, self.cin)
        for i in range(self.groups):
            wi = w[i * d_out:(i + 1) * d_out, :]
            for d in wi.sum(0).sort()[1][self.count:self.count + delta]:
                self.mask[i::self.groups, d, :, :] = 0
        self.count += delta

    def lasso_loss(self):
        w = (self.weight * self.mask).squeeze(-1).squeeze(-1).pow(2)
        d_out = self.cout // self.groups
        return w.view(d_out, self.groups, self.cin).sum(0).clamp(min=1e-6).sqrt().sum()


def converted(m):
    """layers.py CondensingConv: index-select, BN, ReLU, group conv, shuffle."""
    g, cin, cout = m.groups, m.cin, m.cout
    keep = cin // m.condense
    cc = cin * g // m.condense
    mask = m.mask.mean(-1).mean(-1)
    index = torch.zeros(cc, dtype=torch.long)
    weight = torch.zeros(cout, keep, 1, 1)
    norm = nn.BatchNorm2d(cc)
    n = 0
    for i in range(g):
        for j in range(cin):
            if n < keep * (i + 1) and mask[i, j] == 1:
                for k in range(cout // g):
                    weight[k + i * (cout // g), n % keep] = m.weight.data[i + k * g, j]
                norm.weight.data[n] = m.norm.weight.data[j]
                norm.bias.data[n] = m.norm.bias.data[j]
                norm.running_mean[n] = m.norm.running_mean[j]
                norm.running_var[n] = m.norm.running_var[j]
                index[n] = j
                n += 1
    norm.eval()

    def run(x):
        y = F.conv2d(F.relu(norm(torch.index_select(x, 1, index))), weight, groups=g)
        b, c, h, w = y.shape
        return y.view(b, g, c // g, h, w).transpose(1, 2).contiguous().view(b, c, h, w)
    return index, run


def main():
    torch.manual_seed(0)
    for name, n, cin, cout, h, w, g, c in CASES:
        m = LearnedGroupConv(cin, cout, g, c)
        with torch.no_grad():
            m.norm.weight.uniform_(0.5, 1.5)
            m.norm.bias.uniform_(-0.5, 0.5)
        t = {"gamma": m.norm.weight.detach().clone(), "beta": m.norm.bias.detach().clone()}
        progress = []
        for s in range(1, c):
            p = (s + 0.5) / (2 * (c - 1))
            progress.append(p)
            with torch.no_grad():
                m.weight.copy_(torch.randn(cout, cin, 1, 1))
            t["w%d" % s] = m.weight.detach().clone()
            m.check_drop(p)
            t["mask%d" % s] = m.mask.detach().clone()
            if s == 1:
                x = torch.randn(n, cin, h, w, requires_grad=True)
                m.zero_grad()
                y = m(x)
                dy = torch.randn_like(y)
                (y * dy).sum().backward()
                t.update(x=x, dy=dy, y=y, dx=x.grad.clone(), dweight=m.weight.grad.clone(),
                         dgamma=m.norm.weight.grad.clone(), dbeta=m.norm.bias.grad.clone())
                m.zero_grad()
                lasso = m.lasso_loss()
                lasso.backward()
                t.update(lasso=lasso.reshape(1), dlasso=m.weight.grad.clone())
                m.zero_grad()
        with torch.no_grad():
            m.norm.running_mean.copy_(torch.randn(cin) * 0.3)
            m.norm.running_var.uniform_(0.5, 2.0)
        m.eval()
        x_eval = torch.randn(n, cin, h, w)
        index, run = converted(m)
        with torch.no_grad():
            t.update(running_mean=m.norm.running_mean.clone(), running_var=m.norm.running_var.clone(),
                     x_eval=x_eval, y_eval=m(x_eval), y_conv=run(x_eval), index=index.float())
        # The conversion is exact up to float32 summation order.
        assert torch.allclose(t["y_eval"], t["y_conv"], atol=1e-5), name
        write("learned_group_" + name, dict(n=n, cin=cin, cout=cout, h=h, w=w, groups=g, condense=c,
                                            progress=progress), t)


if __name__ == "__main__":
    main()
