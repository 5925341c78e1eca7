#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan, -DHEMO_FUZZ=ON) and runs each for SECONDS over
# its corpus: the seeds tests/fuzz/make_corpus.py writes, the regression inputs of
# tests/fuzz/regressions/<target>/ (every finding so far), and what earlier runs kept in the work
# folder. A finding stops the run with its input saved and the command that reproduces it.
#   tests/fuzz/run.sh [SECONDS per target, default 60] [TARGET...]   (image safetensors checkpoint manifest)
# Environment: HEMO_FUZZ_BUILD (default build-fuzz), HEMO_FUZZ_WORK (default $HEMO_FUZZ_BUILD/work),
# HEMO_FUZZ_JOBS (parallel fuzzing processes per target, default 1).
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-60}
shift || true
targets=("$@")
((${#targets[@]})) || targets=(image safetensors checkpoint manifest)
build=${HEMO_FUZZ_BUILD:-build-fuzz}
work=${HEMO_FUZZ_WORK:-$build/work}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
      -DCMAKE_C_COMPILER=clang -DHEMO_FUZZ=ON -DHEMO_CUDA=OFF -DBUILD_TESTING=OFF "${launcher[@]}" >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"
"${HEMO_PYTHON:-/usr/bin/python3}" tests/fuzz/make_corpus.py "$work/seeds" >/dev/null  # Debian's, with Pillow

jobs=()  # -jobs makes libFuzzer write fuzz-N.log files: only when asked for more than one
(( ${HEMO_FUZZ_JOBS:-1} > 1 )) && jobs=(-jobs="$HEMO_FUZZ_JOBS" -workers="$HEMO_FUZZ_JOBS")
status=0
for t in "${targets[@]}"; do
  corpus="$work/corpus/$t"
  regress="tests/fuzz/regressions/$t"
  mkdir -p "$corpus" "$work/findings/$t" "$regress"
  echo "== fuzz_$t: ${seconds}s ($(date +%T))"
  # First every regression input once: each must be refused or accepted cleanly.
  if compgen -G "$regress/*" >/dev/null; then
    "$build/tests/fuzz/fuzz_$t" -runs=0 -malloc_limit_mb=1024 "$regress" 2>&1 | tail -1
  fi
  if ! "$build/tests/fuzz/fuzz_$t" "$corpus" "$work/seeds/$t" "$regress" -dict="tests/fuzz/$t.dict" \
        -max_total_time="$seconds" -malloc_limit_mb=1024 -rss_limit_mb=2048 -timeout=10 -max_len=65536 \
        ${jobs[@]+"${jobs[@]}"} -print_final_stats=1 \
        -artifact_prefix="$work/findings/$t/" >"$work/$t.log" 2>&1; then
    status=1
    echo "fuzz_$t: FINDING (log $work/$t.log); reproduce with: $build/tests/fuzz/fuzz_$t $work/findings/$t/<file>"
    grep -E 'ERROR|SUMMARY|uncaught|property violated|Test unit written' "$work/$t.log" | head -8
  fi
  grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$work/$t.log" | tr '\n' ' '
  echo
done
exit $status
