#!/usr/bin/python3
"""Batch-1 latency of the deploy binary against PyTorch: hemo-infer-cpu's forward pass (batch
norm folded, `--bench`) beside torchvision's model in eval mode under torch.no_grad(), same
weights, same input size, same thread count, in one run.

  /usr/bin/python3 tools/bench/infer_latency.py --hemo-infer build/tools/hemo-infer-cpu \\
      [--arch mobilenet_v2] [--size 224] [--threads 2] [--runs 30] [--rounds 3]

The model is torchvision's (random initial weights, 8 classes), converted with
tools/convert_torchvision.py. Rounds alternate hemo-infer and torch so that both see the same
load; each round reports the median of --runs timed forward passes after 5 warm-up ones, wall
time and process CPU time (all threads). Both run with OMP_WAIT_POLICY=passive (hemo-infer sets it
for itself; here it is set before torch loads, unless the environment sets a policy): with
"active", torch's idle OpenMP workers in this script's process spin on a core while hemo-infer
runs (on 2 cores hemo-infer then measured 23 ms instead of 14), and torch itself was no faster
(34 ms against 33). The table gives the
median over rounds, the load average before and after, and the machine's core count: on a machine
shared with other work, CPU time says more about the work done than wall time does.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import convert_torchvision  # noqa: E402  (tools/convert_torchvision.py)

WARMUP = 5
BENCH_LINE = re.compile(r"median ([0-9.]+) ms wall, ([0-9.]+) ms CPU")


def hemo_round(binary, model, image, threads, runs):
    cmd = [binary, model, image, "--bench", str(runs), "--threads", str(threads)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    m = BENCH_LINE.search(r.stderr)
    if not m:
        sys.exit(f"no timing line in hemo-infer's output:\n{r.stderr}")
    return float(m[1]), float(m[2])


def torch_round(model, x, runs):
    import torch
    wall, cpu = [], []
    with torch.no_grad():
        for i in range(WARMUP + runs):
            t0, c0 = time.perf_counter(), time.process_time()
            model(x)
            t1, c1 = time.perf_counter(), time.process_time()
            if i >= WARMUP:
                wall.append(1e3 * (t1 - t0))
                cpu.append(1e3 * (c1 - c0))
    return statistics.median(wall), statistics.median(cpu)


def find_image():
    mini = os.path.join(HERE, "..", "..", "..", "shared", "data", "pbc-mini")
    for root, _, files in sorted(os.walk(mini)):
        for f in sorted(files):
            if f.endswith(".jpg") and not f.startswith("."):
                return os.path.join(root, f)
    return None


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hemo-infer", required=True, help="the hemo-infer-cpu binary")
    p.add_argument("--arch", default="mobilenet_v2")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", type=int, default=30, help="timed forward passes per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--image", help="any JPEG/PNG (default: the first of ../shared/data/pbc-mini)")
    a = p.parse_args()

    # torch reads OMP_WAIT_POLICY when its OpenMP runtime loads: set it before importing torch.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import torch
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = convert_torchvision.reference_model(a.arch, 8, input_size=a.size)
    # Batch norms with the statistics of a real batch, so activations keep a trained network's
    # scale (no overflow, no denormals to slow either side down).
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = 1.0
    with torch.no_grad():
        model.train()(torch.randn(8, 3, a.size, a.size))
    model.eval()
    x = torch.randn(1, 3, a.size, a.size)

    with tempfile.TemporaryDirectory() as tmp:
        image = a.image or find_image()
        if image is None:
            from PIL import Image
            image = os.path.join(tmp, "image.png")
            Image.new("RGB", (a.size, a.size), (200, 150, 180)).save(image)
        pth, weights = os.path.join(tmp, "model.pth"), os.path.join(tmp, "model.safetensors")
        torch.save(model.state_dict(), pth)
        convert_torchvision.convert(pth, weights, a.arch, input_size=a.size)

        load_before = os.getloadavg()
        hemo, ref = [], []
        for _ in range(a.rounds):
            hemo.append(hemo_round(a.hemo_infer, weights, image, a.threads, a.runs))
            ref.append(torch_round(model, x, a.runs))
        load_after = os.getloadavg()

    def med(rows, i):
        return statistics.median(r[i] for r in rows)

    print(f"{a.arch} {a.size}x{a.size}, batch 1, {a.threads} threads, {a.rounds} rounds x {a.runs} runs "
          f"(after {WARMUP} warm-up), medians; torch {torch.__version__}; {os.cpu_count()} cores; "
          f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after")
    print(f"{'':<16}{'wall ms':>10}{'CPU ms':>10}")
    print(f"{'hemo-infer-cpu':<16}{med(hemo, 0):>10.2f}{med(hemo, 1):>10.2f}")
    print(f"{'torch':<16}{med(ref, 0):>10.2f}{med(ref, 1):>10.2f}")
    print(f"per round (hemo wall/CPU, torch wall/CPU): "
          + "; ".join(f"{h[0]:.1f}/{h[1]:.1f}, {t[0]:.1f}/{t[1]:.1f}" for h, t in zip(hemo, ref)))


if __name__ == "__main__":
    main()
