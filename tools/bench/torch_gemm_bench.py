#!/usr/bin/python3
"""GEMM benchmark: hemo's CPU GEMM (`hemo bench gemm`, the production kernel) against torch, side
by side on the same float32 products and thread count, in one run.

  /usr/bin/python3 tools/bench/torch_gemm_bench.py --hemo build/tools/hemo --threads 2 --rounds 5

Rounds alternate hemo and torch so that load from other processes hits both alike; each round
reports the median of its timed runs (after warm-up runs), and the table gives the median over
rounds in GFLOP/s (2 M N K per product). torch runs the product two ways:
  torch.matmul   what torch uses for a dense product on the CPU: its BLAS (Debian's torch 1.13
                 links the reference BLAS; other builds link MKL or OpenBLAS), transposes as views
  oneDNN         torch._C._nn.mkldnn_linear, the JIT-compiled oneDNN inner product that torch's
                 CPU convolutions and mkldnn paths use, with the operands already in its layout
Shapes are MxNxK[:AB] (C is M x N; A, B = N or T for op(A), op(B)), the defaults being the
products hemo's conv2d issues for the 7-block CNN at batch 32 (see tools/cmd_bench_gemm.cpp).
On a machine shared with other work, --threads 1 --clock cpu measures the work itself; OpenMP's
default spin-waiting makes multi-threaded runs there pay a scheduler slice per parallel region
(OMP_WAIT_POLICY=passive, exported before running this script, avoids most of it).
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

import torch

DEFAULT_SHAPES = ("64x5000x288,64x20000x288,288x5000x64:TN,64x288x5000:NT,256x128x2304,2304x128x256:TN,"
                  "256x2304x128:NT,512x512x512")


CLOCK = time.perf_counter  # or time.process_time with --clock cpu


def parse(shape):
    m = re.fullmatch(r"(\d+)x(\d+)x(\d+)(?::([NT])([NT]))?", shape)
    if not m:
        sys.exit(f"bad shape {shape!r}")
    return int(m[1]), int(m[2]), int(m[3]), m[4] == "T", m[5] == "T"


def time_median(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = CLOCK()
        fn()
        times.append(CLOCK() - start)
    return statistics.median(times)


def torch_round(shapes, warmup, repeats):
    """{shape: {"torch.matmul": seconds, "oneDNN": seconds}} for one round."""
    out = {}
    gen = torch.Generator().manual_seed(0)
    for shape in shapes:
        m, n, k, ta, tb = parse(shape)
        a = torch.rand((k, m) if ta else (m, k), generator=gen) * 2 - 1
        b = torch.rand((n, k) if tb else (k, n), generator=gen) * 2 - 1
        op_a, op_b = (a.t() if ta else a), (b.t() if tb else b)
        res = {"torch.matmul": time_median(lambda: torch.matmul(op_a, op_b), warmup, repeats)}
        if torch.backends.mkldnn.is_available():
            x = op_a.contiguous().to_mkldnn()
            w = op_b.t().contiguous().to_mkldnn()  # mkldnn_linear computes x w^T
            res["oneDNN"] = time_median(lambda: torch._C._nn.mkldnn_linear(x, w, None), warmup, repeats)
        out[shape] = res
    return out


def hemo_round(hemo, shapes, threads, warmup, repeats, clock):
    """{shape: seconds} for one round of `hemo bench gemm`, and the kernel it reported."""
    cmd = [hemo, "bench", "gemm", "--shapes", ",".join(shapes), "--threads", str(threads), "--warmup", str(warmup),
           "--repeats", str(repeats), "--clock", clock]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    kernel = re.search(r"kernel (.*?), ", text)
    out = {}
    for line in text.splitlines():
        m = re.match(r"gemm (\S+)\s+([\d.]+) ms", line)
        if m:
            out[m[1]] = float(m[2]) * 1e-3
    missing = [s for s in shapes if s not in out]
    if missing:
        sys.exit(f"hemo bench gemm printed no result for {missing}:\n{text}")
    return out, kernel[1] if kernel else "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hemo", default="build/tools/hemo", help="the hemo binary")
    ap.add_argument("--shapes", default=DEFAULT_SHAPES)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: process CPU time, for --threads 1 on a machine busy with other work")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=9)
    args = ap.parse_args()
    shapes = args.shapes.split(",")
    for s in shapes:
        parse(s)
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter

    runs = {s: {"hemo": [], "torch.matmul": [], "oneDNN": []} for s in shapes}
    kernel = "?"
    for r in range(args.rounds):
        hemo_times, kernel = hemo_round(args.hemo, shapes, args.threads, args.warmup, args.repeats, args.clock)
        torch_times = torch_round(shapes, args.warmup, args.repeats)
        for s in shapes:
            runs[s]["hemo"].append(hemo_times[s])
            for name, t in torch_times[s].items():
                runs[s][name].append(t)
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"float32 GEMM, {args.threads} threads, {args.clock} clock, median over {args.rounds} rounds of the median of "
          f"{args.repeats} timed runs (after {args.warmup} warm-up runs); hemo kernel: {kernel}; "
          f"torch {torch.__version__}")
    cols = ["hemo", "torch.matmul", "oneDNN"]
    print(f"{'shape (MxNxK:AB)':24}" + "".join(f"{c + ' GFLOP/s':>22}" for c in cols) + f"{'hemo/matmul':>13}"
          f"{'hemo/oneDNN':>13}")
    for s in shapes:
        m, n, k, _, _ = parse(s)
        flop = 2.0 * m * n * k
        rate = {c: flop / statistics.median(runs[s][c]) / 1e9 if runs[s][c] else float("nan") for c in cols}
        print(f"{s:24}" + "".join(f"{rate[c]:22.1f}" for c in cols) +
              f"{rate['hemo'] / rate['torch.matmul']:12.1f}x{rate['hemo'] / rate['oneDNN']:12.2f}x")


if __name__ == "__main__":
    main()
