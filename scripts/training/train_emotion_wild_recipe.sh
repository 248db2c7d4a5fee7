#!/usr/bin/env bash
# The real-world recipe (issue 12; see models/README.md, "Real-world faces"): one net trained
# from scratch on FER+'s raw images with their vote distributions as soft targets, plus the
# train split of wild_train framed by the kiosk's own detector, with camera-reality
# augmentation; then the export (float + full int8 calibrated on both kinds of image) and
# every measurement through the kiosk's code.
#
#   bash scripts/training/train_emotion_wild_recipe.sh ../shared/data [RUNS_DIR] [MINUTES]
#
# MINUTES (default 0 = by epochs) caps training time: the one-cycle schedule then follows
# the clock, so a run on a busy machine still anneals and ends on time. Needs the train extra.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${1:?usage: $0 SHARED_DATA_DIR [RUNS_DIR] [MINUTES]}
RUNS=${2:-runs}
MINUTES=${3:-0}
PY=${PYTHON:-python3}
RUN="$RUNS/fp_wild"

"$PY" scripts/training/emotion_data.py --wild "$DATA/wild_train" --cache "$RUNS/wild"
"$PY" scripts/training/train_emotion.py --ferplus "$DATA/ferplus/ferplus_train.npz" \
  --wild "$DATA/wild_train" --wild-cache "$RUNS/wild" --val "$DATA/fer2013/validation" \
  --val-ferplus "$DATA/ferplus/ferplus_valid.npz" --camera-aug --equalize --epochs 35 \
  --time-budget "$MINUTES" --patience 1000 --select real --out "$RUN"
"$PY" scripts/training/emotion_export.py --run "$RUN" --weights last \
  --ferplus "$DATA/ferplus/ferplus_train.npz" --wild "$DATA/wild_train" \
  --val "$DATA/fer2013/validation" --models "$RUN/models" --name emotion_cnn_real --flip-average \
  --data-note "FER+ (FER2013 images, FER+ votes) and wild_train (SFEW 2.0, muxspace)" \
  --bench-runs 3000
for kind in int8 float; do
  "$PY" scripts/training/emotion_measure.py --data "$DATA" --cache "$RUNS/wild" \
    --model "$RUN/models/emotion_cnn_real_$kind.tflite" --json "$RUN/measure_$kind.json"
done
"$PY" scripts/training/emotion_card.py "$RUN"
