#!/usr/bin/env bash
# Issue #13's device check, on one GPU, in one command: the devices seen, the `gpu` profile
# calibrated over 3 seeds, the reference and two mutants graded, and the tables.
#
# Before (here, with network): .venv/bin/python benchmarks/gpu/prepare.py --data-dir ../shared/data --weights-dir ../shared/weights/keras
# On the device (carry .gpu):  bash benchmarks/gpu/run.sh          (writes into $OUT)
# A CPU rehearsal (tiny budget), with wheels for this Python:
#   .venv/bin/python benchmarks/gpu/prepare.py ... --python-version 3.11 --out .gpu-rehearsal
#   GPU_CARRY=.gpu-rehearsal GPU_PROFILE=ci GPU_SEEDS=2 PYTHON=.venv/bin/python bash benchmarks/gpu/run.sh /tmp/gpu-rehearsal
#
# Environment: GPU_PROFILE (gpu), GPU_SEEDS (3), GPU_JOBS (3: the three submissions share the GPU),
# KERAS_BACKEND (jax: the GPU machine has JAX and PyTorch, no TensorFlow), PYTHON (python3),
# GPU_CARRY (.gpu: what prepare.py packed).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
RESULTS="${1:-${OUT:-gpu-results}}"
PROFILE="${GPU_PROFILE:-gpu}"
SEEDS="${GPU_SEEDS:-3}"
JOBS="${GPU_JOBS:-3}"
PY="${PYTHON:-python3}"
CARRY="$(realpath "${GPU_CARRY:-.gpu}")"
WORK="$(mktemp -d /tmp/course-gpu.XXXXXX)"
mkdir -p "$RESULTS"
LOG="$RESULTS/log.txt"
exec > >(tee "$LOG") 2>&1

if [ ! -d "$CARRY/data" ]; then
  echo "error: $CARRY/data is missing: run benchmarks/gpu/prepare.py here first and carry $CARRY" >&2; exit 2
fi
if compgen -G "$CARRY/wheels/*.whl" >/dev/null; then  # the packages the GPU machine lacks
  "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" "$CARRY"/wheels/*.whl
  export PYTHONPATH="$WORK/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
else
  export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
fi
export KERAS_BACKEND="${KERAS_BACKEND:-jax}" PYTHONUNBUFFERED=1 TF_CPP_MIN_LOG_LEVEL=3
export COURSE_DATA_DIR="$CARRY/data" COURSE_WEIGHTS_DIR="$CARRY/weights" COURSE_CACHE_DIR="$WORK/cache"
export KERAS_HOME="$WORK/keras-home"
course() { "$PY" -m autograder.cli "$@"; }
seconds() { echo $(( $(date +%s) - $1 )); }

MEMORY=""
if command -v nvidia-smi >/dev/null; then
  nvidia-smi
  MEMORY="$RESULTS/gpu-memory.csv"
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 >"$MEMORY" &
  SAMPLER=$!
  trap 'kill $SAMPLER 2>/dev/null || true' EXIT
fi

echo "== devices, versions, weights ($PROFILE)"
course doctor --profile "$PROFILE" || true  # it exits 1 where something is missing; the rest says what

echo "== calibrate $PROFILE over $SEEDS seeds"
start=$(date +%s)
course calibrate --profile "$PROFILE" --seeds "$SEEDS"
calibrate_s=$(seconds "$start")
# calibration/<profile>[-offline][.<backend>].json: the file just written is the newest
CALIBRATION="$(ls -t solutions/transfer_learning/calibration/"$PROFILE"{,-offline}{,."$KERAS_BACKEND"}.json 2>/dev/null | head -n1 || true)"
cp "$CALIBRATION" "$RESULTS/"

echo "== grade the reference and two mutants ($JOBS at a time)"
"$PY" benchmarks/gpu/tables.py submissions "$WORK/submissions"
start=$(date +%s)
status=0
course grade "$WORK/submissions" --profile "$PROFILE" --out "$WORK/graded" --jobs "$JOBS" || status=$?
grade_s=$(seconds "$start")
cp "$WORK/graded/gradebook.csv" "$RESULTS/"

"$PY" benchmarks/gpu/tables.py report --calibration "$CALIBRATION" --gradebook "$WORK/graded/gradebook.csv" \
  ${MEMORY:+--memory "$MEMORY"} --seconds "calibration ($SEEDS seeds)=$calibrate_s" \
  --seconds "grading 3 submissions, $JOBS at a time=$grade_s" --out "$RESULTS/tables.md"
exit "$status"
