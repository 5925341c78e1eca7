"""Reference cases for Grad-CAM's steps (nn/ops_gradcam.h), through tools/gradcam_torch.py, and the
bilinear resize against F.interpolate(align_corners=False). None is differentiable."""
import os
import sys

import torch
import torch.nn.functional as F
from make_reference import Case

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import gradcam_torch as gc  # noqa: E402

CASES = []
# Up, down, mixed, from a single pixel, and the model-input sizes Grad-CAM resizes to.
for (n, c, h, w), (oh, ow) in [((3, 5, 7, 13), (17, 29)), ((3, 5, 7, 13), (4, 5)), ((2, 3, 13, 7), (13, 15)),
                               ((2, 1, 1, 1), (9, 9)), ((2, 1, 7, 7), (100, 100)), ((1, 2, 4, 4), (224, 224))]:
    CASES.append(Case(f"resize_bilinear_{n}x{c}x{h}x{w}_to_{oh}x{ow}", "resize_bilinear", {"size": [oh, ow]},
                      {"x": ("rand", (n, c, h, w))},
                      lambda x, oh=oh, ow=ow: F.interpolate(x, size=(oh, ow), mode="bilinear", align_corners=False),
                      grads=[]))

# Activations positive as after a ReLU (and signed, as after MobileNetV3's hardswish); gradients signed.
for shape in [(3, 11, 7, 13), (2, 5, 1, 1)]:
    tag = "x".join(map(str, shape))
    for act_kind in ["pos", "rand"]:
        for method in ["gradcam", "gradcampp"]:
            CASES.append(Case(f"cam_weights_{method}_{tag}_{act_kind}", "cam_weights", {"method": method},
                              {"act": (act_kind, shape), "grad": ("rand", shape)},
                              lambda act, grad, m=method: gc.cam_weights(m, act, grad), grads=[]))
    CASES.append(Case(f"cam_weighted_sum_relu_{tag}", "cam_weighted_sum_relu", {},
                      {"act": ("pos", shape), "weights": ("rand", shape[:2])},
                      lambda act, weights: gc.weighted_sum_relu(act, weights), grads=[]))

for name, x in [("cam_normalize_3x7x13", ("pos", (3, 7, 13))),
                ("cam_normalize_flat", torch.cat([torch.full((1, 4, 5), 0.75), torch.rand(1, 4, 5) + 0.5]))]:
    CASES.append(Case(name, "cam_normalize", {}, {"x": x}, lambda x: gc.normalize(x), grads=[]))
