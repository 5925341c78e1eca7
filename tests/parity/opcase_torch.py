#!/usr/bin/env python3
"""PyTorch's side of the op-case torch-parity check (tests/parity/opcases_parity.cpp).

Usage: opcase_torch.py IN.safetensors OUT.safetensors

IN's metadata "cases" is a JSON list of {key, torch, inputs, grads}; IN holds <key>/in.<name> for
every input (float32) and <key>/grad_out when the case has gradients. For each case the inputs
become float64 leaves (those in grads require grad), the torch expression is evaluated with them
in scope (with torch, F, gc = tools/gradcam_torch.py and the helpers below), and OUT receives
<key>/out and <key>/grad.<name> (float64). A case that raises stops the run with its key and
expression. The files are plain safetensors, read and written here without the package.
"""
import json
import os
import struct
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import gradcam_torch as gc  # noqa: E402

DTYPES = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
NAMES = {v: k for k, v in DTYPES.items()}


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    meta = header.pop("__metadata__", {})
    data = raw[8 + n:]
    tensors = {}
    for name, h in header.items():
        begin, end = h["data_offsets"]
        t = torch.frombuffer(bytearray(data[begin:end]), dtype=DTYPES[h["dtype"]]) if end > begin else \
            torch.empty(0, dtype=DTYPES[h["dtype"]])
        tensors[name] = t.reshape(h["shape"])
    return tensors, meta


def save(path, tensors):
    header, offset, blobs = {}, 0, []
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": NAMES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def bn_running(x, weight, bias, running_mean, running_var, momentum, eps):
    """The running statistics after one training-mode batch norm."""
    rm, rv = running_mean.detach().clone(), running_var.detach().clone()
    F.batch_norm(x, rm, rv, weight, bias, True, momentum, eps)
    return rm, rv


def resize_bilinear(x, oh, ow):
    """x [..., h, w] -> [..., oh, ow], as hemo's resize_bilinear (any leading dimensions)."""
    lead = x.shape[:-2]
    y = F.interpolate(x.reshape(-1, 1, *x.shape[-2:]), size=(oh, ow), mode="bilinear", align_corners=False)
    return y.reshape(*lead, oh, ow)


def main():
    tensors, meta = load(sys.argv[1])
    torch.use_deterministic_algorithms(True)
    scope = {"torch": torch, "F": F, "gc": gc, "bn_running": bn_running, "resize_bilinear": resize_bilinear}
    out = {}
    for case in json.loads(meta["cases"]):
        key = case["key"]
        try:
            leaves = {n: tensors[f"{key}/in.{n}"].double().requires_grad_(n in case["grads"]) for n in case["inputs"]}
            y = eval(case["torch"], dict(scope), leaves)  # noqa: S307 (expressions from hemo's own registry)
            out[f"{key}/out"] = y.detach().double()
            if case["grads"]:
                y.backward(tensors[f"{key}/grad_out"].double())
                for n in case["grads"]:
                    g = leaves[n].grad
                    out[f"{key}/grad.{n}"] = g if g is not None else torch.zeros_like(leaves[n])
        except Exception as e:
            sys.exit(f"{key}: torch expression `{case['torch']}` failed: {type(e).__name__}: {e}")
    save(sys.argv[2], out)
    print(f"{len(out)} tensors for {len(json.loads(meta['cases']))} cases (torch {torch.__version__})")


if __name__ == "__main__":
    main()
