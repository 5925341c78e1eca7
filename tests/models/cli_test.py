#!/usr/bin/env python3
"""`hemo info` and `hemo forward` against PyTorch (ctest: models_cli, label torch-parity).

    cli_test.py HEMO WORKDIR

hemo info, for every architecture: the parameter count equals the PyTorch model's (torchvision's,
and torchvision's published num_params for its 1000-class models), and the MAC count equals
the multiply-accumulates of PyTorch's Conv2d and Linear layers counted with forward hooks, at
224x224 and at a non-square 64x80 with 7 classes (pbcnet7: 100x100 and 36x36).
hemo forward: on weights converted by tools/convert_torchvision.py from a seeded PyTorch model
(tests/models/make_model_refs.py), eval and --train logits agree with PyTorch's float64 ones to a
relative error max|a - b| / max|b| below 1e-4; wrong arguments give an error naming the problem.
The converter refuses a checkpoint of another architecture, naming the keys, and writes hemo's
metadata.
Exit status 0 when every check passes; each failure is printed.
"""
import json
import os
import re
import struct
import subprocess
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
sys.path.insert(0, HERE)
import convert_torchvision as conv  # noqa: E402
from make_model_refs import macs_of  # noqa: E402

FAILURES = []


def check(cond, msg):
    print(("ok    " if cond else "FAIL  ") + msg, flush=True)
    if not cond:
        FAILURES.append(msg)


