#!/usr/bin/env bash
# The GPU check: one call on a lent GPU machine that this script has never seen. It builds hemo for
# that GPU, measures it against PyTorch, runs the cuda suite plainly and under compute-sanitizer,
# runs the command-line tools end to end, and prints a table last. Record each run in
# docs/gpu-status.md (the script writes the entry: gpu-status-entry.md, below).
#
#   tools/gpu-check.sh [STAGE...]   stages: build bench test memcheck racecheck initcheck synccheck e2e
#                                   (default: all; `build` runs first, `bench` second and alone on
#                                   the GPU, the others then side by side: one GPU, separate processes)
#
# Stages and time limits, in seconds (the budget for one H100/H200 with 16 cores, whose builds run
# with -j of the core count; "expect" is an estimate until a run says otherwise):
#   setup     finds the GPU (nvidia-smi), a CMake at least as new as CMakeLists.txt asks (every
#             cmake on PATH, Python's cmake module, .gpu-deps), Ninja (PATH, Python's ninja module,
#             .gpu-deps) or else Unix Makefiles, nvcc, cuDNN (CUDNN_ROOT, PyTorch's nvidia-cudnn
#             wheel, any site-packages/nvidia/*, the system; never required), compute-sanitizer,
#             PyTorch; unpacks .gpu-deps/. No limit of its own (~10 s); each search is bounded
#             (python 20 s, a find for cudnn_version.h 15 s, importing torch 30 s).
#   build     configure (HEMO_CUDNN=AUTO: without cuDNN the build goes on and the table says so;
#             -lineinfo in the CUDA flags for the sanitizers' source lines) and build test_cuda,
#             hemo and hemo-infer.                                limit 200   (expect 60-120)
#   bench     tools/gpu/bench.py: `hemo train --device cuda` against PyTorch on the same synthetic
#             images (pbcnet7 100², resnet18 128²), the inference and training fusion rows
#             (as shipped, HEMO_CUDNN_FUSION=0, --no-fusion), then hemo's CPU GEMM/convolution
#             against torch's; writes bench.md.                   limit 100   (expect ~60)
#   test      ctest -L cuda                                       limit 200   (expect ~30)
#   memcheck  the cuda suite under compute-sanitizer, every kernel, cache off     limit 200
#   racecheck / initcheck / synccheck   the same, hemo's kernels only             limit 200 each
#   e2e       tools/gpu-e2e.sh: hemo demo, gradcam and hemo-infer on the GPU against the CPU
#                                                                 limit 200   (expect ~60)
# Worst case: 10 + 200 + 100 + 200 = 510 s. Every limit is also cut to what is left before the
# deadline, HEMO_GPU_DEADLINE seconds after the start (default 530), less 10 s for the table, so
# a device call with timeout_s 560 always gets the table back, and a 15-minute lease keeps room for
# a rerun of one stage (`tools/gpu-check.sh memcheck`) while the machine is warm.
#
# compute-sanitizer: racecheck, synccheck and initcheck check only kernels whose name holds "hemo"
# (--kernel-name kns=hemo: every kernel of kernels/cuda/ is in namespace hemo::cuda); cuBLAS's and
# cuDNN's kernels run unchecked. memcheck checks every kernel (a wrong size handed to a library
# shows up inside the library's kernels). --report-api-errors no: a failed CUDA API call is not
# counted as an error, because cuDNN and cuBLAS probe the driver with calls that fail by design,
# and hemo checks the result of every call it makes itself (HEMO_CUDA_CHECK throws, failing the
# test), so its own failed calls still fail the stage.
#
# Output: the table on stdout, last. Under $OUT (the device tool brings back at most 8 files):
# gpu-check.txt (the table), gpu-status-entry.md (the entry for docs/gpu-status.md: machine, table,
# first lines of each failure, the bench table; paste it with tools/gpu/add-status-entry.sh),
# bench.md, bench.json and logs.tar.gz (every stage's log). Without $OUT they stay in
# $HEMO_GPU_BUILD/gpu-check-logs. Results accumulate in $HEMO_GPU_BUILD/gpu-check-results/, so a
# later call on the same warm machine can rerun one stage and the table still shows them all.
#
# Environment:
#   HEMO_GPU_BUILD            build folder (default build-gpu)
#   HEMO_COMMIT               the commit tested, for the table (the device's copy has no .git)
#   CUDNN_ROOT                where cuDNN 9 is (include/cudnn_version.h, lib/libcudnn.so*)
#   HEMO_PYTHON               the python with PyTorch (default python3)
#   HEMO_GPU_DEADLINE         seconds from the start by which the script ends (default 530)
#   HEMO_GPU_BUILD_TIMEOUT, HEMO_GPU_BENCH_TIMEOUT, HEMO_GPU_STAGE_TIMEOUT   limits (200, 100, 200)
#   HEMO_GPU_<STAGE>_TIMEOUT  one stage's limit (e.g. HEMO_GPU_RACECHECK_TIMEOUT=120)
#   HEMO_GPU_SERIAL=1         run the stages after bench one after another, not side by side
#   HEMO_GPU_TARGETS          build targets (default: test_cuda hemo hemo-infer)
#   HEMO_GPU_CMAKE_ARGS       extra configure options
#   HEMO_SANITIZER_ARGS       extra compute-sanitizer options
#   HEMO_SANITIZER_API_ERRORS --report-api-errors value (default no; all or explicit to see them)
#   HEMO_SANITIZER_TESTS      doctest options narrowing the suite under the sanitizers
#                             (e.g. -tce='cuda whole models*')
#   HEMO_SANITIZER_ALL_KERNELS=1  racecheck/initcheck/synccheck every kernel, not only hemo's
#   HEMO_BENCH_ARGS           extra tools/gpu/bench.py options (e.g. --cases pbcnet7:100:32, or
#                             --precision bf16-cl: bf16 + channels-last against torch AMP)
# Rehearsal without a GPU (tools/gpu/rehearse.sh sets these; see docs/cuda.md):
#   HEMO_GPU_CUDA             HEMO_CUDA for the configure: ON (default), OFF or EMULATE
#   HEMO_GPU_DEPS             the folder of carried packages (default .gpu-deps)
#   HEMO_GPU_CONFIGURE_ONLY=1 the build stage stops after the configure
#   HEMO_BENCH_DEVICE, HEMO_E2E_DEVICE   the device for bench and e2e (default cuda)
# A folder .gpu-deps/ (tools/gpu-deps.sh) of .deb files and wheels (ninja; cmake with --cmake) is
# unpacked under /tmp/hemo-deps and used for what the machine lacks.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
start=$SECONDS
export PATH=/usr/local/cuda/bin:$PATH

