#!/usr/bin/env bash
# One epoch of `hemo train` for every architecture of `hemo info --list`, at the papers' input
# sizes: 224x224 (the ensemble paper's crop), Inception-v3 at 299x299, pbcnet7 at its 100x100.
# Prints one line per model (exit status, seconds, the epoch's line) and a summary; exit status 1
# when any run failed. Each run's directory and log stay in OUT.
#
#   tools/train-every-model.sh HEMO DATA OUT [extra train options...]
#   tools/train-every-model.sh build/tools/hemo ../shared/data/pbc-mini /tmp/zoo --batch-size 8
#
# HEMO_MODELS="a b c" limits it to those models; HEMO_SIZE=N trains every model (Inception-v3
# too, where N >= 75) at N instead.
set -uo pipefail
if [[ $# -lt 3 ]]; then
  sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
hemo=$1 data=$2 out=$3
shift 3
models=${HEMO_MODELS:-$("$hemo" info --list | awk 'NF {print $1}')}
mkdir -p "$out"
failed=0 total=0
for m in $models; do
  size=${HEMO_SIZE:-224}
  [[ -z ${HEMO_SIZE:-} && $m == inception_v3 ]] && size=299
  [[ -z ${HEMO_SIZE:-} && $m == pbcnet7 ]] && size=100
  start=$(date +%s)
  "$hemo" train --model "$m" --data "$data" --input-size "$size" --epochs 1 --out "$out/$m" --overwrite "$@" \
    > "$out/$m.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - start))
  total=$((total + 1))
  [[ $rc -ne 0 ]] && failed=$((failed + 1))
  line=$(grep -m1 '^epoch 1/1:' "$out/$m.log" || tail -n 1 "$out/$m.log")
  printf '%-20s %4d px  rc %d  %5d s  %s\n' "$m" "$size" "$rc" "$secs" "$line"
done
echo "$((total - failed)) of $total models trained one epoch; logs in $out"
[[ $failed -eq 0 ]]
