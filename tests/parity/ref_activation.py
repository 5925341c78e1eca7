"""Reference cases for the pointwise activations (nn/ops_activation.h)."""
import torch
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
    # Exactly on the kinks (0, +-3, 6), where each function's derivative is a convention to match.
    # Not hardswish at +3: torch's own CPU kernels disagree there (vectorized 1, scalar 3/2).
    points = [-7, -6, -3, -1, 0, 1, 3, 6, 7] if name != "hardswish" else [-7, -6, -3, -1, 0, 1, 6, 7]
    kinks = torch.tensor(points, dtype=torch.float32)
    CASES.append(Case(f"act_{name}_kinks", name, {}, {"x": kinks}, lambda x, fn=fn: fn(x)))
