#!/usr/bin/env python3
"""PyTorch's half of the bench stage of tools/gpu-check.sh (tools/gpu/bench.py runs it): trains the
same model on the same images as `hemo train` did, with the same batch, optimizer and epochs, and
prints one JSON object with the images/s of every epoch.

  torch_train_bench.py --data SYNTH --manifest RUN/split.csv --model pbcnet7 --input-size 100 --batch-size 32 \
                       --epochs 4 --threads 8 --device cuda

Two ways, one after the other:
  loader     a DataLoader with --threads workers decoding the PNGs with PIL each epoch (pinned
             memory on CUDA): the same work hemo's training loop does with its own loader.
  resident   the training images decoded once and kept on the device, batches cut from a
             shuffled index: the model's step alone, the ceiling of the loader way.
Each step reads the loss back to the host and takes the batch's predictions, as hemo's loop does.
--precision fp32 (the default): float32 with TF32 off in cuBLAS and cuDNN (hemo's --precision
fp32); bf16-cl: autocast to bfloat16 with the model and batches in torch.channels_last (hemo's
--precision bf16 --channels-last). cudnn.benchmark on (hemo also picks each convolution's algorithm
once per shape), SGD lr 0.01 momentum 0.9, no augmentation.
The training images are the manifest's rows whose split is "train" (hemo's split.csv: path,class,split,
paths relative to --data).
"""
import argparse
import csv
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tools/, for pbcnet7_torch

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def build_model(name, num_classes, input_size):
    if name == "pbcnet7":
        from pbcnet7_torch import pbcnet7
        return pbcnet7(num_classes=num_classes, input_size=input_size)
    import torchvision
    return getattr(torchvision.models, name)(num_classes=num_classes)


def read_manifest(path, root):
    root = Path(root)
    rows = list(csv.DictReader(open(path, newline="")))
    classes = sorted({r["class"] for r in rows})
    index = {c: i for i, c in enumerate(classes)}
    items = []
    for r in rows:
        if r["split"] != "train":
            continue
        p = Path(r["path"])
        items.append((str(p if p.is_absolute() else root / p), index[r["class"]]))
    return items, classes


def load_image(path, size):
    img = Image.open(path).convert("RGB")
    if img.size != (size, size):
        img = img.resize((size, size), Image.BILINEAR)
    a = np.asarray(img, dtype=np.float32) / 255.0
    a = (a - np.asarray(MEAN, dtype=np.float32)) / np.asarray(STD, dtype=np.float32)
    return torch.from_numpy(a.transpose(2, 0, 1).copy())


class Images(torch.utils.data.Dataset):
    def __init__(self, items, size):
        self.items, self.size = items, size

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        return load_image(path, self.size), label


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def step(model, opt, loss_fn, x, y, args):
    if args.precision == "bf16-cl":
        x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(x.device.type, dtype=torch.bfloat16):
            logits = model(x)
            loss = loss_fn(logits, y)
    else:
        logits = model(x)
        loss = loss_fn(logits, y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    loss.item()  # hemo reads the loss back every step
    logits.detach().argmax(1).cpu()  # and counts the batch's correct predictions on the host


def run_loader(model, opt, loss_fn, items, args, device):
    data = Images(items, args.input_size)
    loader = torch.utils.data.DataLoader(data, batch_size=args.batch_size, shuffle=True, num_workers=args.threads,
                                         pin_memory=device.type == "cuda", persistent_workers=args.threads > 0,
                                         generator=torch.Generator().manual_seed(0))
    rates = []
    for _ in range(args.epochs):
        sync(device)
        t0 = time.perf_counter()
        seen = 0
        for x, y in loader:
            x = x.to(device, non_blocking=True)
            y = y.to(device, non_blocking=True)
            step(model, opt, loss_fn, x, y, args)
            seen += len(y)
        sync(device)
        rates.append(seen / (time.perf_counter() - t0))
    return rates


def run_resident(model, opt, loss_fn, items, args, device):
    x_all = torch.stack([load_image(p, args.input_size) for p, _ in items]).to(device)
    y_all = torch.tensor([label for _, label in items], device=device)
    gen = torch.Generator().manual_seed(0)
    rates = []
    for _ in range(args.epochs):
        sync(device)
        t0 = time.perf_counter()
        order = torch.randperm(len(items), generator=gen).to(device)
        for i in range(0, len(items), args.batch_size):
            idx = order[i:i + args.batch_size]
            step(model, opt, loss_fn, x_all[idx], y_all[idx], args)
        sync(device)
        rates.append(len(items) / (time.perf_counter() - t0))
    return rates


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", required=True, help="the image folder hemo trained on")
    ap.add_argument("--manifest", required=True, help="hemo's split.csv of the run to mirror")
    ap.add_argument("--model", default="pbcnet7")
    ap.add_argument("--input-size", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--threads", type=int, default=8, help="DataLoader workers (and torch's CPU threads)")
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--modes", default="loader,resident")
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16-cl"])
    args = ap.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_train_bench: torch sees no CUDA device")
    torch.set_num_threads(max(args.threads, 1))
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = True
    items, classes = read_manifest(args.manifest, args.data)
    if not items:
        sys.exit(f"torch_train_bench: no training rows in {args.manifest}")

    out = {"torch": torch.__version__, "device": str(device), "precision": args.precision,
           "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
           "cudnn": torch.backends.cudnn.version() if device.type == "cuda" else None,
           "train_images": len(items), "classes": len(classes), "images_per_s": {}}
    for mode in args.modes.split(","):
        torch.manual_seed(0)
        model = build_model(args.model, len(classes), args.input_size).to(device).train()
        if args.precision == "bf16-cl":
            model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
        loss_fn = nn.CrossEntropyLoss()
        run = run_loader if mode == "loader" else run_resident
        out["images_per_s"][mode] = run(model, opt, loss_fn, items, args, device)
        print(f"torch {mode}: " + " ".join(f"{r:.0f}" for r in out["images_per_s"][mode]) + " img/s", file=sys.stderr,
              flush=True)
    print(json.dumps(out))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
