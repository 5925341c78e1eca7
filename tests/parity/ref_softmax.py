"""Reference cases for softmax, log_softmax (nn/ops_softmax.h) and cross_entropy (nn/ops_loss.h)."""
import torch.nn.functional as F
from make_reference import Case

CASES = []
for name, fn in {"softmax": F.softmax, "log_softmax": F.log_softmax}.items():
    # Logits up to +-6 (and +-100 once, where exp overflows float32 unless the max is subtracted).
    for shape, dim, scale in [((3, 5, 7, 13), 1, 6.0), ((3, 5, 7, 13), -1, 6.0), ((3, 11), 1, 6.0),
                              ((3, 11), 0, 6.0), ((3, 11), 1, 100.0)]:
        tag = "x".join(map(str, shape))
        CASES.append(Case(f"{name}_{tag}_dim{dim}_s{int(scale)}", name, {"dim": dim}, {"x": ("rand", shape, scale)},
                          lambda x, fn=fn, dim=dim: fn(x, dim)))

# cross_entropy: every reduction, with and without class weights and label smoothing.
for reduction in ["mean", "sum", "none"]:
    for weighted in [False, True]:
        for smoothing in [0.0, 0.1]:
            for n, k in [(3, 7), (17, 11)]:
                inputs = {"logits": ("rand", (n, k), 4.0), "labels": ("int", (n,), k)}
                if weighted:
                    inputs["weight"] = ("pos", (k,))
                name = f"xent_{reduction}_{'w' if weighted else 'nw'}_ls{smoothing}_{n}x{k}"
                CASES.append(Case(name, "cross_entropy", {"reduction": reduction, "label_smoothing": smoothing}, inputs,
                                  lambda logits, labels, weight=None, r=reduction, s=smoothing: F.cross_entropy(
                                      logits, labels, weight=weight, reduction=r, label_smoothing=s),
                                  grads=["logits"]))
