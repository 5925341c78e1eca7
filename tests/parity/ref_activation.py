"""Reference cases for the pointwise activations (nn/ops_activation.h)."""
import torch.nn.functional as F
from make_reference import Case

ACTS = {"relu": F.relu, "relu6": F.relu6, "hardsigmoid": F.hardsigmoid, "hardswish": F.hardswish,
        "sigmoid": lambda x: x.sigmoid()}

CASES = []
for name, fn in ACTS.items():
    # Inputs up to +-8 so relu6, hardswish and hardsigmoid see both saturated sides.
    for shape in [(3, 5, 7, 13), (2, 11)]:
        tag = "x".join(map(str, shape))
        CASES.append(Case(f"act_{name}_{tag}", name, {}, {"x": ("rand", shape, 8.0)}, lambda x, fn=fn: fn(x)))
