#!/usr/bin/python3
"""Checks that the synthetic smear dataset is hard enough: a small CNN must clearly beat a linear
classifier (multinomial logistic regression) on raw pixels.

  /usr/bin/python3 tools/bench/synth_difficulty.py --hemo build/tools/hemo --per-class 300 --size 64

draws a fresh dataset with `hemo synth` into a temporary folder (or reads --data DIR), splits it
80/20 per class, trains both models on the same pixels (per-channel standardised) and prints their
test accuracies. Both get the same epochs budget of full passes. The linear model is trained with
several weight decays and reported at its best decay and best test epoch (an optimistic figure
for it); the CNN is reported at its last epoch.
"""
import argparse
import os
import subprocess
import tempfile
import time

import numpy as np
import torch
from PIL import Image
from torch import nn


def load_folder(root):
    classes = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    xs, ys = [], []
    for label, c in enumerate(classes):
        for f in sorted(os.listdir(os.path.join(root, c))):
            with Image.open(os.path.join(root, c, f)) as im:
                xs.append(np.asarray(im.convert("RGB"), dtype=np.float32) / 255.0)
            ys.append(label)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor(ys), classes


def split(y, frac, gen):
    train, test = [], []
    for c in y.unique():
        idx = (y == c).nonzero().flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = int(round(len(idx) * frac))
        train.append(idx[:k])
        test.append(idx[k:])
    return torch.cat(train), torch.cat(test)


def accuracy(model, x, y):
    model.eval()
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def train(model, xtr, ytr, xte, yte, epochs, lr, wd, augment):
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=epochs * ((len(xtr) + 63) // 64))
    best = 0.0
    for _ in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 64):
            b = perm[i:i + 64]
            xb = xtr[b]
            if augment:  # the cells may lie any way round
                if torch.rand(1) < 0.5:
                    xb = xb.flip(3)
                xb = torch.rot90(xb, int(torch.randint(4, (1,))), (2, 3))
            loss = nn.functional.cross_entropy(model(xb), ytr[b])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        best = max(best, accuracy(model, xte, yte))
    return accuracy(model, xte, yte), best


def cnn(classes):
    def block(i, o):
        return [nn.Conv2d(i, o, 3, padding=1, bias=False), nn.BatchNorm2d(o), nn.ReLU(inplace=True)]
    return nn.Sequential(*block(3, 24), nn.MaxPool2d(2), *block(24, 48), nn.MaxPool2d(2),
                         *block(48, 64), nn.MaxPool2d(2), *block(64, 96),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(96, classes))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--hemo", help="hemo executable, to draw the data with `hemo synth`")
    p.add_argument("--data", help="an existing ImageFolder instead")
    p.add_argument("--per-class", type=int, default=300)
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--models", default="linear,cnn", help="which to train: linear, cnn or both")
    args = p.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data
        if root is None:
            root = os.path.join(tmp, "synth")
            subprocess.run([args.hemo, "synth", "--out", root, "--per-class", str(args.per_class),
                            "--size", str(args.size), "--seed", str(args.seed)], check=True)
        x, y, classes = load_folder(root)
    mean, std = x.mean((0, 2, 3), keepdim=True), x.std((0, 2, 3), keepdim=True)
    x = (x - mean) / std
    tr, te = split(y, 0.8, torch.Generator().manual_seed(0))
    print(f"{len(x)} images {tuple(x.shape[1:])}, {len(classes)} classes, {len(tr)} train / {len(te)} test")
    if "linear" in args.models:
        best = (0.0, 0.0, 0.0)
        for wd in (1e-3, 1e-2, 0.05, 0.2, 1.0):
            t0 = time.time()
            torch.manual_seed(0)
            linear = nn.Sequential(nn.Flatten(), nn.Linear(x[0].numel(), len(classes)))
            lin_final, lin_best = train(linear, x[tr], y[tr], x[te], y[te], args.epochs, 3e-3, wd, False)
            print(f"linear on raw pixels, weight decay {wd:g}: test accuracy {lin_final:.3f} "
                  f"(best epoch {lin_best:.3f}) [{time.time() - t0:.0f} s]")
            best = max(best, (lin_best, lin_final, wd))
        print(f"linear, best of all: {best[0]:.3f} (weight decay {best[2]:g})")
    if "cnn" not in args.models:
        return
    t0 = time.time()
    torch.manual_seed(0)
    net = cnn(len(classes))
    cnn_final, cnn_best = train(net, x[tr], y[tr], x[te], y[te], args.epochs, 3e-3, 5e-4, True)
    print(f"small CNN:            test accuracy {cnn_final:.3f} (best epoch {cnn_best:.3f}) [{time.time() - t0:.0f} s]")
    print(f"chance: {1 / len(classes):.3f}")


if __name__ == "__main__":
    main()
