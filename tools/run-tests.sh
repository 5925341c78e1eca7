#!/usr/bin/env bash
# The README's test command: installs what is missing, builds hemo and runs every test suite.
#
# 0. The floors (tools/check-layers.py): no #include points from a lower layer to a higher one.
# 1. The main build is the CUDA emulation build (-DHEMO_CUDA=EMULATE, docs/cuda.md): every CPU
#    suite, and the `cuda` label with every hand-written kernel, the whole models and the
#    command-line tools on `--device cuda` run on the CPU through hemo's CUDA emulator.
# 2. Where the CUDA toolkit is installed, the CUDA libraries are compiled with nvcc as well (the
#    real .cu build and the cuBLAS/cuDNN call sites; warnings are errors), and the device suite's
#    sources (tests/cuda) against the real headers, compiled without linking.
# 3. AddressSanitizer + UBSan (emulation build): the robustness suite and the emulator's own tests
#    (an out-of-bounds device access is reported). 4. ThreadSanitizer: the emulator's own tests (a
#    missing barrier is a data race naming the kernel, block and thread). 5. libFuzzer: each
#    reader's fuzz target for 60 s (HEMO_FUZZ_SECONDS) over its corpus (tests/fuzz/README.md).
# Extra arguments go to the main build's ctest (e.g. -L unit) and skip steps 2-4.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-deps.sh

jobs=$(nproc)
build=${HEMO_BUILD_DIR:-build}
launcher=()
if command -v ccache >/dev/null; then  # optional: rebuilds (and clones side by side) reuse objects
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(cd .. && pwd)}
fi
step() { echo "== hemo tests: $* ($(date +%T))"; }

step "layers: every include points down"
python3 tools/check-layers.py --self-test >/dev/null
python3 tools/check-layers.py

step "main build (CUDA emulated on the CPU)"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DHEMO_WERROR=ON \
      -DHEMO_CUDA=EMULATE "${launcher[@]}" ${HEMO_CMAKE_ARGS:-}
cmake --build "$build" -j "$jobs"
(cd "$build" && ctest --output-on-failure -j "$jobs" "$@")
[[ $# -eq 0 ]] || exit 0

if command -v nvcc >/dev/null || [[ -x /usr/local/cuda/bin/nvcc ]]; then
  step "nvcc compile of the CUDA libraries"
  cmake -S . -B "$build-nvcc" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON -DHEMO_WERROR=ON \
        -DHEMO_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 "${launcher[@]}" >/dev/null
  cmake --build "$build-nvcc" -j "$jobs" --target hemo_core hemo_kernels hemo_tensor
  # The data-parallel collectives, with NCCL where CMake finds it (train/CMakeLists.txt).
  dist_objs=(train/CMakeFiles/hemo_train.dir/{comm,comm_mpi,comm_nccl,grad_reduce}.cpp.o)
  cmake --build "$build-nvcc" -j "$jobs" --target "${dist_objs[@]}"
  # The device suite's sources against the real CUDA headers, as tools/gpu-check.sh builds them
  # (compiled, not linked: the emulation build links and runs them).
  mapfile -t cuda_test_objs < <(ninja -C "$build-nvcc" -t targets all |
    grep -o '^tests/CMakeFiles/test_cuda\.dir/cuda/[A-Za-z0-9_]*\.cpp\.o' | sort -u)
  (( ${#cuda_test_objs[@]} > 0 )) || { echo "run-tests: no test_cuda sources in $build-nvcc" >&2; exit 1; }
  cmake --build "$build-nvcc" -j "$jobs" --target "${cuda_test_objs[@]}"
else
  step "no CUDA toolkit: the nvcc compile is left out"
fi

step "AddressSanitizer + UBSan: robustness and the emulator"
asan=${build}-asan
cmake -S . -B "$asan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON -DHEMO_CUDA=EMULATE \
      -DHEMO_WERROR=ON -DHEMO_SANITIZE=address,undefined "${launcher[@]}" >/dev/null
cmake --build "$asan" -j "$jobs" --target test_robustness test_emu
(cd "$asan" && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -R '^test_(robustness|emu)$')

step "ThreadSanitizer: the emulator"
tsan=${build}-tsan
cmake -S . -B "$tsan" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBUILD_TESTING=ON -DHEMO_CUDA=EMULATE \
      -DHEMO_WERROR=ON -DHEMO_SANITIZE=thread "${launcher[@]}" >/dev/null
cmake --build "$tsan" -j "$jobs" --target test_emu
# One OpenMP thread (libgomp is not instrumented); no address-space randomization (GCC 12's TSan
# needs its fixed shadow layout).
(cd "$tsan" && OMP_NUM_THREADS=1 setarch "$(uname -m)" -R ctest --output-on-failure -R '^test_emu$')

step "libFuzzer: every reader for ${HEMO_FUZZ_SECONDS:-60} s (tests/fuzz)"
HEMO_FUZZ_BUILD=${build}-fuzz bash tests/fuzz/run.sh "${HEMO_FUZZ_SECONDS:-60}"
step "done"
