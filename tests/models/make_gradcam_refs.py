#!/usr/bin/env python3
"""Writes the Grad-CAM parity cases for tests/models/gradcam_parity_test.cpp (run at test time).

    make_gradcam_refs.py OUTDIR ARCH:SIZE:LAYER:NAME [...] [--batch B] [--classes K] [--seed N]

For each model (one Python process for all of them, to pay torch's start-up once):
1. Builds the PyTorch model hemo's ARCH mirrors with seeded random weights, moved away from the
   trivial values exactly as make_model_refs.py does (perturb), dropout 0, and writes its
   state_dict with tools/convert_torchvision.py's writer to OUTDIR/NAME.weights.safetensors.
2. Runs tools/gradcam_torch.py in float64, in eval mode, on a float32 input [B, 3, SIZE, SIZE]
   at module LAYER (hemo's default target layer for ARCH, passed in by the C++ test, so a name
   that does not exist in the PyTorch model fails here), and writes OUTDIR/NAME.ref.safetensors:
     input                  F32 [B, 3, S, S]
     logits                 F64 [B, K]
     <method>.classes       I64 [B]        the predicted classes     (method: gradcam, gradcampp)
     <method>.low_res       F64 [B, h, w]  normalized map at the layer's resolution
     <method>.maps          F64 [B, S, S]  resized to the input
     given.classes, given.low_res, given.maps   Grad-CAM for other classes than the predicted
                                                (given_classes)
"""
import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
sys.path.insert(0, HERE)
import convert_torchvision as conv  # noqa: E402
import gradcam_torch as gc  # noqa: E402
from make_model_refs import perturb  # noqa: E402


def given_classes(logits, act, predicted, classes):
    """Per image the first class after the predicted one (cyclically) whose Grad-CAM map is not
    flat: a class the image has no evidence for can have a map that is all zero after the ReLU,
    which would compare trivially."""
    given = (predicted + 1) % classes
    found = torch.zeros_like(predicted, dtype=torch.bool)
    for offset in range(1, classes):
        candidate = (predicted + offset) % classes
        _, low_res, _ = gc.cam(act, gc.class_gradient(logits, act, candidate, retain_graph=True), "gradcam", (1, 1))
        flat = low_res.flatten(1)
        usable = (flat.max(dim=1).values - flat.min(dim=1).values > 0.5) & ~found
        given = torch.where(usable, candidate, given)
        found |= usable
    return given


def write_case(outdir, name, arch, size, layer, batch, classes, seed):
    start = time.time()
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed + 1)
    model = conv.reference_model(arch, classes, input_size=size, dropout=0.0)
    perturb(model, size, gen)
    # The converter's writer (the checks of a full conversion are model_parity_test's business).
    conv.write_safetensors(os.path.join(outdir, name + ".weights.safetensors"), model.state_dict(),
                           {"architecture": arch})

    x = torch.randn(batch, 3, size, size, generator=gen)
    model = model.double().eval()
    # One forward; the gradient for the predicted classes serves both methods, a second backward
    # gives the given classes'.
    logits, act = gc.forward(model, layer, x.double())
    predicted = logits.argmax(dim=1)
    grad = gc.class_gradient(logits, act, predicted, retain_graph=True)
    out = {"input": x, "logits": logits.detach()}
    for method in ("gradcam", "gradcampp"):
        _, low_res, maps = gc.cam(act, grad, method, (size, size))
        out[f"{method}.classes"] = predicted
        out[f"{method}.low_res"] = low_res
        out[f"{method}.maps"] = maps
    given = given_classes(logits, act, predicted, classes)
    _, low_res, maps = gc.cam(act, gc.class_gradient(logits, act, given, retain_graph=True), "gradcam", (size, size))
    out["given.classes"] = given
    out["given.low_res"] = low_res
    out["given.maps"] = maps
    meta = {"arch": arch, "size": str(size), "layer": layer, "feature_map": "x".join(map(str, act.shape[1:]))}
    conv.write_safetensors(os.path.join(outdir, name + ".ref.safetensors"), out, meta, keep_f64=True)
    print(f"{name}: {arch} layer {layer} ({meta['feature_map']}), {batch}x3x{size}x{size}, {time.time() - start:.1f} s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("models", nargs="+", help="ARCH:SIZE:LAYER:NAME")
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--seed", type=int, default=4321)
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    for spec in a.models:
        arch, size, layer, name = spec.split(":")
        write_case(a.outdir, name, arch, int(size), layer, a.batch, a.classes, a.seed)


if __name__ == "__main__":
    main()