def run(hemo, *args):
    p = subprocess.run([hemo, *args], capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


def read_safetensors(path):
    """name -> numpy array, for the dtypes hemo and the converter write."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    dtypes = {"F32": "<f4", "F64": "<f8", "I64": "<i8"}
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        out[name] = np.frombuffer(data[8 + n + b:8 + n + e], dtype=dtypes[info["dtype"]]).reshape(info["shape"])
    return out


def torch_model(arch, classes, size):
    """The PyTorch model on the meta device: shapes without data, so counting costs nothing."""
    return conv.reference_model(arch, classes, input_size=size, init=False).to("meta")


def info_numbers(text):
    params = re.search(r"^parameters: ([\d,]+)", text, re.M)
    macs = re.search(r"^MACs: +([\d,]+)", text, re.M)
    if not params or not macs:
        return None, None
    return int(params.group(1).replace(",", "")), int(macs.group(1).replace(",", ""))


def test_info(hemo):
    import torchvision
    for arch in conv.HEADS:
        pb = arch == "pbcnet7"
        small = (36, 36) if pb else (80, 96) if arch == "inception_v3" else (64, 80)  # its smallest input is 75
        for classes, (h, w) in ((1000, (100, 100) if pb else (224, 224)), (7, small)):
            args = ["info", arch, "--num-classes", str(classes), "--input-size", str(h), str(w)]
            rc, out = run(hemo, *args)
            params, macs = info_numbers(out)
            if rc != 0 or params is None:
                check(False, f"hemo {' '.join(args)} failed: {out[-500:]}")
                continue
            m = torch_model(arch, classes, h)
            want_params = sum(p.numel() for p in m.parameters())
            want_macs = macs_of(m, h, w)
            check(params == want_params, f"hemo info {arch} {classes} classes: {params:,} parameters, PyTorch {want_params:,}")
            check(macs == want_macs, f"hemo info {arch} at {h}x{w}: {macs:,} MACs, PyTorch hooks {want_macs:,}")
            if classes == 1000 and not pb:
                published = torchvision.models.get_model_weights(arch).IMAGENET1K_V1.meta["num_params"]
                # GoogLeNet's published count leaves out its auxiliary heads (dropped after loading).
                aux = sum(p.numel() for n, p in m.named_parameters() if n.startswith(("aux1.", "aux2.")))
                check(params - aux == published,
                      f"hemo info {arch}: {params:,} parameters ({aux:,} of them in auxiliary heads), "
                      f"torchvision publishes {published:,}")
    rc, out = run(hemo, "info", "resnet19")
    check(rc != 0 and "unknown model 'resnet19'" in out, f"hemo info resnet19 fails naming the model: {out.strip()}")
    rc, out = run(hemo, "info", "resnet18", "--depth", "1")
    check(rc == 0 and re.search(r"^layer4 +Sequential +\[1, 512, 7, 7\]", out, re.M) is not None,
          "hemo info resnet18 --depth 1 lists layer4 -> [1, 512, 7, 7]")
    rc, out = run(hemo, "info", "--list")
    names = out.split()
    check(rc == 0 and "resnet18" in names and "pbcnet7" in names and "mobilenet_v2" in names,
          f"hemo info --list lists the architectures, one per line: {len(names)} names")
    rc, out = run(hemo, "info")
    check(rc == 1 and "--list to see them all" in out, f"hemo info without a model says how to list them: {out.strip()}")
    rc, out = run(hemo, "info", "resnet18", "--depth", "abc")
    check(rc == 2, f"a command-line error exits 2, as in hemo-infer (got {rc}): {out.strip()[:120]}")


def rel(a, b):
    return float(np.abs(a.astype(np.float64) - b).max() / np.abs(b).max())


def test_forward(hemo, work):
    for arch, size in (("pbcnet7", 40), ("mobilenet_v3_small", 48), ("resnet18", 40)):
        case = f"cli_{arch}"
        p = subprocess.run([sys.executable, os.path.join(HERE, "make_model_refs.py"), work, arch, "--case", case,
                            "--size", str(size), "--batch", "3"], capture_output=True, text=True)
        if p.returncode != 0:
            check(False, f"make_model_refs.py {arch}: {p.stdout}{p.stderr}")
            continue
        weights = os.path.join(work, case + ".weights.safetensors")
        ref_path = os.path.join(work, case + ".ref.safetensors")  # holds the tensor `input`
        ref = read_safetensors(ref_path)
        for mode in ("eval", "train"):
            out_path = os.path.join(work, f"{case}.{mode}.logits.safetensors")
            args = ["forward", "--model", arch, "--weights", weights, "--input", ref_path, "--output", out_path]
            rc, out = run(hemo, *args + (["--train"] if mode == "train" else []))
            if rc != 0:
                check(False, f"hemo forward {arch} ({mode}) failed: {out[-800:]}")
                continue
            got = read_safetensors(out_path)["logits"]
            err = rel(got, ref["logits_" + mode])
            check(got.dtype == np.float32 and err < 1e-4,
                  f"hemo forward {arch} 3x3x{size}x{size} ({mode}): logits relative error {err:.1e}")
    weights = os.path.join(work, "cli_pbcnet7.weights.safetensors")
    ref_path = os.path.join(work, "cli_pbcnet7.ref.safetensors")
    out_path = os.path.join(work, "bad.safetensors")
    rc, out = run(hemo, "forward", "--model", "resnet18", "--weights", weights, "--input", ref_path, "--output", out_path)
    check(rc != 0 and "holds pbcnet7 weights, not resnet18" in out, f"wrong --model is refused: {out.strip()}")
    rc, out = run(hemo, "forward", "--model", "pbcnet7", "--weights", weights, "--input", weights, "--output", out_path)
    check(rc != 0 and "has no tensor named 'input'" in out, f"an input file without 'input' is refused: {out.strip()}")


def test_converter(work):
    """tools/convert_torchvision.py refuses what hemo would refuse, naming the keys."""
    import contextlib
    import io
    torch.manual_seed(0)
    pth = os.path.join(work, "r18.pth")
    torch.save(conv.reference_model("resnet18", 5).state_dict(), pth)
    out = os.path.join(work, "r18.safetensors")

    def convert(*args):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = conv.main([pth, out, *args])
        return rc, err.getvalue()

    rc, err = convert("--arch", "resnet34")
    check(rc == 1 and "missing keys (96)" in err and "layer1.2.conv1.weight" in err,
          f"a resnet18 checkpoint converted as resnet34 is refused: {err.splitlines()[:2]}")
    rc, err = convert("--arch", "resnet18", "--class-names", "a,b,c")
    check(rc == 1 and "3 names but the checkpoint has 5 classes" in err, f"--class-names is checked: {err.strip()}")
    rc, err = convert("--arch", "resnet18", "--class-names", "basophil,eosinophil,ig,lymphocyte,monocyte")
    header = read_header(out)
    meta = header.get("__metadata__", {})
    check(rc == 0 and meta.get("architecture") == "resnet18" and meta.get("num_classes") == "5"
          and json.loads(meta.get("class_names", "[]"))[4] == "monocyte" and meta.get("input_size") == "224"
          and header["bn1.num_batches_tracked"]["dtype"] == "I64" and header["fc.weight"]["dtype"] == "F32",
          f"converted metadata and dtypes: {meta}")
    torch.save({"not": "a state_dict"}, pth)
    rc, err = convert("--arch", "resnet18")
    check(rc == 1 and "not a state_dict" in err, f"a pickle that is no state_dict is refused: {err.strip()}")
    # A DenseNet file as torchvision's ImageNet checkpoints are, with legacy names
    # ("denselayer1.norm.1.weight") and no num_batches_tracked (saved before PyTorch 0.4.1),
    # converts to today's names.
    state = conv.reference_model("densenet121", 5).state_dict()
    legacy = {re.sub(r"(denselayer\d+\.(?:norm|relu|conv))([12])\.", r"\1.\2.", k): v for k, v in state.items()
              if not k.endswith("num_batches_tracked")}
    check("features.denseblock1.denselayer1.norm.1.weight" in legacy, "the legacy names were made")
    torch.save(legacy, pth)
    rc, err = convert("--arch", "densenet121")
    header = read_header(out)
    check(rc == 0 and set(header) - {"__metadata__"} == set(state), f"legacy DenseNet names converted: {err.strip()}")
    for name in ("r18.pth", "r18.safetensors"):
        os.remove(os.path.join(work, name))


def read_header(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n))


def main():
    hemo, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    test_info(hemo)
    test_converter(work)
    test_forward(hemo, work)
    print(f"{len(FAILURES)} failure(s)")
    if not FAILURES:  # keep the files for inspection only when something failed
        for name in os.listdir(work):
            if name.endswith(".safetensors"):
                os.remove(os.path.join(work, name))
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