build=${HEMO_GPU_BUILD:-build-gpu}
logs=$build/gpu-check-logs
results=$build/gpu-check-results
deadline=${HEMO_GPU_DEADLINE:-530}
python=${HEMO_PYTHON:-python3}
cuda_mode=${HEMO_GPU_CUDA:-ON}
all_stages=(build bench test memcheck racecheck initcheck synccheck e2e)
mkdir -p "$build" "$logs" "$results"
stages=("$@")
((${#stages[@]})) || stages=("${all_stages[@]}")
for s in "${stages[@]}"; do
  [[ " ${all_stages[*]} " == *" $s "* ]] || { echo "gpu-check: unknown stage '$s' (known: ${all_stages[*]})" >&2; exit 2; }
done
wanted() { [[ " ${stages[*]} " == *" $1 "* ]]; }

# ---------------------------------------------------------------------------------------------
# helpers

# limit STAGE: the stage's time limit, cut to what is left before the deadline (less 10 s).
limit() {
  local var="HEMO_GPU_${1^^}_TIMEOUT" own
  case $1 in
    build) own=${!var:-${HEMO_GPU_BUILD_TIMEOUT:-200}} ;;
    bench) own=${!var:-${HEMO_GPU_BENCH_TIMEOUT:-100}} ;;
    *) own=${!var:-${HEMO_GPU_STAGE_TIMEOUT:-200}} ;;
  esac
  local left=$((deadline - (SECONDS - start) - 10))
  ((left < own)) && own=$left
  ((own < 1)) && own=1
  echo "$own"
}

# record STAGE RESULT DETAIL [EXCERPT-FILE]: the stage's line of the table (one file per stage, so
# stages running side by side never write the same file); the excerpt is printed before the table.
record() {
  printf '%s\t%s\n' "$2" "$3" >"$results/$1"
  rm -f "$results/$1.excerpt"
  [[ -n ${4:-} && -s $4 ]] && cp "$4" "$results/$1.excerpt"
  echo "-- $1: $2 ($3)"
}

