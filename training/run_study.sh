#!/usr/bin/env bash
# The recipe study of docs/MODEL_STUDY.md: every run the table reports, in the order they were run.
# Each run is resumable (re-running this script continues where a stop left off) and logs to RUNS/<name>.log.
# Usage: training/run_study.sh [RUNS_DIR]   (default runs/study; needs ../shared or $PNEUMOSCOPE_SHARED)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-runs/study}
SHARED=${PNEUMOSCOPE_SHARED:-../shared}
PY=${PYTHON:-.venv/bin/python}
mkdir -p "$RUNS"
COMMON=(--data "$SHARED/data/kermany" --init "$SHARED/weights/mobilenet_v2_imagenet.pth" --freeze-blocks 4
        --threads 2 --no-progress --cache-dir "$RUNS/.cache" --split-seed 0)

run() {  # name, then train options
  local name=$1; shift
  if [[ -f "$RUNS/$name/calibration.json" ]]; then echo "$name: done"; return; fi
  echo "$name: $(date -u +%FT%TZ) start" | tee -a "$RUNS/$name.log"
  "$PY" -m training train "${COMMON[@]}" --out "$RUNS/$name" --resume "$@" >>"$RUNS/$name.log" 2>&1
  echo "$name: $(date -u +%FT%TZ) end" | tee -a "$RUNS/$name.log"
}

run strong-s0       --aug strong --epochs 5 --swa-start 3 --seed 0
run strong-mixup-s0 --aug strong --mixup 0.2 --epochs 5 --swa-start 3 --seed 0
run strong-s1       --aug strong --epochs 5 --swa-start 3 --seed 1
run base-s0         --aug base --epochs 5 --swa-start 3 --seed 0
