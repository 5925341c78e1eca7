#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds hemo's cuda test suite for that GPU, runs
# `ctest -L cuda`, runs the suite under compute-sanitizer (memcheck with the cache off, racecheck,
# initcheck, synccheck) and prints a short table last. Record each run in docs/gpu-status.md.
#
#   tools/gpu-check.sh [STAGE...]     stages: build test memcheck racecheck initcheck synccheck
#                                     (default: all, in that order)
#
# Stages can be run in separate calls (each device call has a time limit): results accumulate in
# $HEMO_GPU_BUILD/gpu-check-results.tsv and the table shows every stage run so far in that build
# folder. Logs go to $OUT when it is set (the device tool brings them back), else next to the build.
#
# Environment: HEMO_GPU_BUILD (build folder, default build-gpu), CUDNN_ROOT (where cuDNN 9 is; found
# through PyTorch's nvidia-cudnn wheel or a search when unset), HEMO_COMMIT (the commit being tested,
# for the table: the device copy of the tree has no .git), HEMO_GPU_CHECK_TIMEOUT (seconds per
# stage, default 540), HEMO_SANITIZER_ARGS (extra compute-sanitizer options), HEMO_SANITIZER_ALL_KERNELS
# (racecheck/synccheck every kernel, not only hemo's). A folder .gpu-deps/ of .deb files
# (tools/gpu-deps.sh) is unpacked and used for build dependencies the machine lacks.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export PATH=/usr/local/cuda/bin:$PATH

