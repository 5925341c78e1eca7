#!/usr/bin/env python3
"""The bench stage of tools/gpu-check.sh: hemo against PyTorch, side by side on the same machine
and device, inside a time budget. Usable alone:

  tools/gpu/bench.py --build build-gpu --out OUT [--budget 95] [--device cuda]
                     [--cases pbcnet7:100:32,resnet18:128:64] [--epochs 4] [--per-class 64]
                     [--threads 8] [--commit SHA] [--python python3] [--precision fp32|bf16-cl]

1. `hemo synth` draws the synthetic 8-class set (PNG, seed 1) once per input size.
2. Per case MODEL:SIZE:BATCH, `hemo train --device DEVICE` for --epochs epochs (SGD lr 0.01
   momentum 0.9, no augmentation, --threads loader threads, split 0.8/0.1/0.1), then
   tools/gpu/torch_train_bench.py on the same training images (hemo's split.csv), model, batch,
   optimizer and epochs: through a DataLoader, and with the images resident on the device.
   A figure is images/s of the training loop (loader, forward, loss, backward, update, the loss read
   back each step): the median of epochs 2..E, epoch 1 being the warm-up (cuDNN algorithm choice,
   allocator growth, lazy loading). hemo's comes from its run's epochs.csv.
3. With --infer-fusion (on by default): `hemo bench infer --device DEVICE` on --infer-case
   (default ResNet-18, 224², batch 32; the --precision's options), three ways: as shipped (on
   CUDA each convolution with its bias, batch norm, residual and ReLU is one cuDNN graph where an
   engine takes it), with HEMO_CUDNN_FUSION=0 (the convolution, then hemo's epilogue kernel) and
   with --no-fusion (the separate ops): batch-1 and batch-N medians of both paths, and how many
   graphs cuDNN planned or refused (docs/cuda.md).
4. With --train-fusion (on by default): `hemo bench train --device DEVICE` on --train-case (default
   ResNet-18, 128², batch 64), the same three ways: as shipped (on CUDA each convolution before a
   training batch norm is one cuDNN graph that also sums its output, and the batch norm takes its
   statistics from those sums), with HEMO_CUDNN_FUSION=0 and with --no-fusion: the step's median,
   images/s, the convolutions that handed on their sums, and the graphs planned or refused.
5. With time left (--cpu-kernels, on by default): hemo's CPU GEMM and convolution against torch on
   the CPU (tools/bench/torch_gemm_bench.py, torch_conv_bench.py; one round each, all cores):
   hemo bench has no device option, so these are CPU figures.
Every subprocess runs under a timeout cut from what is left of --budget; what does not fit or
fails becomes a row that says so. Writes OUT/bench.md (the fragment for docs/gpu-status.md) and
OUT/bench.json, prints the markdown, and exits 1 when a training case has no figure on either side.
"""
import argparse
import csv
import datetime
import json
import os
import shlex
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

TOOLS = Path(__file__).resolve().parents[1]
# --precision: hemo train's options for each (torch_train_bench.py takes the same names), and the
# words for the fragment.
HEMO_PRECISION = {"fp32": ["--precision", "fp32"], "bf16-cl": ["--precision", "bf16", "--channels-last"]}
# The three ways the fusion rows run `hemo bench`: (label, extra options, environment).
FUSION_WAYS = (("as shipped", [], None), ("HEMO_CUDNN_FUSION=0", [], {"HEMO_CUDNN_FUSION": "0"}),
               ("--no-fusion", ["--no-fusion"], None))
PRECISION_TEXT = {"fp32": "float32 with TF32 off on both sides",
                  "bf16-cl": "bf16 products with float32 sums, channels-last, on both sides (torch: autocast)"}


class Budget:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def left(self):
        return self.end - time.monotonic()


