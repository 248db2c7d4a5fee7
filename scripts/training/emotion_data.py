#!/usr/bin/env python3
"""Data for the emotion scripts beyond FER2013 folders: FER+ votes and wild face photos.

    python scripts/training/emotion_data.py --wild ../shared/data/wild_train \
        --split models/training/wild_split.csv --cache runs/wild

FER+ (``ferplus_*.npz``: images, votes, names) gives vote distributions over the kiosk's
label order (contempt, unknown and not-a-face dropped). The wild photos are framed the way
the daemon frames a camera face: the kiosk's own BlazeFace detector and crop_face on the
whole photo, then kiosk.vision.preprocess.model_pixels; a photo where no face is found falls
back to a centre square. The split (a fixed, seeded 20 % per source and label held out) is a
CSV committed under models/training/ so every run and measurement uses the same faces.
Boxes and crops are cached under runs/ (gitignored); no image is ever committed.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from emotion_common import LABELS

from kiosk.vision.evaluate import VOTE_COLUMNS, majority_labels
from kiosk.vision.preprocess import crop_face, model_pixels

log = logging.getLogger("emotion")

# FER+ vote columns (kiosk eval reads the same files), and where each lands in LABELS
# (None: dropped).
FERPLUS_COLUMNS = VOTE_COLUMNS
FERPLUS_TO_LABEL = [LABELS.index(c) if c in LABELS else None for c in FERPLUS_COLUMNS]
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}


def votes_to_labels(votes: np.ndarray) -> np.ndarray:
    """(N, 10) FER+ votes to (N, 7) vote counts in LABELS order (the dropped columns gone)."""
    out = np.zeros((len(votes), len(LABELS)), dtype=np.float32)
    for col, lab in enumerate(FERPLUS_TO_LABEL):
        if lab is not None:
            out[:, lab] += votes[:, col]
    return out


def ferplus_soft(votes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vote distributions (N, 7) and a keep mask: images with no emotion vote are dropped."""
    counts = votes_to_labels(votes)
    total = counts.sum(axis=1, keepdims=True)
    keep = total[:, 0] > 0
    return counts / np.maximum(total, 1), keep


def ferplus_majority(votes: np.ndarray) -> np.ndarray:
    """Microsoft's majority rule per image (kiosk eval's own): LABELS index, or -1."""
    return np.array([-1 if lab is None else LABELS.index(lab) for lab in majority_labels(votes)])


