"""Extract mood features for the 4Q training clips into a cached .npz (train-time only).

    nice -n 10 .venv/bin/python scripts/training/music_features.py \
        --data ../shared/data/music_4q --out runs/music_features.npz

The features come from kiosk.music_analysis.features, the same code the kiosk runs, on the
same excerpt the kiosk takes, so training and inference see identical numbers.
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from kiosk.music_analysis import features
from kiosk.music_analysis.decode import mood_excerpt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, required=True, help="music_4q folder")
    ap.add_argument("--out", type=Path, required=True, help="output .npz")
    ap.add_argument("--segments", type=int, default=1, help="features per equal part of the clip")
    ap.add_argument(
        "--hop",
        type=float,
        default=0.0,
        help="with --segments N: overlapping windows of 1/N clip, about HOP s apart "
        "(augmentation); the first and last windows are the non-overlapping halves",
    )
    ap.add_argument(
        "--transcode",
        default=None,
        help="re-encode each clip first with these ffmpeg args, e.g. '-b:a 128k -f mp3' "
        "(checks the model on MP3 input, as the independent check decodes MP3)",
    )
    ap.add_argument("--limit", type=int, default=0, help="only the first N clips (smoke test)")
    args = ap.parse_args(argv)
    with open(args.data / "metadata.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if args.limit:
        rows = rows[:: max(1, len(rows) // args.limit)][: args.limit]
    names: list[str] | None = None
    feats, keep = [], []
    t0 = time.process_time()
    for i, r in enumerate(rows):
        path = args.data / r["Quadrant"] / f"{r['Song']}.opus"
        try:
            if args.transcode:
                with tempfile.TemporaryDirectory() as tmp:
                    ext = args.transcode.split()[-1]
                    out = Path(tmp) / f"clip.{ext}"
                    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path)]
                    subprocess.run([*cmd, *args.transcode.split(), str(out)], check=True)
                    x = mood_excerpt(out)
            else:
                x = mood_excerpt(path)
            parts = np.array_split(x, args.segments)
            if args.hop:
                win = len(parts[0])
                count = 1 + round(15.0 / args.hop)  # fixed count: every clip alike
                starts = np.linspace(0, len(x) - win, count).astype(int)
                parts = [x[i : i + win] for i in starts]
            fs = [features.extract(part) for part in parts]
            f = fs[0]
        except Exception as exc:  # one bad clip must not stop the run
            print(f"skip {path}: {exc}", file=sys.stderr)
            continue
        if names is None:
            names = list(f)
        feats.append([[g[n] for n in names] for g in fs])
        keep.append(r)
        if i % 50 == 0:
            print(f"{i}/{len(rows)} cpu {time.process_time() - t0:.1f}s", file=sys.stderr)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        args.out,
        X=np.array(feats, np.float64),
        names=np.array(names),
        song=np.array([r["Song"] for r in keep]),
        artist=np.array([r["Artist"] for r in keep]),
        quadrant=np.array([r["Quadrant"] for r in keep]),
        pquad=np.array([float(r["PQuad"]) for r in keep]),
    )
    cpu = time.process_time() - t0
    print(f"{len(keep)} clips, {len(names or [])} features, cpu {cpu:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
