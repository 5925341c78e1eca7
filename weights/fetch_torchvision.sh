#!/usr/bin/env bash
# Downloads torchvision's ImageNet checkpoint for an architecture, checks its SHA-256 prefix and
# converts it to weights/<arch>.safetensors. The file names and digest prefixes are read from the
# table in weights/README.md (the one list).
#   bash weights/fetch_torchvision.sh ARCH [PYTHON]
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:?usage: fetch_torchvision.sh ARCH [PYTHON] (an architecture of weights/README.md)}
python=${2:-python3}
row=$(grep -E "^\| ${arch} \|" weights/README.md || true)
if [[ -z $row ]]; then
  echo "fetch_torchvision.sh: no checkpoint for '${arch}' in weights/README.md" >&2
  exit 1
fi
file=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $3); print $3}')
prefix=$(echo "$row" | awk -F'|' '{gsub(/ /, "", $4); print $4}')
if [[ ! -f weights/$file ]]; then
  curl -fL -o "weights/$file.part" "https://download.pytorch.org/models/$file"
  mv "weights/$file.part" "weights/$file"
fi
digest=$(sha256sum "weights/$file" | cut -c1-64)
if [[ $digest != "$prefix"* ]]; then
  echo "fetch_torchvision.sh: weights/$file has SHA-256 $digest, expected one beginning with $prefix" >&2
  exit 1
fi
echo "weights/$file: SHA-256 $digest"
# GoogLeNet's and Inception-v3's ImageNet weights expect torchvision's transform_input: inputs normalized with mean and
# std 0.5 instead of ImageNet's. The model file says so in its normalization (the same map).
extra=()
[[ $arch == googlenet || $arch == inception_v3 ]] && extra=(--mean 0.5 0.5 0.5 --std 0.5 0.5 0.5)
"$python" tools/convert_torchvision.py "weights/$file" "weights/$arch.safetensors" --arch "$arch" ${extra[@]+"${extra[@]}"}
