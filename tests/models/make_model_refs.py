#!/usr/bin/env python3
"""Writes one model-parity case for tests/models/model_parity_test.cpp (run at test time).

    make_model_refs.py OUTDIR ARCH --case NAME [--size S] [--batch B] [--classes K]
                       [--grads [eval] [train]] [--pool-stride P] [--seed N]

1. Builds the PyTorch model hemo's ARCH mirrors (torchvision's, or tools/pbcnet7_torch.py's) with
   torch.manual_seed(seed), K classes, dropout and stochastic depth 0 (so that training mode is deterministic:
   there, hemo and PyTorch differ only in batch norm's use of batch statistics). Its weights are
   torchvision's random initialization, then moved away from the trivial values: every bias and
   BN shift gets N(0, 0.1) noise, BN and LayerNorm scales U(0.5, 1.5) (U(0.1, 0.3) for the last BN
   of a ResNet residual branch or an EfficientNet MBConv, and ConvNeXt's layer scales, see perturb); BN running statistics are set from one
   training-mode pass over a calibration batch and then perturbed (mean + 0.2 sd N(0, 1), var
   x U(0.7, 1.4)), so eval mode really uses them and its output differs from training mode's.
2. Saves the state_dict with torch.save to OUTDIR/NAME.pth, converts it with
   tools/convert_torchvision.py to OUTDIR/NAME.weights.safetensors, deletes the .pth.
3. Runs the model in float64 on a float32 input x [B, 3, S, S] ~ N(0, 1), first in eval mode,
   then in training mode, and writes OUTDIR/NAME.ref.safetensors:
     input               F32 [B, 3, S, S]
     logits_eval         F64 [B, K]   eval mode
     logits_train        F64 [B, K]   training mode (batch statistics)
     labels              I64 [B]      (with --grads)
     grad_<mode>.<param> F32          (for each mode given to --grads) d/dparam of
                                      F.cross_entropy(logits_<mode>, labels), mean over the batch
     kink_<mode>.<param> F64 [1]      how far float32 round-off may move that gradient through
                                      activation kinks (see KinkWatch); 0 where none is near
   metadata: arch, size, batch, classes, pool_stride, kinks_<mode> (how many activation inputs lie
   within round-off of a kink), params (PyTorch's parameter count) and macs
   (multiply-accumulates of every Conv2d and Linear for one image, counted with forward hooks on
   the meta device).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import convert_torchvision as conv  # noqa: E402

BN_TYPES = (torch.nn.BatchNorm2d,)


@torch.no_grad()
def perturb(model, size, gen):
    for name, p in model.named_parameters():
        if name.endswith(".bias"):
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    bns = [m for m in model.modules() if isinstance(m, BN_TYPES)]
    for m in bns:
        m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
    # ResNets: the last BN of each residual branch gets U(0.1, 0.3), keeping the branches small
    # against the identity path as zero_init_residual and training do. With scales near 1 in all
    # 50 blocks of ResNet-152 the stream grows until PyTorch's own float32 result in training
    # mode is off its float64 one by 1.5e-3 (batch-norm cancellation), hiding real errors.
    for name, m in model.named_modules():
        if isinstance(m, BN_TYPES) and (name.endswith(".bn3") or (name.endswith(".bn2") and not hasattr(
                model.get_submodule(name.rsplit(".", 1)[0]), "bn3"))) and name.startswith("layer"):
            m.weight.copy_(0.1 + 0.2 * torch.rand(m.weight.shape, generator=gen))
    # LayerNorm scales as BN's; ConvNeXt's layer scales (1e-6 at construction, which would leave
    # every block invisible next to its skip path) U(0.1, 0.3), as ResNet's residual BNs above.
    for m in model.modules():
        if isinstance(m, torch.nn.LayerNorm):
            m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=gen))
    for name, p in model.named_parameters():
        if name.endswith("layer_scale"):
            p.copy_(0.1 + 0.2 * torch.rand(p.shape, generator=gen))
    # Running statistics from one training-mode pass (momentum 1 keeps only this batch's).
    saved = [m.momentum for m in bns]
    for m in bns:
        m.momentum = 1.0
    model.train()
    aux = getattr(model, "AuxLogits", None)  # Inception-v3's needs a 299x299 input: not run here
    if aux is not None:
        model.AuxLogits = None
    model(torch.randn(4, 3, size, size, generator=gen))
    if aux is not None:
        model.AuxLogits = aux
    for m, mom in zip(bns, saved):
        m.momentum = mom
        sd = m.running_var.sqrt()
        m.running_mean.add_(0.2 * sd * torch.randn(sd.shape, generator=gen))
        m.running_var.mul_(0.7 + 0.7 * torch.rand(sd.shape, generator=gen))
        m.num_batches_tracked.fill_(int(torch.randint(1, 5000, (1,), generator=gen)))
    # EfficientNet: the projection BN closing each MBConv's block gets U(0.1, 0.3) too, after the
    # calibration, so that every later BN's running statistics expect a larger input than it gets.
    # Otherwise (32 to 55 blocks, running statistics of one small batch) B4's eval-mode logits
    # reach 3e5 and PyTorch's own float32 run is off its float64 one by 55%; with this, 1e-6.
    for m in model.modules():
        if type(m).__name__ == "MBConv":
            bn = m.block[-1][1]
            bn.weight.copy_(0.1 + 0.2 * torch.rand(bn.weight.shape, generator=gen))


# Piecewise-linear activations: each kink's position and the jump of the derivative there.
KINKS = {
    torch.nn.ReLU: ((0.0, 1.0),),
    torch.nn.ReLU6: ((0.0, 1.0), (6.0, 1.0)),
    torch.nn.Hardswish: ((-3.0, 0.5), (3.0, 0.5)),
    torch.nn.Hardsigmoid: ((-3.0, 1.0 / 6), (3.0, 1.0 / 6)),
}
# An activation input within KINK_TAU * (the largest |input| of its tensor) of a kink may land on
# the other side of it in a float32 run: hemo's ReLU inputs differ from float64's by up to about
# 1e-6 of that scale. ResNet-50 in eval mode at 64x64 has one such input that hemo's float32 puts
# at +1.1e-7 where float64 has -1.3e-7: the one flipped unit moves a weight gradient by 2.6e-2.
KINK_TAU = 1e-5


class KinkWatch:
    """Bounds what float32 round-off can do to the parameter gradients through activation kinks.

    An input x[e] within round-off of a kink k may fall on either side of it, and the side picks
    the derivative: the two choices differ by jump * dL/dy[e] at x[e] in the backward pass. For
    each such e the effect on every parameter gradient is the backward pass of that one injected
    value, J_e = d(params) of <x, jump * dL/dy[e] * onehot(e)>; the slack of a parameter is the
    largest entry of sum_e |J_e| (first order: the flips' effects add). A float32 run is right
    when its gradient is within the usual tolerance plus this slack of the float64 one."""

    def __init__(self, model):
        self.records = []
        for m in model.modules():
            kinks = KINKS.get(type(m))
            if kinks is None:
                continue
            if getattr(m, "inplace", False):
                m.inplace = False  # keep the input: J_e is a backward pass from it
            m.register_forward_hook(self._hook(kinks))

    def _hook(self, kinks):
        def hook(module, inputs, output):
            if torch.is_grad_enabled():
                output.retain_grad()
                self.records.append((kinks, inputs[0], output))
        return hook

    def slack(self, named_params):
        """After loss.backward(retain_graph=True): ({param name: slack}, number of near kinks)."""
        names = [n for n, _ in named_params]
        params = [p for _, p in named_params]
        total = {n: torch.zeros_like(p) for n, p in named_params}
        count = 0
        for kinks, x, y in self.records:
            xd = x.detach()
            scale = xd.abs().max()
            for k, jump in kinks:
                for idx in ((xd - k).abs() < KINK_TAU * scale).nonzero():
                    e = tuple(idx.tolist())
                    count += 1
                    inject = torch.zeros_like(xd)
                    inject[e] = jump * y.grad[e]
                    if inject[e] == 0:
                        continue
                    for n, d in zip(names, torch.autograd.grad(x, params, inject, retain_graph=True,
                                                               allow_unused=True)):
                        if d is not None:
                            total[n] += d.abs()
        self.records.clear()
        return {n: t.max().reshape(1) for n, t in total.items()}, count


def macs_of(model, h, w):
    """Multiply-accumulates of the Conv2d and Linear layers of a meta-device `model` for one
    [1, 3, h, w] image, counted with forward hooks (shapes only, no arithmetic)."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += out.numel() * m.in_features

    hooks = [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    hooks += [m.register_forward_hook(linear_hook) for m in model.modules() if isinstance(m, torch.nn.Linear)]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, h, w, device="meta"))
    for hook in hooks:
        hook.remove()
    return total[0]


