#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds hemo and runs `hemo demo`.
# Extra arguments go to `hemo demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh --runtime
build=${HEMO_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF > /dev/null
cmake --build "$build" -j "$(nproc)" --target hemo
exec "$build/tools/hemo" demo "$@"
