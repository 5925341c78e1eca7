"""Reference cases for add, mul, scale (nn/ops_elementwise.h), sum and mean (nn/ops_reduce.h), and
the flatten / reshape views (tensor/tensor.h)."""
from make_reference import Case

S = (3, 5, 7, 13)
CASES = [
    Case("add_3x5x7x13", "add", {}, {"a": ("rand", S), "b": ("rand", S)}, lambda a, b: a + b),
    Case("mul_3x5x7x13", "mul", {}, {"a": ("rand", S), "b": ("rand", S)}, lambda a, b: a * b),
    # squeeze-excitation: one factor per (sample, channel), broadcast over 7x13
    Case("mul_bcast_3x5x1x1", "mul", {}, {"a": ("rand", S), "b": ("rand", (3, 5, 1, 1))}, lambda a, b: a * b),
    Case("mul_bcast_3x5", "mul", {}, {"a": ("rand", S), "b": ("rand", (3, 5))}, lambda a, b: a * b[:, :, None, None]),
    Case("scale_3x5x7x13", "scale", {"s": -2.5}, {"a": ("rand", S)}, lambda a: -2.5 * a),
    Case("sum_all", "sum", {}, {"x": ("rand", S)}, lambda x: x.sum()),
    Case("mean_all", "mean", {}, {"x": ("rand", S)}, lambda x: x.mean()),
    Case("flatten1", "flatten", {"start_dim": 1}, {"x": ("rand", S)}, lambda x: x.flatten(1)),
    Case("flatten2", "flatten", {"start_dim": 2}, {"x": ("rand", S)}, lambda x: x.flatten(2)),
    Case("reshape_15x91", "reshape", {"shape": [15, -1]}, {"x": ("rand", S)}, lambda x: x.reshape(15, -1)),
]
for op in ["sum", "mean"]:
    for dim, keepdim in [(0, False), (1, True), (-1, False), (2, True)]:
        CASES.append(Case(f"{op}_dim{dim}_{'keep' if keepdim else 'drop'}", op, {"dim": dim, "keepdim": keepdim},
                          {"x": ("rand", S)}, lambda x, op=op, d=dim, k=keepdim: getattr(x, op)(d, keepdim=k)))
