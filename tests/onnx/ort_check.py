"""ONNX round trip, the Python side (tests/onnx/onnx_export_test.cpp writes the cases).

    ort_check.py CASES.json

CASES.json: a list of {"name", "onnx", "input", "logits", "batch", "dynamic", "opset", "meta"}, where
`input` and `logits` are safetensors files holding the tensor fed to `hemo forward` and the logits
it returned. For each case: onnx.checker (full check, shape inference included) accepts the file,
its opset and metadata are what hemo wrote, ONNX Runtime (CPU) loads it and gives the same logits
(relative error max|ort - hemo| / max|hemo| < 1e-4); a dynamic-batch file is also run at a
different batch size. Prints one line per case; exits 1 when any case fails.
Runs in the test-only venv that tools/install-deps.sh makes (PyPI onnx and onnxruntime).
"""
import json
import struct
import sys

import numpy as np
import onnx
import onnxruntime as ort

TOL = 1e-4


def read_safetensors(path, name):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    info = header[name]
    assert info["dtype"] == "F32", f"{path}: {name} is {info['dtype']}"
    begin, end = info["data_offsets"]
    return np.frombuffer(data[begin:end], dtype="<f4").reshape(info["shape"])


def check(case):
    model = onnx.load(case["onnx"])
    onnx.checker.check_model(model, full_check=True)
    opsets = {o.domain: o.version for o in model.opset_import}
    assert opsets.get("", None) == case["opset"], f"opset {opsets} != {case['opset']}"
    props = {p.key: p.value for p in model.metadata_props}
    for key, want in case["meta"].items():
        assert props.get(key) == want, f"metadata {key}: {props.get(key)!r} != {want!r}"
    for key in ("mean", "std", "class_names", "preprocessing"):
        assert key in props, f"metadata lacks {key}"
    x = read_safetensors(case["input"], "input")
    want = read_safetensors(case["logits"], "logits")
    sess = ort.InferenceSession(case["onnx"], providers=["CPUExecutionProvider"])
    shape = sess.get_inputs()[0].shape
    assert shape[0] == ("batch" if case["dynamic"] else 1), f"input shape {shape}"
    got = sess.run(["logits"], {"input": x})[0]
    assert got.shape == want.shape, f"logits shape {got.shape} != {want.shape}"
    # Every image needs a non-zero logit (SqueezeNet's pass a ReLU, so some are 0): all-zero
    # logits on both sides compare equal whatever the export did.
    assert (want != 0).any(axis=1).all(), f"an image's logits are all zero: {want.tolist()}"
    err = float(np.max(np.abs(got - want)) / max(np.max(np.abs(want)), 1e-30))
    assert err < TOL, f"relative error {err:.2e} >= {TOL}"
    if case["dynamic"]:  # another batch size through the same file: the first image alone
        one = sess.run(["logits"], {"input": x[:1]})[0]
        err1 = float(np.max(np.abs(one - want[:1])) / max(np.max(np.abs(want[:1])), 1e-30))
        assert err1 < TOL, f"batch 1 through the dynamic file: relative error {err1:.2e}"
    return err


def main():
    cases = json.load(open(sys.argv[1]))
    failed = 0
    for case in cases:
        try:
            err = check(case)
            print(f"ok   {case['name']}: onnx.checker passed, ONNX Runtime logits relative error {err:.1e}")
        except Exception as e:  # noqa: BLE001 - every failure is reported, then counted
            failed += 1
            print(f"FAIL {case['name']}: {type(e).__name__}: {e}")
    print(f"onnx round trip: {len(cases) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
