#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (tests/fuzz/README.md), made here, never downloaded.

  make_corpus.py OUT_DIR

OUT_DIR/<target>/ gets small valid inputs of every kind its reader accepts, so the fuzzer starts
from the inside of each format: images in every format and colour type hemo decodes (Pillow),
safetensors files of every dtype with and without metadata, checkpoints with a training state
(the JSON of tests/train/data's checkpoint, an old file hemo must keep reading), and split
manifests with quoting. Deterministic: the same bytes on every run.
"""
import io
import json
import os
import struct
import sys

from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
OLD_CHECKPOINT = os.path.join(HERE, "..", "train", "data", "old_pbcnet7_frozen_epoch1.safetensors")


def write(out, target, name, data):
    os.makedirs(os.path.join(out, target), exist_ok=True)
    with open(os.path.join(out, target, name), "wb") as f:
        f.write(data)


def pattern(w, h, mode):
    img = Image.new("RGB", (w, h))
    img.putdata([((x * 37) % 256, (y * 61) % 256, ((x + y) * 17) % 256) for y in range(h) for x in range(w)])
    return img.convert(mode)


def images(out):
    n = 0
    for w, h in [(8, 8), (17, 5), (1, 1), (33, 20)]:
        for mode in ["RGB", "L", "RGBA", "P", "LA"]:
            buf = io.BytesIO()
            pattern(w, h, mode).save(buf, "PNG")
            write(out, "image", f"png_{mode}_{w}x{h}.png", buf.getvalue())
            n += 1
        for mode in ["RGB", "L"]:
            for progressive in [False, True]:
                buf = io.BytesIO()
                pattern(w, h, mode).save(buf, "JPEG", quality=80, progressive=progressive)
                write(out, "image", f"jpg_{mode}_{w}x{h}_{int(progressive)}.jpg", buf.getvalue())
                n += 1
        for mode in ["RGB", "P", "L"]:
            buf = io.BytesIO()
            pattern(w, h, mode).save(buf, "BMP")
            write(out, "image", f"bmp_{mode}_{w}x{h}.bmp", buf.getvalue())
            n += 1
    buf = io.BytesIO()  # 16-bit grey PNG
    Image.new("I;16", (6, 4), 40000).save(buf, "PNG")
    write(out, "image", "png_16bit.png", buf.getvalue())
    return n + 1


DTYPES = {"F64": ("d", 8), "F32": ("f", 4), "F16": ("e", 2), "BF16": ("H", 2), "I64": ("q", 8),
          "I32": ("i", 4), "I16": ("h", 2), "I8": ("b", 1), "U8": ("B", 1), "BOOL": ("?", 1)}


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, values) -> the file's bytes."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, values in tensors:
        fmt, size = DTYPES[dtype]
        raw = struct.pack("<" + fmt * len(values), *values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def model_meta(classes=2):
    return {"architecture": "pbcnet7", "num_classes": str(classes),
            "class_names": json.dumps([f"c{i}" for i in range(classes)]), "input_size": "32",
            "mean": "[0.485,0.456,0.406]", "std": "[0.229,0.224,0.225]"}


def safetensors_files(out):
    files = {
        "empty.safetensors": safetensors([]),
        "meta_only.safetensors": safetensors([], {"format": "pt"}),
        "scalar.safetensors": safetensors([("s", "F32", [], [1.5])]),
        "zero_dim.safetensors": safetensors([("z", "F32", [0, 3], [])]),
        "model.safetensors": safetensors([("w", "F32", [2, 3], [0.5, -1, 2, 3, 4, 5]), ("b", "F32", [2], [1, 2])],
                                         model_meta()),
    }
    for dtype, (fmt, _) in DTYPES.items():
        vals = [True, False, True] if dtype == "BOOL" else ([1, 2, 3] if fmt in "qihbBH" else [0.25, -2.0, 3.0])
        files[f"dtype_{dtype}.safetensors"] = safetensors([("t", dtype, [3], vals)])
    for name, data in files.items():
        write(out, "safetensors", name, data)
    return len(files)


def checkpoints(out):
    with open(OLD_CHECKPOINT, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    state = json.loads(raw[8:8 + n])["__metadata__"]["hemo.train_state"]
    meta = dict(model_meta(), **{"hemo.train_state": state})
    tensors = [("features.0.weight", "F32", [2, 1], [0.5, -0.5]), ("optimizer.features.0.weight", "F32", [2, 1], [0, 1])]
    write(out, "checkpoint", "with_state.safetensors", safetensors(tensors, meta))
    write(out, "checkpoint", "weights_only.safetensors", safetensors(tensors[:1], model_meta()))
    small_state = json.dumps({"epoch": 0, "best_epoch": -1})  # a state missing fields: an error path
    write(out, "checkpoint", "short_state.safetensors", safetensors(tensors[:1], dict(model_meta(), **{"hemo.train_state": small_state})))
    return 3


def manifests(out):
    rows = ["path,class,split", "neutrophil/a.jpg,neutrophil,train", "\"eos,ino/b c.jpg\",eosinophil,val",
            "\"q\"\"uote.png\",lymphocyte,test"]
    write(out, "manifest", "basic.csv", ("\n".join(rows) + "\n").encode())
    write(out, "manifest", "crlf.csv", ("\r\n".join(rows) + "\r\n").encode())
    write(out, "manifest", "header_only.csv", b"path,class,split\n")
    write(out, "manifest", "bad_split.csv", b"path,class,split\nx.jpg,a,holdout\n")
    return 4


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    counts = {"image": images(out), "safetensors": safetensors_files(out), "checkpoint": checkpoints(out),
              "manifest": manifests(out)}
    print("fuzz corpus:", ", ".join(f"{k} {v}" for k, v in counts.items()), "->", out)


if __name__ == "__main__":
    main()
