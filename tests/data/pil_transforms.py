"""PIL's versions of hemo's resize and rotation, for tests/data/test_transforms.cpp.

usage: pil_transforms.py INPUT.png OUT_DIR -- writes resize224.png, resize97x61.png,
resize500x520.png, crop_resize.png (crop box 50,40 200x180 then resize to 224, as torchvision's
resized_crop), rotate30.png and rotate-60.png (bilinear, black fill).
"""
import os
import sys

from PIL import Image


def main():
    im = Image.open(sys.argv[1]).convert("RGB")
    out = sys.argv[2]
    im.resize((224, 224), Image.BILINEAR).save(os.path.join(out, "resize224.png"))
    im.resize((97, 61), Image.BILINEAR).save(os.path.join(out, "resize97x61.png"))
    im.resize((500, 520), Image.BILINEAR).save(os.path.join(out, "resize500x520.png"))
    im.crop((50, 40, 250, 220)).resize((224, 224), Image.BILINEAR).save(
        os.path.join(out, "crop_resize.png"))
    im.rotate(30, Image.BILINEAR, fillcolor=(0, 0, 0)).save(os.path.join(out, "rotate30.png"))
    im.rotate(-60, Image.BILINEAR, fillcolor=(0, 0, 0)).save(os.path.join(out, "rotate-60.png"))


if __name__ == "__main__":
    main()
