#!/usr/bin/env python3
"""Convert a torchvision checkpoint (a state_dict saved with torch.save) into a hemo weights file.

    convert_torchvision.py IN.pth OUT.safetensors --arch NAME [--class-names FILE|a,b,...]
                           [--input-size S] [--mean R G B] [--std R G B] [--pool-stride 2]

IN.pth is what `torch.save(model.state_dict(), path)` writes; torchvision's downloadable
ImageNet checkpoints (weights/README.md) are such files. A dict holding the state_dict under
"state_dict" or "model", and DataParallel's "module." prefixes, are accepted too. The tensors
are checked key for key and shape for shape against the torchvision definition of NAME (for
pbcnet7, against tools/pbcnet7_torch.py), with the class count taken from the checkpoint's
classifier, so a file that hemo would reject is rejected here, naming the keys.

OUT.safetensors holds every tensor under its state_dict key, in state_dict order: floating-point
tensors as F32 (hemo computes in float32), integer buffers (num_batches_tracked) as I64. Its
metadata makes it self-describing (weights/model_meta.h): architecture, num_classes,
class_names (ImageNet's 1000 names for a 1000-class checkpoint unless --class-names is given,
else class_0, class_1, ...), input_size (224; pbcnet7 100), mean and std (ImageNet's).
"""
import argparse
import contextlib
import json
import os
import re
import struct
import sys

import torch

# The registry names of hemo's models and their classifier (the "head"), as models/registry.cpp.
HEADS = {"alexnet": "classifier.6",
         **{f"vgg{d}{bn}": "classifier.6" for d in (11, 13, 16, 19) for bn in ("", "_bn")},
         **{n: "fc" for n in ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "wide_resnet50_2",
                              "wide_resnet101_2", "resnext50_32x4d", "resnext101_32x8d", "resnext101_64x4d")},
         **{f"densenet{d}": "classifier" for d in (121, 161, 169, 201)},
         "squeezenet1_0": "classifier.1", "squeezenet1_1": "classifier.1", "mobilenet_v2": "classifier.1", "mobilenet_v3_small": "classifier.3",
         "mobilenet_v3_large": "classifier.3", "pbcnet7": "classifier.2",
         **{f"convnext_{v}": "classifier.2" for v in ("tiny", "small", "base")},
         **{f"efficientnet_b{i}": "classifier.1" for i in range(8)}, "googlenet": "fc",
         "inception_v3": "fc"}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class ConversionError(Exception):
    pass


@contextlib.contextmanager
def _skip_init():
    """Builds reference models without drawing their random initial weights (only shapes matter)."""
    names = ("normal_", "uniform_", "constant_", "zeros_", "ones_", "kaiming_normal_", "kaiming_uniform_",
             "trunc_normal_", "xavier_uniform_", "xavier_normal_")
    saved = {n: getattr(torch.nn.init, n) for n in names}
    try:
        for n in names:
            setattr(torch.nn.init, n, lambda t, *a, **k: t)
        yield
    finally:
        for n, f in saved.items():
            setattr(torch.nn.init, n, f)


