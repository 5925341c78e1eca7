#!/usr/bin/python3
"""Prints the model-card section of one shipped model (weights/MODELS.md), from its training run.

  /usr/bin/python3 tools/model_card.py --run RUN_DIR --name pbcnet7-pbc128 --command "hemo train ..."
      [--note "trained in two resumed parts"] [--storage fp16]

A run that started from other weights (`hemo train --pretrained`) is a fine-tuning: give the
commands that made those weights first (--command once per step, in order) and the minutes their
training took (--earlier-minutes), so that the card's commands and wall time cover the whole model.
--storage names the `hemo package --storage` the file was written with (16-bit weights: half the size).

Reads RUN/metrics.json (test-split metrics: accuracy, kappa, macro averages, per-class precision,
recall, specificity, F1, support, the confusion matrix), RUN/config.json (the resolved recipe) and
RUN/epochs.csv (epochs run, the best epoch, wall time summed over epochs), and prints Markdown. The
numbers are the run's own, as `hemo train` wrote them; nothing is typed in by hand.
"""
import argparse
import csv
import json
import os


def augmentation(cfg):
    """--augment's pieces in words (train/setup.cpp: crop scale < 0 is the default 0.5, 1 no crop)."""
    if not cfg.get("augment"):
        return "off"
    scale = cfg.get("crop_scale", -1.0)
    parts = ["random crop of " + ("50" if scale < 0 else f"{100 * scale:.0f}") + "-100% of the area" if scale != 1
             else "no random crop", "horizontal flips"]
    if cfg.get("vflip"):
        parts.append("vertical flips")
    if cfg.get("quarter_turns"):
        parts.append("quarter turns")
    if cfg.get("rotation"):
        parts.append(f"rotation within {cfg['rotation']:g} degrees")
    parts.append("colour jitter" if cfg.get("color_jitter", True) else "no colour jitter")
    return "on (" + ", ".join(parts) + ")"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--run", required=True)
    ap.add_argument("--name", required=True)
    ap.add_argument("--command", required=True, action="append",
                    help="the exact hemo train command that made the run; repeated: every step, in order")
    ap.add_argument("--earlier-minutes", type=float, default=0,
                    help="training minutes of the runs before this one (a fine-tuning's starting weights)")
    ap.add_argument("--note", default="")
    ap.add_argument("--storage", default="fp32", choices=["fp32", "fp16", "bf16"],
                    help="the weights' storage in the file (hemo package --storage)")
    a = ap.parse_args()
    m = json.load(open(os.path.join(a.run, "metrics.json")))
    cfg = json.load(open(os.path.join(a.run, "config.json")))
    epochs = list(csv.DictReader(open(os.path.join(a.run, "epochs.csv"))))
    wall = sum(float(e["seconds"]) for e in epochs)
    monitor = cfg.get("monitor", "val_acc")
    key = (lambda e: float(e["val_loss"])) if monitor == "val_loss" else (lambda e: -float(e["val_acc"]))
    best = min(epochs, key=key)
    size = cfg["input_size"]
    out = [f"## {a.name}", ""]
    start = ("fine-tuned from the best epoch of its first run (`--pretrained`; the commands below)"
             if cfg.get("pretrained") else "trained from scratch")
    out.append(f"`weights/{a.name}.safetensors`: {cfg['model']} at {size}x{size}, "
               f"{len(m['classes'])} classes, ImageNet mean/std normalization, {start} on the train "
               f"split of `weights/pbc128-split.csv` (pbc-128)."
               + (f" Its weights are stored as {a.storage} (`hemo package --storage {a.storage}`: half the float32 "
                  "file; every loader widens them to float32)." if a.storage != "fp32" else ""))
    out.append("")
    out.append(f"- **Test accuracy {100 * m['accuracy']:.2f}%** on the {m['total']} images of the split's test part "
               f"(never seen in training or model selection); Cohen's kappa {m['kappa']:.4f}; macro F1 "
               f"{m['macro']['f1']:.4f}, macro recall {m['macro']['recall']:.4f}.")
    out.append(f"- Recipe: {cfg.get('recipe') or 'none'}; optimizer {cfg['optimizer']} at lr {cfg['lr']}, batch "
               f"{cfg['batch_size']}, schedule {cfg['schedule']}, augmentation {augmentation(cfg)}, "
               f"seed {cfg['seed']}; {len(epochs)} epochs run, best epoch {best['epoch']} by {monitor} "
               f"(val loss {float(best['val_loss']):.4f}, val acc {100 * float(best['val_acc']):.2f}%), its weights tested.")
    total = wall / 60 + a.earlier_minutes
    parts = f"{a.earlier_minutes:.0f} min before it and {wall / 60:.0f} min for this run; " if a.earlier_minutes else ""
    out.append(f"- Training wall time on this 2-core machine: {total:.0f} min ({parts}sum of the epochs' times"
               f"{'; ' + a.note if a.note else ''}).")
    out.append("")
    out.append("Reproduce:")
    out.append("")
    for command in a.command:
        out.append(f"    {command}")
    words = a.command[-1].split()
    run = words[words.index("--out") + 1] if "--out" in words else cfg["out"]
    storage = f" --storage {a.storage}" if a.storage != "fp32" else ""
    out.append(f"    hemo package --run {run} --out weights/{a.name}.safetensors{storage}")
    out.append("")
    out.append("| class | precision | recall | specificity | F1 | support |")
    out.append("|---|---|---|---|---|---|")
    for c in m["per_class"]:
        out.append(f"| {c['class']} | {c['precision']:.4f} | {c['recall']:.4f} | {c['specificity']:.4f} | "
                   f"{c['f1']:.4f} | {c['support']} |")
    out.append("")
    out.append("Confusion matrix (rows: true class, columns: predicted):")
    out.append("")
    out.append("| | " + " | ".join(m["classes"]) + " |")
    out.append("|---" * (len(m["classes"]) + 1) + "|")
    for name, row in zip(m["classes"], m["confusion"]):
        out.append(f"| **{name}** | " + " | ".join(str(v) for v in row) + " |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
