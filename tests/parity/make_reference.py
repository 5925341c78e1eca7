#!/usr/bin/env python3
"""Writes PyTorch reference tensors for hemo's torch-parity suite.

Usage: make_reference.py OUT_DIR

Every module ref_*.py beside this file defines CASES: a list of Case. For each case this script
draws float32 inputs (random, never zero), runs the PyTorch forward in float64 on those exact
values, backpropagates a random float32 output gradient, and writes OUT_DIR/<case>.safetensors with

  in.<name>    the float32 inputs (int64 for index tensors)
  grad_out     the float32 output gradient
  out          the float64 reference output     extra.<name>  further float64 outputs
  grad.<name>  the float64 reference gradient of each differentiable input

and metadata {"op": ..., "params": JSON}. The C++ side (parity.h) runs hemo in float32 on the
same inputs and compares. The files are plain safetensors, written here without the package.
"""
import glob
import importlib.util
import json
import os
import struct
import sys
import zlib

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


class Case:
    """name: unique file stem; op: what the C++ side runs; params: JSON-able dict;
    inputs: {name: tensor, ("rand", shape[, scale]), ("pos", shape) or ("int", shape, high)}; grads: names to differentiate;
    forward(**inputs) -> tensor or dict with key "out" (differentiated) and extra outputs."""

    def __init__(self, name, op, params, inputs, forward, grads=None):
        self.name, self.op, self.params, self.inputs, self.forward = name, op, params, inputs, forward
        self.grads = grads if grads is not None else [k for k, v in inputs.items() if not _is_int(v)]


def _is_int(spec):
    return (isinstance(spec, tuple) and spec[0] == "int") or (torch.is_tensor(spec) and not spec.is_floating_point())


def draw(spec, gen):
    if torch.is_tensor(spec):
        return spec
    kind, shape = spec[0], spec[1]
    if kind == "rand":  # +-[0.1, 1] times an optional scale
        scale = spec[2] if len(spec) > 2 else 1.0
        mag = torch.rand(shape, generator=gen) * 0.9 + 0.1
        sign = torch.where(torch.rand(shape, generator=gen) < 0.5, -1.0, 1.0)
        return (mag * sign * scale).float()
    if kind == "pos":  # [0.5, 1.5]
        return (torch.rand(shape, generator=gen) + 0.5).float()
    if kind == "int":
        return torch.randint(0, spec[2], shape, generator=gen, dtype=torch.int64)
    raise ValueError(f"unknown input spec {spec}")


def save(path, tensors, metadata):
    header, offset, blobs = {"__metadata__": metadata}, 0, []
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))
    os.replace(tmp, path)


def run_case(case, out_dir):
    gen = torch.Generator().manual_seed(zlib.crc32(case.name.encode()))
    inputs = {k: draw(v, gen) for k, v in case.inputs.items()}
    leaves = {}
    for k, v in inputs.items():
        if v.is_floating_point():
            leaves[k] = v.double().requires_grad_(k in case.grads)
        else:
            leaves[k] = v
    result = case.forward(**leaves)
    if torch.is_tensor(result):
        result = {"out": result}
    out = result["out"]
    grad_out = draw(("rand", tuple(out.shape)), gen)
    tensors = {f"in.{k}": v for k, v in inputs.items()}
    tensors["grad_out"] = grad_out
    tensors["out"] = out.detach().double()
    for k, v in result.items():
        if k != "out":
            tensors[f"extra.{k}"] = v.detach().double()
    if case.grads:
        out.backward(grad_out.double())
        for k in case.grads:
            g = leaves[k].grad
            tensors[f"grad.{k}"] = g if g is not None else torch.zeros_like(leaves[k])
    save(os.path.join(out_dir, case.name + ".safetensors"), tensors,
         {"op": case.op, "params": json.dumps(case.params)})


def main():
    out_dir = sys.argv[1]
    os.makedirs(out_dir, exist_ok=True)
    for old in glob.glob(os.path.join(out_dir, "*.safetensors")):
        os.remove(old)
    torch.use_deterministic_algorithms(True)
    count = 0
    for path in sorted(glob.glob(os.path.join(HERE, "ref_*.py"))):
        spec = importlib.util.spec_from_file_location(os.path.basename(path)[:-3], path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        for case in module.CASES:
            run_case(case, out_dir)
            count += 1
    print(f"wrote {count} reference cases to {out_dir} (torch {torch.__version__})")
    if count == 0:
        sys.exit("no reference cases found")


if __name__ == "__main__":
    sys.path.insert(0, HERE)
    main()
