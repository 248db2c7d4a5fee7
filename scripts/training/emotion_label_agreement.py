#!/usr/bin/env python3
"""How often FER2013's own labels agree with the FER+ majority vote on the same faces.

    python scripts/training/emotion_label_agreement.py --fer ../shared/data/fer2013/validation \
        --ferplus ../shared/data/ferplus/ferplus_valid.npz

fer2013/ holds equalised JPEGs and ferplus/ the raw images, in no shared order, so each
FER+ image is matched to its FER2013 twin by the highest correlation of the two after
equalising both. The agreement is the ceiling a perfect FER+ reader reaches on FER2013
labels: the gate "6 classes on fer2013/validation" measures that disagreement too.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from emotion_common import LABELS, SIX, load_folder
from emotion_data import ferplus_majority, load_ferplus


def unit(x: np.ndarray) -> np.ndarray:
    v = np.stack([cv2.equalizeHist(img) for img in x]).reshape(len(x), -1).astype(np.float32)
    v -= v.mean(1, keepdims=True)
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-6)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--fer", type=Path, required=True)
    p.add_argument("--ferplus", type=Path, required=True)
    p.add_argument("--min-corr", type=float, default=0.9, help="a weaker best match is no match")
    args = p.parse_args()
    xf, yf = load_folder(args.fer)
    z = load_ferplus(args.ferplus)
    yp = ferplus_majority(z["votes"])
    a, b = unit(z["images"]), unit(xf)
    best = np.empty(len(a), np.int64)
    corr = np.empty(len(a), np.float32)
    for i in range(0, len(a), 512):
        s = a[i : i + 512] @ b.T
        best[i : i + 512] = s.argmax(1)
        corr[i : i + 512] = s.max(1)
    matched = corr >= args.min_corr
    six = [LABELS.index(lab) for lab in SIX]
    both = matched & (yp >= 0) & np.isin(yp, six) & np.isin(yf[best], six)
    agree = float((yp[both] == yf[best][both]).mean())
    out = {
        "ferplus_images": len(a),
        "matched": int(matched.sum()),
        "matched_distinct_fer2013_images": len(np.unique(best[matched])),
        "median_best_correlation": float(np.median(corr)),
        "six_class_pairs": int(both.sum()),
        "fer2013_label_equals_ferplus_majority_6cls": agree,
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
