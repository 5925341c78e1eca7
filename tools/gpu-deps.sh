#!/usr/bin/env bash
# Run HERE (a Debian machine with network), before a GPU session: downloads into .gpu-deps/ (which
# git ignores) what the GPU machine may lack, since it has no network. Carry that folder with the
# device call; tools/gpu-check.sh unpacks it under /tmp/hemo-deps and uses what the machine lacks.
#   bash tools/gpu-deps.sh [--cmake]
# - the .deb packages of the build dependencies: headers, CMake configs and libturbojpeg (~1.6 MB);
# - a ninja wheel (~0.2 MB): without ninja anywhere the script falls back to Unix Makefiles, so this
#   only makes the build a little faster;
# - with --cmake, a CMake wheel (~30 MB of the 64 MiB a call may carry): only for a machine whose
#   CMake is older than CMakeLists.txt's minimum (gpu-check.sh's setup line says so);
# - ../shared/tools/gpu-probe.sh, the machine probe for a GPU session's first call.
set -euo pipefail
cd "$(dirname "$0")/.."
want_cmake=""
[[ ${1:-} == --cmake ]] && want_cmake=1
mkdir -p .gpu-deps
cd .gpu-deps
apt-get download doctest-dev libstb-dev libturbojpeg0-dev libturbojpeg0 nlohmann-json3-dev libcli11-dev
# Plain file names (apt writes the epoch's ':' as '%3a').
for f in *%3a*; do [[ -e $f ]] && mv -- "$f" "${f//%3a/_}"; done
# Wheels for the GPU machine (x86-64, glibc 2.17 or newer); their binaries need no Python.
wheels=(ninja)
[[ -n $want_cmake ]] && wheels+=(cmake)
python3 -m pip download -q --no-deps --only-binary=:all: --platform manylinux_2_28_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform manylinux1_x86_64 \
  --python-version 3.12 --implementation cp -d . "${wheels[@]}" ||
  echo "gpu-deps: pip could not download ${wheels[*]}; gpu-check.sh falls back to what the machine has" >&2
# The machine probe the developers' guide asks for in a GPU session's first call.
[[ -f ../../shared/tools/gpu-probe.sh ]] && cp ../../shared/tools/gpu-probe.sh .
ls -la
du -sh .
