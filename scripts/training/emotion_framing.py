#!/usr/bin/env python3
"""Check an emotion model through the kiosk's own detector crops, not FER2013's tight crops.

    python scripts/training/emotion_framing.py --val ../shared/data/fer2013/validation \
        --model models/emotion_cnn_int8.tflite --json runs/framing.json

Two checks, both through kiosk.vision (the detector, crop_face and the classifier's
preprocessing that run in the shop):

1. FER validation faces, upscaled x3 and padded with replicated edges (so the detector sees a
   head outline), go through the face detector; each detected face is cropped at several
   margins and classified. Accuracy per margin shows whether the sidecar's crop_margin
   reproduces the framing the model learned; "tight" is the FER crop itself, for reference.
2. The bundled real photograph (kiosk/assets/astronaut.png, one smiling face) at each margin
   and scaled down to small face widths: the happy probability and the top label.

Needs only the runtime dependencies (no torch, no TensorFlow).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_common import LABELS, SIX, load_folder, stratified

from kiosk.camera.compose import photo
from kiosk.config import load_config
from kiosk.vision.classifier import EmotionClassifier, crop_face
from kiosk.vision.pipeline import Pipeline
from kiosk.vision.runtime import TFLiteModel

MARGINS = (0.0, 0.04, 0.08, 0.12, 0.16, 0.2, 0.3)
UPSCALE, PAD = 3, 48  # FER 48 px -> 144 px face with 48 px of replicated edge each side


def six_class_hit(probs: np.ndarray, labels: list[str], truth: str) -> bool:
    keep = [labels.index(lab) for lab in SIX]
    return labels[keep[int(np.argmax(probs[keep]))]] == truth


def fer_through_detector(
    pipe: Pipeline, clf: EmotionClassifier, val: Path, per_class: int, seed: int
):
    x, y = load_folder(val)
    idx = np.sort(stratified(y, per_class * len(LABELS), seed))
    idx = idx[y[idx] != LABELS.index("disgust")]
    hits = {m: 0 for m in MARGINS}
    tight, found = 0, 0
    for i in idx:
        truth = LABELS[y[i]]
        tight += six_class_hit(clf.classify_crop(x[i]), clf.labels, truth)
        big = cv2.resize(x[i], None, fx=UPSCALE, fy=UPSCALE, interpolation=cv2.INTER_CUBIC)
        big = cv2.copyMakeBorder(big, PAD, PAD, PAD, PAD, cv2.BORDER_REPLICATE)
        frame = cv2.cvtColor(big, cv2.COLOR_GRAY2BGR)
        dets = pipe.detector.detect(frame)
        if not dets:
            continue
        found += 1
        box = max(dets, key=lambda d: d.score).box
        for m in MARGINS:
            probs = clf.classify_crop(crop_face(frame, box, m, clf.meta.crop_square))
            hits[m] += six_class_hit(probs, clf.labels, truth)
    return {
        "images": len(idx),
        "detected": found,
        "tight_acc6_all_images": tight / len(idx),
        "acc6_by_margin_detected": {str(m): hits[m] / max(1, found) for m in MARGINS},
    }


def photo_check(pipe: Pipeline, clf: EmotionClassifier) -> dict:
    img = photo()
    out: dict = {"by_margin": {}, "by_face_width": {}}
    det = max(pipe.detector.detect(img), key=lambda d: d.score)
    happy = clf.labels.index("happy")
    for m in MARGINS:
        p = clf.classify_crop(crop_face(img, det.box, m, clf.meta.crop_square))
        out["by_margin"][str(m)] = {"happy": float(p[happy]), "top": clf.labels[int(p.argmax())]}
    face_w = det.box[2]
    for target in (120, 80, 48, 32, 24):
        f = target / face_w
        small = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_AREA)
        dets = pipe.detector.detect(small)
        if not dets:
            out["by_face_width"][str(target)] = None
            continue
        d = max(dets, key=lambda d: d.score)
        p = clf.classify_crop(crop_face(small, d.box, clf.meta.crop_margin, clf.meta.crop_square))
        out["by_face_width"][str(target)] = {
            "happy": float(p[happy]),
            "top": clf.labels[int(p.argmax())],
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--val", type=Path, required=True, help="FER2013-layout validation folder")
    p.add_argument("--model", type=Path, required=True, help="emotion .tflite (with sidecar)")
    p.add_argument(
        "--per-class", type=int, default=200, help="validation images per label (disgust left out)"
    )
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = p.parse_args(argv)

    pipe = Pipeline.from_config(load_config(None))
    clf = EmotionClassifier(TFLiteModel(args.model))
    result = {
        "model": str(args.model),
        "sidecar_crop_margin": clf.meta.crop_margin,
        "fer_through_detector": fer_through_detector(
            pipe, clf, args.val, args.per_class, args.seed
        ),
        "photo": photo_check(pipe, clf),
    }
    fer = result["fer_through_detector"]
    print(
        f"{args.model.name}: {fer['detected']}/{fer['images']} FER faces detected; "
        f"6-class accuracy on FER's own crops {100 * fer['tight_acc6_all_images']:.1f}%"
    )
    for m, acc in fer["acc6_by_margin_detected"].items():
        flag = "  <- sidecar" if float(m) == clf.meta.crop_margin else ""
        print(f"  detector crop, margin {m:>4}: {100 * acc:.1f}%{flag}")
    print(
        "photo, by margin:",
        {m: f"{v['top']} {v['happy']:.2f}" for m, v in result["photo"]["by_margin"].items()},
    )
    print(
        "photo, by face width (px):",
        {
            w: (f"{v['top']} {v['happy']:.2f}" if v else "not detected")
            for w, v in result["photo"]["by_face_width"].items()
        },
    )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
