#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds hemo for that GPU, runs `ctest -L cuda`,
# runs the cuda suite under compute-sanitizer (memcheck with the cache off, racecheck, initcheck,
# synccheck), runs the command-line tools on the GPU end to end, and prints a short table last.
# Record each run in docs/gpu-status.md.
#
#   tools/gpu-check.sh [STAGE...]   stages: build test memcheck racecheck initcheck synccheck e2e
#                                   (default: all). `build` runs first; the others then run side by
#                                   side (one GPU, separate processes), so the whole check takes the
#                                   build plus its slowest stage: about 5 minutes on an H200 box.
#
# Made for a lent machine's short lease: one call, every stage under its own time limit, every
# log under $OUT (the device tool brings those back: build.log, test.log, <tool>.log, e2e.log),
# else under the build folder. Results also accumulate in $HEMO_GPU_BUILD/gpu-check-results/, so a
# later call in the same warm machine can rerun one stage and the table still shows them all.
#
# e2e: `hemo demo --device cuda` (synthetic data, trains pbcnet7; its test accuracy must reach 90%),
# then `hemo gradcam` and `hemo-infer` on its images with --device cuda and --device cpu; the CUDA
# results must match the CPU's (tools/gpu_e2e_compare.py says how closely).
#
# Environment:
#   HEMO_GPU_BUILD            build folder (default build-gpu)
#   HEMO_COMMIT               the commit tested, for the table (the device's copy has no .git)
#   CUDNN_ROOT                where cuDNN 9 is; else PyTorch's nvidia-cudnn wheel, else a search
#   HEMO_GPU_BUILD_TIMEOUT    seconds for configure + build (default 300)
#   HEMO_GPU_STAGE_TIMEOUT    seconds for each other stage (default 240)
#   HEMO_GPU_SERIAL=1         run the stages one after another instead of side by side
#   HEMO_SANITIZER_ARGS       extra compute-sanitizer options (e.g. --report-api-errors no)
#   HEMO_SANITIZER_TESTS      doctest options narrowing the suite under the sanitizers
#                             (e.g. -tce='cuda whole models*')
#   HEMO_SANITIZER_ALL_KERNELS=1  racecheck/synccheck every kernel, not only hemo's
# A folder .gpu-deps/ of .deb files (tools/gpu-deps.sh) is unpacked and used for the build
# dependencies the machine lacks.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
export PATH=/usr/local/cuda/bin:$PATH