def count_macs(arch, classes, size, pool_stride=2):
    model = conv.reference_model(arch, classes, input_size=size, pool_stride=pool_stride, init=False).to("meta")
    return macs_of(model, size, size)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("outdir")
    p.add_argument("arch")
    p.add_argument("--case", required=True)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--classes", type=int, default=7)
    p.add_argument("--pool-stride", type=int, default=2)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--eval-only", action="store_true",
                   help="no training-mode logits (the test skips them: batch statistics over 1x1 maps, or an "
                        "auxiliary head that does not fit the input)")
    p.add_argument("--grads", nargs="*", choices=("eval", "train"), default=(),
                   help="modes in which to write parameter gradients")
    a = p.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    start = time.time()

    torch.manual_seed(a.seed)
    gen = torch.Generator().manual_seed(a.seed + 1)
    model = conv.reference_model(a.arch, a.classes, input_size=a.size, pool_stride=a.pool_stride, dropout=0.0,
                                 stochastic_depth=0.0)
    perturb(model, a.size, gen)

    pth = os.path.join(a.outdir, a.case + ".pth")
    weights = os.path.join(a.outdir, a.case + ".weights.safetensors")
    torch.save(model.state_dict(), pth)
    argv = [pth, weights, "--arch", a.arch, "--input-size", str(a.size)]
    if a.arch == "pbcnet7":
        argv += ["--pool-stride", str(a.pool_stride)]
    rc = conv.main(argv)
    os.remove(pth)
    if rc != 0:
        sys.exit(f"make_model_refs.py: the converter failed on {a.arch}")

    x = torch.randn(a.batch, 3, a.size, a.size, generator=gen)
    labels = torch.randint(a.classes, (a.batch,), generator=gen)
    out = {"input": x}
    if a.grads:
        out["labels"] = labels
    model = model.double()
    watch = KinkWatch(model)
    kink_counts = {}
    for mode in ("eval",) if a.eval_only else ("eval", "train"):
        model.train(mode == "train")
        model.zero_grad(set_to_none=True)
        want_grads = mode in a.grads
        with torch.set_grad_enabled(want_grads):
            logits = model(x.double())
        aux = []
        if isinstance(logits, tuple):  # in training mode GoogLeNet's (logits, aux2, aux1), Inception-v3's (logits, aux)
            logits, aux = logits[0], [h for h in logits[1:] if h is not None]
        out["logits_" + mode] = logits.detach()
        if want_grads:
            loss = F.cross_entropy(logits, labels)
            weight = 0.4 if a.arch == "inception_v3" else 0.3  # torchvision's reference recipe
            for head in aux:
                loss = loss + weight * F.cross_entropy(head, labels)
            loss.backward(retain_graph=True)
            for name, param in model.named_parameters():
                # None: a parameter the mode does not use (GoogLeNet's side heads in eval mode): 0.
                g = param.grad if param.grad is not None else torch.zeros_like(param)
                out[f"grad_{mode}.{name}"] = g.float()
            slack, kink_counts[mode] = watch.slack(list(model.named_parameters()))
            for name, v in slack.items():
                out[f"kink_{mode}.{name}"] = v
        watch.records.clear()
    meta = {"arch": a.arch, "size": str(a.size), "batch": str(a.batch), "classes": str(a.classes),
            "pool_stride": str(a.pool_stride), **{f"kinks_{m}": str(c) for m, c in kink_counts.items()},
            "params": str(sum(q.numel() for q in model.parameters())),
            "macs": str(count_macs(a.arch, a.classes, a.size, a.pool_stride))}
    conv.write_safetensors(os.path.join(a.outdir, a.case + ".ref.safetensors"), out, meta, keep_f64=True)
    print(f"{a.case}: {a.arch} {a.batch}x3x{a.size}x{a.size}, references in {time.time() - start:.1f} s")


if __name__ == "__main__":
    main()
