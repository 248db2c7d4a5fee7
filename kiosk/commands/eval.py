"""``kiosk eval PATH``: accuracy of the emotion model on labelled face crops.

The formats PATH may have and the scoring live in ``kiosk.vision.evaluate``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.commands._common import add_config_arg, build_pipeline_or_exit, load_or_exit, with_model
from kiosk.vision.evaluate import EvalInputError, evaluate, load_samples


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="accuracy of the emotion model on a labelled folder",
        description="PATH is a folder with one subfolder per label (FER2013 names) of face "
        "crops, a FER+ .npz (images, votes) or a folder of crops with a votes.csv (FER+ "
        "vote columns; majority rule). Prints accuracy, per-class recall, the confusion "
        "matrix and latency.",
    )
    p.add_argument("dir", metavar="PATH", help="label folders, a votes .npz, or crops + votes.csv")
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


# FER+ vote columns in the order of its files, as kiosk label names (None: not an emotion
# the kiosk knows).
def run(args: argparse.Namespace) -> int:
    pipeline = build_pipeline_or_exit(with_model(load_or_exit(args), args.model))
    labels = pipeline.labels
    root = Path(args.dir)
    excluded = set(_split(args.exclude))
    active = (
        _split([args.restrict]) if args.restrict else [lab for lab in labels if lab not in excluded]
    )
    bad = [lab for lab in [*active, *excluded] if lab not in labels]
    if bad:
        print(f"kiosk eval: unknown label(s) {bad}; the model knows {labels}", file=sys.stderr)
        return 2
    try:
        samples, kind, no_majority = load_samples(root, active, args.limit)
    except EvalInputError as exc:
        print(f"kiosk eval: {exc}", file=sys.stderr)
        return 2
    result = {
        "dir": str(root),
        "source": kind,
        "model": str(pipeline.classifier.model.path),
        **evaluate(pipeline.classifier, samples, active),
    }
    if kind != "folders":
        result["no_majority"] = no_majority
    total = result["images"]
    if total == 0:
        print("kiosk eval: no readable images", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
        return 0
    unreadable = result["unreadable"]
    print(f"model     {result['model']}")
    extra = f", {no_majority} without a majority vote" if kind != "folders" else ""
    print(f"images    {total} over {len(active)} labels ({unreadable} unreadable{extra})")
    print(f"accuracy  {result['accuracy']:.2%}   balanced {result['balanced_accuracy']:.2%}")
    print(
        f"latency   median {result['latency_ms']['median']:.2f} ms, "
        f"p95 {result['latency_ms']['p95']:.2f} ms per face (preprocess + invoke)"
    )
    print("recall    " + "  ".join(f"{lab} {r:.2%}" for lab, r in result["recall"].items()))
    width = max(8, *(len(lab) for lab in active)) + 1
    print("confusion (rows = truth, columns = prediction)")
    print(" " * width + "".join(f"{lab[:7]:>8}" for lab in active))
    for i, lab in enumerate(active):
        print(f"{lab:<{width}}" + "".join(f"{v:>8}" for v in result["confusion"][i]))
    return 0
