"""Reference cases for linear (nn/ops_linear.h): with and without bias, a 3-d input, and a size
that spans several GEMM tiles and k panels."""
import torch.nn.functional as F
from make_reference import Case


def lin(name, x_shape, out, bias=True):
    inputs = {"x": ("rand", x_shape), "w": ("rand", (out, x_shape[-1]))}
    if bias:
        inputs["b"] = ("rand", (out,))
    return Case(f"linear_{name}", "linear", {"bias": bias}, inputs, lambda x, w, b=None: F.linear(x, w, b))


CASES = [
    lin("3x13_to_10", (3, 13), 10),
    lin("nobias", (3, 13), 10, bias=False),
    lin("3d_input", (3, 7, 13), 10),
    lin("37x300_to_130", (37, 300), 130),
]
