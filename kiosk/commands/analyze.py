"""``kiosk analyze PATH... [--faces] [--json]``: faces and emotions in still images."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from kiosk.commands._common import add_config_arg, build_pipeline_or_exit, load_or_exit, with_model


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze",
        help="find faces and read emotions in images",
        description="Runs the detector and the emotion model on image files or folders "
        "(recursive, sorted). Nothing is written anywhere.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files or folders")
    p.add_argument(
        "--faces", action="store_true", help="each image is one face crop: skip detection"
    )
    p.add_argument("--json", action="store_true", help="one JSON object per image per line")
    p.add_argument("--model", default=None, help="emotion .tflite to use instead of the config's")
    add_config_arg(p)
    p.set_defaults(func=run)


def expand(paths: list[str]) -> list[Path]:
    from kiosk.camera.folder import list_images

    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        out.extend(list_images(p) if p.is_dir() else [p])
    return out


def run(args: argparse.Namespace) -> int:
    import cv2

    from kiosk.camera.base import CameraError

    pipeline = build_pipeline_or_exit(with_model(load_or_exit(args), args.model))
    failures = 0
    for path in expand(args.paths):
        image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
        try:
            if image is None:
                raise CameraError("not found" if not path.exists() else "unreadable image")
            result = pipeline.process_crop(image) if args.faces else pipeline.process(image)
        except CameraError as exc:
            failures += 1
            if args.json:
                print(json.dumps({"image": str(path), "error": str(exc)}), flush=True)
            else:
                print(f"{path}: ERROR {exc}", file=sys.stderr)
            continue
        h, w = image.shape[:2]
        if args.json:
            record = {
                "image": str(path),
                "width": w,
                "height": h,
                "faces": [f.to_dict() for f in result.faces],
                "timing_ms": {k: round(v, 3) for k, v in result.timing_ms.items()},
            }
            print(json.dumps(record), flush=True)
        else:
            t = result.timing_ms
            print(
                f"{path}  {w}x{h}  {len(result.faces)} face(s)  "
                f"detect {t['detect']:.1f} ms  classify {t['classify']:.1f} ms"
            )
            for i, f in enumerate(result.faces):
                x, y, bw, bh = (round(v) for v in f.box)
                top = sorted(f.scores.items(), key=lambda kv: -kv[1])[:3]
                alts = ", ".join(f"{k} {v:.2f}" for k, v in top)
                print(
                    f"  #{i + 1}  box {x},{y} {bw}x{bh}  score {f.score:.2f}  "
                    f"{f.emotion:<8}  ({alts})"
                )
    return 1 if failures else 0
