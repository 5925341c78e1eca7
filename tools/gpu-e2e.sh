#!/usr/bin/env bash
# hemo's command-line tools end to end on the GPU (tools/gpu-check.sh's e2e stage; usable alone):
#   tools/gpu-e2e.sh BUILD_DIR
# 1. `hemo demo --device cuda`: draws the synthetic set, trains pbcnet7 on the GPU, evaluates.
# 2. `hemo gradcam` and `hemo-infer` on one image per class, with --device cuda and --device cpu,
#    from the checkpoint the GPU trained.
# 3. one rank of `hemo bench train --distributed`: the NCCL path, where built.
# 4. tools/gpu_e2e_compare.py: the demo's test accuracy must reach 90%; the GPU's probabilities
#    and Grad-CAM maps must match the CPU's. Its verdict is the line starting "e2e:".
# Work files go to BUILD_DIR/e2e (replaced on each run). HEMO_E2E_DEVICE (default cuda) replaces
# the GPU's side, for a rehearsal without one (tools/gpu/rehearse.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:?usage: tools/gpu-e2e.sh BUILD_DIR}
w=$build/e2e hemo=$build/tools/hemo infer=$build/tools/hemo-infer
for b in "$hemo" "$infer"; do
  [[ -x $b ]] || { echo "gpu-e2e: $b is not built (cmake --build $build --target hemo hemo-infer)" >&2; exit 2; }
done
rm -rf "$w"
mkdir -p "$w"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-4}  # the sanitizer stages run beside this one

dev=${HEMO_E2E_DEVICE:-cuda}
echo "== hemo demo --device $dev"
"$hemo" demo --device "$dev" --out "$w/demo" --threads 8 | tee "$w/demo.log"
# sed reads all of its input: `head -1` would end the pipe early, and pipefail would stop the script.
for d in "$w"/demo/synth/*/; do find "$d" -maxdepth 1 -type f | sort | sed -n 1p; done >"$w/images.txt"
ckpt=$w/demo/run/best.safetensors
for side in cuda cpu; do
  d=$side
  [[ $side == cuda ]] && d=$dev
  echo "== hemo gradcam --device $d"
  xargs -d '\n' "$hemo" gradcam --device "$d" --checkpoint "$ckpt" --out "$w/cam-$side" <"$w/images.txt"
  echo "== hemo-infer --device $d"
  "$infer" "$ckpt" - --device "$d" --json --top 8 <"$w/images.txt" >"$w/infer-$side.json"
done
# 3. The NCCL path with one rank (issue 22): the gradient all-reduce through NCCL on the GPU, where
#    the build found MPI and NCCL; otherwise the line says why it did not run.
echo "== hemo bench train --distributed --device $dev (one rank)"
if "$hemo" bench train --distributed --device "$dev" --model pbcnet7 --input-size 100 --batch-size 32 --steps 5 \
      >"$w/dist.txt" 2>&1; then
  cat "$w/dist.txt"
  grep -q "NCCL" "$w/dist.txt" || echo "e2e-dist: the all-reduce did not go through NCCL (no NCCL in this build)"
else
  echo "e2e-dist: not run: $(tail -1 "$w/dist.txt")"
fi
echo "== compare"
python3 tools/gpu_e2e_compare.py --demo-log "$w/demo.log" --min-accuracy 90 \
  "$w/infer-cpu.json" "$w/infer-cuda.json" "$w/cam-cpu" "$w/cam-cuda"
