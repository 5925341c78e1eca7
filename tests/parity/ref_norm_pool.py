"""Reference cases for batch_norm (nn/ops_norm.h), the pooling ops (nn/ops_pool.h) and dropout
(nn/ops_dropout.h)."""
import torch
import torch.nn.functional as F
from make_reference import Case

# batch norm: inputs with a per-channel offset and spread, so the statistics are not ~(0, 1) already.
_gen = torch.Generator().manual_seed(2024)


def offset_input(shape):
    c = shape[1]
    view = (1, c) + (1,) * (len(shape) - 2)
    offset = (torch.rand(c, generator=_gen) * 6 - 3).view(view)
    spread = (torch.rand(c, generator=_gen) * 2 + 0.5).view(view)
    return (torch.randn(shape, generator=_gen) * spread + offset).float()


def bn(training, momentum, eps):
    def forward(x, weight=None, bias=None, running_mean=None, running_var=None):
        y = F.batch_norm(x, running_mean, running_var, weight, bias, training, momentum, eps)
        out = {"out": y}
        if running_mean is not None:  # updated in place by torch when training
            out["running_mean"], out["running_var"] = running_mean, running_var
        return out
    return forward


CASES = []
for training in [True, False]:
    mode = "train" if training else "eval"
    # (shape, eps, momentum, affine, running): torchvision's defaults, MobileNetV3's, a 2-d BatchNorm1d
    # input, affine off, and training without running statistics.
    for shape, eps, momentum, affine, running in [((3, 5, 7, 13), 1e-5, 0.1, True, True),
                                                  ((3, 13, 7, 13), 1e-3, 0.01, True, True),
                                                  ((3, 11), 1e-5, 0.1, True, True),
                                                  ((3, 5, 7, 13), 1e-5, 0.1, False, True),
                                                  ((3, 5, 7, 13), 1e-5, 0.1, True, False)]:
        if not running and not training:
            continue
        c = shape[1]
        inputs = {"x": offset_input(shape)}
        if affine:
            inputs["weight"], inputs["bias"] = ("rand", (c,), 2.0), ("rand", (c,))
        if running:
            inputs["running_mean"], inputs["running_var"] = ("rand", (c,), 2.0), ("pos", (c,))
        tag = "x".join(map(str, shape)) + ("" if affine else "_noaffine") + ("" if running else "_norunning")
        CASES.append(Case(f"bn_{mode}_{tag}_eps{eps}", "batch_norm",
                          {"training": training, "momentum": momentum, "eps": eps}, inputs,
                          bn(training, momentum, eps), grads=["x", "weight", "bias"] if affine else ["x"]))

X = (3, 5, 7, 13)


def tag(v):
    return "x".join(map(str, v)) if isinstance(v, tuple) else str(v)


for k, s, p, ceil in [(3, 2, 1, False), (2, 2, 0, True), (3, 1, 1, False), ((3, 2), (2, 1), (1, 0), True),
                      (2, 3, 0, True)]:
    name = f"maxpool_k{tag(k)}_s{tag(s)}_p{tag(p)}_{'ceil' if ceil else 'floor'}"
    CASES.append(Case(name, "max_pool2d", {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil},
                      {"x": ("rand", X)}, lambda x, k=k, s=s, p=p, c=ceil: F.max_pool2d(x, k, s, p, ceil_mode=c)))
for k, s, p in [(3, 2, 1), ((3, 2), (1, 2), (1, 1)), (2, 2, 0)]:
    for ceil in [False, True]:
        for include in [False, True]:
            name = f"avgpool_k{tag(k)}_s{tag(s)}_p{tag(p)}_{'ceil' if ceil else 'floor'}_{'incl' if include else 'excl'}"
            CASES.append(Case(name, "avg_pool2d",
                              {"kernel": k, "stride": s, "padding": p, "ceil_mode": ceil, "count_include_pad": include},
                              {"x": ("rand", X)},
                              lambda x, k=k, s=s, p=p, c=ceil, i=include: F.avg_pool2d(x, k, s, p, c, i)))
for out in [(3, 5), (1, 1), (4, 6), (7, 13), (9, 14)]:
    CASES.append(Case(f"adaptive_{out[0]}x{out[1]}", "adaptive_avg_pool2d", {"output": list(out)}, {"x": ("rand", X)},
                      lambda x, o=out: F.adaptive_avg_pool2d(x, o)))


# dropout: torch's generator is not hemo's, so these references pin down the contract (which
# elements survive is random; survivors are scaled by 1 / (1 - p); the backward is the same mask
# times the same scale) and the keep rate, not the mask itself. dropout_parity.cpp checks that
# torch's outputs and hemo's both obey it.
def dropout(p, training):
    def forward(x):
        torch.manual_seed(7)
        return F.dropout(x, p, training)
    return forward


for p, training in [(0.2, True), (0.5, True), (1.0, True), (0.5, False)]:
    CASES.append(Case(f"dropout_p{p}_{'train' if training else 'eval'}", "dropout", {"p": p, "training": training},
                      {"x": ("rand", (3, 17, 7, 13))}, dropout(p, training)))
