#!/usr/bin/env bash
# Run HERE (a Debian machine with network), before a GPU session: downloads the .deb packages of
# the build dependencies the GPU machine may lack (it has no network) into .gpu-deps/, which git
# ignores. Carry that folder with the device call; tools/gpu-check.sh unpacks it under
# /tmp/hemo-deps and points CMake there. Headers, CMake configs and libturbojpeg only: ~1.6 MB.
# Also copies ../shared/tools/gpu-probe.sh in, when it is there.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .gpu-deps
cd .gpu-deps
apt-get download doctest-dev libstb-dev libturbojpeg0-dev libturbojpeg0 nlohmann-json3-dev libcli11-dev
# Plain file names (apt writes the epoch's ':' as '%3a').
for f in *%3a*; do [[ -e $f ]] && mv -- "$f" "${f//%3a/_}"; done
# The machine probe the developers' guide asks for in a GPU session's first call.
[[ -f ../../shared/tools/gpu-probe.sh ]] && cp ../../shared/tools/gpu-probe.sh .
ls -la
