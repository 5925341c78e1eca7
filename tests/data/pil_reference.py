"""Writes PIL's decoding of images, the reference for tests/data/test_decode.cpp.

usage: pil_reference.py OUT_DIR IMAGE...
For image i, writes OUT_DIR/i.rgb (raw 8-bit RGB rows, as Image.convert("RGB")) and one line
"i width height path" to OUT_DIR/index.txt. Images PIL cannot open get "i 0 0 path".
"""
import os
import sys

from PIL import Image


def main():
    out_dir, paths = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "index.txt"), "w") as index:
        for i, path in enumerate(paths):
            try:
                with Image.open(path) as im:
                    rgb = im.convert("RGB")
                    data = rgb.tobytes()
                    w, h = rgb.size
            except Exception:  # noqa: BLE001 -- an undecodable file is part of the corpus
                index.write(f"{i} 0 0 {path}\n")
                continue
            with open(os.path.join(out_dir, f"{i}.rgb"), "wb") as f:
                f.write(data)
            index.write(f"{i} {w} {h} {path}\n")


if __name__ == "__main__":
    main()
