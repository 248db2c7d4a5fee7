"""Accuracy of the emotion model on labelled face crops: the logic behind ``kiosk eval``,
also used by the training scripts (scripts/training/).

A labelled set is one of
- a folder with one subfolder per label (FER2013 names) of crops;
- a FER+-style ``.npz`` with ``images`` (N, H, W[, 3]) uint8 and ``votes`` (N, 10);
- a folder of crops with a ``votes.csv`` beside them: a file column (``file``, ``image``
  or FER+'s ``Image name``) and one column of vote counts per FER+ category.

Votes become labels by Microsoft's FER+ majority rule (``majority_labels``); an image
without a majority is skipped and counted.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

VOTE_COLUMNS = [
    "neutral",
    "happy",
    "surprise",
    "sad",
    "angry",
    "disgust",
    "fear",
    "contempt",
    "unknown",
    "not_a_face",
]
# CSV headers compared lower-case with everything but letters removed.
_ALIASES = {"happiness": "happy", "sadness": "sad", "anger": "angry", "nf": "notaface"}
_FILE_COLUMNS = ("file", "image", "imagename", "name", "path")


def _key(header: str) -> str:
    k = "".join(ch for ch in header.lower() if "a" <= ch <= "z")
    return _ALIASES.get(k, k)


class EvalInputError(ValueError):
    """The evaluation set cannot be read as given (exit code 2)."""


def majority_labels(votes: np.ndarray) -> list[str | None]:
    """FER+'s majority rule per image (rows of VOTE_COLUMNS counts).

    Single votes are dropped; the top category wins only with more than half of what is
    left; contempt, unknown and not-a-face winners, and ties, give None.
    """
    v = np.where(votes == 1, 0, votes).astype(np.int64)
    out: list[str | None] = []
    for row in v:
        total = int(row.sum())
        top = int(np.argmax(row))
        tie = int((row == row[top]).sum()) > 1
        label = VOTE_COLUMNS[top]
        ok = total > 0 and row[top] * 2 > total and not tie
        out.append(label if ok and label not in ("contempt", "unknown", "not_a_face") else None)
    return out


def _npz_samples(path: Path):
    try:
        with np.load(path, allow_pickle=False) as z:
            if "images" not in z.files or "votes" not in z.files:
                raise EvalInputError(f"{path}: needs arrays 'images' and 'votes', has {z.files}")
            images, votes = z["images"], z["votes"]
    except (OSError, ValueError) as exc:
        if isinstance(exc, EvalInputError):
            raise
        raise EvalInputError(f"{path}: not a readable .npz: {exc}") from None
    if votes.ndim != 2 or votes.shape[1] != len(VOTE_COLUMNS) or len(votes) != len(images):
        raise EvalInputError(
            f"{path}: votes must be (N, {len(VOTE_COLUMNS)}) for {len(images)} images, "
            f"got {votes.shape}"
        )
    if images.dtype != np.uint8 or images.ndim not in (3, 4):
        raise EvalInputError(f"{path}: images must be uint8 (N, H, W[, 3]), got {images.dtype}")
    labels = majority_labels(votes)
    return [(f"#{i}", lambda i=i: images[i], lab) for i, lab in enumerate(labels)]


def _csv_samples(folder: Path, csv_path: Path):
    import csv

    import cv2

    try:
        with csv_path.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError) as exc:
        raise EvalInputError(f"{csv_path}: unreadable: {exc}") from None
    if not rows:
        raise EvalInputError(f"{csv_path}: empty")
    names = [_key(h) for h in rows[0]]
    file_col = next((i for i, h in enumerate(names) if h in _FILE_COLUMNS), None)
    missing = [c for c in VOTE_COLUMNS if _key(c) not in names]
    if file_col is None or missing:
        raise EvalInputError(
            f"{csv_path}: needs a file column (file, image, Image name, name or path) and "
            f"vote columns {VOTE_COLUMNS}; missing {missing or 'the file column'}"
        )
    cols = [names.index(_key(c)) for c in VOTE_COLUMNS]
    root = folder.resolve()
    samples = []
    for n, row in enumerate(rows[1:], start=2):
        try:
            votes = np.array([[int(float(row[c])) for c in cols]])
            rel = row[file_col].strip()
        except (IndexError, ValueError):
            samples.append((f"{csv_path.name}:{n}", lambda: None, None))
            continue
        target = (folder / rel).resolve()
        # A votes file may only point at images inside its own folder.
        if not target.is_relative_to(root) or not rel:
            samples.append((rel, lambda: None, majority_labels(votes)[0]))
            continue
        samples.append(
            (rel, lambda t=target: cv2.imread(str(t), cv2.IMREAD_COLOR), majority_labels(votes)[0])
        )
    return samples


def _folder_samples(root: Path, active: list[str], limit: int):
    import cv2

    from kiosk.camera.folder import list_images

    folders = {d.name: d for d in root.iterdir() if d.is_dir()}
    missing = [lab for lab in active if lab not in folders]
    if missing:
        raise EvalInputError(f"no subfolder for {missing} in {root}")
    samples = []
    for label in active:
        files = list_images(folders[label])
        if limit:
            files = files[:limit]
        samples += [
            (str(f), lambda f=f: cv2.imread(str(f), cv2.IMREAD_COLOR), label) for f in files
        ]
    return samples


def load_samples(path: Path, active: list[str], limit: int = 0) -> tuple[list, str, int]:
    """(name, load() -> image or None, label or None) for every crop, the kind of source,
    and how many voted images have no majority label."""
    if path.is_file() and path.suffix.lower() == ".npz":
        samples, kind = _npz_samples(path), "votes-npz"
    elif path.is_dir() and (path / "votes.csv").is_file():
        samples, kind = _csv_samples(path, path / "votes.csv"), "votes-csv"
    elif path.is_dir():
        return _folder_samples(path, active, limit), "folders", 0
    else:
        raise EvalInputError(f"{path} is not a folder or a votes .npz")
    no_majority = sum(1 for _, _, lab in samples if lab is None)
    kept, per_label = [], dict.fromkeys(active, 0)
    for name, load, lab in samples:
        if lab in per_label and (not limit or per_label[lab] < limit):
            per_label[lab] += 1
            kept.append((name, load, lab))
    return kept, kind, no_majority


def evaluate(classifier, samples: list, active: list[str], record: list | None = None) -> dict:
    """Accuracy, balanced accuracy, recall and confusion over ``active`` (argmax among them).

    ``record``, when given, receives (label, probabilities) per image for calibration.
    """
    labels = classifier.labels
    cols = [labels.index(lab) for lab in active]
    index = {lab: i for i, lab in enumerate(active)}
    confusion = np.zeros((len(active), len(active)), dtype=np.int64)
    latencies: list[float] = []
    unreadable = 0
    for _name, load, label in samples:
        img = load()
        if img is None or img.size == 0:
            unreadable += 1
            continue
        t0 = time.perf_counter()
        probs = classifier.classify_crop(img)
        latencies.append((time.perf_counter() - t0) * 1000)
        confusion[index[label], int(np.argmax(probs[cols]))] += 1
        if record is not None:
            record.append((label, probs))
    total = int(confusion.sum())
    recall = {
        lab: float(confusion[i, i] / max(1, confusion[i].sum())) for i, lab in enumerate(active)
    }
    present = [r for i, r in enumerate(recall.values()) if confusion[i].sum()]
    lat = np.array(latencies) if latencies else np.zeros(1)
    return {
        "labels": active,
        "images": total,
        "unreadable": unreadable,
        "accuracy": float(np.trace(confusion) / max(1, total)),
        "balanced_accuracy": float(np.mean(present)) if present else 0.0,
        "recall": recall,
        "support": {lab: int(confusion[i].sum()) for i, lab in enumerate(active)},
        "confusion": confusion.tolist(),
        "latency_ms": {"median": float(np.median(lat)), "p95": float(np.percentile(lat, 95))},
    }
