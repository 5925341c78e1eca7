"""Writes PNG and BMP variants of one source image in the modes PIL produces, for
tests/data/test_decode.cpp: RGB, RGBA, L, LA, P (palette, with and without transparency) PNGs,
RGB, L and P BMPs, a grayscale JPEG and a CMYK JPEG (Adobe, as PIL writes it).
usage: make_pil_variants.py SOURCE OUT_DIR
"""
import os
import sys

from PIL import Image


def main():
    src, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    im = Image.open(src).convert("RGB").resize((97, 83))
    im.save(os.path.join(out, "rgb.png"))
    rgba = im.convert("RGBA")
    rgba.putalpha(128)
    rgba.save(os.path.join(out, "rgba.png"))
    im.convert("L").save(os.path.join(out, "gray.png"))
    im.convert("LA").save(os.path.join(out, "gray_alpha.png"))
    im.convert("P", palette=Image.ADAPTIVE, colors=64).save(os.path.join(out, "palette.png"))
    im.convert("P", palette=Image.ADAPTIVE, colors=16).save(
        os.path.join(out, "palette_trns.png"), transparency=3)
    im.save(os.path.join(out, "rgb.bmp"))
    im.convert("L").save(os.path.join(out, "gray.bmp"))
    im.convert("P", palette=Image.ADAPTIVE, colors=16).save(os.path.join(out, "palette.bmp"))
    im.convert("L").save(os.path.join(out, "gray.jpg"), quality=90)
    im.convert("CMYK").save(os.path.join(out, "cmyk.jpg"), quality=90)


if __name__ == "__main__":
    main()
