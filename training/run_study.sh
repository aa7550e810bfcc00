#!/usr/bin/env bash
# The recipe study of docs/MODEL_STUDY.md: every run the table reports, in the order they were run.
# Each run is resumable (re-running this script continues where a stop left off) and logs to RUNS/<name>.log.
# Usage: [THREADS=N] training/run_study.sh [RUNS_DIR]   (default runs/study, 1 thread: on a shared 2-core machine
# two OpenMP threads stall each other whenever another process holds a core; needs ../shared).
# fp32 (--no-bf16): this machine's EPYC CPU has AVX2 but no AVX-512/AMX, where bf16 autocast is emulated and
# ran at ~1.5 img/s against ~9 img/s in fp32 channels-last on one thread.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/study}
SHARED=${PNEUMOSCOPE_SHARED:-../shared}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$RUNS"
COMMON=(--data "$SHARED/data/kermany" --init "$SHARED/weights/mobilenet_v2_imagenet.pth" --freeze-blocks 4
        --threads "${THREADS:-1}" --no-bf16 --no-progress --cache-dir "$RUNS/.cache" --split-seed 0)

run() {  # name, then train options
  local name=$1; shift
  if [[ -f "$RUNS/$name/calibration.json" ]]; then echo "$name: done"; return; fi
  echo "$name: $(date -u +%FT%TZ) start" | tee -a "$RUNS/$name.log"
  "$PY" -m training train "${COMMON[@]}" --out "$RUNS/$name" --resume "$@" >>"$RUNS/$name.log" 2>&1
  echo "$name: $(date -u +%FT%TZ) end" | tee -a "$RUNS/$name.log"
}

# Two lanes of one thread each use both cores without OpenMP stalls.
(
  run strong-s0       --aug strong --epochs 5 --swa-start 3 --seed 0
  # planned, not run in the 2026-12-02 session (CPU time): run strong-s1 --aug strong --epochs 5 --swa-start 3 --seed 1
) &
(
  run strong-mixup-s0 --aug strong --mixup 0.2 --epochs 5 --swa-start 3 --seed 0
  # planned, not run in the 2026-12-02 session (CPU time): run base-s0 --aug base --epochs 5 --swa-start 3 --seed 0
) &
wait
