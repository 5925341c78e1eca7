"""Interop between hemo's safetensors code and the reference Python package (safetensors).

Tensor names encode how to recompute their contents (same formula as
tests/weights/safetensors_test_util.h):
    name  t<k>.<DTYPE>.<d0>x<d1>...   or   t<k>.<DTYPE>.scalar
    value b = (7 i + 13 k) mod 251 for the i-th element in row-major order, then
          floats (b - 125) / 4, I8 b - 125, I16 (b - 125) 257, I32 (b - 125) 16777259,
          I64 (b - 125) 70000000000000001, U8 b, U16 257 b, U32 17000000 b,
          U64 73000000000000003 b, BOOL b mod 3 == 0

Usage:
    safetensors_interop.py check-numpy FILE COUNT   load with safetensors.numpy.load_file, check
    safetensors_interop.py check-torch FILE COUNT   load with safetensors.torch.load_file (BF16)
    safetensors_interop.py write DIR                write DIR/numpy.safetensors, DIR/torch.safetensors
Exit status 0 on success; otherwise a message on stderr says what differs.
"""
import sys

import numpy as np
from safetensors import safe_open

# The metadata both sides write and expect (kept identical in safetensors_interop_test.cpp).
HEMO_METADATA = {"arch": "pbcnet7", "classes": "basophil,eosinophil", "note": "5 \u00b5m"}
PY_METADATA = {"format": "np", "source": "python", "input": "3x224x224"}

NP_DTYPES = {"F64": np.float64, "F32": np.float32, "F16": np.float16, "I64": np.int64,
             "I32": np.int32, "I16": np.int16, "I8": np.int8, "U8": np.uint8, "BOOL": np.bool_,
             "U16": np.uint16, "U32": np.uint32, "U64": np.uint64}
SCALE = {"I8": 1, "I16": 257, "I32": 16777259, "I64": 70000000000000001,
         "U8": 1, "U16": 257, "U32": 17000000, "U64": 73000000000000003}


def parse_name(name):
    k, dtype, shape = name.split(".")
    dims = () if shape == "scalar" else tuple(int(d) for d in shape.split("x"))
    return int(k[1:]), dtype, dims


def expected(k, dtype, shape):
    """The formula's values as a list of Python numbers (exact), row-major."""
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    out = []
    for i in range(n):
        b = (7 * i + 13 * k) % 251
        if dtype in ("F64", "F32", "F16", "BF16"):
            out.append((b - 125) / 4)
        elif dtype == "BOOL":
            out.append(b % 3 == 0)
        elif dtype.startswith("I"):
            out.append((b - 125) * SCALE[dtype])
        else:
            out.append(b * SCALE[dtype])
    return out


def make(name):
    k, dtype, shape = parse_name(name)
    return np.array(expected(k, dtype, shape), dtype=NP_DTYPES[dtype]).reshape(shape)


def fail(msg):
    print("safetensors_interop.py: " + msg, file=sys.stderr)
    sys.exit(1)


def check(path, count, framework):
    if framework == "numpy":
        from safetensors.numpy import load_file
    else:
        from safetensors.torch import load_file
    tensors = load_file(path)
    if len(tensors) != count:
        fail(f"{path}: {len(tensors)} tensors, expected {count}")
    with safe_open(path, framework="numpy" if framework == "numpy" else "pt") as f:
        if f.metadata() != HEMO_METADATA:
            fail(f"{path}: metadata {f.metadata()!r}, expected {HEMO_METADATA!r}")
    for name, t in tensors.items():
        k, dtype, shape = parse_name(name)
        if framework == "torch":
            import torch
            torch_dtypes = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32,
                            "F64": torch.float64, "I64": torch.int64, "I32": torch.int32,
                            "I16": torch.int16, "I8": torch.int8, "U8": torch.uint8,
                            "BOOL": torch.bool}
            if t.dtype != torch_dtypes[dtype]:
                fail(f"{name}: torch dtype {t.dtype}")
            got = (t.to(torch.float64) if dtype in ("BF16", "F16") else t).numpy()
        else:
            if t.dtype != NP_DTYPES[dtype]:
                fail(f"{name}: numpy dtype {t.dtype}, expected {np.dtype(NP_DTYPES[dtype])}")
            got = t
        if tuple(got.shape) != shape:
            fail(f"{name}: shape {got.shape}, expected {shape}")
        want = expected(k, dtype, shape)
        flat = got.reshape(-1).tolist()
        if flat != want:
            bad = next(i for i, (a, b) in enumerate(zip(flat, want)) if a != b)
            fail(f"{name}: element {bad} is {flat[bad]!r}, expected {want[bad]!r}")
    print(f"{path}: {len(tensors)} tensors match ({framework})")


def write(directory):
    from safetensors.numpy import save_file
    names = []
    k = 0
    for dtype in NP_DTYPES:
        for shape in ("3x5", "7", "scalar", "2x0x3"):
            names.append(f"t{k}.{dtype}.{shape}")
            k += 1
    save_file({n: make(n) for n in names}, f"{directory}/numpy.safetensors", metadata=PY_METADATA)

    import torch
    from safetensors.torch import save_file as torch_save
    tt = {}
    for dtype, shape in (("BF16", (4, 3)), ("BF16", ()), ("F16", (5,)), ("F32", (2, 2))):
        name = f"t{k}.{dtype}.{'x'.join(map(str, shape)) or 'scalar'}"
        values = expected(k, dtype, shape)
        torch_dtype = {"BF16": torch.bfloat16, "F16": torch.float16, "F32": torch.float32}[dtype]
        tt[name] = torch.tensor(values, dtype=torch.float64).to(torch_dtype).reshape(shape)
        k += 1
    torch_save(tt, f"{directory}/torch.safetensors", metadata=PY_METADATA)
    print(f"wrote {len(names)} + {len(tt)} tensors to {directory}")


def main(argv):
    if len(argv) == 4 and argv[1] in ("check-numpy", "check-torch"):
        check(argv[2], int(argv[3]), argv[1][len("check-"):])
    elif len(argv) == 3 and argv[1] == "write":
        write(argv[2])
    else:
        fail(__doc__)


if __name__ == "__main__":
    main(sys.argv)
