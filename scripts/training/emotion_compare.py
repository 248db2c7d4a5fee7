#!/usr/bin/env python3
"""The old default, the new default and their average (the cheap ensemble), side by side.

    python scripts/training/emotion_compare.py --json models/training/compare_issue24.json

Every face goes through the kiosk's own code (detector boxes, ``crop_face``, the
classifier with each model's sidecar), once per model; the ensemble is the mean of the two
models' probabilities for the same face, as a daemon running both would compute it. Six
classes (disgust left out, argmax over the other six), on

- ``ferplus_test``: FER2013 PublicTest faces, raw, FER+ majority labels (the gate);
- ``wild_*``: the held-out 20 % of wild_train (models/training/wild_split.csv), split by
  source and, for muxspace, into LFW press photos and the Indian film/web photos; each
  ``*_unseen`` keeps only faces whose clip or person training never saw;
- ``fer2013_val``: equalised FER2013 PublicTest with FER2013's own labels (information).

It also sweeps the crop margin and the new net's equalisation on the wild faces, counts
how often each model answers each class (a prior towards neutral costs most on posed,
class-balanced sets), reads the bundled portraits, and gives the calibration of the top
probability (what the mood window weighs a face by).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion_common import LABELS as EMO
from emotion_common import SIX
from emotion_data import detect_boxes, group_of, read_split
from emotion_measure import THRESHOLDS, calibration

from kiosk.vision.classifier import EmotionClassifier, load_meta
from kiosk.vision.evaluate import load_samples
from kiosk.vision.preprocess import crop_face
from kiosk.vision.runtime import TFLiteModel

REPO = Path(__file__).resolve().parents[2]
OLD = REPO / "models/emotion_cnn_int8.tflite"
NEW = REPO / "models/emotion_cnn_real_int8.tflite"
MARGINS = (0.0, 0.04, 0.08, 0.12, 0.16, 0.24)
LFW = re.compile(r"^[A-Za-z'.-]+(_[A-Za-z'.-]+)+_\d{4}$")


def classifiers() -> dict[str, EmotionClassifier]:
    """Each model as its sidecar says, plus the new one without equalisation."""
    out = {k: EmotionClassifier(TFLiteModel(p, 1)) for k, p in (("old", OLD), ("new", NEW))}
    meta = load_meta(NEW).model_copy(update={"equalize": False})
    out["new_noeq"] = EmotionClassifier(TFLiteModel(NEW, 1), meta)
    return out


def scores(probs: np.ndarray, truth: list[str]) -> dict:
    """Accuracy, balanced accuracy and the share of answers per class (six-way argmax)."""
    cols = [EMO.index(lab) for lab in SIX]
    pred = np.array(SIX)[probs[:, cols].argmax(1)]
    truth_a = np.array(truth)
    right = pred == truth_a
    present = [lab for lab in SIX if (truth_a == lab).any()]
    return {
        "images": len(truth),
        "accuracy": round(float(right.mean()), 4),
        "balanced_accuracy": round(
            float(np.mean([right[truth_a == c].mean() for c in present])), 4
        ),
        "recall": {c: round(float(right[truth_a == c].mean()), 3) for c in present},
        "answered": {c: round(float((pred == c).mean()), 3) for c in SIX},
        "truth": {c: round(float((truth_a == c).mean()), 3) for c in SIX},
        "_right": right,
    }


def paired(a: dict, b: dict) -> dict:
    """b minus a on the same faces, with the standard error of the paired difference."""
    d = b["_right"].astype(float) - a["_right"].astype(float)
    return {"diff": round(float(d.mean()), 4), "se": round(float(d.std() / np.sqrt(len(d))), 4)}


def run_all(clfs: dict, crops: list[np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.array([c.classify_crop(x) for x in crops]) for k, c in clfs.items()}


def with_ensemble(p: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {**p, "ensemble": (p["old"] + p["new"]) / 2}


def wild_subsets(rows: list[dict], seen: set[str]) -> dict[str, list[int]]:
    def name(r):
        return r["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]

    subsets: dict[str, list[int]] = {}
    for i, r in enumerate(rows):
        keys = [r["source"]]
        if r["source"] == "muxspace":
            keys.append("muxspace_lfw" if LFW.match(name(r)) else "muxspace_film_web")
        keys += [k + "_unseen" for k in keys if group_of(r) not in seen]
        keys.append("all")
        for k in keys:
            subsets.setdefault(f"wild_{k}", []).append(i)
    return subsets


def portraits(clfs: dict) -> dict:
    """The bundled photos (posed head-and-shoulders portraits) at 256 px, by margin."""
    from kiosk.camera.demo import ASTRONAUT, CAMERAMAN, HOPPER, _head

    out = {}
    for person in (ASTRONAUT, HOPPER, CAMERAMAN):
        head, fx, fy = _head(person)
        s = 256 / head.shape[1]
        img = cv2.resize(head, (256, round(head.shape[0] * s)), interpolation=cv2.INTER_AREA)
        w = person.face[2] * s
        box = (fx * s - w / 2, fy * s - w / 2, w, w)
        res = {}
        for m in MARGINS:
            p = with_ensemble(run_all(clfs, [crop_face(img, box, m, True)]))
            res[str(m)] = {
                k: {e: round(float(v[0, i]), 3) for i, e in enumerate(EMO)} for k, v in p.items()
            }
        out[person.file] = res
    return out


def window_sim(probs: np.ndarray, truth: list[str], windows: int = 1000, seed: int = 0) -> dict:
    """Crowd windows as the mood window builds them (kiosk.mood.window): 4 samples of 1-3
    faces, all showing one true mood, drawn from ``probs``; a face weighs its top probability,
    a sample min(1, sum of weights). Per threshold, the share of windows whose dominant mood
    reaches it and is right, reaches it and is wrong, or stays under it (music kept),
    averaged over the moods with at least 15 faces."""
    rng = np.random.default_rng(seed)
    truth_a = np.array(truth)
    out: dict[str, dict[str, list[float]]] = {}
    moods = [m for m in SIX if (truth_a == m).sum() >= 15]
    for mood in moods:
        pool = probs[truth_a == mood]
        dists, shares = [], []
        for _ in range(windows):
            acc, total = np.zeros(probs.shape[1]), 0.0
            for _ in range(4):
                faces = pool[rng.integers(0, len(pool), rng.integers(1, 4))]
                w = faces.max(1)
                sw = min(1.0, float(w.sum()))
                acc += sw * (w[:, None] * faces).sum(0) / w.sum()
                total += sw
            d = acc / total
            dists.append(EMO[int(d.argmax())])
            shares.append(float(d.max()))
        right = np.array(dists) == mood
        shares_a = np.array(shares)
        for t in THRESHOLDS:
            r = out.setdefault(str(t), {"right": [], "wrong": [], "unclear": []})
            r["right"].append(float(((shares_a >= t) & right).mean()))
            r["wrong"].append(float(((shares_a >= t) & ~right).mean()))
            r["unclear"].append(float((shares_a < t).mean()))
    return {t: {k: round(float(np.mean(v)), 3) for k, v in r.items()} for t, r in out.items()}


def portrait_path(clfs: dict, samples: list, step: int) -> dict:
    """FER+ test faces as 256 px head-and-shoulders photos: upscaled x2.5 (a 120 px face)
    inside replicated edges, found by the kiosk's detector, cropped at each margin. Against
    the same faces' tight crops, the drop shows what the portrait framing path costs."""
    from kiosk.vision.config import DetectorConfig
    from kiosk.vision.detector import FaceDetector

    det = FaceDetector(
        TFLiteModel(REPO / "models/face_detection_full_range.tflite", 1), DetectorConfig()
    )
    tight, framed, truth = [], {m: [] for m in MARGINS}, []
    for _, load, lab in samples[::step]:
        face = load()
        big = cv2.resize(face, (120, 120), interpolation=cv2.INTER_CUBIC)
        big = cv2.cvtColor(
            cv2.copyMakeBorder(big, 68, 68, 68, 68, cv2.BORDER_REPLICATE), cv2.COLOR_GRAY2BGR
        )
        dets = det.detect(big)
        if not dets:
            continue
        box = max(dets, key=lambda d: d.score).box
        truth.append(lab)
        tight.append(face)
        for m in MARGINS:
            framed[m].append(crop_face(big, box, m, True))
    out = {"faces": len(truth), "tried": len(samples[::step])}
    out["tight"] = {
        k: scores(v, truth)["accuracy"] for k, v in with_ensemble(run_all(clfs, tight)).items()
    }
    for m in MARGINS:
        p = with_ensemble(run_all(clfs, framed[m]))
        out[str(m)] = {k: scores(v, truth)["accuracy"] for k, v in p.items()}
    print("portrait path", json.dumps(out), flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    p.add_argument("--split", type=Path, default=REPO / "models/training/wild_split.csv")
    p.add_argument("--cache", type=Path, default=REPO / "runs/wild")
    p.add_argument("--json", type=Path, default=None)
    args = p.parse_args(argv)
    clfs = classifiers()
    assert all(c.labels == EMO for c in clfs.values())
    out: dict = {
        "models": {
            k: {"file": p.name, "sha256": hashlib.sha256(p.read_bytes()).hexdigest()}
            for k, p in (("old", OLD), ("new", NEW))
        },
        "classes": SIX,
        "ensemble": "mean of old's and new's probabilities, each model with its own sidecar",
        "sets": {},
    }
    probs_for_calibration: dict[str, dict] = {}

    def report(name: str, p: dict[str, np.ndarray], truth: list[str]) -> None:
        s = {k: scores(v, truth) for k, v in p.items()}
        s["ensemble_vs_new"] = paired(s["new"], s["ensemble"])
        s["new_vs_old"] = paired(s["old"], s["new"])
        s["noeq_vs_new"] = paired(s["new"], s["new_noeq"])
        out["sets"][name] = s
        line = "  ".join(f"{k} {v['accuracy']:.3f}" for k, v in s.items() if "accuracy" in v)
        print(f"{name:28s} n={len(truth):4d}  {line}", flush=True)

    for name, path in (
        ("ferplus_test", args.data / "ferplus/ferplus_valid.npz"),
        ("fer2013_val", args.data / "fer2013/validation"),
    ):
        samples, _, _ = load_samples(path, SIX)
        crops = [load() for _, load, _ in samples]
        p = with_ensemble(run_all(clfs, crops))
        report(name, p, [lab for _, _, lab in samples])
        if name == "ferplus_test":
            out["portrait_path_ferplus"] = portrait_path(clfs, samples, 3)
            probs_for_calibration[name] = {"p": p, "truth": [lab for _, _, lab in samples]}

    split = read_split(args.split)
    rows = [r for r in split if r["split"] == "val" and r["label"] in SIX]
    seen = {group_of(r) for r in split if r["split"] == "train"}
    root = args.data / "wild_train"
    boxes = detect_boxes(root, rows, args.cache / "boxes.json")
    images = [cv2.imread(str(root / r["path"]), cv2.IMREAD_COLOR) for r in rows]
    truth = [r["label"] for r in rows]
    subsets = wild_subsets(rows, seen)
    sweep: dict = {}
    for m in MARGINS:
        crops = [
            crop_face(im, tuple(boxes[r["path"]]["box"]), m, True)
            for im, r in zip(images, rows, strict=True)
        ]
        p = with_ensemble(run_all(clfs, crops))
        for name, idx in sorted(subsets.items()):
            sub = {k: v[idx] for k, v in p.items()}
            t = [truth[i] for i in idx]
            if m == 0.08:
                report(name, sub, t)
            sweep.setdefault(name, {})[str(m)] = {
                k: scores(v, t)["accuracy"] for k, v in sub.items()
            }
        if m == 0.08:
            idx = subsets["wild_all"]
            probs_for_calibration["wild_all"] = {
                "p": {k: v[idx] for k, v in p.items()},
                "truth": truth,
            }
    out["margin_sweep"] = sweep
    out["portraits_256px"] = portraits(clfs)
    out["calibration"] = {
        name: {
            k: calibration(list(zip(c["truth"], v.tolist(), strict=True)), EMO)
            for k, v in c["p"].items()
        }
        for name, c in probs_for_calibration.items()
    }
    out["window_sim"] = {
        name: {k: window_sim(v, c["truth"]) for k, v in c["p"].items() if k != "new_noeq"}
        for name, c in probs_for_calibration.items()
    }
    for s in out["sets"].values():
        for v in s.values():
            v.pop("_right", None)
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