def reference_model(arch, num_classes, input_size=100, pool_stride=2, dropout=None, init=True, stochastic_depth=None):
    """The PyTorch model hemo's `arch` mirrors. init=False skips the random initialization;
    stochastic_depth sets ConvNeXt's and EfficientNet's stochastic_depth_prob."""
    if arch not in HEADS:
        raise ConversionError(f"unknown architecture '{arch}'; known: {', '.join(HEADS)}")
    with contextlib.nullcontext() if init else _skip_init():
        if arch == "pbcnet7":
            sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
            from pbcnet7_torch import pbcnet7
            return pbcnet7(num_classes, input_size, pool_stride, 0.25 if dropout is None else dropout)
        import torchvision
        kwargs = {"num_classes": num_classes}
        # EfficientNet's builders pass their dropout positionally: set on the built model instead.
        if dropout is not None and not arch.startswith(("resnet", "wide_resnet", "resnext", "densenet", "convnext",
                                                         "efficientnet")):
            kwargs["dropout"] = dropout
        if stochastic_depth is not None and arch.startswith(("convnext", "efficientnet")):
            kwargs["stochastic_depth_prob"] = stochastic_depth
        if arch in ("googlenet", "inception_v3"):  # init_weights: torchvision's default, said aloud
            kwargs["init_weights"] = True
        if arch == "googlenet":  # its side heads' dropout too
            if dropout is not None:
                kwargs["dropout_aux"] = dropout
        model = getattr(torchvision.models, arch)(weights=None, **kwargs)
        if dropout is not None and arch.startswith("efficientnet"):
            for m in model.modules():
                if isinstance(m, torch.nn.Dropout):
                    m.p = dropout
        return model


def _unwrap(obj, path):
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if key in obj and isinstance(obj[key], dict) and not torch.is_tensor(obj[key]):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise ConversionError(f"{path}: not a state_dict (a dict of tensor names to tensors)")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def load_state_dict(path, allow_pickle=False):
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not allow_pickle)
    except Exception as e:  # noqa: BLE001 - torch raises many types for a bad file
        hint = "" if allow_pickle else " (if it is a whole pickled model you trust, pass --allow-pickle)"
        raise ConversionError(f"{path}: cannot be read by torch.load: {e}{hint}") from e
    return _unwrap(obj, path)


def check_against(state, arch, input_size, pool_stride, path):
    """Raises ConversionError unless `state` has exactly the keys and shapes of `arch`."""
    head = HEADS[arch] + ".weight"
    if head not in state:
        raise ConversionError(f"{path}: no '{head}': not a {arch} checkpoint")
    num_classes = state[head].shape[0]
    ref = reference_model(arch, num_classes, input_size, pool_stride, init=False).state_dict()
    missing = [k for k in ref if k not in state]
    unexpected = [k for k in state if k not in ref]
    mismatched = [f"{k} (file {list(state[k].shape)}, {arch} {list(ref[k].shape)})"
                  for k in ref if k in state and state[k].shape != ref[k].shape]
    if missing or unexpected or mismatched:
        lines = [f"{path}: the tensors do not fit {arch} ({num_classes} classes)"]
        for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched)):
            if keys:
                lines.append(f"  {what} ({len(keys)}): " + ", ".join(keys[:20]) + (" ..." if len(keys) > 20 else ""))
        if arch == "pbcnet7" and any(k.startswith("classifier.0") for k in mismatched):
            lines.append("  (pbcnet7's first dense layer depends on --input-size and --pool-stride)")
        raise ConversionError("\n".join(lines))
    return num_classes


def _entry(tensor, keep_f64=False):
    """(dtype name, little-endian contiguous numpy array) of a tensor as it is stored."""
    t = tensor.detach().cpu().contiguous()
    if t.dtype == torch.float64 and keep_f64:
        return "F64", t.numpy().astype("<f8", copy=False)
    if t.is_floating_point():
        return "F32", t.to(torch.float32).numpy().astype("<f4", copy=False)
    if t.dtype in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        return "I64", t.to(torch.int64).numpy().astype("<i8", copy=False)
    raise ConversionError(f"unsupported tensor dtype {t.dtype}")


def write_safetensors(path, tensors, metadata, keep_f64=False):
    """The safetensors layout: u64 header length, JSON header padded with spaces to 8 bytes, data.
    Floating-point tensors are written as F32 (float64 ones as F64 when keep_f64)."""
    header, arrays, offset = {"__metadata__": metadata}, [], 0
    for name, tensor in tensors.items():
        dtype, array = _entry(tensor, keep_f64)
        header[name] = {"dtype": dtype, "shape": list(tensor.shape), "data_offsets": [offset, offset + array.nbytes]}
        arrays.append(array)
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for array in arrays:
            f.write(array.reshape(-1).view("u1").data)
    os.replace(tmp, path)


