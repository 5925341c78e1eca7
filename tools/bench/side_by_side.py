#!/usr/bin/python3
"""hemo beside PyTorch and ONNX Runtime on the same cases, interleaved, in one process tree.

  /usr/bin/python3 tools/bench/side_by_side.py --hemo build-cpu/tools/hemo [--threads 2] [--rounds 2]
      [--quick] [--cases resnet18:128,...] [--device cpu|cuda] [--json out.json] [--doc docs/perf.md]

For every case, each round runs hemo (`hemo bench train|infer --json`, a child process), then
PyTorch (in this process: torchvision's model, random weights, 8 classes) and, for inference,
ONNX Runtime (a child process in ~/.cache/hemo/onnx-venv, CPU execution provider, the same
torchvision model exported to ONNX here): A B C A B C ..., and the figure kept is the median over
rounds of each round's median, so slow phases of a shared machine fall on every side alike.
Training: forward, cross-entropy, zero_grad, backward, SGD (momentum 0.9) on one synthetic batch,
images/s. Inference: batch-1 latency (p50, p99) and batch-N images/s; hemo is timed on its own path
(`hemo`: batch norms as trained) and on hemo-infer's (folded). Ratios: hemo / PyTorch images/s for
training; latency ratios hemo-infer / ONNX Runtime and hemo-infer / PyTorch at batch 1.
On a GPU machine (--device cuda) PyTorch also runs TF32, AMP bf16 + channels_last and
torch.compile where it works, and hemo runs fp32 and bf16 + channels-last beside its default
(tf32); the batch is 128 and 256 for training there.
--doc rewrites the generated part of the file (between the side_by_side markers), keeping the rest.
"""
import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ORT_PYTHON = os.path.expanduser("~/.cache/hemo/onnx-venv/bin/python")
FULL = [("pbcnet7", 100), ("resnet18", 128), ("resnet18", 224), ("mobilenet_v2", 128), ("mobilenet_v2", 224),
        ("mobilenet_v3_small", 128), ("mobilenet_v3_small", 224), ("resnet50", 224), ("vgg16_bn", 224)]
HEAVY = {"resnet50", "vgg16_bn"}  # fewer steps: a vgg16_bn training step takes tens of seconds on 2 cores
BEGIN, END = "<!-- side_by_side:begin -->", "<!-- side_by_side:end -->"


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def hemo_json(a, *args):
    cmd = [a.hemo, "bench", *args, "--threads", str(a.threads), "--device", a.device, "--json"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def sync(device):
    import torch
    if device == "cuda":
        torch.cuda.synchronize()


def timed(fn, warmup, runs, device):
    out = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        fn()
        sync(device)
        if i >= warmup:
            out.append(time.perf_counter() - t0)
    return out


def torch_variants(device):
    """(name, setup) pairs: setup(model) -> (model, autocast context factory)."""
    import contextlib
    import torch
    plain = ("eager fp32", lambda m: (m, contextlib.nullcontext))
    if device != "cuda":
        return [plain]

    def tf32(m):
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        return m, contextlib.nullcontext

    def amp(m):
        return m.to(memory_format=torch.channels_last), lambda: torch.autocast("cuda", dtype=torch.bfloat16)

    def compiled(m):
        return torch.compile(m), contextlib.nullcontext
    return [plain, ("tf32", tf32), ("amp bf16 channels_last", amp), ("torch.compile", compiled)]


def hemo_variants(device):
    """(name, extra `hemo bench train` options): the default (tf32, which the CPU computes as fp32),
    and on CUDA also strict fp32 and bf16 + channels-last, the counterparts of PyTorch's variants,
    and the default with each speed switch of issue 17 off (--no-fusion: every fused or
    specialized kernel; --sync-every-step: the step meter read within each step)."""
    if device != "cuda":
        return [("hemo", [])]
    return [("hemo", []), ("hemo fp32", ["--precision", "fp32"]),
            ("hemo bf16 channels-last", ["--precision", "bf16", "--channels-last"]),
            ("hemo --no-fusion", ["--no-fusion"]), ("hemo --sync-every-step", ["--sync-every-step"])]


def cpu_training_args(doc):
    """The options the CPU training comparisons (precision_ and layout_side_by_side.py) share."""
    p = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hemo", required=True)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--cases", default="pbcnet7:100,resnet18:128,mobilenet_v2:128")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--steps", type=int, default=6)
    return p