# outcome RC LIMIT: how a failed command ended ("timed out after LIMITs" or "rc RC").
outcome() { if [[ $1 == 124 || $1 == 137 ]]; then echo "timed out after ${2}s"; else echo "rc $1"; fi; }

# bounded LIMIT CMD...: CMD under `timeout` (its whole process group: ctest's and the e2e script's
# children too), SIGKILL 5 s after SIGTERM if it lingers, stdin closed.
bounded() { local l=$1; shift; timeout -k 5 "$l" "$@" </dev/null; }

# version_ge A B: version A >= version B.
version_ge() { [[ $(printf '%s\n%s\n' "$2" "$1" | sort -V | head -1) == "$2" ]]; }

# ---------------------------------------------------------------------------------------------
# setup: what this machine has. Sets gpu cc driver cmake cmake_version generator nvcc cudnn_root
# cudnn_from sanitizer torch_version, and `missing` (lines saying what is absent and what follows).

missing=()
deps_src=${HEMO_GPU_DEPS:-.gpu-deps} deps=/tmp/hemo-deps
wheel_dirs=()  # the wheels of $deps_src, unpacked

# .gpu-deps: .debs (headers, CMake configs, libturbojpeg) and wheels (ninja, cmake), unpacked once.
unpack_deps() {
  compgen -G "$deps_src/*" >/dev/null || return 0
  mkdir -p "$deps"
  local f n=0
  for f in "$deps_src"/*.deb; do
    [[ -e $f ]] || continue
    if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$f" "$deps" && n=$((n + 1))
    else missing+=("no dpkg-deb: $f not unpacked"); fi
  done
  for f in "$deps_src"/*.whl; do
    [[ -e $f ]] || continue
    local d
    d=$deps/whl/$(basename "$f" .whl)
    [[ -d $d ]] || "$python" -m zipfile -e "$f" "$d" 2>/dev/null || { missing+=("cannot unzip $f"); continue; }
    n=$((n + 1))
    wheel_dirs+=("$d")
    # zip does not keep the executable bit
    find "$d" -type f \( -name ninja -o -name cmake -o -name ctest \) -path '*bin*' -exec chmod +x {} + 2>/dev/null
    find "$d" -type f -name ninja -exec chmod +x {} + 2>/dev/null
  done
  echo "setup: unpacked $n files of $deps_src under $deps"
}

find_cmake() {
  local need c v seen=()
  need=$(grep -m1 -oE 'cmake_minimum_required\(VERSION [0-9.]+' CMakeLists.txt | grep -oE '[0-9.]+$')
  local candidates
  mapfile -t candidates < <(
    type -ap cmake
    "$python" -c 'import cmake, os; print(os.path.join(cmake.CMAKE_BIN_DIR, "cmake"))' 2>/dev/null
    ls /usr/local/bin/cmake /opt/*/bin/cmake /opt/*/.venv/bin/cmake 2>/dev/null
    ((${#wheel_dirs[@]})) && find "${wheel_dirs[@]}" -type f -name cmake -path '*bin*' 2>/dev/null)
  for c in "${candidates[@]}"; do
    [[ -x $c ]] || continue
    v=$("$c" --version 2>/dev/null | head -1 | grep -oE '[0-9]+\.[0-9]+(\.[0-9]+)?')
    [[ -n $v ]] || continue
    if version_ge "$v" "$need"; then
      cmake=$c cmake_version=$v
      ((${#seen[@]})) && echo "setup: passed over ${seen[*]} (CMakeLists.txt needs $need)"
      return 0
    fi
    seen+=("$c ($v)")
  done
  cmake=""
  missing+=("CMake >= $need: none here (found: ${seen[*]:-no cmake at all}); carry one: bash tools/gpu-deps.sh --cmake")
  return 1
}

find_generator() {
  local n
  n=$( { type -P ninja
         "$python" -c 'import ninja, os; print(os.path.join(ninja.BIN_DIR, "ninja"))' 2>/dev/null
         ((${#wheel_dirs[@]})) && find "${wheel_dirs[@]}" -type f -name ninja 2>/dev/null; } | while read -r x; do [[ -x $x ]] && { echo "$x"; break; }; done)
  if [[ -n $n ]]; then
    generator=Ninja generator_args=(-G Ninja "-DCMAKE_MAKE_PROGRAM=$n")
  elif command -v make >/dev/null; then
    generator="Unix Makefiles" generator_args=(-G "Unix Makefiles")
    missing+=("no ninja: building with Unix Makefiles")
  else
    generator="" generator_args=()
    missing+=("neither ninja nor make: cannot build; carry ninja: bash tools/gpu-deps.sh")
  fi
}

# cuDNN 9 with headers: CUDNN_ROOT, the PyTorch wheel (nvidia.cudnn), any site-packages/nvidia/*,
# then the system (CMake looks there itself). Sets cudnn_root ("" for the system or none) and
# cudnn_from (where, or why not).
find_cudnn() {
  cudnn_root="" cudnn_from=""
  local d h
  if [[ -n ${CUDNN_ROOT:-} ]]; then
    cudnn_root=$CUDNN_ROOT cudnn_from="CUDNN_ROOT=$CUDNN_ROOT"
    return
  fi
  local dirs
  mapfile -t dirs < <(
    timeout 20 "$python" - 2>/dev/null <<'EOF'
import glob, os, site, sys
roots = []
try:
    import nvidia.cudnn as m
    roots += list(m.__path__)
except Exception:
    pass
sp = list(getattr(site, "getsitepackages", lambda: [])()) + [site.getusersitepackages()] + sys.path
for s in sp:
    roots += glob.glob(os.path.join(s, "nvidia", "cudnn")) + glob.glob(os.path.join(s, "nvidia", "cu*"))
for r in dict.fromkeys(roots):
    print(r)
EOF
    ls -d /usr/lib/python3*/{site,dist}-packages/nvidia/cudnn /usr/local/lib/python3*/{site,dist}-packages/nvidia/cudnn \
          /opt/*/lib/python3*/site-packages/nvidia/cudnn /opt/*/.venv/lib/python3*/site-packages/nvidia/cudnn 2>/dev/null)
  for d in "${dirs[@]}"; do
    if [[ -f $d/include/cudnn_version.h ]]; then
      cudnn_root=$d cudnn_from="the PyTorch wheel at $d"
      return
    fi
    [[ -d $d/lib ]] && compgen -G "$d/lib/libcudnn.so*" >/dev/null && h=$d
  done
  for d in /usr/include /usr/local/cuda/include /usr/include/x86_64-linux-gnu /usr/local/cudnn/include; do
    [[ -f $d/cudnn_version.h ]] && { cudnn_from="the system ($d)"; return; }
  done
  d=$(timeout 15 find / -xdev -name cudnn_version.h -not -path '/proc/*' 2>/dev/null | head -1)
  if [[ -n $d ]]; then
    cudnn_root=$(dirname "$(dirname "$d")") cudnn_from="a search: $cudnn_root"
    return
  fi
  cudnn_from="absent${h:+ (libraries without headers at $h)}"
  missing+=("no cuDNN headers: building without cuDNN; dense convolutions on the GPU will throw")
}

