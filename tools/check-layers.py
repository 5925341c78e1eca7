#!/usr/bin/env python3
"""The floors of the house, checked: every `#include "dir/..."` of a hemo library must point to
its own directory or to one the table below allows (docs/architecture.md draws the same table).
An include from a lower floor to a higher one, or sideways to a floor not listed, fails with the
file, the line and what that floor may include.

  tools/check-layers.py [SOURCE_DIR]   check the tree (default: this script's checkout)
  tools/check-layers.py --self-test    show that an upward include is caught (a made-up tree)

Tests, examples and build folders may include anything and are not checked. `hemo/...` is the
public API's header folder (api/include/hemo, and the generated hemo/version.h), so it counts as api.
"""
import os
import re
import sys
import tempfile

# Each floor and the floors it may include, lowest first.
ALLOWED = {
    "core":    [],
    "kernels": ["core"],
    "tensor":  ["kernels", "core"],
    "nn":      ["tensor", "kernels", "core"],
    "weights": ["tensor", "core"],
    "data":    ["core"],
    "models":  ["nn", "weights", "tensor", "kernels", "core"],
    "opcases": ["nn", "tensor", "kernels", "core"],
    "onnx":    ["models", "weights", "nn", "tensor", "kernels", "core"],
    "api":     ["models", "data", "weights", "nn", "tensor", "kernels", "core"],
    "train":   ["models", "data", "weights", "nn", "tensor", "kernels", "core"],
    "tools":   ["train", "api", "onnx", "opcases", "models", "data", "weights", "nn", "tensor",
                "kernels", "core"],
}
ALIASES = {"hemo": "api"}
SOURCE = re.compile(r"\.(h|hpp|cpp|cc|cu|cuh)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([A-Za-z0-9_]+)/')


def check(root):
    """Returns the list of violations (strings) in the tree at root."""
    problems = []
    for floor, allowed in ALLOWED.items():
        top = os.path.join(root, floor)
        for dirpath, _, files in os.walk(top):
            for name in sorted(files):
                if not SOURCE.search(name):
                    continue
                path = os.path.join(dirpath, name)
                with open(path, encoding="utf-8", errors="replace") as f:
                    for lineno, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m:
                            continue
                        target = ALIASES.get(m.group(1), m.group(1))
                        # Includes of a file's own folder tree, or of a header beside it
                        # (e.g. "cuda_runtime.h" has no folder and is not matched), are fine.
                        if target == floor or target in allowed or target not in ALLOWED:
                            continue
                        rel = os.path.relpath(path, root)
                        may = ", ".join(allowed) or "nothing of hemo"
                        problems.append(f"{rel}:{lineno}: {floor}/ includes \"{m.group(1)}/...\" "
                                        f"({line.strip()}); {floor}/ may include: {may}")
    return problems


def self_test():
    """A made-up tree with one legal and two illegal includes; the check must find exactly two."""
    with tempfile.TemporaryDirectory() as root:
        files = {
            "kernels/ok.h": '#include "core/error.h"\n',
            "kernels/up.cpp": '#include "kernels/ok.h"\n#include "tensor/tensor.h"\n',
            "models/side.cpp": '#include "data/transforms.h"\n',
        }
        for rel, text in files.items():
            os.makedirs(os.path.join(root, os.path.dirname(rel)), exist_ok=True)
            with open(os.path.join(root, rel), "w") as f:
                f.write(text)
        found = check(root)
    want = ["kernels/up.cpp:2:", "models/side.cpp:1:"]
    ok = len(found) == 2 and all(any(p.startswith(w) for p in found) for w in want)
    print("check-layers self-test:", "ok" if ok else "FAILED", *found, sep="\n  ")
    return 0 if ok else 1


def main(argv):
    if argv[1:] == ["--self-test"]:
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    problems = check(root)
    for p in problems:
        print("check-layers:", p, file=sys.stderr)
    if problems:
        print(f"check-layers: {len(problems)} include(s) point up or sideways (docs/architecture.md)",
              file=sys.stderr)
        return 1
    print(f"check-layers: every include of {', '.join(ALLOWED)} points down")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