def torch_model(arch, size, device):
    sys.path.insert(0, os.path.dirname(HERE))
    import convert_torchvision
    import torch
    torch.manual_seed(0)
    return convert_torchvision.reference_model(arch, 8, input_size=size).to(device)


def torch_train(model, size, batch, warmup, steps, device, ctx, memory_format=None):
    import torch
    x = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    if memory_format is not None:  # torch.channels_last: the model's weights and the batch
        model.to(memory_format=memory_format)
        x = x.contiguous(memory_format=memory_format)
    y = torch.arange(batch, device=device) % 8
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    model.train()

    def step():
        with ctx():
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return med(timed(step, warmup, steps, device))


def torch_infer(model, size, batch, warmup, steps, device, ctx):
    import torch
    model.eval()
    one = torch.rand(1, 3, size, size, device=device) * 2 - 1
    many = torch.rand(batch, 3, size, size, device=device) * 2 - 1
    with torch.no_grad(), ctx():
        lat = timed(lambda: model(one), warmup, 4 * steps, device)
        thr = timed(lambda: model(many), warmup, steps, device)
    return percentiles(lat) + (batch / med(thr),)


def percentiles(xs):
    xs = sorted(xs)
    return 1e3 * med(xs), 1e3 * xs[min(len(xs) - 1, max(0, math.ceil(0.99 * len(xs)) - 1))]


def ort_worker(a):
    """Runs in the ONNX Runtime venv: prints {"b1": [p50, p99], "bN_img_s": ...} as JSON."""
    import numpy as np
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads, so.inter_op_num_threads = a.threads, 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    s = ort.InferenceSession(a.onnx, so, providers=["CPUExecutionProvider"])
    name = s.get_inputs()[0].name
    rng = np.random.default_rng(0)
    one = rng.uniform(-1, 1, (1, 3, a.size, a.size)).astype(np.float32)
    many = rng.uniform(-1, 1, (a.batch, 3, a.size, a.size)).astype(np.float32)
    lat = timed(lambda: s.run(None, {name: one}), a.warmup, 4 * a.steps, "cpu")
    thr = timed(lambda: s.run(None, {name: many}), a.warmup, a.steps, "cpu")
    print(json.dumps({"b1": percentiles(lat), "bN_img_s": a.batch / med(thr)}))


def ort_round(a, onnx, size, batch, warmup, steps):
    if not os.path.exists(ORT_PYTHON):
        return None
    cmd = [ORT_PYTHON, __file__, "--ort-worker", "--onnx", onnx, "--size", str(size), "--batch", str(batch),
           "--threads", str(a.threads), "--warmup", str(warmup), "--steps", str(steps)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{r.stderr}")
    return json.loads(r.stdout)


def run_train_case(a, arch, size, batch, warmup, steps):
    import torch
    hemo, ref = {}, {}
    variants = [(n, f(torch_model(arch, size, a.device))) for n, f in torch_variants(a.device)]
    for _ in range(a.rounds):
        for name, extra in hemo_variants(a.device):
            h = hemo_json(a, "train", "--model", arch, "--input-size", str(size), "--batch-size", str(batch),
                          "--warmup", str(warmup), "--steps", str(steps), *extra)
            hemo.setdefault(name, []).append(h["images_per_s"])
        for name, (model, ctx) in variants:
            ref.setdefault(name, []).append(batch / torch_train(model, size, batch, warmup, steps, a.device, ctx))
    del variants
    torch.cuda.empty_cache() if a.device == "cuda" else None
    row = {"model": arch, "size": size, "batch": batch, "rounds": a.rounds, "steps": steps,
           "hemo_images_per_s": med(hemo["hemo"]), "torch_images_per_s": med(ref["eager fp32"]),
           "hemo_variants": {n: med(v) for n, v in hemo.items() if n != "hemo"},
           "torch_variants": {n: med(v) for n, v in ref.items()}, "env": h["env"]}
    row["ratio"] = row["hemo_images_per_s"] / row["torch_images_per_s"]
    return row


def run_infer_case(a, arch, size, batch, warmup, steps, tmp):
    import torch
    model = torch_model(arch, size, "cpu").eval()
    onnx = os.path.join(tmp, f"{arch}-{size}.onnx")
    torch.onnx.export(model, torch.zeros(1, 3, size, size), onnx, input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "n"}, "y": {0: "n"}}, opset_version=13)
    model = model.to(a.device)
    cols = {k: [] for k in ("hemo_b1", "hemo_infer_b1", "hemo_bN", "hemo_infer_bN", "torch_b1", "torch_bN", "ort_b1",
                            "ort_bN")}
    for _ in range(a.rounds):
        h = hemo_json(a, "infer", "--model", arch, "--input-size", str(size), "--batch-size", str(batch),
                      "--warmup", str(warmup), "--steps", str(steps))
        for key, path in (("hemo", "hemo"), ("hemo_infer", "hemo-infer")):
            p = h["paths"][path]
            cols[key + "_b1"].append((p["batch1_latency"]["median_ms"], p["batch1_latency"]["p99_ms"]))
            cols[key + "_bN"].append(p["batchN_images_per_s"])
        t = torch_infer(model, size, batch, warmup, steps, a.device, torch_variants("cpu")[0][1](model)[1])
        cols["torch_b1"].append(t[:2])
        cols["torch_bN"].append(t[2])
        if a.device == "cpu":
            o = ort_round(a, onnx, size, batch, warmup, steps)
            if o:
                cols["ort_b1"].append(tuple(o["b1"]))
                cols["ort_bN"].append(o["bN_img_s"])
    row = {"model": arch, "size": size, "batch": batch, "rounds": a.rounds, "steps": steps, "env": h["env"]}
    for key in ("hemo", "hemo_infer", "torch", "ort"):
        if cols[key + "_b1"]:
            row[key + "_b1_ms"] = med([x[0] for x in cols[key + "_b1"]])
            row[key + "_b1_p99_ms"] = med([x[1] for x in cols[key + "_b1"]])
            row[key + "_bN_img_s"] = med(cols[key + "_bN"])
    row["infer_vs_torch"] = row["hemo_infer_b1_ms"] / row["torch_b1_ms"]
    if "ort_b1_ms" in row:
        row["infer_vs_ort"] = row["hemo_infer_b1_ms"] / row["ort_b1_ms"]
    return row