find_sanitizer() {
  local c
  sanitizer=""
  for c in "$(type -P compute-sanitizer)" /usr/local/cuda/bin/compute-sanitizer \
           /usr/local/cuda/compute-sanitizer/compute-sanitizer; do
    [[ -n $c && -x $c ]] && { sanitizer=$c; break; }
  done
  [[ -n $sanitizer ]] || missing+=("no compute-sanitizer: the sanitizer stages will fail")
}

gpu=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
cc=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -1 | tr -d '.[:space:]')
driver=$(nvidia-smi --query-gpu=driver_version --format=csv,noheader 2>/dev/null | head -1)
commit=${HEMO_COMMIT:-$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)}
if [[ -z $gpu || -z $cc ]]; then
  echo "gpu-check: no NVIDIA GPU found (nvidia-smi gave nothing); this script is for a GPU machine" >&2
  exit 2
fi
echo "== hemo GPU check: $gpu (sm_$cc, driver $driver), commit $commit, $(date -u +%Y-%m-%dT%H:%MZ)"
unpack_deps
find_cmake
find_generator
find_cudnn
find_sanitizer
nvcc=$(type -P nvcc)
[[ -n $nvcc || $cuda_mode != ON ]] || missing+=("no nvcc: cannot build the CUDA backend")
nvcc_version=$([[ -n $nvcc ]] && "$nvcc" --version | grep -oE 'release [0-9.]+' | cut -d' ' -f2)
torch_version=$(timeout 30 "$python" -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "no-cuda")' 2>/dev/null)
[[ -n $torch_version ]] || missing+=("no PyTorch in $python: the bench stage has nothing to compare with")
sanitizer_version=$([[ -n $sanitizer ]] && "$sanitizer" --version 2>/dev/null | grep -oE '[0-9]{4}\.[0-9.]+' | head -1)
machine="$(nproc) cores; CMake ${cmake_version:-none}${cmake:+ ($cmake)}; ${generator:-no generator}; nvcc ${nvcc_version:-none}"
machine+="; cuDNN: $cudnn_from; compute-sanitizer ${sanitizer_version:-${sanitizer:-none}}; torch ${torch_version:-none}"
echo "setup: $machine"
for m in "${missing[@]}"; do echo "setup: MISSING: $m"; done
printf '%s\n' "$machine" >"$results/machine"