def load_ferplus(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


# --- wild photos -------------------------------------------------------------------------


def list_wild(root: Path) -> list[tuple[str, str, str]]:
    """(source, label, path relative to root) for every image under root/<source>/<label>/."""
    rows = []
    for source in sorted(d for d in root.iterdir() if d.is_dir()):
        for label_dir in sorted(d for d in source.iterdir() if d.is_dir()):
            if label_dir.name not in LABELS:
                continue
            for f in sorted(label_dir.iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    rows.append((source.name, label_dir.name, f.relative_to(root).as_posix()))
    return rows


def make_split(rows: list[tuple[str, str, str]], frac: float, seed: int) -> list[dict]:
    """A seeded stratified hold-out: round(frac * n) of every (source, label) group."""
    rng = np.random.default_rng(seed)
    out = []
    groups: dict[tuple[str, str], list[str]] = {}
    for source, label, rel in rows:
        groups.setdefault((source, label), []).append(rel)
    for (source, label), rels in sorted(groups.items()):
        n_val = round(frac * len(rels))
        val = set(rng.permutation(len(rels))[:n_val].tolist())
        for i, rel in enumerate(rels):
            out.append(
                {
                    "path": rel,
                    "source": source,
                    "label": label,
                    "split": "val" if i in val else "train",
                }
            )
    return out


def group_of(row: dict) -> str:
    """Who or what a photo shows beyond itself: SFEW's film clip (movie and timestamp, the
    first two parts of the name), muxspace's person (the name before the counter). The split
    is random per image, so a held-out face can share a clip or a person with training;
    emotion_measure.py reports the held-out faces whose group training never saw apart."""
    name = row["path"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if row["source"] == "sfew":
        return row["source"] + ":" + "_".join(name.split("_")[:2])
    return row["source"] + ":" + name.rsplit("_", 1)[0]


def read_split(path: Path) -> list[dict]:
    with path.open(newline="") as fh:
        return list(csv.DictReader(fh))


def write_split(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=["path", "source", "label", "split"])
        w.writeheader()
        w.writerows(rows)


def pick_face(dets: list, width: int, height: int):
    """The labelled face of a photo: the largest box, discounted by distance from centre."""
    if not dets:
        return None
    diag = float(np.hypot(width, height))

    def key(d):
        x, y, w, h = d.box
        off = np.hypot(x + w / 2 - width / 2, y + h / 2 - height / 2) / diag
        return w * h * (1.0 - off)

    return max(dets, key=key)


def centre_box(width: int, height: int) -> tuple[float, float, float, float]:
    """Fallback box: the central square of the photo (the wild sets are face-centred)."""
    side = min(width, height)
    return ((width - side) / 2, (height - side) / 2, float(side), float(side))


def find_face(det, img: np.ndarray):
    """The labelled face's box in img pixels, or None.

    The wild photos are mostly cut tight round the face, and BlazeFace needs the head
    outline that a camera frame has; where the plain photo gives nothing, it is scaled to
    at least 144 px and given replicated edges (a third of its side), as
    scripts/training/emotion_framing.py does for FER crops, and the box is mapped back.
    """
    h, w = img.shape[:2]
    d = pick_face(det.detect(img), w, h)
    if d is not None:
        return d.box
    f = max(1.0, 144.0 / min(h, w))
    big = cv2.resize(img, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC) if f > 1 else img
    pad = max(big.shape[:2]) // 3
    framed = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    d = pick_face(det.detect(framed), framed.shape[1], framed.shape[0])
    if d is None:
        return None
    x, y, bw, bh = d.box
    return ((x - pad) / f, (y - pad) / f, bw / f, bh / f)


def detect_boxes(root: Path, rows: list[dict], cache: Path) -> dict[str, dict]:
    """{path: {"box": [x, y, w, h], "found": bool}} through the kiosk's own detector."""
    if cache.exists():
        boxes = json.loads(cache.read_text())
        if all(r["path"] in boxes for r in rows):
            return boxes
    from kiosk.vision.config import DetectorConfig
    from kiosk.vision.detector import FaceDetector
    from kiosk.vision.runtime import TFLiteModel

    repo = Path(__file__).resolve().parents[2]
    det = FaceDetector(
        TFLiteModel(repo / "models/face_detection_full_range.tflite", 1), DetectorConfig()
    )
    boxes = {}
    for r in rows:
        img = cv2.imread(str(root / r["path"]), cv2.IMREAD_COLOR)
        if img is None:
            log.warning("unreadable, skipped: %s", r["path"])
            continue
        h, w = img.shape[:2]
        box = find_face(det, img)
        boxes[r["path"]] = {
            "box": list(box) if box else list(centre_box(w, h)),
            "found": box is not None,
        }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(boxes))
    return boxes


def wild_pixels(
    root: Path, rows: list[dict], boxes: dict[str, dict], spec, margin: float, square: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Model-input pixels of each row's face (crop_face + model_pixels), labels, found flags."""
    xs, ys, found = [], [], []
    for r in rows:
        b = boxes.get(r["path"])
        if b is None:
            continue
        img = cv2.imread(str(root / r["path"]), cv2.IMREAD_COLOR)
        xs.append(model_pixels(crop_face(img, tuple(b["box"]), margin, square), spec))
        ys.append(LABELS.index(r["label"]))
        found.append(b["found"])
    return np.stack(xs), np.asarray(ys, np.int64), np.asarray(found, bool)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--wild", type=Path, required=True, help="wild_train root (source/label/img)")
    p.add_argument("--split", type=Path, default=Path("models/training/wild_split.csv"))
    p.add_argument("--cache", type=Path, default=Path("runs/wild"), help="boxes cache folder")
    p.add_argument("--val-fraction", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=1234)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if args.split.exists():
        rows = read_split(args.split)
        log.info("split %s: %d rows (kept as is)", args.split, len(rows))
    else:
        rows = make_split(list_wild(args.wild), args.val_fraction, args.seed)
        write_split(args.split, rows)
        log.info("split %s written: %d rows", args.split, len(rows))
    boxes = detect_boxes(args.wild, rows, args.cache / "boxes.json")
    for source in sorted({r["source"] for r in rows}):
        sub = [r for r in rows if r["source"] == source and r["path"] in boxes]
        miss = sum(not boxes[r["path"]]["found"] for r in sub)
        log.info("%s: %d images, no face found in %d (centre crop)", source, len(sub), miss)
    return 0


if __name__ == "__main__":
    sys.exit(main())
