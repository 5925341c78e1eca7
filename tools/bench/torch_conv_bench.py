#!/usr/bin/python3
"""Convolution-layer benchmark: hemo's conv2d (`hemo bench conv`: im2col + the CPU GEMM, or the
depthwise kernels) against torch.nn.functional.conv2d (oneDNN on the CPU) on the same float32
layers and thread count, forward and backward, in one run.

  /usr/bin/python3 tools/bench/torch_conv_bench.py --hemo build/tools/hemo --threads 2 --rounds 3

Rounds alternate hemo and torch; each reports per layer the median of its timed runs after
warm-up runs, and the table gives the median over rounds. The default layers are the seven 3x3
convolutions of the 7-block CNN at batch 32; the first one is timed without an input gradient
(its input is the image), as in training. Layers are NxCxHxW:KxRxS[:sSpP[gG]]. On a busy
machine, see the notes on --clock cpu and OMP_WAIT_POLICY in torch_gemm_bench.py.
"""
import argparse
import re
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F

DEFAULT_LAYERS = ("32x3x100x100:32x3x3:s1p1,32x32x50x50:64x3x3:s1p1,32x64x25x25:64x3x3:s1p1,"
                  "32x64x13x13:64x3x3:s1p1,32x64x7x7:128x3x3:s1p1,32x128x4x4:256x3x3:s1p1,"
                  "32x256x2x2:256x3x3:s1p1")
LAYER = re.compile(r"(\d+)x(\d+)x(\d+)x(\d+):(\d+)x(\d+)x(\d+)(?::s(\d+)p(\d+)(?:g(\d+))?)?")


CLOCK = time.perf_counter  # or time.process_time with --clock cpu


def parse(text):
    m = LAYER.fullmatch(text)
    if not m:
        sys.exit(f"bad layer {text!r}")
    n, c, h, w, k, r, s = (int(m[i]) for i in range(1, 8))
    return n, c, h, w, k, r, s, int(m[8] or 1), int(m[9] or 0), int(m[10] or 1)


def torch_round(layers, warmup, repeats):
    out = {}
    gen = torch.Generator().manual_seed(0)
    for i, text in enumerate(layers):
        n, c, h, w, k, r, s, stride, pad, groups = parse(text)
        x = (torch.rand((n, c, h, w), generator=gen) * 2 - 1).requires_grad_(not (i == 0 and c == 3))
        wt = (torch.rand((k, c // groups, r, s), generator=gen) * 2 - 1).requires_grad_()
        b = (torch.rand((k,), generator=gen) * 2 - 1).requires_grad_()
        gy = None
        fwd, bwd = [], []
        for rep in range(warmup + repeats):
            x.grad = wt.grad = b.grad = None
            t0 = CLOCK()
            y = F.conv2d(x, wt, b, stride=stride, padding=pad, groups=groups)
            t1 = CLOCK()
            if gy is None:
                gy = torch.rand(y.shape, generator=gen) * 2 - 1
            y.backward(gy)
            t2 = CLOCK()
            if rep >= warmup:
                fwd.append(t1 - t0)
                bwd.append(t2 - t1)
        out[text] = (statistics.median(fwd), statistics.median(bwd))
    return out


def hemo_round(hemo, layers, threads, warmup, repeats, clock):
    cmd = [hemo, "bench", "conv", "--layers", ",".join(layers), "--threads", str(threads), "--warmup", str(warmup),
           "--repeats", str(repeats), "--clock", clock]
    text = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    out = {}
    for line in text.splitlines():
        m = re.match(r"conv (\S+)\s+fwd\s+([\d.]+) ms.*bwd[^\d]*([\d.]+) ms", line)
        if m:
            out[m[1]] = (float(m[2]) * 1e-3, float(m[3]) * 1e-3)
    missing = [l for l in layers if l not in out]
    if missing:
        sys.exit(f"hemo bench conv printed no result for {missing}:\n{text}")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hemo", default="build/tools/hemo")
    ap.add_argument("--layers", default=DEFAULT_LAYERS)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: process CPU time, for --threads 1 on a machine busy with other work")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    layers = args.layers.split(",")
    for l in layers:
        parse(l)
    torch.set_num_threads(args.threads)
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    runs = {l: {"hemo": [], "torch": []} for l in layers}
    for r in range(args.rounds):
        for name, res in (("hemo", hemo_round(args.hemo, layers, args.threads, args.warmup, args.repeats, args.clock)),
                          ("torch", torch_round(layers, args.warmup, args.repeats))):
            for l in layers:
                runs[l][name].append(res[l])
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)

    print(f"float32 conv2d, {args.threads} threads, {args.clock} clock, ms per call: median over {args.rounds} rounds of the median of "
          f"{args.repeats} timed runs; torch {torch.__version__} (oneDNN: {torch.backends.mkldnn.is_available()})")
    print(f"{'layer':34}{'hemo fwd':>10}{'torch fwd':>11}{'hemo bwd':>10}{'torch bwd':>11}")
    tot = {"hemo": [0.0, 0.0], "torch": [0.0, 0.0]}
    for l in layers:
        row = {}
        for name in ("hemo", "torch"):
            f = statistics.median(t[0] for t in runs[l][name])
            b = statistics.median(t[1] for t in runs[l][name])
            row[name] = (f, b)
            tot[name][0] += f
            tot[name][1] += b
        print(f"{l:34}{row['hemo'][0] * 1e3:10.2f}{row['torch'][0] * 1e3:11.2f}{row['hemo'][1] * 1e3:10.2f}"
              f"{row['torch'][1] * 1e3:11.2f}")
    print(f"{'total':34}{tot['hemo'][0] * 1e3:10.2f}{tot['torch'][0] * 1e3:11.2f}{tot['hemo'][1] * 1e3:10.2f}"
          f"{tot['torch'][1] * 1e3:11.2f}")


if __name__ == "__main__":
    main()
