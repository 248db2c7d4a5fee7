"""Train and validate the music mood model on cached 4Q features (train-time only; sklearn).

    .venv/bin/python scripts/training/train_music_mood.py --features runs/music_features.npz \
        [--write models/music_mood.json]

Every number is on artists the model never saw: GroupKFold(5) by artist, plus one fixed
held-out artist split (GroupShuffleSplit, 20 %, seed 0) for the reported figures. The baseline
(MFCC + chroma + spectral statistics, 4-class logistic regression) runs on the same splits.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold, GroupShuffleSplit
from sklearn.preprocessing import StandardScaler

from kiosk.music_analysis.mood_model import normal_knots, quantile_normal

QUADS = ["Q1", "Q2", "Q3", "Q4"]
BASELINE = re.compile(
    r"^(mfcc\d+_(mean|std)|chroma\d+_(mean|std)|(centroid|bandwidth|rolloff|flatness)_(mean|std))$"
)
# level_db is the master level: a property of the mastering, not of the mood.
EXCLUDE = re.compile(r"^(level_db)$")


def load(path: Path):
    d = np.load(path)
    q = np.array([QUADS.index(s) for s in d["quadrant"]])
    valence = np.isin(q, [0, 3]).astype(int)  # Q1, Q4 positive
    arousal = np.isin(q, [0, 1]).astype(int)  # Q1, Q2 high
    X = d["X"] if d["X"].ndim == 3 else d["X"][:, None, :]  # clips x segments x features
    return X, list(d["names"]), q, valence, arousal, d["artist"], d["pquad"]


def flat(X, idx, *ys):
    """Every segment of the chosen clips as its own training sample."""
    segs = X.shape[1]
    out = [X[idx].reshape(-1, X.shape[2])]
    return out + [np.repeat(y[idx], segs) for y in ys]


# Segments a test clip is judged on: the kiosk's own (the excerpt's non-overlapping halves,
# the first and last); training may use overlapping windows in between as augmentation.
TEST_SEGMENTS: list[int] | None = None
# Features of the same clips through another codec (--test-features): train on the usual
# features, judge the test clips on these.
TEST_X: np.ndarray | None = None
COLUMNS: list[int] = []


def proba(model, sc, X, idx):
    """Class probabilities of clips: the mean over their segments."""
    if TEST_X is not None and X.shape[2] == TEST_X.shape[2]:
        X = TEST_X
    elif TEST_X is not None:
        X = TEST_X[:, :, COLUMNS]
    Xs = X[idx] if TEST_SEGMENTS is None else X[idx][:, TEST_SEGMENTS]
    n, segs, f = Xs.shape
    p = model.predict_proba(sc.transform(Xs.reshape(-1, f)))
    return p.reshape(n, segs, -1).mean(1)


def quad_from(pv: np.ndarray, pa: np.ndarray) -> np.ndarray:
    """Quadrant probabilities from the two axis probabilities (assumed independent)."""
    return np.stack([pv * pa, (1 - pv) * pa, (1 - pv) * (1 - pa), pv * (1 - pa)], axis=1)


QUANTILES = 0  # --quantiles: knots of the per-feature quantile-normal map (0: off)


class Prep:
    """Quantile-normal map (kiosk.music_analysis.mood_model.quantile_normal), then z-scores."""

    def fit(self, X):
        self.quantiles = None
        if QUANTILES:
            self.knots = normal_knots(QUANTILES)
            levels = np.linspace(0.01, 0.99, QUANTILES)
            self.quantiles = np.quantile(X, levels, axis=0).T
            X = quantile_normal(X, self.quantiles, self.knots)
        self.sc = StandardScaler().fit(X)
        self.mean_, self.scale_ = self.sc.mean_, self.sc.scale_
        return self

    def transform(self, X):
        if self.quantiles is not None:
            X = quantile_normal(X, self.quantiles, self.knots)
        return self.sc.transform(X)


def fit(X, idx, y, C):
    Xf, yf = flat(X, idx, y)
    sc = Prep().fit(Xf)
    m = LogisticRegression(C=C, max_iter=5000).fit(sc.transform(Xf), yf)
    return sc, m


def evaluate(X, q, v, a, tr, te, kind: str, C: float) -> dict[str, float]:
    if kind == "4class":
        sc, m = fit(X, tr, q, C)
        p = proba(m, sc, X, te)
        pq = p.argmax(1)
        pv = p[:, 0] + p[:, 3]
        pa = p[:, 0] + p[:, 1]
    else:
        scv, mv = fit(X, tr, v, C)
        sca, ma = fit(X, tr, a, C)
        pv = proba(mv, scv, X, te)[:, 1]
        pa = proba(ma, sca, X, te)[:, 1]
        pq = quad_from(pv, pa).argmax(1)
    return {
        "quadrant": float(np.mean(pq == q[te])),
        "arousal": float(np.mean((pa > 0.5) == a[te].astype(bool))),
        "valence": float(np.mean((pv > 0.5) == v[te].astype(bool))),
    }


def splits(groups):
    gkf = GroupKFold(n_splits=5)
    cv = list(gkf.split(np.zeros(len(groups)), groups=groups))
    gss = GroupShuffleSplit(n_splits=1, test_size=0.2, random_state=0)
    held = next(gss.split(np.zeros(len(groups)), groups=groups))
    return cv, held


def report(name, X, q, v, a, cv, held, kind, C) -> dict:
    cvs = [evaluate(X, q, v, a, tr, te, kind, C) for tr, te in cv]
    cvm = {k: float(np.mean([c[k] for c in cvs])) for k in cvs[0]}
    h = evaluate(X, q, v, a, *held, kind, C)
    print(
        f"{name:34s} cv  Q {cvm['quadrant']:.3f} A {cvm['arousal']:.3f} V {cvm['valence']:.3f}"
        f" | held Q {h['quadrant']:.3f} A {h['arousal']:.3f} V {h['valence']:.3f}",
        file=sys.stderr,
    )
    return {"cv5_artist": cvm, "held_out_artists": h}


def export(X, names, q, C, out: Path, results: dict) -> None:
    sc, m = fit(X, np.arange(len(q)), q, C)
    assert list(m.classes_) == [0, 1, 2, 3]

    def r(a):
        return [round(float(x), 8) for x in a]

    model = {
        "format": "kiosk-music-mood/2",
        "description": "Multinomial logistic regression on standardized audio features "
        "(kiosk.music_analysis.features) over Q1..Q4; valence = 2(P1+P4)-1, "
        "arousal = 2(P1+P2)-1; probabilities averaged over the excerpt's segments.",
        "training_data": "4Q audio emotion dataset (Panda, Malheiro, Paiva 2018), 700 clips",
        "segments": len(TEST_SEGMENTS) if TEST_SEGMENTS else int(X.shape[1]),
        "features": names,
        "mean": r(sc.mean_),
        "scale": r(sc.scale_),
        # Exact (unrounded): features with ties (shares, rates) sit right on a quantile,
        # and a rounded knot would move them to the other side of it.
        "quantiles": None if sc.quantiles is None else sc.quantiles.tolist(),
        "knots": None if sc.quantiles is None else r(sc.knots),
        "classes": QUADS,
        "coef": [r(row) for row in m.coef_],
        "intercept": r(m.intercept_),
        "C": C,
        "validation": results,
    }
    # One top-level key per line: diffable, and 3x smaller than indenting every number.
    body = ",\n".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in model.items())
    text = "{\n" + body + "\n}\n"
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out} sha256 {hashlib.sha256(text.encode()).hexdigest()}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--features", type=Path, required=True)
    ap.add_argument("--write", type=Path, help="export the chosen model as JSON")
    ap.add_argument(
        "--C", type=float, default=0.02, help="inverse L2 strength of the shipped model"
    )
    ap.add_argument(
        "--test-segments", default=None, help="e.g. 0,-1: judge clips on these segments only"
    )
    ap.add_argument("--test-features", type=Path, help="judge test clips on these features")
    ap.add_argument(
        "--quantiles", type=int, default=50, help="quantile-normal knots per feature (0: off)"
    )
    ap.add_argument("--explore", action="store_true", help="also try other models")
    args = ap.parse_args(argv)
    X, names, q, v, a, artist, _pquad = load(args.features)
    global TEST_SEGMENTS, TEST_X, COLUMNS, QUANTILES
    QUANTILES = args.quantiles
    if args.test_features:
        Xt, names_t, qt, *_ = load(args.test_features)
        assert names_t == names and np.array_equal(qt, q), "same clips, same features"
        TEST_X = Xt
    if args.test_segments:
        TEST_SEGMENTS = [int(i) for i in args.test_segments.split(",")]
    cv, held = splits(artist)
    base = [i for i, n in enumerate(names) if BASELINE.match(n)]
    mine = [i for i, n in enumerate(names) if not EXCLUDE.match(n)]
    COLUMNS = base
    print(f"{len(q)} clips, {len(set(artist))} artists, {len(mine)} features", file=sys.stderr)
    QUANTILES, shipped_quantiles = 0, QUANTILES  # the baseline is plain z-scores
    results = {
        "baseline": report(
            "baseline 4-class logreg C=1", X[:, :, base], q, v, a, cv, held, "4class", 1.0
        )
    }
    QUANTILES = shipped_quantiles
    COLUMNS = mine
    for C in (0.01, 0.03, 0.05, 0.1, 0.3, 1.0):
        report(f"all 4-class C={C}", X[:, :, mine], q, v, a, cv, held, "4class", C)
        report(f"all 2-axis C={C}", X[:, :, mine], q, v, a, cv, held, "axes", C)
    results["model"] = report(
        f"shipped 4-class C={args.C}", X[:, :, mine], q, v, a, cv, held, "4class", args.C
    )
    if args.explore:
        explore(X[:, :, mine], q, v, a, cv, held)
    if args.write:
        export(X[:, :, mine], [names[i] for i in mine], q, args.C, args.write, results)
    return 0


def explore(X, q, v, a, cv, held) -> None:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.svm import SVC

    for name, make in (
        ("svm rbf C=1", lambda: SVC(C=1.0, probability=True)),  # deprecated arg, still works
        (
            "hgb",
            lambda: HistGradientBoostingClassifier(max_iter=200, learning_rate=0.05, max_depth=3),
        ),
    ):
        accs = []
        for tr, te in [*cv, held]:
            out = {}
            for axis, y in (("v", v), ("a", a)):
                Xf, yf = flat(X, tr, y)
                sc = StandardScaler().fit(Xf)
                m = make().fit(sc.transform(Xf), yf)
                out[axis] = proba(m, sc, X, te)[:, 1]
            pq = quad_from(out["v"], out["a"]).argmax(1)
            accs.append(
                (
                    np.mean(pq == q[te]),
                    np.mean((out["a"] > 0.5) == a[te]),
                    np.mean((out["v"] > 0.5) == v[te]),
                )
            )
        cvm = np.mean(accs[:-1], axis=0)
        h = accs[-1]
        print(
            f"{name:34s} cv  Q {cvm[0]:.3f} A {cvm[1]:.3f} V {cvm[2]:.3f}"
            f" | held Q {h[0]:.3f} A {h[1]:.3f} V {h[2]:.3f}",
            file=sys.stderr,
        )


if __name__ == "__main__":
    raise SystemExit(main())
