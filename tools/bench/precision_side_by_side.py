#!/usr/bin/python3
"""Training in bf16 against fp32, hemo beside PyTorch, on the CPU, interleaved in one process tree.

  /usr/bin/python3 tools/bench/precision_side_by_side.py --hemo build/tools/hemo [--threads 2]
      [--rounds 3] [--cases pbcnet7:100,resnet18:128,mobilenet_v2:128] [--batch 32] [--steps 6]

For every case, each round runs `hemo bench train --precision fp32`, then `--precision bf16` (child
processes), then PyTorch's training step in float32 and under torch.autocast("cpu", bfloat16) (in
this process; the step of side_by_side.py: forward, cross-entropy, backward, SGD with momentum, one
synthetic batch): A B C D A B C D ..., and the figure kept is the median over rounds of each
round's median images/s. Prints one Markdown table: images/s of the four, hemo's and PyTorch's
bf16/fp32 speed-ups, and hemo/PyTorch in bf16.
"""
import contextlib
import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import side_by_side as sbs  # noqa: E402


def main():
    p = sbs.cpu_training_args(__doc__)
    a = p.parse_args()
    a.device = "cpu"
    import torch
    torch.set_num_threads(a.threads)
    amp = lambda: torch.autocast("cpu", dtype=torch.bfloat16)  # noqa: E731
    rows = []
    for case in a.cases.split(","):
        arch, size = case.split(":")
        size = int(size)
        got = {k: [] for k in ("hemo fp32", "hemo bf16", "torch fp32", "torch bf16")}
        model = sbs.torch_model(arch, size, "cpu")
        failed = {}
        for _ in range(a.rounds):
            for prec in ("fp32", "bf16"):
                h = sbs.hemo_json(a, "train", "--model", arch, "--input-size", str(size), "--batch-size",
                                  str(a.batch), "--warmup", str(a.warmup), "--steps", str(a.steps), "--precision", prec)
                got[f"hemo {prec}"].append(h["images_per_s"])
            for name, ctx in (("torch fp32", contextlib.nullcontext), ("torch bf16", amp)):
                if name in failed:
                    continue
                try:
                    got[name].append(a.batch / sbs.torch_train(model, size, a.batch, a.warmup, a.steps, "cpu", ctx))
                except RuntimeError as e:  # torch 1.13: MobileNetV2's ReLU6 backward has no bf16 CPU kernel
                    failed[name] = str(e).splitlines()[0]
                    print(f"{arch} {size}: {name} failed: {failed[name]}", file=sys.stderr, flush=True)
        m = {k: statistics.median(v) if v else float("nan") for k, v in got.items()}
        rows.append((f"{arch} {size}", m))
        print(f"{arch} {size}: " + ", ".join(f"{k} {v:.1f}" for k, v in m.items()), file=sys.stderr, flush=True)
    print(f"| case (batch {a.batch}, {a.threads} threads) | hemo fp32 | hemo bf16 | hemo bf16/fp32 | "
          "PyTorch fp32 | PyTorch bf16 | PyTorch bf16/fp32 | hemo/PyTorch bf16 |")
    print("|---|---|---|---|---|---|---|---|")
    for name, m in rows:  # nan: PyTorch could not run it (stderr says why)
        print(f"| {name} | {m['hemo fp32']:.1f} | {m['hemo bf16']:.1f} | {m['hemo bf16'] / m['hemo fp32']:.2f}x | "
              f"{m['torch fp32']:.1f} | {m['torch bf16']:.1f} | {m['torch bf16'] / m['torch fp32']:.2f}x | "
              f"{m['hemo bf16'] / m['torch bf16']:.2f}x |")


if __name__ == "__main__":
    main()
