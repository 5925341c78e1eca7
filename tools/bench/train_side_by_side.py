#!/usr/bin/python3
"""pbcnet7 trained by hemo and by PyTorch with one recipe on one split: both test accuracies, both
wall times.

  /usr/bin/python3 tools/bench/train_side_by_side.py --hemo build/tools/hemo --data ../shared/data/pbc-128
      [--manifest weights/pbc128-split.csv] [--epochs 40] [--patience 6] [--threads 2] [--seed 0]
      [--out runs/side-by-side] [--json result.json] [--hemo-run RUN]

The recipe is source paper 003's (hemo's `--recipe asghar2023`): pbcnet7 at 100x100, Adam at 1e-3,
batch 32, no augmentation, at most --epochs epochs, the epoch of lowest validation loss kept
(stopping --patience epochs after it) and tested. Both sides read the same split manifest (hemo's
format: path,class,split; without --manifest hemo makes one and PyTorch reads it) and the same
evaluation transform: the image resized (antialiased) to 100x100 and normalized with ImageNet's mean
and std. PyTorch's model is tools/pbcnet7_torch.py, hemo's own twin (same layers, same
initialization rules); its images are decoded once, up front, and that time is counted in its wall
time. hemo runs as a child process; PyTorch in this one, with torch.set_num_threads(--threads).

--hemo-run RUN takes a finished `hemo train` run of this recipe instead of training hemo again (the
shipped pbcnet7-pbc128 run is one): its config must match --epochs, --patience and --seed, and its
split must be the --manifest file byte for byte. Its wall time is then the sum of its epochs' times
(epochs.csv), which leaves out start-up and the test pass.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from pbcnet7_torch import pbcnet7  # noqa: E402

SIZE = 100
MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)


def read_manifest(path):
    rows = []
    with open(path) as f:
        header = f.readline().strip()
        assert header == "path,class,split", f"{path}: not a hemo split manifest (header {header!r})"
        for line in f:
            p, c, s = line.rstrip("\n").rsplit(",", 2)
            rows.append((p.strip('"'), c, s))
    return rows


def load_split(root, rows, split, classes):
    """The images of one split as a normalized float tensor N x 3 x SIZE x SIZE and their labels."""
    picked = [(p, c) for p, c, s in rows if s == split]
    x = np.empty((len(picked), 3, SIZE, SIZE), dtype=np.float32)
    for i, (p, _) in enumerate(picked):
        with Image.open(os.path.join(root, p)) as im:
            im = im.convert("RGB")
            w, h = im.size
            side = min(w, h)  # torchvision's Resize(SIZE) then CenterCrop(SIZE), as data/transforms.h
            im = im.resize((int(w * SIZE / side), int(h * SIZE / side)), Image.BILINEAR)
            w, h = im.size
            l, t = round((w - SIZE) / 2), round((h - SIZE) / 2)
            a = (np.asarray(im.crop((l, t, l + SIZE, t + SIZE)), dtype=np.float32) / 255.0 - MEAN) / STD
        x[i] = a.transpose(2, 0, 1)
    y = np.array([classes.index(c) for _, c in picked], dtype=np.int64)
    return torch.from_numpy(x), torch.from_numpy(y)


def evaluate(model, x, y, batch=256):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(y), batch):
            out = model(x[i:i + batch])
            loss += torch.nn.functional.cross_entropy(out, y[i:i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i:i + batch]).sum().item()
    return loss / len(y), correct / len(y)


def train_torch(args, manifest):
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    t0 = time.monotonic()
    rows = read_manifest(manifest)
    classes = sorted({c for _, c, _ in rows})
    (xtr, ytr), (xva, yva), (xte, yte) = (load_split(args.data, rows, s, classes) for s in ("train", "val", "test"))
    model = pbcnet7(len(classes), SIZE)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best, best_state, stale = float("inf"), None, 0
    g = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(ytr), generator=g)
        for i in range(0, len(order), 32):
            idx = order[i:i + 32]
            opt.zero_grad()
            torch.nn.functional.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
        vloss, vacc = evaluate(model, xva, yva)
        print(f"pytorch epoch {epoch}: val loss {vloss:.4f} acc {vacc:.4f} ({time.monotonic() - t0:.0f} s)", flush=True)
        if vloss < best:
            best, stale = vloss, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if stale >= args.patience:
                break
    model.load_state_dict(best_state)
    _, acc = evaluate(model, xte, yte)
    return {"test_accuracy": acc, "wall_s": time.monotonic() - t0, "epochs": epoch, "test_images": len(yte)}


def train_hemo(args, out):
    cmd = [args.hemo, "train", "--recipe", "asghar2023", "--data", args.data, "--out", out, "--overwrite",
           "--epochs", str(args.epochs), "--patience", str(args.patience), "--seed", str(args.seed),
           "--threads", str(args.threads)]
    if args.manifest:
        cmd += ["--manifest", args.manifest]
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.monotonic() - t0
    with open(os.path.join(out, "metrics.json")) as f:
        m = json.load(f)
    with open(os.path.join(out, "epochs.csv")) as f:
        epochs = sum(1 for _ in f) - 1
    return {"test_accuracy": m["accuracy"], "wall_s": wall, "epochs": epochs, "test_images": m["total"]}


def reuse_hemo(args, run):
    """A finished hemo run of the same recipe, epochs, patience, seed and split, as train_hemo's result."""
    with open(os.path.join(run, "config.json")) as f:
        cfg = json.load(f)
    for key, want in (("recipe", "asghar2023"), ("epochs", args.epochs), ("patience", args.patience),
                      ("seed", args.seed)):
        assert cfg.get(key) == want, f"{run}: {key} is {cfg.get(key)!r}, not {want!r}"
    split = cfg.get("manifest") or os.path.join(run, "split.csv")
    assert args.manifest, "--hemo-run needs --manifest (the run's split)"
    with open(split, "rb") as a, open(args.manifest, "rb") as b:
        assert a.read() == b.read(), f"{run} was trained on {split}, another split than {args.manifest}"
    with open(os.path.join(run, "metrics.json")) as f:
        m = json.load(f)
    with open(os.path.join(run, "epochs.csv")) as f:
        rows = list(csv.DictReader(f))
    return {"test_accuracy": m["accuracy"], "wall_s": sum(float(r["seconds"]) for r in rows), "epochs": len(rows),
            "test_images": m["total"], "reused_run": run}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hemo", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--manifest", default="")
    ap.add_argument("--epochs", type=int, default=40)
    ap.add_argument("--patience", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="runs/side-by-side")
    ap.add_argument("--json", default="")
    ap.add_argument("--hemo-run", default="", help="a finished hemo run of this recipe to reuse instead of training")
    args = ap.parse_args()
    hemo_out = os.path.join(args.out, "hemo")
    os.makedirs(args.out, exist_ok=True)
    hemo = reuse_hemo(args, args.hemo_run) if args.hemo_run else train_hemo(args, hemo_out)
    print(f"hemo: test accuracy {hemo['test_accuracy']:.4f}, {hemo['epochs']} epochs, {hemo['wall_s']:.0f} s", flush=True)
    manifest = args.manifest or os.path.join(hemo_out, "split.csv")
    torch_r = train_torch(args, manifest)
    assert torch_r["test_images"] == hemo["test_images"], "the two sides tested different images"
    print(f"\npbcnet7, recipe asghar2023, {hemo['test_images']} test images of {manifest}")
    print(f"{'':10s}{'test acc':>10s}{'epochs':>8s}{'wall s':>9s}")
    for name, r in (("hemo", hemo), ("pytorch", torch_r)):
        print(f"{name:10s}{100 * r['test_accuracy']:9.2f}%{r['epochs']:8d}{r['wall_s']:9.0f}")
    print(f"difference (hemo - pytorch): {100 * (hemo['test_accuracy'] - torch_r['test_accuracy']):+.2f} points; "
          f"wall time ratio hemo/pytorch {hemo['wall_s'] / torch_r['wall_s']:.2f}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"hemo": hemo, "pytorch": torch_r, "manifest": manifest, "args": vars(args)}, f, indent=2)


if __name__ == "__main__":
    main()
