"""Shared pieces of the emotion training and export scripts (numpy + OpenCV only).

The label order is the model's output order and the sidecar's ``labels``; it matches the
`fer` model so both can be compared column for column.
"""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

LABELS = ["angry", "disgust", "fear", "happy", "sad", "surprise", "neutral"]
SIX = [lab for lab in LABELS if lab != "disgust"]
SHOP = ["angry", "happy", "sad", "neutral"]
SIZE = 48
log = logging.getLogger("emotion")


def load_folder(
    root: Path, limit: int = 0, cache: Path | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """All images under root/<label>/ as uint8 (N, 48, 48) plus int64 label indices.

    Folders are read in sorted order so a seed gives the same run on every machine. A
    cache .npz (keyed by the caller) saves the ~30 s of JPEG decoding on re-runs.
    """
    if cache is not None and cache.exists():
        with np.load(cache) as z:
            return z["x"], z["y"]
    missing = [lab for lab in LABELS if not (root / lab).is_dir()]
    if missing:
        raise SystemExit(f"{root}: no subfolder for {missing}; expected FER2013 layout")
    images: list[np.ndarray] = []
    targets: list[int] = []
    for idx, lab in enumerate(LABELS):
        files = sorted(p for p in (root / lab).iterdir() if p.suffix.lower() in {".jpg", ".png"})
        if limit:
            files = files[:limit]
        for f in files:
            img = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
            if img is None:
                log.warning("unreadable, skipped: %s", f)
                continue
            if img.shape != (SIZE, SIZE):
                img = cv2.resize(img, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
            images.append(img)
            targets.append(idx)
    x, y = np.stack(images), np.asarray(targets, dtype=np.int64)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, x=x, y=y)
    return x, y


def stratified(y: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Indices of about n images, the same number per label (fewer where a label runs out)."""
    rng = np.random.default_rng(seed)
    per = max(1, n // len(LABELS))
    picks = [rng.permutation(np.flatnonzero(y == c))[:per] for c in range(len(LABELS))]
    return np.concatenate(picks)


def resize(x: np.ndarray, size: int) -> np.ndarray:
    """Bilinear resize of a uint8 stack, as the kiosk's classifier does for a 48 px crop."""
    if x.shape[1] == size:
        return x
    return np.stack([cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR) for img in x])


def restricted_confusion(scores: np.ndarray, y: np.ndarray, active: list[str]) -> np.ndarray:
    """Confusion over `active` labels: other-label images dropped, argmax only over them."""
    cols = [LABELS.index(lab) for lab in active]
    lut = np.full(len(LABELS), -1)
    lut[cols] = np.arange(len(cols))
    keep = lut[y] >= 0
    truth = lut[y[keep]]
    pred = np.argmax(scores[keep][:, cols], axis=1)
    cm = np.zeros((len(cols), len(cols)), dtype=np.int64)
    np.add.at(cm, (truth, pred), 1)
    return cm


def report(scores: np.ndarray, y: np.ndarray) -> dict:
    """Accuracy, balanced accuracy, recall and confusion for 7, 6 and 4 (shop) classes."""
    out = {}
    for key, active in (("7", LABELS), ("6", SIX), ("4", SHOP)):
        cm = restricted_confusion(scores, y, active)
        recall = cm.diagonal() / np.maximum(1, cm.sum(axis=1))
        out[key] = {
            "labels": active,
            "accuracy": float(np.trace(cm) / max(1, cm.sum())),
            "balanced_accuracy": float(recall.mean()),
            "recall": {lab: float(r) for lab, r in zip(active, recall, strict=True)},
            "confusion": cm.tolist(),
        }
    return out