def class_names_from(arg, num_classes):
    if arg is None:
        if num_classes == 1000:
            from torchvision.models._meta import _IMAGENET_CATEGORIES
            return list(_IMAGENET_CATEGORIES)
        return [f"class_{i}" for i in range(num_classes)]
    if os.path.isfile(arg):
        with open(arg, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
    else:
        names = [n.strip() for n in arg.split(",")]
    if len(names) != num_classes:
        raise ConversionError(f"--class-names gives {len(names)} names but the checkpoint has {num_classes} classes")
    return names


# torchvision's DenseNet ImageNet files predate its module names: "denselayer1.norm.1.weight" for
# today's "denselayer1.norm1.weight" (torchvision renames them the same way when it loads them).
_OLD_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def upgrade_legacy_state(state, arch):
    """The state_dict of a file saved by an older PyTorch or torchvision, as today's would be:
    DenseNet's legacy names renamed, and a batch norm without num_batches_tracked (PyTorch
    before 0.4.1) given 0, as BatchNorm's own loading of such a file does."""
    out = {}
    for k, v in state.items():
        m = _OLD_DENSENET_KEY.match(k) if arch.startswith("densenet") else None
        out[m.group(1) + m.group(2) if m else k] = v
    for k in list(out):
        if k.endswith(".running_mean"):
            out.setdefault(k[: -len("running_mean")] + "num_batches_tracked", torch.tensor(0, dtype=torch.long))
    return out


def convert(src, dst, arch, class_names=None, input_size=None, mean=IMAGENET_MEAN, std=IMAGENET_STD,
            pool_stride=2, allow_pickle=False):
    if arch not in HEADS:
        raise ConversionError(f"unknown architecture '{arch}'; known: {', '.join(HEADS)}")
    if input_size is None:
        input_size = 100 if arch == "pbcnet7" else 224
    state = upgrade_legacy_state(load_state_dict(src, allow_pickle), arch)
    num_classes = check_against(state, arch, input_size, pool_stride, src)
    metadata = {"format": "pt", "architecture": arch, "num_classes": str(num_classes),
                "class_names": json.dumps(class_names_from(class_names, num_classes)),
                "input_size": str(input_size), "mean": json.dumps(list(mean)), "std": json.dumps(list(std)),
                "source": os.path.basename(src)}
    if arch == "pbcnet7":
        metadata["pool_stride"] = str(pool_stride)
    write_safetensors(dst, state, metadata)
    return num_classes, len(state)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", metavar="IN.pth")
    p.add_argument("dst", metavar="OUT.safetensors")
    p.add_argument("--arch", required=True, help="hemo registry name: " + ", ".join(HEADS))
    p.add_argument("--class-names", help="a file with one name per line, or a comma-separated list")
    p.add_argument("--input-size", type=int, help="square input side (default 224; pbcnet7 100)")
    p.add_argument("--mean", type=float, nargs=3, default=IMAGENET_MEAN)
    p.add_argument("--std", type=float, nargs=3, default=IMAGENET_STD)
    p.add_argument("--pool-stride", type=int, default=2, help="pbcnet7 only: the stride of its max-pools")
    p.add_argument("--allow-pickle", action="store_true",
                   help="also accept a whole pickled model (runs the file's code: trusted files only)")
    a = p.parse_args(argv)
    try:
        k, n = convert(a.src, a.dst, a.arch, a.class_names, a.input_size, a.mean, a.std, a.pool_stride, a.allow_pickle)
    except ConversionError as e:
        print(f"convert_torchvision.py: error: {e}", file=sys.stderr)
        return 1
    print(f"{a.src} -> {a.dst}: {a.arch}, {k} classes, {n} tensors")
    return 0


if __name__ == "__main__":
    sys.exit(main())