# ---------------------------------------------------------------------------------------------
# stages

# Warnings are not errors here: the GPU image's compiler may be newer than CI's and warn about
# things CI's does not; CI keeps -DHEMO_WERROR=ON. The warnings stay in build.log.
stage_build() {
  local t0=$SECONDS lim log=$logs/build.log
  lim=$(limit build)
  : >"$log"
  if [[ -z $cmake || -z $generator ]]; then
    printf '%s\n' "${missing[@]}" | grep -E '^(CMake|neither)' >"$results/build.tail"
    record build FAIL "$(paste -sd';' "$results/build.tail")" "$results/build.tail"
    return 1
  fi
  if [[ $cuda_mode == ON && -z $nvcc ]]; then
    record build FAIL "no nvcc on PATH or in /usr/local/cuda/bin"
    return 1
  fi
  local args=(-DCMAKE_BUILD_TYPE=Release "-DHEMO_CUDA=$cuda_mode" -DHEMO_CUDNN=AUTO -DBUILD_TESTING=ON -DHEMO_WERROR=OFF)
  if [[ $cuda_mode == ON ]]; then
    args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DCMAKE_CUDA_ARCHITECTURES=$cc" "-DCMAKE_CUDA_FLAGS=-lineinfo")
  fi
  [[ -n $cudnn_root ]] && args+=("-DCUDNN_ROOT=$cudnn_root")
  compgen -G "$deps_src/*.deb" >/dev/null && [[ -d $deps/usr ]] && args+=("-DCMAKE_PREFIX_PATH=$deps/usr")
  # CMake 4 refuses packages' configs that ask for a CMake older than 3.5.
  version_ge "$cmake_version" 4.0 && args+=(-DCMAKE_POLICY_VERSION_MINIMUM=3.5)
  local extra=()
  read -ra extra <<<"${HEMO_GPU_CMAKE_ARGS:-}"
  # A build folder keeps the generator it was made with.
  local gen=("${generator_args[@]}") cached
  cached=$(grep -m1 '^CMAKE_GENERATOR:INTERNAL=' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2)
  [[ -n $cached && $cached != "$generator" ]] && { echo "build: keeping the folder's generator, $cached"; gen=(); }
  local rc=0
  echo "build: $cmake -S . -B $build ${gen[*]} ${args[*]} ${extra[*]}" >>"$log"
  bounded "$lim" "$cmake" -S . -B "$build" "${gen[@]}" "${args[@]}" "${extra[@]}" >>"$log" 2>&1 || rc=$?
  local cudnn
  if [[ $cuda_mode == OFF ]]; then cudnn="cuDNN not looked for (HEMO_CUDA=OFF)"
  elif grep -q 'hemo: cuDNN 9 found' "$log"; then cudnn="cuDNN 9: $(grep -m1 'cuDNN 9 found' "$log" | sed 's/.*found: //; s/ (headers.*//')"
  elif grep -q 'hemo: cuDNN absent' "$log"; then
    cudnn="cuDNN ABSENT, dense conv tests will fail ($(grep -m1 'hemo: cuDNN absent' "$log" | sed 's/.*absent: //'))"
  else cudnn="cuDNN: ?"; fi
  local jobs left
  jobs=$(nproc)
  left=$((lim - (SECONDS - t0)))
  ((left > 0)) || left=1
  local targets=()
  read -ra targets <<<"${HEMO_GPU_TARGETS:-test_cuda hemo hemo-infer}"
  if ((rc == 0)) && [[ -z ${HEMO_GPU_CONFIGURE_ONLY:-} ]]; then
    bounded "$left" "$cmake" --build "$build" -j "$jobs" --target "${targets[@]}" >>"$log" 2>&1 || rc=$?
  fi
  local what="${generator}, -j $jobs, sm_$cc; $cudnn"
  [[ -n ${HEMO_GPU_CONFIGURE_ONLY:-} ]] && what="configure only; $what"
  if ((rc == 0)); then
    record build PASS "$what; $((SECONDS - t0))s"
  else
    { grep -m20 -E 'error|Error|CMake Error' "$log"; echo ...; tail -25 "$log"; } >"$results/build.tail"
    record build FAIL "$(outcome $rc "$lim"); $what; see build.log, $((SECONDS - t0))s" "$results/build.tail"
    return 1
  fi
}

