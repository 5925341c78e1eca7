#!/usr/bin/env bash
# Installs what building and testing hemo needs on Debian 12, and nothing when it is all there.
# Runs apt as root (directly, or through sudo). The CUDA toolkit is optional: with it under
# /usr/local/cuda the CUDA backend is compiled in; without it hemo builds CPU-only. MPI is optional
# to build too (without it `hemo train --distributed` is an error); its tests need mpirun.
set -euo pipefail

packages=(build-essential cmake ninja-build git pkg-config
          doctest-dev libstb-dev libturbojpeg0-dev nlohmann-json3-dev libcli11-dev
          libprotobuf-dev protobuf-compiler libonnx-dev  # hemo export --onnx: protobuf, ONNX's schema
          dpkg-dev  # dpkg-shlibdeps, for the .deb (cpack)
          openmpi-bin libopenmpi-dev  # hemo train --distributed (optional to build; its tests need mpirun)
          python3 python3-venv python3-torch python3-torchvision python3-pil
          clang libclang-rt-14-dev libomp-dev  # the libFuzzer targets (-DHEMO_FUZZ=ON, tests/fuzz)
          chromium)  # headless Chromium opens report.html in tests/train
[[ "${1:-}" == "--runtime" ]] && packages=(build-essential cmake ninja-build libstb-dev libturbojpeg0-dev
                                            nlohmann-json3-dev libcli11-dev doctest-dev
                                            libprotobuf-dev protobuf-compiler libonnx-dev
                                            openmpi-bin libopenmpi-dev)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "hemo: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || { echo "hemo: need root (or sudo) to apt-get install ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Test-only Python packages from PyPI: onnx (its checker) and ONNX Runtime, for the ONNX round trip
# (tests/onnx; Debian has no ONNX Runtime). In a venv that also sees Debian's packages; its path is
# the default of the HEMO_ONNX_PYTHON CMake variable (tests/CMakeLists.txt).
if [[ "${1:-}" != "--runtime" ]]; then
  venv=$HOME/.cache/hemo/onnx-venv
  if ! "$venv/bin/python" -c "import onnx, onnxruntime" 2>/dev/null; then
    echo "hemo: making the test venv $venv (PyPI onnx, onnxruntime)"
    /usr/bin/python3 -m venv --system-site-packages "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check onnx==1.23.2 onnxruntime==1.32.0
  fi
fi
