#!/usr/bin/python3
"""Training in channels-last (NHWC) against contiguous NCHW, hemo beside PyTorch, on the CPU,
interleaved in one process tree.

  /usr/bin/python3 tools/bench/layout_side_by_side.py --hemo build/tools/hemo [--threads 2]
      [--rounds 3] [--cases pbcnet7:100,resnet18:128,mobilenet_v2:128] [--batch 32] [--steps 6]
      [--precision fp32]

For every case, each round runs `hemo bench train` without and with `--channels-last` (child
processes), then PyTorch's training step (side_by_side.py's: forward, cross-entropy, backward,
SGD with momentum, one synthetic batch) on a fresh model in NCHW and in torch.channels_last (the
model's weights and the batch): A B C D A B C D ..., and the figure kept is the median over rounds
of each round's median images/s. Prints one Markdown table: images/s of the four, each one's
channels-last/NCHW speed-up, and hemo/PyTorch in channels-last. PyTorch runs in float32 whatever
--precision says (it sets hemo's).
"""
import contextlib
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402


def main():
    p = sbs.cpu_training_args(__doc__)
    p.add_argument("--precision", default="fp32", choices=["fp32", "tf32", "bf16"])
    a = p.parse_args()
    a.device = "cpu"
    import torch
    torch.set_num_threads(a.threads)
    rows = []
    for case in a.cases.split(","):
        arch, size = case.split(":")
        size = int(size)
        got = {k: [] for k in ("hemo nchw", "hemo nhwc", "torch nchw", "torch nhwc")}
        for _ in range(a.rounds):
            for layout, flag in (("nchw", []), ("nhwc", ["--channels-last"])):
                h = sbs.hemo_json(a, "train", "--model", arch, "--input-size", str(size), "--batch-size", str(a.batch),
                                  "--warmup", str(a.warmup), "--steps", str(a.steps), "--precision", a.precision, *flag)
                got[f"hemo {layout}"].append(h["images_per_s"])
            for layout, fmt in (("nchw", None), ("nhwc", torch.channels_last)):
                model = sbs.torch_model(arch, size, "cpu")
                step_s = sbs.torch_train(model, size, a.batch, a.warmup, a.steps, "cpu", contextlib.nullcontext, fmt)
                got[f"torch {layout}"].append(a.batch / step_s)
        m = {k: statistics.median(v) for k, v in got.items()}
        rows.append((f"{arch} {size}", m))
        print(f"{arch} {size}: " + ", ".join(f"{k} {v:.1f}" for k, v in m.items()), file=sys.stderr, flush=True)
    print(f"| case (batch {a.batch}, {a.threads} threads, hemo {a.precision}) | hemo NCHW | hemo NHWC | "
          "hemo NHWC/NCHW | PyTorch NCHW | PyTorch NHWC | PyTorch NHWC/NCHW | hemo/PyTorch NHWC |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in rows:
        print(f"| {name} | {m['hemo nchw']:.1f} | {m['hemo nhwc']:.1f} | {m['hemo nhwc'] / m['hemo nchw']:.2f}x | "
              f"{m['torch nchw']:.1f} | {m['torch nhwc']:.1f} | {m['torch nhwc'] / m['torch nchw']:.2f}x | "
              f"{m['hemo nhwc'] / m['torch nhwc']:.2f}x |")


if __name__ == "__main__":
    main()