# The cuDNN library folder (for the dlopen of its sub-libraries) on the loader path, and the
# carried .debs' libraries (libturbojpeg) when the build used them.
library_path() {
  local lib
  if grep -q "^CMAKE_PREFIX_PATH:.*=$deps/usr" "$build/CMakeCache.txt" 2>/dev/null; then
    LD_LIBRARY_PATH="$deps/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
  fi
  lib=$(grep -m1 '^HEMO_CUDNN_LIBRARY:' "$build/CMakeCache.txt" 2>/dev/null | cut -d= -f2)
  [[ -n $lib && $lib != *NOTFOUND ]] || return 0
  LD_LIBRARY_PATH="$(dirname "$lib")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  export LD_LIBRARY_PATH
}

stage_bench() {
  library_path
  local t0=$SECONDS lim rc=0 log=$logs/bench.out
  lim=$(limit bench)
  local extra=()
  read -ra extra <<<"${HEMO_BENCH_ARGS:-}"
  bounded "$lim" "$python" tools/gpu/bench.py --build "$build" --out "$logs/bench" --budget $((lim - 5)) \
    --device "${HEMO_BENCH_DEVICE:-cuda}" --commit "$commit" --gpu "$gpu" --python "$python" "${extra[@]}" \
    >"$log" 2>&1 || rc=$?
  local summary
  summary=$(grep -E '^\| [a-z0-9_]+ \| [0-9]+²' "$logs/bench/bench.md" 2>/dev/null |
              awk -F'|' '{gsub(/ /,"",$2); gsub(/ /,"",$7); printf "%s%s hemo/torch %s", sep, $2, $7; sep=", "}')
  if ((rc == 0)); then
    record bench PASS "${summary:-?}; $((SECONDS - t0))s"
  else
    tail -20 "$log" >"$results/bench.tail"
    record bench FAIL "$(outcome $rc "$lim")${summary:+; $summary}; see bench.log, $((SECONDS - t0))s" "$results/bench.tail"
    return 1
  fi
}

stage_test() {
  library_path
  local t0=$SECONDS lim rc=0 log=$logs/test.log
  lim=$(limit test)
  (cd "$build" && bounded "$lim" ctest -L cuda -V --no-tests=error) >"$log" 2>&1 || rc=$?
  local summary
  summary=$(grep -m1 '\[doctest\] test cases:' "$log" | sed 's/.*test cases: *//')
  if grep -q 'hemo-cuda\] SKIPPED' "$log"; then
    grep -m3 'hemo-cuda\] SKIPPED' "$log" >"$results/test.tail"
    record test SKIP "the suite skipped itself: $(grep -m1 -o 'SKIPPED: .*' "$log" | cut -c10-130); $((SECONDS - t0))s" \
      "$results/test.tail"
    return 1
  elif ((rc == 0)) && [[ -n $summary ]] && ! grep -q '\*\*\*Skipped\|Not Run' "$log"; then
    record test PASS "test cases: $summary, $((SECONDS - t0))s"
  else
    grep -B2 -A8 'ERROR:\|FAILED\|No tests were found\|Not Run\|Could not find' "$log" | head -80 >"$results/test.tail"
    record test FAIL "$(outcome $rc "$lim"); test cases: ${summary:-none}; see test.log, $((SECONDS - t0))s" \
      "$results/test.tail"
    return 1
  fi
}

