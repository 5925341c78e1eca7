#!/usr/bin/python3
"""Data-pipeline benchmark: torchvision's DataLoader with PIL against `hemo bench data`.

Both decode and transform every image of an ImageFolder at the same size, batch size and thread
count, with equivalent transforms, measured in one run. Rounds alternate hemo and torch so that
load from other processes hits both alike; each reports images/s per epoch after a warm-up epoch,
and the summary gives the median of all timed epochs.

  /usr/bin/python3 tools/bench/torch_data_bench.py --data ../shared/data/pbc-mini \
      --size 224 --threads 2 --augment --hemo build/tools/hemo --rounds 3

Equivalence (hemo's data::TransformSpec):
  --augment: RandomResizedCrop(size, scale=(0.5, 1), ratio=(3/4, 4/3)), RandomHorizontalFlip(0.5),
             RandomVerticalFlip(0.5), RandomRotation(60, BILINEAR, fill=0),
             ColorJitter(0.2, 0.2, 0.2, 0.02), ToTensor, Normalize(ImageNet)   [TransformSpec::train]
  default:   Resize(size), CenterCrop(size), ToTensor, Normalize(ImageNet)     [TransformSpec::eval]
Files PIL cannot open (pbc-mini's stray .DS_169665.jpg) are skipped before timing, as hemo does.
Without --hemo only the torch side runs.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader

try:
    import torchvision.transforms as T
    from torchvision.datasets import ImageFolder
except ImportError:  # Debian: apt install python3-torchvision
    sys.exit("torch_data_bench.py needs torchvision (Debian: apt install python3-torchvision)")

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")


def transform(size, augment):
    if augment:
        return T.Compose([
            T.RandomResizedCrop(size, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3)),
            T.RandomHorizontalFlip(0.5),
            T.RandomVerticalFlip(0.5),
            T.RandomRotation(60, interpolation=T.InterpolationMode.BILINEAR, fill=0),
            T.ColorJitter(0.2, 0.2, 0.2, 0.02),
            T.ToTensor(),
            T.Normalize(MEAN, STD),
        ])
    return T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize(MEAN, STD)])


def readable(path):
    if not path.lower().endswith(EXTENSIONS):
        return False
    try:
        with Image.open(path) as im:
            im.verify()
        return True
    except Exception:  # noqa: BLE001 -- any unreadable file is skipped, as hemo does
        print(f"torch: skipped {path}", file=sys.stderr)
        return False


def torch_epochs(args):
    ds = ImageFolder(args.data, transform=transform(args.size, args.augment), is_valid_file=readable)
    loader = DataLoader(ds, batch_size=args.batch, shuffle=True, num_workers=args.threads,
                        persistent_workers=args.threads > 0, pin_memory=False)
    rates = []
    for epoch in range(args.warmup + args.epochs):
        start = time.perf_counter()
        n = 0
        for images, _ in loader:
            n += images.shape[0]
        secs = time.perf_counter() - start
        if epoch >= args.warmup:
            rates.append(n / secs)
        print(f"  torch {'epoch' if epoch >= args.warmup else 'warm-up'}: {n} images in {secs:.3f} s"
              f" = {n / secs:.1f} images/s")
    return rates


def hemo_epochs(args):
    cmd = [args.hemo, "bench", "data", "--data", args.data, "--size", str(args.size),
           "--threads", str(args.threads), "--batch", str(args.batch),
           "--epochs", str(args.epochs), "--warmup", str(args.warmup)]
    if args.augment:
        cmd.append("--augment")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    rates = [float(m) for m in re.findall(r"^epoch \d+: .* = ([0-9.]+) images/s$", out, re.M)]
    for line in out.splitlines():
        if line.startswith(("epoch", "warm-up")):
            print("  hemo " + line)
    return rates


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", required=True)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--augment", action="store_true")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per round")
    p.add_argument("--warmup", type=int, default=1, help="untimed epochs per round")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--hemo", help="path to the hemo executable (omit: torch only)")
    args = p.parse_args()
    torch.set_num_threads(1)
    print(f"data {args.data}, {args.size}x{args.size}, {'augment' if args.augment else 'eval'}, "
          f"{args.threads} threads, batch {args.batch}, torch {torch.__version__}, "
          f"{os.cpu_count()} CPUs")
    hemo_rates, torch_rates = [], []
    for r in range(args.rounds):
        print(f"round {r + 1}")
        if args.hemo:
            hemo_rates += hemo_epochs(args)
        torch_rates += torch_epochs(args)
    print(f"torch DataLoader + PIL: median {statistics.median(torch_rates):.1f} images/s "
          f"over {len(torch_rates)} epochs (min {min(torch_rates):.1f}, max {max(torch_rates):.1f})")
    if args.hemo:
        print(f"hemo bench data:        median {statistics.median(hemo_rates):.1f} images/s "
              f"over {len(hemo_rates)} epochs (min {min(hemo_rates):.1f}, max {max(hemo_rates):.1f})")
        print(f"hemo / torch: {statistics.median(hemo_rates) / statistics.median(torch_rates):.2f}x")


if __name__ == "__main__":
    main()