build=${HEMO_GPU_BUILD:-build-gpu}
logs=${OUT:-$build/gpu-check-logs}
results=$build/gpu-check-results
build_limit=${HEMO_GPU_BUILD_TIMEOUT:-300}
limit=${HEMO_GPU_STAGE_TIMEOUT:-240}
all_stages=(build test memcheck racecheck initcheck synccheck e2e)
mkdir -p "$build" "$logs" "$results"
stages=("$@")
((${#stages[@]})) || stages=("${all_stages[@]}")

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.[:space:]')
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
commit=${HEMO_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
if [[ -z $gpu || -z $cc ]]; then
  echo "gpu-check: no NVIDIA GPU found (nvidia-smi gave nothing); this script is for a GPU machine" >&2
  exit 2
fi
echo "== hemo GPU check: $gpu (sm_$cc, driver $driver), commit $commit, $(date -u +%Y-%m-%dT%H:%MZ)"

# record STAGE RESULT DETAIL [EXCERPT-FILE]: the stage's line of the table (one file per stage, so
# stages running side by side never write the same file); the excerpt is printed before the table.
record() {
  printf '%s\t%s\n' "$2" "$3" >"$results/$1"
  rm -f "$results/$1.excerpt"
  [[ -n ${4:-} && -s $4 ]] && cp "$4" "$results/$1.excerpt"
  echo "-- $1: $2 ($3)"
}

# outcome RC LIMIT: how a failed command ended, for the table ("timed out after LIMITs" or "rc RC").
outcome() { if [[ $1 == 124 || $1 == 137 ]]; then echo "timed out after ${2}s"; else echo "rc $1"; fi; }

find_cudnn() {
  [[ -n ${CUDNN_ROOT:-} ]] && { echo "$CUDNN_ROOT"; return; }
  local d
  for d in $(python3 -c 'import nvidia.cudnn as m; print(*m.__path__)' 2>/dev/null); do
    [[ -f $d/include/cudnn_version.h ]] && { echo "$d"; return; }
  done
  [[ -f /usr/local/cuda/include/cudnn_version.h || -f /usr/include/cudnn_version.h ]] && return
  d=$(timeout 60 find / -name cudnn_version.h -not -path '/proc/*' 2>/dev/null | head -1)
  [[ -n $d ]] && dirname "$(dirname "$d")"
}

# Warnings are not errors here: the GPU image's compiler may be newer than CI's and warn about
# things CI's does not; CI keeps -DHEMO_WERROR=ON. The warnings stay in build.log.
stage_build() {
  local args=(-DCMAKE_BUILD_TYPE=Release -DHEMO_CUDA=ON -DHEMO_CUDNN=ON "-DCMAKE_CUDA_ARCHITECTURES=$cc"
              -DBUILD_TESTING=ON -DHEMO_WERROR=OFF)
  local cudnn t0=$SECONDS
  cudnn=$(find_cudnn)
  [[ -n $cudnn ]] && args+=("-DCUDNN_ROOT=$cudnn")
  if compgen -G ".gpu-deps/*.deb" >/dev/null; then
    mkdir -p /tmp/hemo-deps
    for f in .gpu-deps/*.deb; do dpkg -x "$f" /tmp/hemo-deps; done
    args+=(-DCMAKE_PREFIX_PATH=/tmp/hemo-deps/usr)
  fi
  local rc=0 left
  timeout "$build_limit" cmake -S . -B "$build" -G Ninja "${args[@]}" >"$logs/build.log" 2>&1 || rc=$?
  left=$((build_limit - (SECONDS - t0)))
  ((left > 0)) || left=1
  ((rc == 0)) && { timeout "$left" cmake --build "$build" -j "$(nproc)" --target test_cuda hemo hemo-infer \
                     >>"$logs/build.log" 2>&1 || rc=$?; }
  if ((rc == 0)); then
    record build PASS "sm_$cc, cuDNN $(grep -m1 'cuDNN 9 found' "$logs/build.log" | sed 's/.*found: //'), $((SECONDS - t0))s"
  else
    tail -40 "$logs/build.log" >"$results/build.tail"
    record build FAIL "$(outcome $rc "$build_limit"); see build.log" \
      "$results/build.tail"
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
  (cd "$build" && timeout "$limit" ctest -L cuda -V --no-tests=error) >"$logs/test.log" 2>&1 || rc=$?
  local summary
  summary=$(grep -m1 '\[doctest\] test cases:' "$logs/test.log" | sed 's/.*test cases: *//')
  if ((rc == 0)) && [[ -n $summary ]] && ! grep -q 'hemo-cuda\] SKIPPED\|\*\*\*Skipped\|Not Run' "$logs/test.log"; then
    record test PASS "test cases: $summary, $((SECONDS - t0))s"
  else
    grep -B2 -A8 'ERROR:\|SKIPPED\|FAILED\|No tests were found' "$logs/test.log" | head -80 >"$results/test.tail"
    record test FAIL "$(outcome $rc "$limit"); test cases: ${summary:-none}; see test.log, $((SECONDS - t0))s" \
      "$results/test.tail"
    return 1
  fi
}

# stage_sanitize TOOL: the cuda suite under compute-sanitizer --tool TOOL.
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
  # library shows up inside the library's kernels.
  local filter=()
  [[ $tool == racecheck || $tool == synccheck ]] && [[ -z ${HEMO_SANITIZER_ALL_KERNELS:-} ]] &&
    filter=(--kernel-name kns=hemo)
  local bin=$build/tests/test_cuda
  [[ -x $bin ]] || { record "$tool" FAIL "no $bin: run the build stage first"; return 1; }
  # shellcheck disable=SC2086  # the two variables are lists of options
  env "${env[@]}" timeout "$limit" compute-sanitizer --tool "$tool" --error-exitcode 86 --print-limit 100 \
    "${filter[@]}" ${HEMO_SANITIZER_ARGS:-} "$bin" ${HEMO_SANITIZER_TESTS:-} >"$logs/$tool.log" 2>&1 || rc=$?
  local log=$logs/$tool.log errors warnings="" summary
  # memcheck, initcheck and synccheck end with "ERROR SUMMARY: N errors"; racecheck with
  # "RACECHECK SUMMARY: H hazards displayed (E errors, W warnings)".
  if [[ $tool == racecheck ]]; then
    errors=$(grep -m1 -oE 'RACECHECK SUMMARY: [0-9]+ hazards? displayed \([0-9]+ errors?' "$log" | grep -oE '[0-9]+' | tail -1)
    warnings=$(grep -m1 -oE '[0-9]+ warnings?\)' "$log" | grep -oE '[0-9]+')
  else
    errors=$(grep -m1 -oE 'ERROR SUMMARY: [0-9]+ errors?' "$log" | grep -oE '[0-9]+')
  fi
  summary=$(grep -m1 '\[doctest\] test cases:' "$log" | sed 's/.*test cases: *//')
  local detail="test cases: ${summary:-none}${warnings:+, $warnings racecheck warnings}, $((SECONDS - t0))s"
  grep -q 'hemo-cuda\] SKIPPED' "$log" && detail="the suite skipped itself (no GPU visible to it); $detail"
  if grep -qi 'device not supported\|not supported on this platform' "$log"; then
    grep -m5 -i 'not supported' "$log" >"$results/$tool.tail"
    record "$tool" SKIP "compute-sanitizer does not support this machine (gVisor?); see $tool.log" "$results/$tool.tail"
    return 1
  elif ((rc == 0)) && [[ ${errors:-x} == 0 && -n $summary ]] && ! grep -q 'hemo-cuda\] SKIPPED' "$log"; then
    record "$tool" PASS "0 errors; $detail"
  else
    { grep -m40 '=========' "$log"; grep -m20 'ERROR:' "$log"; } >"$results/$tool.tail"
    record "$tool" FAIL "$(outcome $rc "$limit"), ${errors:-?} errors; $detail; see $tool.log" \
      "$results/$tool.tail"
    return 1
  fi
}

# The tools end to end on the GPU, checked against the same tools on the CPU (tools/gpu-e2e.sh).
stage_e2e() {
  library_path
  local t0=$SECONDS rc=0 log=$logs/e2e.log
  timeout "$limit" bash tools/gpu-e2e.sh "$build" >"$log" 2>&1 || rc=$?
  local verdict
  verdict=$(grep -m1 '^e2e:' "$log" | sed 's/^e2e: *//')
  if ((rc == 0)); then
    record e2e PASS "${verdict:-?}, $((SECONDS - t0))s"
  else
    tail -30 "$log" >"$results/e2e.tail"
    record e2e FAIL "$(outcome $rc "$limit")${verdict:+; $verdict}; see e2e.log, $((SECONDS - t0))s" \
      "$results/e2e.tail"
    return 1
  fi
}

run_stage() {
  case $1 in
    build) stage_build ;;
    test) stage_test ;;
    memcheck | racecheck | initcheck | synccheck) stage_sanitize "$1" ;;
    e2e) stage_e2e ;;
    *) echo "gpu-check: unknown stage '$1' (known: ${all_stages[*]})" >&2; return 2 ;;
  esac
}

status=0
pids=()
for s in "${stages[@]}"; do
  if [[ $s == build || -n ${HEMO_GPU_SERIAL:-} ]]; then
    run_stage "$s" || status=1
  else
    run_stage "$s" &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

for s in "${all_stages[@]}"; do
  [[ -f $results/$s.excerpt ]] && { echo; echo "== $s: first lines of what failed"; cat "$results/$s.excerpt"; }
done
echo
echo "== hemo GPU check: $gpu (sm_$cc), commit $commit"
printf '%-10s %-5s %s\n' stage result detail
for s in "${all_stages[@]}"; do
  [[ -f $results/$s ]] || continue
  IFS=$'\t' read -r result detail <"$results/$s"
  [[ " ${stages[*]} " == *" $s "* ]] || detail="(an earlier call) $detail"
  printf '%-10s %-5s %s\n' "$s" "$result" "$detail"
done
exit $status