# stage_sanitize TOOL: the cuda suite under compute-sanitizer --tool TOOL.
stage_sanitize() {
  local tool=$1 t0=$SECONDS rc=0 lim log=$logs/$1.log
  lim=$(limit "$tool")
  library_path
  local env=(HEMO_SANITIZER="$tool")
  case $tool in
    memcheck) env+=(HEMO_NO_CACHING=1) ;;                     # every block its own allocation
    initcheck) env+=(HEMO_NO_CACHING=1 HEMO_CUDA_POISON=0) ;;  # no fill: unwritten memory stays unwritten
  esac
  local filter=()
  [[ $tool != memcheck && -z ${HEMO_SANITIZER_ALL_KERNELS:-} ]] && filter=(--kernel-name kns=hemo)
  local bin=$build/tests/test_cuda extra=() tests=()
  [[ -x $bin ]] || { record "$tool" FAIL "no $bin: run the build stage first"; return 1; }
  [[ -n $sanitizer ]] || { record "$tool" FAIL "no compute-sanitizer on this machine"; return 1; }
  read -ra extra <<<"${HEMO_SANITIZER_ARGS:-}"
  read -ra tests <<<"${HEMO_SANITIZER_TESTS:-}"
  env "${env[@]}" timeout -k 5 "$lim" "$sanitizer" --tool "$tool" --error-exitcode 86 --print-limit 100 \
    --report-api-errors "${HEMO_SANITIZER_API_ERRORS:-no}" "${filter[@]}" "${extra[@]}" \
    "$bin" "${tests[@]}" </dev/null >"$log" 2>&1 || rc=$?
  local errors warnings="" summary
  # memcheck, initcheck and synccheck end with "ERROR SUMMARY: N errors"; racecheck with
  # "RACECHECK SUMMARY: H hazards displayed (E errors, W warnings)".
  if [[ $tool == racecheck ]]; then
    errors=$(grep -m1 -oE 'RACECHECK SUMMARY: [0-9]+ hazards? displayed \([0-9]+ errors?' "$log" | grep -oE '[0-9]+' | tail -1)
    warnings=$(grep -m1 -oE '[0-9]+ warnings?\)' "$log" | grep -oE '[0-9]+')
  else
    errors=$(grep -m1 -oE 'ERROR SUMMARY: [0-9]+ errors?' "$log" | grep -oE '[0-9]+')
  fi
  summary=$(grep -m1 '\[doctest\] test cases:' "$log" | sed 's/.*test cases: *//')
  local scope="all kernels"
  ((${#filter[@]})) && scope="hemo's kernels"
  local detail="$scope; test cases: ${summary:-none}${warnings:+, $warnings racecheck warnings}, $((SECONDS - t0))s"
  if grep -qi 'device not supported\|not supported on this platform' "$log"; then
    grep -m5 -i 'not supported' "$log" >"$results/$tool.tail"
    record "$tool" SKIP "compute-sanitizer does not support this machine (gVisor?); see $tool.log" "$results/$tool.tail"
    return 1
  elif [[ $rc != 124 && $rc != 137 && ${errors:-x} == 0 ]] && grep -q 'hemo-cuda\] SKIPPED' "$log"; then
    record "$tool" SKIP "the suite skipped itself (no GPU visible to it); 0 errors; $detail"
    return 1
  elif ((rc == 0)) && [[ ${errors:-x} == 0 && -n $summary ]]; then
    record "$tool" PASS "0 errors; $detail"
  else
    # the tool's lines start "========= " (doctest's separators are '=' alone)
    { grep -m40 '^========= ' "$log"; grep -m20 'ERROR:' "$log"; } >"$results/$tool.tail"
    record "$tool" FAIL "$(outcome $rc "$lim"), ${errors:-?} errors; $detail; see $tool.log" "$results/$tool.tail"
    return 1
  fi
}

# The tools end to end on the GPU, checked against the same tools on the CPU (tools/gpu-e2e.sh).
stage_e2e() {
  library_path
  local t0=$SECONDS lim rc=0 log=$logs/e2e.log
  lim=$(limit e2e)
  bounded "$lim" bash tools/gpu-e2e.sh "$build" >"$log" 2>&1 || rc=$?
  local verdict
  verdict=$(grep -m1 '^e2e:' "$log" | sed 's/^e2e: *//')
  if ((rc == 0)); then
    record e2e PASS "${verdict:-?}, $((SECONDS - t0))s"
  else
    tail -30 "$log" >"$results/e2e.tail"
    record e2e FAIL "$(outcome $rc "$lim")${verdict:+; $verdict}; see e2e.log, $((SECONDS - t0))s" "$results/e2e.tail"
    return 1
  fi
}

run_stage() {
  case $1 in
    build) stage_build ;;
    bench) stage_bench ;;
    test) stage_test ;;
    memcheck | racecheck | initcheck | synccheck) stage_sanitize "$1" ;;
    e2e) stage_e2e ;;
  esac
}

