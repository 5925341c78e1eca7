"""PyTorch's optimizers, clip_grad_norm_ and LR schedulers on fixed inputs, as JSON on stdout,
for tests/train/optim_test.cpp. Inputs are defined by formulas both sides evaluate exactly in
float32 (kept identical to the C++ side):

  param j (j = 0: shape [3, 5], j = 1: shape [7]) starts at
      j = 0: ((7 i + 3) mod 23 - 11) / 8        j = 1: ((5 i + 1) mod 13 - 6) / 4 + 0.125
  its gradient at step s is  (((13 i + 7 s + 3 j) mod 17) - 8) / 16 + 1/32   (never zero)
  except that param 1 has no gradient at step 2 (torch.optim skips it, and Adam does not advance
  its step count). The learning rate is halved before step 4.

Usage: optim_reference.py  -> {"optimizers": {name: [[p0, p1] after each step]}, "clip": ...,
                                "schedules": {name: [lr per epoch]}}
"""
import json
import warnings

import torch

# SequentialLR steps its schedulers with an explicit epoch, which torch 1.13 warns about.
warnings.filterwarnings("ignore", category=UserWarning)

SHAPES = [(3, 5), (7,)]
STEPS = 6


def init(j):
    n = 15 if j == 0 else 7
    if j == 0:
        v = [((7 * i + 3) % 23 - 11) / 8 for i in range(n)]
    else:
        v = [((5 * i + 1) % 13 - 6) / 4 + 0.125 for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape(SHAPES[j])


def grad(j, s):
    n = 15 if j == 0 else 7
    v = [(((13 * i + 7 * s + 3 * j) % 17) - 8) / 16 + 1 / 32 for i in range(n)]
    return torch.tensor(v, dtype=torch.float32).reshape(SHAPES[j])


CONFIGS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum_wd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, weight_decay=0.01),
    "sgd_dampening": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1),
    "sgd_nesterov_wd": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
    "adam": lambda p: torch.optim.Adam(p, lr=1e-2),
    "adam_wd_betas": lambda p: torch.optim.Adam(p, lr=1e-2, betas=(0.8, 0.99), weight_decay=0.01, eps=1e-6),
    "adamw": lambda p: torch.optim.AdamW(p, lr=1e-2, weight_decay=0.1),
}


def run(make):
    params = [init(j).requires_grad_(True) for j in range(2)]
    opt = make(params)
    out = []
    for s in range(STEPS):
        if s == 4:
            for g in opt.param_groups:
                g["lr"] *= 0.5
        for j, p in enumerate(params):
            p.grad = None if (j == 1 and s == 2) else grad(j, s)
        opt.step()
        out.append([p.detach().flatten().tolist() for p in params])
    return out


def clip():
    params = [init(j).requires_grad_(True) for j in range(2)]
    for j, p in enumerate(params):
        p.grad = grad(j, 1)
    norm = torch.nn.utils.clip_grad_norm_(params, 0.5)
    return {"norm": float(norm), "grads": [p.grad.flatten().tolist() for p in params]}


def lrs(make_sched, epochs, base=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=base)
    sched = make_sched(opt)
    out = []
    for _ in range(epochs):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def warmup_cosine(opt):
    warm = torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.01, end_factor=1.0, total_iters=3)
    cos = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=17)
    return torch.optim.lr_scheduler.SequentialLR(opt, [warm, cos], milestones=[3])


result = {
    "optimizers": {name: run(make) for name, make in CONFIGS.items()},
    "clip": clip(),
    "schedules": {
        "step": lrs(lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.1), 25),
        "cosine": lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=20), 20),
        "warmup_cosine": lrs(warmup_cosine, 20),
    },
}
print(json.dumps(result))