def fmt(v, digits=1):
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"


def report(a, train, infer, env, load):
    """The markdown of the generated part of docs/perf.md (also printed)."""
    lines = [f"Measured {env['date']} on {env['machine']} ({os.cpu_count()} cores), {a.threads} threads, "
             f"device {a.device}, hemo commit `{env['commit']}`, PyTorch {torch_version()}, "
             f"ONNX Runtime {ort_version()}; load average {load[0]:.2f} before, {load[1]:.2f} after. "
             f"Medians over {a.rounds} interleaved rounds (hemo, PyTorch, ONNX Runtime in turn).", "",
             "Rerun: `/usr/bin/python3 tools/bench/side_by_side.py --hemo build-cpu/tools/hemo --doc docs/perf.md` "
             "(a `-DHEMO_CUDA=OFF` Release build; `--quick` for a smoke run).", ""]
    if train:
        lines += ["### Training (images/s; target hemo/PyTorch >= 2)", "",
                  "| model | size | batch | steps | hemo | PyTorch | hemo/PyTorch |" +
                  "".join(f" {n} |" for n in train[0]["hemo_variants"]) +
                  "".join(f" PyTorch {n} |" for n in train[0]["torch_variants"] if n != "eager fp32"),
                  "|---|---|---|---|---|---|---|" +
                  "---|" * (len(train[0]["hemo_variants"]) + len(train[0]["torch_variants"]) - 1)]
        for r in train:
            extra = "".join(f" {fmt(v)} |" for v in r["hemo_variants"].values())
            extra += "".join(f" {fmt(v)} |" for n, v in r["torch_variants"].items() if n != "eager fp32")
            lines.append(f"| {r['model']} | {r['size']} | {r['batch']} | {r['steps']} | {fmt(r['hemo_images_per_s'])} | "
                         f"{fmt(r['torch_images_per_s'])} | **{fmt(r['ratio'], 2)}x** |{extra}")
        lines.append("")
    if infer:
        lines += ["### Inference, batch 1 latency p50 / p99 (ms) and batch-N images/s", "",
                  "Targets: hemo-infer <= 1.0x ONNX Runtime and <= 0.5x PyTorch at batch 1.", "",
                  "| model | size | hemo b1 | hemo-infer b1 | PyTorch b1 | ORT b1 | hemo-infer/ORT | hemo-infer/PyTorch |"
                  " batch | hemo img/s | hemo-infer img/s | PyTorch img/s | ORT img/s |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in infer:
            def lat(k):
                return f"{fmt(r.get(k + '_b1_ms'), 2)} / {fmt(r.get(k + '_b1_p99_ms'), 2)}"
            lines.append(f"| {r['model']} | {r['size']} | {lat('hemo')} | {lat('hemo_infer')} | {lat('torch')} | "
                         f"{lat('ort')} | **{fmt(r.get('infer_vs_ort'), 2)}x** | **{fmt(r['infer_vs_torch'], 2)}x** | "
                         f"{r['batch']} | {fmt(r['hemo_bN_img_s'])} | {fmt(r['hemo_infer_bN_img_s'])} | "
                         f"{fmt(r['torch_bN_img_s'])} | {fmt(r.get('ort_bN_img_s'))} |")
        lines.append("")
    return "\n".join(lines)


def torch_version():
    import torch
    return torch.__version__


def ort_version():
    if not os.path.exists(ORT_PYTHON):
        return "(not installed)"
    r = subprocess.run([ORT_PYTHON, "-c", "import onnxruntime; print(onnxruntime.__version__)"],
                       capture_output=True, text=True)
    return r.stdout.strip() or "(not importable)"


def write_doc(path, generated):
    text = open(path).read() if os.path.exists(path) else "# Performance\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN not in text or END not in text:
        text += "\n" + BEGIN + "\n" + END + "\n"
    head, rest = text.split(BEGIN, 1)
    tail = rest.split(END, 1)[1]
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n" + generated + "\n" + END + tail)


def parse_cases(text):
    out = []
    for item in text.split(","):
        arch, size = item.split(":")
        out.append((arch, int(size)))
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--hemo", default=os.path.join(HERE, "..", "..", "build-cpu", "tools", "hemo"))
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--cases", help="comma-separated model:size (default: the full list)")
    p.add_argument("--only", choices=["train", "infer"], help="run one half")
    p.add_argument("--quick", action="store_true", help="one small pbcnet7 case, one round, few steps (a smoke test)")
    p.add_argument("--json", help="write every figure here")
    p.add_argument("--doc", help="rewrite the generated part of this markdown file (docs/perf.md)")
    p.add_argument("--ort-worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--onnx", help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--batch", type=int, help=argparse.SUPPRESS)
    p.add_argument("--warmup", type=int, help=argparse.SUPPRESS)
    p.add_argument("--steps", type=int, help=argparse.SUPPRESS)
    a = p.parse_args()
    # Set before torch (or onnxruntime) loads its OpenMP runtime: idle workers must not spin on the
    # cores the other side's child process is using. hemo sets the same for itself.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    if a.ort_worker:
        return ort_worker(a)
    import torch
    torch.set_num_threads(a.threads)
    cases = [("pbcnet7", 48)] if a.quick else parse_cases(a.cases) if a.cases else FULL
    if a.quick:
        a.rounds = 1
    train_batches = [4] if a.quick else [32] if a.device == "cpu" else [128, 256]
    infer_batch = 4 if a.quick else 32
    load0 = os.getloadavg()[0]
    train, infer = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for arch, size in cases:
            heavy = arch in HEAVY
            warmup, steps = (1, 2) if a.quick or heavy else (1, 3)
            if a.only != "infer":
                for b in train_batches:
                    train.append(run_train_case(a, arch, size, b, warmup, steps))
                    r = train[-1]
                    print(f"train {arch} {size} b{b}: hemo {r['hemo_images_per_s']:.1f} img/s, torch "
                          f"{r['torch_images_per_s']:.1f} img/s, ratio {r['ratio']:.2f}", flush=True)
            if a.only != "train":
                infer.append(run_infer_case(a, arch, size, infer_batch, warmup + 1, steps + 2, tmp))
                r = infer[-1]
                print(f"infer {arch} {size}: b1 hemo-infer {r['hemo_infer_b1_ms']:.2f} ms, torch "
                      f"{r['torch_b1_ms']:.2f} ms, ort {fmt(r.get('ort_b1_ms'), 2)} ms", flush=True)
    env = (train or infer)[0]["env"]
    generated = report(a, train, infer, env, (load0, os.getloadavg()[0]))
    print(generated)
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"env": env, "threads": a.threads, "rounds": a.rounds, "train": train, "infer": infer,
                       "load_before": load0, "date": datetime.datetime.utcnow().isoformat() + "Z"}, f, indent=2)
    if a.doc:
        write_doc(a.doc, generated)


if __name__ == "__main__":
    main()
