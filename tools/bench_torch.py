#!/usr/bin/env python3
"""PyTorch side of duet's GPU benchmark: times the same GEMM and attention shapes that
`duet bench ops --size ovi` runs, on the same GPU, and prints one JSON object per line with the
fields of duet's --json output (op, backend, dtype, shape, ms, gflops).

Run on the GPU machine:  python3 tools/bench_torch.py [--dtype bf16|f16] [--min-time 0.5]
tools/bench_gpu.sh runs both and prints duet/PyTorch ratios.
"""
import argparse
import json
import math

import torch
import torch.nn.functional as F

# Must match ovi_cases in cli/cmd_bench.c (M x N x K; attention L, heads, head_dim).
GEMMS = [(27280, 3072, 3072), (27280, 14336, 3072), (27280, 3072, 14336)]
ATTENTION = [(27280, 24, 128)]


def time_cuda(fn, min_time):
    fn()
    torch.cuda.synchronize()
    reps = 1
    while True:
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(reps):
            fn()
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end)
        if ms / 1e3 >= min_time or reps >= 1 << 14:
            return ms / reps
        reps *= 2


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dtype", choices=["bf16", "f16"], default="bf16")
    ap.add_argument("--min-time", type=float, default=0.5)
    args = ap.parse_args()
    dt = torch.bfloat16 if args.dtype == "bf16" else torch.float16
    dev = torch.device("cuda")
    name = "pytorch " + torch.__version__ + " " + torch.cuda.get_device_name(0)
    for m, n, k in GEMMS:
        x = torch.randn(m, k, device=dev, dtype=dt)
        w = torch.randn(n, k, device=dev, dtype=dt)
        ms = time_cuda(lambda: F.linear(x, w), args.min_time)
        print(json.dumps({"op": "matmul", "backend": name, "dtype": args.dtype,
                          "shape": f"{m}x{n}x{k}", "ms": ms, "gflops": 2 * m * n * k / ms * 1e-6}))
    for L, h, d in ATTENTION:
        q, k_, v = (torch.randn(1, h, L, d, device=dev, dtype=dt) for _ in range(3))
        ms = time_cuda(lambda: F.scaled_dot_product_attention(q, k_, v, scale=1 / math.sqrt(d)),
                       args.min_time)
        print(json.dumps({"op": "attention", "backend": name, "dtype": args.dtype,
                          "shape": f"L{L} H{h} D{d}", "ms": ms,
                          "gflops": 4 * L * L * h * d / ms * 1e-6}))


if __name__ == "__main__":
    main()
