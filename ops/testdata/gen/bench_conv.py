"""Times PyTorch's convolutions on the shapes of ops/conv_bench_test.go (BenchmarkConv
and BenchmarkDepthwise3x3), forward and backward (input and weight gradients), at one
and two threads, and prints GFLOP/s in the Go benchmark's naming, for side-by-side
comparison with `go test ./ops -run XXX -bench 'Conv|Depthwise' -cpu 1,2`.

    /usr/bin/python3 ops/testdata/gen/bench_conv.py [--reps 3] [--filter SUBSTRING] [--cpu-time]

With --cpu-time it runs one thread only and divides by the thread's CPU time
(time.thread_time) instead of wall time, as BenchmarkConvCPU does on the Go side, so
that the two compare on a machine shared with other jobs.

GFLOP/s counts 2*MACs for the forward pass and twice that for the backward pass, as
the Go benchmarks do. Run with nothing else busy on the machine.
"""
import argparse
import time

import torch
import torch.nn.functional as F


def cases():
    cs = []
    for g in (1, 2, 4, 8):
        cs.append((f"1x1_g{g}_C96_HW14", 96, 96, 1, 1, g, 14, 64))
    cs.append(("3x3_dense_C32_HW14", 32, 32, 3, 1, 1, 14, 64))
    for k in (3, 5, 7):
        cs.append((f"dw{k}x{k}_C96_HW14", 96, 96, k, 1, 96, 14, 64))
    cs.append(("dw3x3_s2_C96_HW14", 96, 96, 3, 2, 96, 14, 64))
    ref = [
        ("stem_3x3_C1to16_HW28", 1, 16, 3, 1, 1, 28),
        ("b1_pw_C16to64_HW28", 16, 64, 1, 1, 1, 28),
        ("b1_dw3x3_s2_C64_HW28", 64, 64, 3, 2, 64, 28),
        ("b1_pl_C64to24_HW14", 64, 24, 1, 1, 1, 14),
        ("b2_pw_g4_C24to96_HW14", 24, 96, 1, 1, 4, 14),
        ("b2_dw3x3_C96_HW14", 96, 96, 3, 1, 96, 14),
        ("b2_pl_g4_C96to24_HW14", 96, 24, 1, 1, 4, 14),
        ("b3_pw_C24to96_HW14", 24, 96, 1, 1, 1, 14),
        ("b3_dw3x3_s2_C48_HW14", 48, 48, 3, 2, 48, 14),
        ("b3_dw5x5_s2_C48_HW14", 48, 48, 5, 2, 48, 14),
        ("b3_pl_C96to48_HW7", 96, 48, 1, 1, 1, 7),
        ("b4_pw_g4_C48to192_HW7", 48, 192, 1, 1, 4, 7),
        ("b4_dw3x3_C64_HW7", 64, 64, 3, 1, 64, 7),
        ("b4_dw5x5_C64_HW7", 64, 64, 5, 1, 64, 7),
        ("b4_dw7x7_C64_HW7", 64, 64, 7, 1, 64, 7),
        ("b4_pl_g4_C192to48_HW7", 192, 48, 1, 1, 4, 7),
        ("b5_pw_C48to192_HW7", 48, 192, 1, 1, 1, 7),
        ("b5_dw3x3_s2_C192_HW7", 192, 192, 3, 2, 192, 7),
        ("b5_pl_C192to96_HW4", 192, 96, 1, 1, 1, 4),
        ("b6_pw_g8_C96to384_HW4", 96, 384, 1, 1, 8, 4),
        ("b6_dw3x3_C384_HW4", 384, 384, 3, 1, 384, 4),
        ("b6_pl_g8_C384to96_HW4", 384, 96, 1, 1, 8, 4),
        ("head_C96to256_HW4", 96, 256, 1, 1, 1, 4),
    ]
    cs += [("ref_" + n, i, o, k, s, g, hw, 128) for n, i, o, k, s, g, hw in ref]
    return cs


def timeit(f, clock, min_time=0.2):
    f()
    n, t = 1, 0.0
    while True:
        t0 = clock()
        for _ in range(n):
            f()
        t = clock() - t0
        if t >= min_time:
            return t / n
        n *= 2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--filter", default="")
    p.add_argument("--cpu-time", action="store_true")
    a = p.parse_args()
    clock = time.thread_time if a.cpu_time else time.perf_counter
    torch.manual_seed(0)
    rows = [("Depthwise3x3", 32, 32, 3, 1, 32, 14, 64)] + cases()
    print(f"torch {torch.__version__}; GFLOP/s best (median) of {a.reps}")
    for threads in ((1,) if a.cpu_time else (1, 2)):
        torch.set_num_threads(threads)
        for name, cin, cout, k, s, g, hw, n in rows:
            if a.filter not in name:
                continue
            x = torch.randn(n, cin, hw, hw)
            w = torch.randn(cout, cin // g, k, k)
            y = F.conv2d(x, w, None, s, k // 2, 1, g)
            dy = torch.randn_like(y)
            macs = y.numel() * (cin // g) * k * k
            fwd = lambda: F.conv2d(x, w, None, s, k // 2, 1, g)
            bwd = lambda: torch.ops.aten.convolution_backward(
                dy, x, w, None, [s, s], [k // 2, k // 2], [1, 1], False, [0, 0], g, [True, True, False])
            dirs = [("fwd", fwd, 2 * macs)] if name == "Depthwise3x3" else [("fwd", fwd, 2 * macs), ("bwd", bwd, 4 * macs)]
            for d, f, flops in dirs:
                with torch.no_grad():
                    r = sorted(flops / timeit(f, clock) / 1e9 for _ in range(a.reps))
                label = f"Conv/{name}_{d}"
                if name == "Depthwise3x3":
                    label = "ConvCPU/Depthwise3x3_C32_HW14_fwd" if a.cpu_time else "Depthwise3x3"
                print(f"{label} threads={threads}{' cpu-time' if a.cpu_time else ''} {r[-1]:.2f} ({r[len(r) // 2]:.2f}) GFLOP/s")


if __name__ == "__main__":
    main()