def run(cmd, budget, cap, log, reserve=0.0, env=None):
    """Runs cmd with a timeout of min(cap, what is left - reserve); returns (ok, stdout, note). The
    command gets a process group of its own, killed whole at the timeout (DataLoader workers too);
    env: variables added to this process's environment."""
    limit = min(cap, budget.left() - reserve)
    if limit < 3:
        return False, "", "not run: the stage's time budget was spent"
    with open(log, "a") as f:
        f.write(f"$ {' '.join(map(str, cmd))}  (timeout {limit:.0f}s)\n")
        f.flush()
        t0 = time.monotonic()
        p = subprocess.Popen(list(map(str, cmd)), stdout=subprocess.PIPE, stderr=f, text=True,
                             stdin=subprocess.DEVNULL, start_new_session=True,
                             env=dict(os.environ, **env) if env else None)
        try:
            out, _ = p.communicate(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
            f.write((out or "") + f"\n[bench] timed out after {limit:.0f}s\n")
            return False, out or "", f"timed out after {limit:.0f}s"
        f.write(out)
        f.write(f"[bench] rc {p.returncode}, {time.monotonic() - t0:.1f}s\n")
    if p.returncode != 0:
        return False, out, f"rc {p.returncode}"
    return True, out, ""


def steady(rates):
    """Median of the epochs after the first (the warm-up); the only epoch if there is one."""
    rates = [r for r in rates if r and r > 0]
    if not rates:
        return None
    return statistics.median(rates[1:] if len(rates) > 1 else rates)


def hemo_rates(run_dir):
    path = Path(run_dir) / "epochs.csv"
    if not path.exists():
        return []
    return [float(r["images_per_s"]) for r in csv.DictReader(open(path, newline=""))]


def fmt(x, digits=0):
    return "—" if x is None else f"{x:,.{digits}f}"


def graphs_text(cf):
    """cuDNN's fused graphs planned / refused (and the first refusal's reason) from `hemo bench`'s JSON."""
    if not cf:
        return "—"
    return f"{cf.get('planned', '—')} / {cf.get('refused', '—')}" + (
        f" ({cf['first_refusal']})" if cf.get("first_refusal") else "")


def ratio(a, b):
    return "—" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", required=True, help="hemo's build folder (BUILD/tools/hemo)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--budget", type=float, default=95, help="seconds for the whole bench")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--cases", default="pbcnet7:100:32,resnet18:128:64", help="MODEL:SIZE:BATCH,...")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--per-class", type=int, default=64, help="synthetic images per class (8 classes)")
    ap.add_argument("--threads", type=int, default=max(1, min(8, (os.cpu_count() or 2) // 2)))
    ap.add_argument("--infer-fusion", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--infer-case", default="resnet18:224:32", help="MODEL:SIZE:BATCH of the inference fusion rows")
    ap.add_argument("--train-fusion", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--train-case", default="resnet18:128:64", help="MODEL:SIZE:BATCH of the training fusion rows")
    ap.add_argument("--cpu-kernels", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--commit", default="unknown")
    ap.add_argument("--gpu", default="", help="the device's name, for the heading")
    ap.add_argument("--python", default=sys.executable, help="the python with torch")
    ap.add_argument("--precision", default="fp32", choices=sorted(HEMO_PRECISION),
                    help="fp32: strict float32 on both sides; bf16-cl: hemo --precision bf16 --channels-last "
                         "against torch autocast bf16 + channels_last")
    ap.add_argument("--hemo-args", default="",
                    help="more `hemo train` options for every case, one string split as a shell would; give it with =, '--hemo-args=--cuda-graphs'")
    args = ap.parse_args()

    budget = Budget(args.budget)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    log = out / "bench.log"
    log.write_text("")
    hemo = Path(args.build) / "tools" / "hemo"
    if not hemo.exists():
        sys.exit(f"bench: {hemo} is not built")

    cases = []
    for text in args.cases.split(","):
        model, size, batch = text.split(":")
        cases.append({"model": model, "size": int(size), "batch": int(batch)})
    # Each case gets an equal share of what is left for hemo and torch; the CPU kernels only what
    # remains after the last case.
    # The fusion rows: three `hemo bench` runs each of at most 8 s (a few on a GPU, cuDNN's searches
    # included).
    infer_reserve = 24 if args.infer_fusion else 0
    train_reserve = 24 if args.train_fusion else 0
    fusion_reserve = infer_reserve + train_reserve
    cpu_reserve = (12 if args.cpu_kernels else 0) + fusion_reserve

    synth = {}
    for size in sorted({c["size"] for c in cases}):
        d = out / f"synth{size}"
        if d.exists():
            subprocess.run(["rm", "-rf", str(d)], check=False)
        ok, _, note = run([hemo, "synth", "--out", d, "--per-class", args.per_class, "--size", size, "--seed", 1,
                           "--threads", 0], budget, 30, log, reserve=cpu_reserve)
        synth[size] = (d if ok else None, note)

    results = []
    for i, c in enumerate(cases):
        row = dict(c, hemo=None, torch_loader=None, torch_resident=None, notes=[])
        results.append(row)
        data, note = synth[c["size"]]
        if data is None:
            row["notes"].append(f"synth: {note}")
            continue
        share = max((budget.left() - cpu_reserve) / (len(cases) - i), 0)
        run_dir = out / f"run-{c['model']}"
        if run_dir.exists():
            subprocess.run(["rm", "-rf", str(run_dir)], check=False)
        t0 = time.monotonic()
        ok, _, note = run([hemo, "train", "--device", args.device, "--model", c["model"], "--data", data,
                           "--input-size", c["size"], "--batch-size", c["batch"], "--epochs", args.epochs,
                           "--optimizer", "sgd", "--lr", 0.01, "--momentum", 0.9, "--no-augment", "--threads",
                           args.threads, "--split", 0.8, 0.1, 0.1, "--seed", 1, "--out", run_dir,
                           *HEMO_PRECISION[args.precision], *shlex.split(args.hemo_args)],
                          budget, share * 0.45, log, reserve=cpu_reserve)
        rates = hemo_rates(run_dir)
        row["hemo_epochs"] = rates
        row["hemo"] = steady(rates)
        if not ok:
            row["notes"].append(f"hemo train: {note}" + (f" after {len(rates)} epochs" if rates else ""))
        manifest = run_dir / "split.csv"
        if not manifest.exists():
            row["notes"].append("torch: not run (hemo wrote no split.csv)")
            continue
        share_left = share - (time.monotonic() - t0)
        ok, text, note = run([args.python, TOOLS / "gpu" / "torch_train_bench.py", "--data", data, "--manifest", manifest,
                              "--model", c["model"], "--input-size", c["size"], "--batch-size", c["batch"],
                              "--epochs", args.epochs, "--threads", args.threads, "--device", args.device,
                              "--precision", args.precision],
                             budget, max(share_left, 3), log, reserve=cpu_reserve)
        try:
            t = json.loads(text.strip().splitlines()[-1])
            row["torch_version"] = t["torch"]
            row["train_images"] = t["train_images"]
            row["device_name"] = t["device_name"]
            row["torch_epochs"] = t["images_per_s"]
            row["torch_loader"] = steady(t["images_per_s"].get("loader", []))
            row["torch_resident"] = steady(t["images_per_s"].get("resident", []))
        except (ValueError, IndexError, KeyError):
            row["notes"].append(f"torch: {note or 'printed no result'}")

    fusion_rows = []
    if args.infer_fusion:
        infer_model, infer_size, infer_batch = args.infer_case.split(":")
        for label, extra, env in FUSION_WAYS:
            ok, text, note = run([hemo, "bench", "infer", "--device", args.device, "--model", infer_model,
                                  "--input-size", infer_size, "--batch-size", infer_batch, "--warmup", 3, "--steps", 10,
                                  "--json",
                                  *HEMO_PRECISION[args.precision], *extra],
                                 budget, infer_reserve / 3, log, reserve=cpu_reserve - infer_reserve, env=env)
            row = {"how": label, "note": note}
            try:
                j = json.loads(text)
                row["paths"] = {k: {"batch1_ms": v["batch1_latency"]["median_ms"],
                                    "batchN_ms": v["batchN"]["median_ms"],
                                    "fused": v.get("fused_convolutions_per_forward")} for k, v in j["paths"].items()}
                row["cudnn_fusion"] = j.get("cudnn_fusion")
            except (ValueError, KeyError):
                row["note"] = note or "printed no result"
            fusion_rows.append(row)

    train_rows = []
    if args.train_fusion:
        train_model, train_size, train_batch = args.train_case.split(":")
        for label, extra, env in FUSION_WAYS:
            ok, text, note = run([hemo, "bench", "train", "--device", args.device, "--model", train_model,
                                  "--input-size", train_size, "--batch-size", train_batch, "--warmup", 3,
                                  "--steps", 10, "--json", *HEMO_PRECISION[args.precision], *extra],
                                 budget, train_reserve / 3, log, reserve=cpu_reserve - fusion_reserve, env=env)
            row = {"how": label, "note": note}
            try:
                j = json.loads(text)
                row.update(step_ms=j["step"]["median_ms"], images_per_s=j["images_per_s"],
                           summed=j.get("summed_convolutions_per_step"), cudnn_fusion=j.get("cudnn_fusion"))
            except (ValueError, KeyError):
                row["note"] = note or "printed no result"
            train_rows.append(row)

    cpu_sections = []
    if args.cpu_kernels:
        threads = os.cpu_count() or 1
        for name, script, extra in (
                ("GEMM (hemo bench gemm)", "torch_gemm_bench.py", ["--repeats", 5, "--warmup", 2]),
                ("convolution layers, forward and backward (hemo bench conv)", "torch_conv_bench.py",
                 ["--repeats", 3, "--warmup", 1])):
            ok, text, note = run([args.python, TOOLS / "bench" / script, "--hemo", hemo, "--threads", threads,
                                  "--rounds", 1, *extra], budget, budget.left() / 2 if "gemm" in script else 60, log)
            cpu_sections.append((name, text.strip() if ok else f"{note}; see bench.log"))

    # ---- the fragment ----
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    device_name = args.gpu or next((r["device_name"] for r in results if r.get("device_name")), args.device)
    torch_version = next((r["torch_version"] for r in results if r.get("torch_version")), "?")
    n_train = next((r["train_images"] for r in results if r.get("train_images")), None)
    lines = [f"### Bench: {device_name}, commit {args.commit}, {when}", "",
             f"Training throughput in images/s on `{args.device}`: median of epochs 2-{args.epochs} (epoch 1 is the "
             f"warm-up), {PRECISION_TEXT[args.precision]}, SGD (momentum 0.9), no augmentation, "
             f"{n_train or '?'} synthetic PNG training images, {args.threads} loader threads. hemo: "
             f"`hemo train --device {args.device}` (its loader, forward, backward, update; epochs.csv). torch "
             f"{torch_version}: a DataLoader decoding with PIL, and the same images resident on the device (the "
             f"step alone). Ratios above 1 mean hemo is faster.", "",
             "| model | input | batch | hemo | torch (DataLoader) | hemo / torch | torch (images on device) "
             "| hemo / that | notes |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['model']} | {r['size']}² | {r['batch']} | {fmt(r['hemo'])} | {fmt(r['torch_loader'])} "
                     f"| {ratio(r['hemo'], r['torch_loader'])} | {fmt(r['torch_resident'])} "
                     f"| {ratio(r['hemo'], r['torch_resident'])} | {'; '.join(r['notes'])} |")
    if fusion_rows:
        lines += ["", f"Inference, {infer_model} {infer_size}², `hemo bench infer --device {args.device} --batch-size "
                  f"{infer_batch}` "
                  f"({PRECISION_TEXT[args.precision]}; medians in ms; the hemo path is the eval model, hemo-infer "
                  "the folded one):", "",
                  f"| how | hemo batch 1 | hemo batch {infer_batch} | hemo-infer batch 1 | hemo-infer batch {infer_batch} "
                  "| convolutions fused | cuDNN graphs planned / refused |", "|---|---|---|---|---|---|---|"]
        for r in fusion_rows:
            p = r.get("paths", {})
            h, d = p.get("hemo", {}), p.get("hemo-infer", {})
            graphs = graphs_text(r.get("cudnn_fusion"))
            lines.append(f"| {r['how']} | {fmt(h.get('batch1_ms'), 2)} | {fmt(h.get('batchN_ms'), 1)} "
                         f"| {fmt(d.get('batch1_ms'), 2)} | {fmt(d.get('batchN_ms'), 1)} "
                         f"| {h.get('fused', '—')} / {d.get('fused', '—')} | {graphs} "
                         f"{r['note']} |")
    if train_rows:
        lines += ["", f"Training step, {train_model} {train_size}², `hemo bench train --device {args.device} "
                  f"--batch-size {train_batch}` ({PRECISION_TEXT[args.precision]}; median of 10 steps after 3):", "",
                  "| how | ms/step | images/s | convolutions summing for their batch norm | cuDNN graphs planned / "
                  "refused |", "|---|---|---|---|---|"]
        for r in train_rows:
            graphs = graphs_text(r.get("cudnn_fusion"))
            lines.append(f"| {r['how']} | {fmt(r.get('step_ms'), 1)} | {fmt(r.get('images_per_s'))} "
                         f"| {r.get('summed', '—')} | {graphs} {r['note']} |")
    for name, text in cpu_sections:
        lines += ["", f"CPU, {name}, {os.cpu_count()} threads, one round (`tools/bench/`):", "", "```", text, "```"]
    md = "\n".join(lines) + "\n"
    (out / "bench.md").write_text(md)
    (out / "bench.json").write_text(json.dumps({"when": when, "commit": args.commit, "device": args.device,
                                                "precision": args.precision,
                                                "device_name": device_name, "epochs": args.epochs,
                                                "cases": results, "infer_fusion": fusion_rows,
                                                "train_fusion": train_rows,
                                                "cpu": dict(cpu_sections)}, indent=1) + "\n")
    print(md, end="")
    missing = [r["model"] for r in results if r["hemo"] is None or r["torch_loader"] is None]
    if missing:
        print(f"bench: no figure for {', '.join(missing)} on one side or both (see bench.log)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