# ---------------------------------------------------------------------------------------------
# the run: build, then bench alone, then the rest side by side

status=0
build_failed=""
if wanted build; then
  run_stage build || { status=1; build_failed=1; }
fi
pids=()
for s in "${stages[@]}"; do
  [[ $s == build ]] && continue
  if [[ -n $build_failed ]]; then
    record "$s" SKIP "not run: the build failed"
    continue
  fi
  if [[ $s == bench || -n ${HEMO_GPU_SERIAL:-} ]]; then
    run_stage "$s" || status=1
  else
    run_stage "$s" &
    pids+=($!)
  fi
done
for p in "${pids[@]}"; do wait "$p" || status=1; done

# ---------------------------------------------------------------------------------------------
# the table, the docs/gpu-status.md entry, and what goes back under $OUT

table=$results/table.txt
{
  echo "== hemo GPU check: $gpu (sm_$cc, driver $driver), commit $commit, $((SECONDS - start))s"
  printf '%-10s %-5s %s\n' stage result detail
  for s in "${all_stages[@]}"; do
    [[ -f $results/$s ]] || continue
    IFS=$'\t' read -r result detail <"$results/$s"
    wanted "$s" || detail="(an earlier call) $detail"
    printf '%-10s %-5s %s\n' "$s" "$result" "$detail"
  done
} >"$table"

entry=$results/gpu-status-entry.md
{
  echo "## $(date -u +%Y-%m-%d): $gpu (sm_$cc, driver $driver), commit $commit"
  echo
  echo "Machine: $machine."
  for m in "${missing[@]}"; do echo "- missing: $m"; done
  echo
  echo "| stage | result | detail |"
  echo "|---|---|---|"
  for s in "${all_stages[@]}"; do
    [[ -f $results/$s ]] || continue
    IFS=$'\t' read -r result detail <"$results/$s"
    wanted "$s" || detail="(an earlier call) $detail"
    echo "| $s | $result | ${detail//|/\\|} |"
  done
  for s in "${all_stages[@]}"; do
    [[ -f $results/$s.excerpt ]] || continue
    printf '\n%s, first lines of what failed:\n\n```\n' "$s"
    head -20 "$results/$s.excerpt"
    printf '```\n'
  done
  if [[ -f $logs/bench/bench.md ]] && wanted bench; then echo; cat "$logs/bench/bench.md"; fi
} >"$entry"

for s in "${all_stages[@]}"; do
  [[ -f $results/$s.excerpt ]] && { echo; echo "== $s: first lines of what failed"; head -40 "$results/$s.excerpt"; }
done
if [[ -n ${OUT:-} ]]; then
  mkdir -p "$OUT"
  cp "$table" "$OUT/gpu-check.txt"
  cp "$entry" "$OUT/gpu-status-entry.md"
  for f in bench.md bench.json; do [[ -f $logs/bench/$f ]] && cp "$logs/bench/$f" "$OUT/"; done
  tar -czf "$OUT/logs.tar.gz" --exclude='gpu-check-logs/bench/synth*' --exclude='gpu-check-logs/bench/run-*' \
    -C "$build" gpu-check-logs gpu-check-results
  echo
  echo "files under \$OUT ($OUT): $(cd "$OUT" && echo *)"
else
  echo
  echo "entry for docs/gpu-status.md: $entry (tools/gpu/add-status-entry.sh $entry); logs: $logs"
fi
echo
cat "$table"
exit $status
