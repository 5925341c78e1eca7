#!/usr/bin/env bash
# Rehearses tools/gpu-check.sh on a machine WITHOUT a GPU, with stand-ins for the GPU's tools
# (tools/gpu/fake/: nvidia-smi answers as an H100; compute-sanitizer checks its options, runs the
# program and prints a sanitizer-style summary) and PyTorch on the CPU. It shows the script's
# plumbing, not that anything works on a GPU: hemo's cuda suite reports itself skipped here.
#
#   tools/gpu/rehearse.sh [SCENARIO...]    (default: all four, in this order)
#
#   full      every stage. A CPU-only build (HEMO_GPU_CUDA=OFF, ccache), into $REHEARSE_BUILD
#             (default build-rehearse; a fresh one takes a while on 2 cores). bench on the CPU with
#             one small case; the stand-in sanitizer reports 2 errors under memcheck and hangs
#             under racecheck (limit 15 s); e2e runs on the CPU under a 20 s limit, which the demo's
#             training outlasts. Expected table: build PASS, bench PASS, test SKIP, memcheck FAIL
#             (2 errors), racecheck FAIL (timed out after 15s), initcheck and synccheck SKIP, e2e
#             FAIL (timed out after 20s); gpu-status-entry.md, bench.md, bench.json, gpu-check.txt
#             and logs.tar.gz under the scenario's $OUT.
#   deadline  test, racecheck (hanging) and e2e with HEMO_GPU_DEADLINE=40: every limit is cut to
#             what is left (30 s), and the script ends within 40 s.
#   oldcmake  PATH holds only a CMake older than CMakeLists.txt's minimum: the build stage fails
#             saying which CMake it found and what to carry; the other stages are not run.
#   configure PATH without ninja and with an old CMake ahead of the real one, the real nvcc
#             (HEMO_GPU_CUDA=ON), configure only (HEMO_GPU_CONFIGURE_ONLY=1): the script passes over
#             the old CMake and falls back to Unix Makefiles; a cuDNN it cannot use (a stand-in of
#             major 8 under CUDNN_ROOT) is reported in the build row without failing the configure.
#             Then again with a stand-in PyTorch cuDNN wheel (site-packages/nvidia/cudnn: a
#             cudnn_version.h of major 9, an empty libcudnn.so.9) on PYTHONPATH and no CUDNN_ROOT:
#             found by the script through `import nvidia.cudnn`, and by CMake alone too; with
#             .gpu-deps/ there (bash tools/gpu-deps.sh), its .debs are unpacked and used and its
#             ninja wheel replaces the missing ninja. (The other scenarios ignore .gpu-deps.)
#
# Work files go under $REHEARSE_DIR (default /tmp/hemo-rehearse); each scenario's $OUT is
# $REHEARSE_DIR/out-SCENARIO. Needs: Debian's python3-torch (/usr/bin/python3) for bench, cmake,
# ninja (for the full scenario's build), ccache if present, nvcc in /usr/local/cuda for `configure`.
set -uo pipefail
cd "$(dirname "$0")/../.." || exit 2
root=$(pwd)
dir=${REHEARSE_DIR:-/tmp/hemo-rehearse}
fake=$root/tools/gpu/fake
scenarios=("$@")
((${#scenarios[@]})) || scenarios=(full deadline oldcmake configure)
mkdir -p "$dir"
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$(dirname "$root")}
export HEMO_PYTHON=${HEMO_PYTHON:-/usr/bin/python3}
ccache_arg=""
command -v ccache >/dev/null && ccache_arg="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"

# sandbox NAME EXCLUDED...: a folder of links to every program on PATH except EXCLUDED (so that
# `type -P ninja` finds nothing), for a PATH that lacks those programs.
sandbox() {
  local box=$dir/path-$1 d f n dirs
  shift
  local excluded=" $* "
  rm -rf "$box"
  mkdir -p "$box"
  IFS=: read -ra dirs <<<"$PATH"
  for d in "${dirs[@]}"; do
    [[ -d $d ]] || continue
    for f in "$d"/*; do
      n=${f##*/}
      [[ -x $f && ! -d $f && ! -e $box/$n ]] || continue
      [[ $excluded == *" $n "* ]] && continue
      ln -s "$f" "$box/$n"
    done
  done
  echo "$box"
}

# old_cmake DIR: a stand-in `cmake` that reports 3.16.3 and can do nothing else.
old_cmake() {
  mkdir -p "$1"
  # shellcheck disable=SC2016  # the $1 belongs to the stand-in
  printf '#!/bin/sh\n[ "$1" = --version ] && { echo "cmake version 3.16.3"; exit 0; }\necho "old cmake stand-in" >&2; exit 1\n' \
    >"$1/cmake"
  chmod +x "$1/cmake"
}

banner() { printf '\n######## rehearsal: %s\n' "$*"; }

run_full() {
  banner "full: every stage, CPU build, stand-in GPU tools"
  local out=$dir/out-full
  rm -rf "$out"
  PATH=$fake:$PATH OUT=$out HEMO_COMMIT=rehearsal HEMO_GPU_BUILD=${REHEARSE_BUILD:-build-rehearse} \
    HEMO_GPU_DEPS=$dir/no-deps HEMO_GPU_CUDA=OFF HEMO_GPU_CMAKE_ARGS="$ccache_arg" HEMO_GPU_BUILD_TIMEOUT=3000 HEMO_GPU_DEADLINE=4000 \
    HEMO_BENCH_DEVICE=cpu HEMO_GPU_BENCH_TIMEOUT=200 \
    HEMO_BENCH_ARGS="--cases pbcnet7:100:16 --epochs 3 --per-class 8 --threads 2" \
    HEMO_E2E_DEVICE=cpu HEMO_GPU_E2E_TIMEOUT=20 HEMO_GPU_RACECHECK_TIMEOUT=15 \
    FAKE_SANITIZER_HANG=racecheck FAKE_SANITIZER_ERRORS=memcheck:2 \
    bash tools/gpu-check.sh
  echo "rehearsal full: gpu-check.sh exited $?; files under $out:"
  ls -la "$out"
}

run_deadline() {
  banner "deadline: three stages under HEMO_GPU_DEADLINE=40"
  local t0=$SECONDS
  PATH=$fake:$PATH OUT=$dir/out-deadline HEMO_COMMIT=rehearsal HEMO_GPU_BUILD=${REHEARSE_BUILD:-build-rehearse} \
    HEMO_GPU_DEPS=$dir/no-deps HEMO_GPU_DEADLINE=40 HEMO_E2E_DEVICE=cpu FAKE_SANITIZER_HANG=racecheck \
    bash tools/gpu-check.sh test racecheck e2e
  echo "rehearsal deadline: gpu-check.sh exited $? after $((SECONDS - t0)) s (deadline 40 s)"
}

run_oldcmake() {
  banner "oldcmake: only a CMake older than the minimum"
  local box bin=$dir/old-cmake
  old_cmake "$bin"
  box=$(sandbox nocmake cmake ctest cpack ninja)
  PATH=$fake:$bin:$box OUT=$dir/out-oldcmake HEMO_COMMIT=rehearsal HEMO_GPU_BUILD=$dir/build-oldcmake \
    HEMO_GPU_DEPS=$dir/no-deps HEMO_GPU_CUDA=OFF bash tools/gpu-check.sh build test memcheck
  echo "rehearsal oldcmake: gpu-check.sh exited $?"
}

# stand_in_cudnn DIR MAJOR: include/cudnn_version.h of that major and an empty lib/libcudnn.so.9
# (enough for CMake to find; nothing links it here), laid out as PyTorch's wheel lays it out.
stand_in_cudnn() {
  mkdir -p "$1/include" "$1/lib"
  printf '#define CUDNN_MAJOR %s\n#define CUDNN_MINOR 10\n#define CUDNN_PATCHLEVEL 0\n' "$2" >"$1/include/cudnn_version.h"
  : >"$1/lib/libcudnn.so.9"
  : >"$1/__init__.py"
}

run_configure() {
  # This machine's /usr/local/cuda holds a cuDNN 9 of its own, which CMake would find: a cuDNN
  # that is there but unusable (major 8, under CUDNN_ROOT, searched first) stands for "absent".
  banner "configure: no ninja, an old CMake ahead of the real one, real nvcc, an unusable cuDNN"
  local box bin=$dir/old-cmake site=$dir/site-packages
  old_cmake "$bin"
  box=$(sandbox noninja ninja)
  rm -rf "$dir/cudnn8" "$site"
  stand_in_cudnn "$dir/cudnn8" 8
  PATH=$fake:$bin:$box CUDNN_ROOT=$dir/cudnn8 OUT=$dir/out-configure HEMO_COMMIT=rehearsal \
    HEMO_GPU_DEPS=$dir/no-deps HEMO_GPU_BUILD=$dir/build-configure HEMO_GPU_CONFIGURE_ONLY=1 bash tools/gpu-check.sh build
  echo "rehearsal configure (unusable cuDNN): gpu-check.sh exited $?"

  banner "configure: a stand-in PyTorch cuDNN wheel on PYTHONPATH, no CUDNN_ROOT, .gpu-deps if there"
  stand_in_cudnn "$site/nvidia/cudnn" 9
  : >"$site/nvidia/__init__.py"
  rm -rf "$dir/build-configure-wheel" /tmp/hemo-deps
  PATH=$fake:$bin:$box PYTHONPATH=$site OUT=$dir/out-configure-wheel HEMO_COMMIT=rehearsal \
    HEMO_GPU_BUILD=$dir/build-configure-wheel HEMO_GPU_CONFIGURE_ONLY=1 bash tools/gpu-check.sh build
  echo "rehearsal configure (wheel): gpu-check.sh exited $?"

  banner "configure: CMake alone (CUDNN_ROOT emptied) finds the same wheel through the python on PATH"
  PATH=$box PYTHONPATH=$site cmake -S . -B "$dir/build-configure-wheel" -DCUDNN_ROOT= \
    -UHEMO_CUDNN_INCLUDE_DIR -UHEMO_CUDNN_LIBRARY 2>&1 | grep 'hemo: cuDNN'
}

for s in "${scenarios[@]}"; do
  case $s in
    full) run_full ;;
    deadline) run_deadline ;;
    oldcmake) run_oldcmake ;;
    configure) run_configure ;;
    *) echo "rehearse: unknown scenario '$s' (full deadline oldcmake configure)" >&2; exit 2 ;;
  esac
done
