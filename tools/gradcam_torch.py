"""hemo's Grad-CAM and Grad-CAM++ written in PyTorch: the reference the torch-parity tests compare
hemo with, and a way to check hemo's maps on a model of one's own.

The definition is kernels/gradcam.h's, step for step:
  A  = the target module's output [N, C, h, w] (a forward hook keeps it)
  g  = d(score)/dA, score = sum over images of logits[n, class_n] (the predicted class by default)
  gradcam    w = mean of g over h, w
  gradcampp  w = sum over h, w of alpha * relu(g), alpha = g^2 / (2 g^2 + sum_hw(A) g^3), the
             closed form for the exponential score exp(S) with its common factor exp(S) left out;
             a term is 0 where g <= 0 or the denominator is 0
  map = relu(sum_c w_c A_c), min-max normalized per image (0 where flat), then
        F.interpolate(bilinear, align_corners=False) to the input size.

Unlike hemo (which freezes the parameters and makes A a leaf), this asks autograd for dS/dA on the
model's ordinary graph (torch.autograd.grad), so the two share no mechanism.
"""
import torch
import torch.nn.functional as F


def cam_weights(method, act, grad):
    if method == "gradcam":
        return grad.mean(dim=(2, 3))
    if method != "gradcampp":
        raise ValueError(f"unknown Grad-CAM method {method!r}")
    g2 = grad * grad
    den = 2 * g2 + act.sum(dim=(2, 3), keepdim=True) * g2 * grad
    ok = (grad > 0) & (den != 0)
    alpha = torch.where(ok, g2 / torch.where(ok, den, torch.ones_like(den)), torch.zeros_like(den))
    return (alpha * F.relu(grad)).sum(dim=(2, 3))


def weighted_sum_relu(act, weights):
    return F.relu((weights[:, :, None, None] * act).sum(dim=1))


def normalize(cam):
    flat = cam.flatten(1)
    lo = flat.min(dim=1, keepdim=True).values
    span = flat.max(dim=1, keepdim=True).values - lo
    out = torch.where(span > 0, (flat - lo) / torch.where(span > 0, span, torch.ones_like(span)),
                      torch.zeros_like(flat))
    return out.view_as(cam)


def resize(maps, size):
    """[N, h, w] -> [N, size[0], size[1]]."""
    return F.interpolate(maps[:, None], size=tuple(size), mode="bilinear", align_corners=False)[:, 0]


def forward(model, layer, x):
    """Runs `model` on x [N, 3, H, W] and returns (logits, A): A is module `layer`'s output (a dotted
    name), still in the graph."""
    kept = {}
    handle = model.get_submodule(layer).register_forward_hook(lambda _m, _i, out: kept.update(act=out))
    try:
        logits = model(x)
    finally:
        handle.remove()
    return logits, kept["act"]


def class_gradient(logits, act, classes, retain_graph=False):
    """d(sum_n logits[n, classes[n]]) / dA through autograd."""
    score = logits.gather(1, classes[:, None]).sum()
    return torch.autograd.grad(score, act, retain_graph=retain_graph)[0]


def cam(act, grad, method, size):
    """(weights, low_res, maps) from A and dS/dA; maps at `size` (H, W)."""
    weights = cam_weights(method, act.detach(), grad)
    low_res = normalize(weighted_sum_relu(act.detach(), weights))
    return weights, low_res, resize(low_res, size)


def grad_cam(model, layer, x, method="gradcam", classes=None):
    """Grad-CAM of `model` (in eval mode) on x [N, 3, H, W] for `classes` (a LongTensor [N]; the
    predicted ones when None) at module `layer`. Returns (classes, low_res, maps)."""
    logits, act = forward(model, layer, x)
    if classes is None:
        classes = logits.argmax(dim=1)
    _, low_res, maps = cam(act, class_gradient(logits, act, classes), method, x.shape[2:])
    return classes, low_res, maps
