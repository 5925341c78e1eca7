#!/usr/bin/env python3
"""Checks the GPU end-to-end run (tools/gpu-e2e.sh) against the CPU run of the same tools.

  gpu_e2e_compare.py --demo-log LOG [--min-accuracy PCT] CPU.json CUDA.json CAM_CPU_DIR CAM_CUDA_DIR

- The demo's test accuracy (its line "hemo demo: test accuracy X% ...") must reach --min-accuracy.
- hemo-infer's class probabilities (--json --top 8, every class) on the GPU and the CPU: same
  images, same top-1 class, and max |p_cuda - p_cpu| <= 1e-4 (float32 through two backends; a
  wrong kernel is off by far more).
- hemo gradcam's raw 16-bit maps (*_cam16.png) from both: max difference <= 0.5% of full scale
  (maps are min-max normalized, then quantized to 65535 levels).
Prints one verdict line starting with "e2e:" and exits 1 when any check fails.
"""
import argparse
import json
import re
import struct
import sys
import zlib
from pathlib import Path

PROB_TOL = 1e-4
CAM_TOL = 0.005


def probabilities(path):
    out = {}
    for item in json.loads(Path(path).read_text()):
        out[Path(item["path"]).name] = {t["class"]: t["probability"] for t in item["top"]}
    return out


def cam(path):
    """The values and size of a 16-bit greyscale PNG as hemo writes it (filter 0 on every row),
    read with the standard library: the GPU machine's Python may lack Pillow."""
    data = Path(path).read_bytes()
    pos, idat, w, h = 8, b"", 0, 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            w, h, depth, color = struct.unpack(">IIBB", body[:10])
            if depth != 16 or color != 0:
                raise ValueError(f"{path}: not a 16-bit greyscale PNG (depth {depth}, colour type {color})")
        elif kind == b"IDAT":
            idat += body
    raw, stride, values = zlib.decompress(idat), 1 + 2 * w, []
    for y in range(h):
        row = raw[y * stride:(y + 1) * stride]
        if row[0] != 0:
            raise ValueError(f"{path}: row {y} uses PNG filter {row[0]}; this reader knows only filter 0")
        values += struct.unpack(f">{w}H", row[1:])
    return values, (w, h)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--demo-log", required=True)
    ap.add_argument("--min-accuracy", type=float, default=90.0)
    ap.add_argument("cpu_json")
    ap.add_argument("cuda_json")
    ap.add_argument("cam_cpu")
    ap.add_argument("cam_cuda")
    a = ap.parse_args()
    problems, facts = [], []

    m = re.search(r"hemo demo: test accuracy ([0-9.]+)%", Path(a.demo_log).read_text())
    if not m:
        problems.append("no test accuracy line in the demo's log")
    else:
        acc = float(m.group(1))
        facts.append(f"demo test accuracy {acc:.1f}%")
        if acc < a.min_accuracy:
            problems.append(f"demo accuracy {acc:.1f}% < {a.min_accuracy}%")

    pc, pg = probabilities(a.cpu_json), probabilities(a.cuda_json)
    if set(pc) != set(pg) or not pc:
        problems.append(f"hemo-infer classified different images: cpu {sorted(pc)}, cuda {sorted(pg)}")
    else:
        worst, agree = 0.0, 0
        for name in pc:
            c, g = pc[name], pg[name]
            if set(c) != set(g):
                problems.append(f"{name}: different classes listed")
                continue
            worst = max(worst, max(abs(c[k] - g[k]) for k in c))
            agree += max(c, key=c.get) == max(g, key=g.get)
        facts.append(f"hemo-infer max |p_cuda - p_cpu| {worst:.2e}, top-1 agrees {agree}/{len(pc)}")
        if worst > PROB_TOL:
            problems.append(f"probabilities differ by {worst:.2e} > {PROB_TOL}")
        if agree != len(pc):
            problems.append(f"top-1 differs on {len(pc) - agree} images")

    maps = sorted(Path(a.cam_cpu).glob("*_cam16.png"))
    if not maps:
        problems.append(f"no *_cam16.png in {a.cam_cpu}")
    worst = 0.0
    for f in maps:
        other = Path(a.cam_cuda) / f.name
        if not other.exists():
            problems.append(f"{other} missing")
            continue
        (vc, sc), (vg, sg) = cam(f), cam(other)
        if sc != sg:
            problems.append(f"{f.name}: size {sc} vs {sg}")
            continue
        worst = max(worst, max(abs(x - y) for x, y in zip(vc, vg)) / 65535.0)
    facts.append(f"Grad-CAM maps max difference {worst * 100:.3f}% of full scale over {len(maps)} images")
    if worst > CAM_TOL:
        problems.append(f"Grad-CAM maps differ by {worst * 100:.3f}% > {CAM_TOL * 100}%")

    print("e2e: " + "; ".join(facts) + ("" if not problems else " -- FAILED: " + "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
