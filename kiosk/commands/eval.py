"""``kiosk eval DIR``: accuracy of the emotion model on labelled face crops."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from kiosk.commands._common import add_config_arg, build_pipeline_or_exit, load_or_exit, with_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="accuracy of the emotion model on a labelled folder",
        description="DIR holds one subfolder per label (FER2013 names) of face crops. "
        "Prints accuracy, per-class recall, the confusion matrix and latency.",
    )
    p.add_argument("dir", help="folder with one subfolder per label")
    p.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="LABEL",
        help="leave out images of this label and never predict it (repeatable; comma lists ok)",
    )
    p.add_argument(
        "--restrict",
        default=None,
        metavar="LABELS",
        help="comma list: evaluate only these labels, argmax only over them",
    )
    p.add_argument("--limit", type=int, default=0, help="at most N images per label (0 = all)")
    p.add_argument("--model", default=None, help="emotion .tflite to use instead of the config's")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    add_config_arg(p)
    p.set_defaults(func=run)


def _split(values: list[str]) -> list[str]:
    return [v.strip() for item in values for v in item.split(",") if v.strip()]


def run(args: argparse.Namespace) -> int:
    import cv2

    from kiosk.camera.folder import list_images

    pipeline = build_pipeline_or_exit(with_model(load_or_exit(args), args.model))
    labels = pipeline.labels
    root = Path(args.dir)
    if not root.is_dir():
        print(f"kiosk eval: {root} is not a folder", file=sys.stderr)
        return 2
    excluded = set(_split(args.exclude))
    active = (
        _split([args.restrict]) if args.restrict else [lab for lab in labels if lab not in excluded]
    )
    bad = [lab for lab in [*active, *excluded] if lab not in labels]
    if bad:
        print(f"kiosk eval: unknown label(s) {bad}; the model knows {labels}", file=sys.stderr)
        return 2
    folders = {d.name: d for d in root.iterdir() if d.is_dir()}
    missing = [lab for lab in active if lab not in folders]
    if missing:
        print(f"kiosk eval: no subfolder for {missing} in {root}", file=sys.stderr)
        return 2
    cols = [labels.index(lab) for lab in active]
    confusion = np.zeros((len(active), len(active)), dtype=np.int64)
    latencies: list[float] = []
    unreadable = 0
    for ti, label in enumerate(active):
        files = list_images(folders[label])
        if args.limit:
            files = files[: args.limit]
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_COLOR)
            if img is None:
                unreadable += 1
                continue
            t0 = time.perf_counter()
            probs = pipeline.classifier.classify_crop(img)
            latencies.append((time.perf_counter() - t0) * 1000)
            confusion[ti, int(np.argmax(probs[cols]))] += 1
    total = int(confusion.sum())
    if total == 0:
        print("kiosk eval: no readable images", file=sys.stderr)
        return 1
    recall = {
        lab: float(confusion[i, i] / max(1, confusion[i].sum())) for i, lab in enumerate(active)
    }
    lat = np.array(latencies)
    result = {
        "dir": str(root),
        "model": str(pipeline.classifier.model.path),
        "labels": active,
        "images": total,
        "unreadable": unreadable,
        "accuracy": float(np.trace(confusion) / total),
        "balanced_accuracy": float(np.mean(list(recall.values()))),
        "recall": recall,
        "confusion": confusion.tolist(),
        "latency_ms": {"median": float(np.median(lat)), "p95": float(np.percentile(lat, 95))},
    }
    if args.json:
        print(json.dumps(result))
        return 0
    print(f"model     {result['model']}")
    print(f"images    {total} over {len(active)} labels ({unreadable} unreadable)")
    print(f"accuracy  {result['accuracy']:.2%}   balanced {result['balanced_accuracy']:.2%}")
    print(
        f"latency   median {result['latency_ms']['median']:.2f} ms, "
        f"p95 {result['latency_ms']['p95']:.2f} ms per face (preprocess + invoke)"
    )
    print("recall    " + "  ".join(f"{lab} {r:.2%}" for lab, r in recall.items()))
    width = max(8, *(len(lab) for lab in active)) + 1
    print("confusion (rows = truth, columns = prediction)")
    print(" " * width + "".join(f"{lab[:7]:>8}" for lab in active))
    for i, lab in enumerate(active):
        print(f"{lab:<{width}}" + "".join(f"{v:>8}" for v in confusion[i]))
    return 0
