#!/usr/bin/env python3
"""Every real-world and FER figure of an emotion model, through the kiosk's own code.

    python scripts/training/emotion_measure.py --model models/emotion_cnn_int8.tflite \
        --json models/training/measure_emotion_cnn_int8.json

Six classes (disgust left out: images dropped, argmax over the other six), on
- ``ferplus_test``: FER+ public test (FER2013 PublicTest faces, raw), majority of 10 votes;
- ``wild_sfew`` / ``wild_muxspace``: the held-out 20 % of wild_train
  (models/training/wild_split.csv), each photo framed by the kiosk's BlazeFace box and
  crop_face with the model's own sidecar margin (centre square where no face is found);
- ``fer2013_val``: fer2013/validation (equalised FER2013 PublicTest, original labels).

``real_mean`` is the mean of the first three. Calibration: the distribution of the top
probability for right and wrong answers on the wild hold-out, and what share of faces
and of errors each ``min_confidence`` threshold would keep.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion_common import SIX
from emotion_data import detect_boxes, group_of, read_split

from kiosk.vision.classifier import EmotionClassifier, load_meta
from kiosk.vision.evaluate import evaluate, load_samples
from kiosk.vision.preprocess import crop_face
from kiosk.vision.runtime import TFLiteModel

DATA = Path("/work/shared/data")
THRESHOLDS = (0.0, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)


def wild_samples(root: Path, rows: list[dict], boxes: dict, meta) -> list:
    def load(r):
        img = cv2.imread(str(root / r["path"]), cv2.IMREAD_COLOR)
        if img is None:
            return None
        return crop_face(img, tuple(boxes[r["path"]]["box"]), meta.crop_margin, meta.crop_square)

    return [(r["path"], lambda r=r: load(r), r["label"]) for r in rows if r["label"] in SIX]


def calibration(record: list, labels: list[str]) -> dict:
    cols = [labels.index(lab) for lab in SIX]
    top, right = [], []
    for truth, probs in record:
        # The mood window weighs a face by its top probability over all the model's labels.
        p = np.asarray(probs)
        top.append(float(p.max()))
        right.append(SIX[int(p[cols].argmax())] == truth)
    top, right = np.array(top), np.array(right)
    q = [10, 25, 50, 75, 90]
    out = {
        "correct_top_prob_quantiles": dict(
            zip(map(str, q), np.percentile(top[right], q).round(3).tolist(), strict=True)
        )
        if right.any()
        else {},
        "wrong_top_prob_quantiles": dict(
            zip(map(str, q), np.percentile(top[~right], q).round(3).tolist(), strict=True)
        )
        if (~right).any()
        else {},
        "by_threshold": {},
    }
    for t in THRESHOLDS:
        keep = top >= t
        out["by_threshold"][str(t)] = {
            "faces_kept": float(keep.mean()),
            "accuracy_of_kept": float(right[keep].mean()) if keep.any() else 0.0,
            "errors_kept": float((keep & ~right).sum() / max(1, (~right).sum())),
        }
    return out


def bench_classify(models: dict[str, EmotionClassifier], runs: int) -> dict:
    """Median/p95 ms per face of classify(frame, box) on one thread: crop, resize, invoke
    (both invokes with flip_average). Interleaved in rounds of 100 so the shared machine's
    load hits every model alike; the real photo and its face box come with the package."""
    import time

    from kiosk.camera.compose import PHOTO_FACE, photo

    frame = photo()
    times: dict[str, list[float]] = {k: [] for k in models}
    for clf in models.values():
        for _ in range(50):
            clf.classify(frame, PHOTO_FACE)
    for _ in range(max(1, runs // 100)):
        for k, clf in models.items():
            for _ in range(100):
                t0 = time.perf_counter()
                clf.classify(frame, PHOTO_FACE)
                times[k].append((time.perf_counter() - t0) * 1000)
    out = {
        k: {"median_ms": float(np.median(v)), "p95_ms": float(np.percentile(v, 95))}
        for k, v in times.items()
    }
    base = next(iter(out.values()))["median_ms"]
    for v in out.values():
        v["ratio_to_first"] = round(v["median_ms"] / base, 3)
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", type=Path, default=None)
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--split", type=Path, default=Path("models/training/wild_split.csv"))
    p.add_argument("--cache", type=Path, default=Path("runs/wild"))
    p.add_argument("--json", type=Path, default=None)
    p.add_argument(
        "--flip",
        choices=["sidecar", "on", "off"],
        default="sidecar",
        help="flip_average as the sidecar says, or forced on / off (the daemon's code path)",
    )
    p.add_argument(
        "--equalize", action="store_true", help="measure as if the sidecar had equalize on"
    )
    p.add_argument(
        "--bench",
        type=Path,
        nargs="*",
        default=None,
        help="only time classify() per face for these models (the first is the ratio base)",
    )
    p.add_argument("--bench-runs", type=int, default=3000)
    args = p.parse_args(argv)
    if args.bench:
        clfs = {}
        for path in args.bench:
            for flip in (False, True):
                meta = load_meta(path).model_copy(update={"flip_average": flip})
                name = path.name + ("+flip" if flip else "")
                clfs[name] = EmotionClassifier(TFLiteModel(path, 1), meta)
        res = bench_classify(clfs, args.bench_runs)
        print(json.dumps(res, indent=1))
        if args.json:
            args.json.write_text(json.dumps(res, indent=1) + "\n")
        return 0
    if args.model is None:
        p.error("--model is required (or --bench MODEL ...)")
    model = TFLiteModel(args.model, 1)
    meta = load_meta(args.model)
    if args.flip != "sidecar":
        meta = meta.model_copy(update={"flip_average": args.flip == "on"})
    if args.equalize:
        meta = meta.model_copy(update={"equalize": True})
    clf = EmotionClassifier(model, meta)
    sets = {}
    samples, _, _ = load_samples(args.data / "ferplus/ferplus_valid.npz", SIX)
    sets["ferplus_test"] = evaluate(clf, samples, SIX)
    split = read_split(args.split)
    rows = [r for r in split if r["split"] == "val"]
    seen = {group_of(r) for r in split if r["split"] == "train"}
    root = args.data / "wild_train"
    boxes = detect_boxes(root, rows, args.cache / "boxes.json")
    record: list = []
    for source in ("sfew", "muxspace"):
        sub = [r for r in rows if r["source"] == source]
        active = [lab for lab in SIX if any(r["label"] == lab for r in sub)]
        res = evaluate(clf, wild_samples(root, sub, boxes, clf.meta), SIX, record)
        res["labels_present"] = active
        unseen = [r for r in sub if group_of(r) not in seen]
        res["unseen_group"] = evaluate(clf, wild_samples(root, unseen, boxes, clf.meta), SIX)
        res["no_face_centre_crop"] = sum(
            not boxes[r["path"]]["found"] for r in sub if r["label"] in SIX
        )
        sets[f"wild_{source}"] = res
    samples, _, _ = load_samples(args.data / "fer2013/validation", SIX)
    sets["fer2013_val"] = evaluate(clf, samples, SIX)
    real = [sets[k]["accuracy"] for k in ("ferplus_test", "wild_sfew", "wild_muxspace")]
    unseen = [sets[k]["unseen_group"]["accuracy"] for k in ("wild_sfew", "wild_muxspace")]
    out = {
        "model": str(args.model),
        "flip_average": clf.meta.flip_average,
        "equalize": clf.meta.equalize,
        "classes": SIX,
        "real_mean": float(np.mean(real)),
        "real_mean_unseen_groups": float(np.mean([real[0], *unseen])),
        "sets": sets,
        "wild_calibration": calibration(record, clf.labels),
    }
    line = "  ".join(f"{k} {v['accuracy']:.2%}" for k, v in sets.items())
    line += "  unseen-group: " + "  ".join(
        f"{k} {sets[k]['unseen_group']['accuracy']:.2%} ({sets[k]['unseen_group']['images']})"
        for k in ("wild_sfew", "wild_muxspace")
    )
    print(f"{args.model.name}: {line}  real mean {out['real_mean']:.2%}")
    if args.json:
        args.json.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