build=${HEMO_GPU_BUILD:-build-gpu}
logs=${OUT:-$build/gpu-check-logs}
results=$build/gpu-check-results.tsv
limit=${HEMO_GPU_CHECK_TIMEOUT:-540}
mkdir -p "$build" "$logs"
touch "$results"
stages=("$@")
((${#stages[@]})) || stages=(build test memcheck racecheck initcheck synccheck)

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.[:space:]')
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
commit=${HEMO_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
if [[ -z $gpu || -z $cc ]]; then
  echo "gpu-check: no NVIDIA GPU found (nvidia-smi gave nothing); this script is for a GPU machine" >&2
  exit 2
fi
echo "== hemo GPU check: $gpu (sm_$cc, driver $driver), commit $commit, $(date -u +%Y-%m-%dT%H:%MZ)"

# record STAGE RESULT DETAIL: replaces the stage's line in the results file.
record() {
  grep -v "^$1	" "$results" >"$results.tmp" || true
  printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$results.tmp"
  mv "$results.tmp" "$results"
  echo "-- $1: $2 ($3)"
}

find_cudnn() {
  [[ -n ${CUDNN_ROOT:-} ]] && { echo "$CUDNN_ROOT"; return; }
  local d
  d=$(python3 -c 'import nvidia.cudnn as m; print(list(m.__path__)[0])' 2>/dev/null) && [[ -f $d/include/cudnn_version.h ]] &&
    { echo "$d"; return; }
  [[ -f /usr/local/cuda/include/cudnn_version.h || -f /usr/include/cudnn_version.h ]] && return
  d=$(find / -name cudnn_version.h -not -path '/proc/*' 2>/dev/null | head -1)
  [[ -n $d ]] && dirname "$(dirname "$d")"
}

# Warnings are not errors here: the GPU image's compiler may be newer than CI's and warn about
# things CI's does not; CI keeps -DHEMO_WERROR=ON. The warnings stay in build.log.
stage_build() {
  local args=(-DCMAKE_BUILD_TYPE=Release -DHEMO_CUDA=ON -DHEMO_CUDNN=ON "-DCMAKE_CUDA_ARCHITECTURES=$cc"
              -DBUILD_TESTING=ON -DHEMO_WERROR=OFF)
  local cudnn
  cudnn=$(find_cudnn)
  [[ -n $cudnn ]] && args+=("-DCUDNN_ROOT=$cudnn")
  if compgen -G ".gpu-deps/*.deb" >/dev/null; then
    mkdir -p /tmp/hemo-deps
    for f in .gpu-deps/*.deb; do dpkg -x "$f" /tmp/hemo-deps; done
    args+=(-DCMAKE_PREFIX_PATH=/tmp/hemo-deps/usr)
  fi
  local t0=$SECONDS
  if timeout "$limit" cmake -S . -B "$build" -G Ninja "${args[@]}" >"$logs/build.log" 2>&1 &&
     timeout "$limit" cmake --build "$build" --target test_cuda -j "$(nproc)" >>"$logs/build.log" 2>&1; then
    record build PASS "sm_$cc, cuDNN $(grep -m1 'cuDNN 9 found' "$logs/build.log" | sed 's/.*found: //'), $((SECONDS - t0))s"
  else
    tail -40 "$logs/build.log"
    record build FAIL "see build.log, $((SECONDS - t0))s"
    return 1
  fi
}

# The cuDNN library folder (for the dlopen of its sub-libraries) on the loader path.
library_path() {
  local lib
  lib=$(grep -m1 '^HEMO_CUDNN_LIBRARY:' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2)
  [[ -n $lib ]] || return 0
  LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
}

stage_test() {
  library_path
  local t0=$SECONDS rc=0
  (cd "$build" && timeout "$limit" ctest -L cuda -V) >"$logs/test.log" 2>&1 || rc=$?
  local summary
  summary=$(grep -m1 '\[doctest\] test cases:' "$logs/test.log" | sed 's/.*test cases: *//')
  if ((rc == 0)) && ! grep -q 'hemo-cuda\] SKIPPED\|\*\*\*Skipped\|Not Run' "$logs/test.log"; then
    record test PASS "test cases: $summary, $((SECONDS - t0))s"
  else
    grep -B2 -A8 'ERROR:\|SKIPPED\|FAILED' "$logs/test.log" | head -80
    record test FAIL "rc $rc; test cases: ${summary:-none}; see test.log, $((SECONDS - t0))s"
    return 1
  fi
}

# stage_sanitize TOOL: the whole cuda suite under compute-sanitizer --tool TOOL.
stage_sanitize() {
  local tool=$1 t0=$SECONDS rc=0
  library_path
  local env=(HEMO_SANITIZER="$tool")
  case $tool in
    memcheck) env+=(HEMO_NO_CACHING=1) ;;                     # every block its own allocation
    initcheck) env+=(HEMO_NO_CACHING=1 HEMO_CUDA_POISON=0) ;;  # no fill: unwritten memory stays unwritten
  esac
  # racecheck and synccheck look at hemo's own kernels (namespace hemo, so "hemo" is in every
  # name); the shared-memory internals of cuBLAS and cuDNN are NVIDIA's, and checking them would
  # take most of the time. memcheck and initcheck check every kernel: a wrong size handed to a
  # library shows up inside the library's kernels. HEMO_SANITIZER_ARGS adds options.
  local filter=()
  [[ $tool == racecheck || $tool == synccheck ]] && [[ -z ${HEMO_SANITIZER_ALL_KERNELS:-} ]] &&
    filter=(--kernel-name kns=hemo)
  local bin=$build/tests/test_cuda
  [[ -x $bin ]] || { record "$tool" FAIL "no $bin: run the build stage first"; return 1; }
  # shellcheck disable=SC2086  # HEMO_SANITIZER_ARGS is a list of options
  env "${env[@]}" timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 86 --print-limit 100 \
    "${filter[@]}" ${HEMO_SANITIZER_ARGS:-} "$bin" >"$logs/$tool.log" 2>&1 || rc=$?
  local errors summary
  errors=$(grep -m1 -o 'ERROR SUMMARY: [0-9]* error' "$logs/$tool.log" | grep -o '[0-9]*')
  summary=$(grep -m1 '\[doctest\] test cases:' "$logs/$tool.log" | sed 's/.*test cases: *//')
  if ((rc == 0)) && [[ ${errors:-x} == 0 ]]; then
    record "$tool" PASS "0 errors; test cases: $summary, $((SECONDS - t0))s"
  else
    grep -m30 '=========' "$logs/$tool.log"
    record "$tool" FAIL "rc $rc, ${errors:-?} errors; test cases: ${summary:-none}; see $tool.log, $((SECONDS - t0))s"
    return 1
  fi
}

status=0
for s in "${stages[@]}"; do
  case $s in
    build) stage_build || status=1 ;;
    test) stage_test || status=1 ;;
    memcheck | racecheck | initcheck | synccheck) stage_sanitize "$s" || status=1 ;;
    *) echo "gpu-check: unknown stage '$s'" >&2; status=2 ;;
  esac
done

echo
echo "== hemo GPU check: $gpu (sm_$cc), commit $commit"
printf '%-10s %-5s %s\n' stage result detail
while IFS=$'\t' read -r stage result detail; do printf '%-10s %-5s %s\n' "$stage" "$result" "$detail"; done <"$results"
exit $status
