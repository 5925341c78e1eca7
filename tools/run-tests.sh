#!/usr/bin/env bash
# The README's test command: installs what is missing, builds hemo (CUDA compiled in when the
# toolkit is present; warnings are errors) and runs every test suite. The robustness suite runs a
# second time in an AddressSanitizer + UBSan build. Extra arguments go to ctest (e.g. -L unit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

jobs=$(nproc)
build=${HEMO_BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DHEMO_WERROR=ON ${HEMO_CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
(cd "$build" && ctest --output-on-failure -j "$jobs" "$@")

if [[ -d tests/robustness && $# -eq 0 ]]; then
  asan=${build}-asan
  cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHEMO_CUDA=OFF -DHEMO_WERROR=ON \
        -DHEMO_SANITIZE=address,undefined
  cmake --build "$asan" -j "$jobs" --target test_robustness
  (cd "$asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -L robustness)
fi
