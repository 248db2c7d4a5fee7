#!/usr/bin/env bash
# The recipe behind the shipped models/emotion_cnn_*.tflite (see models/README.md):
# two large teacher nets side by side, then the small student distilled from both, then the
# export (float + full int8, sidecars, validation, latency) and the real-crop framing check.
#
#   bash scripts/training/train_emotion_recipe.sh ../shared/data/fer2013/train ../shared/data/fer2013/validation
#
# Needs the train extra (pip install -e .[train]). Meant for a GPU: there the whole recipe took
# under 9 minutes on one H100. On CPU it runs too, but each teacher takes about 10 minutes an
# epoch on 2 cores; use the student line alone without --teacher for a CPU-only model.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: $0 TRAIN_DIR VAL_DIR [RUNS_DIR]}
VAL=${2:?usage: $0 TRAIN_DIR VAL_DIR [RUNS_DIR]}
RUNS=${3:-runs}
PY=${PYTHON:-python3}
# patience 1000: validation swings while the one-cycle rate is high; keep the whole schedule.
train=("$PY" scripts/training/train_emotion.py --data "$DATA" --val "$VAL" --patience 1000)

"${train[@]}" --out "$RUNS/tA" --widths 64,128,256,256 --convs 2,2,2,2 --dropout 0.4 \
  --epochs 45 --amp &
pid_a=$!
"${train[@]}" --out "$RUNS/tB" --widths 48,96,192,384 --convs 2,2,3,3 --dropout 0.4 \
  --epochs 45 --amp --seed 7 &
pid_b=$!
wait "$pid_a"
wait "$pid_b"

"${train[@]}" --out "$RUNS/student" --widths 24,48,96,192 --convs 1,2,2,2 --epochs 80 \
  --teacher "$RUNS/tA" "$RUNS/tB" --kd-weight 0.7 --kd-temperature 4

"$PY" scripts/training/emotion_export.py --run "$RUNS/student" --data "$DATA" --val "$VAL" \
  --name emotion_cnn --crop-margin 0.08 --bench-runs 3000
"$PY" scripts/training/emotion_framing.py --val "$VAL" --model models/emotion_cnn_int8.tflite \
  --json "$RUNS/student/framing.json"
"$PY" scripts/training/emotion_card.py "$RUNS/student"
