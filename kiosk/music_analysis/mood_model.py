"""The shipped music mood model: JSON weights, numpy at run time (no pickle, no sklearn).

Each feature goes through its training quantiles onto a normal scale, then is standardized;
a multinomial logistic regression gives P(Q1..Q4), averaged over
the excerpt's segments. ``valence = 2 (P1 + P4) - 1`` and ``arousal = 2 (P1 + P2) - 1``
are in [-1, 1]; the quadrant is the most probable one and the confidence its probability.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kiosk import PACKAGE_DIR

FORMAT = "kiosk-music-mood/2"
QUADRANTS = ("Q1", "Q2", "Q3", "Q4")
DEFAULT_MODEL = PACKAGE_DIR.parent / "models" / "music_mood.json"


def normal_knots(count: int) -> np.ndarray:
    """Standard-normal values at ``count`` evenly spaced levels from 1 % to 99 %."""
    from statistics import NormalDist

    return np.array([NormalDist().inv_cdf(p) for p in np.linspace(0.01, 0.99, count)])


def quantile_normal(X: np.ndarray, quantiles: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Map each feature through its training quantiles onto the normal ``knots``.

    Piecewise linear between knots and clamped at the ends (±2.33), so a feature far
    outside the training range (a codec, a genre never seen) cannot dominate the logits.
    ``quantiles`` is (features, knots). Ties are averaged both ways, as scikit-learn does.
    """
    X = np.atleast_2d(np.asarray(X, np.float64))
    out = np.empty_like(X)
    for j in range(X.shape[1]):
        q = quantiles[j]
        fwd = np.interp(X[:, j], q, knots)
        bwd = -np.interp(-X[:, j], -q[::-1], -knots[::-1])
        out[:, j] = 0.5 * (fwd + bwd)
    return out


class ModelError(Exception):
    """The model file is missing, unreadable or malformed."""


@dataclass(frozen=True)
class Mood:
    valence: float
    arousal: float
    quadrant: str
    confidence: float


def quadrant_of(valence: float, arousal: float) -> str:
    """Russell's quadrant: Q1 +V +A, Q2 -V +A, Q3 -V -A, Q4 +V -A (0 counts as positive)."""
    if arousal >= 0:
        return "Q1" if valence >= 0 else "Q2"
    return "Q4" if valence >= 0 else "Q3"


class MoodModel:
    def __init__(self, data: dict, sha256: str) -> None:
        try:
            if data.get("format") != FORMAT:
                raise ModelError(f"unknown model format {data.get('format')!r}")
            self.features: list[str] = [str(n) for n in data["features"]]
            n = len(self.features)
            self.segments = int(data.get("segments", 1))
            self.mean = np.asarray(data["mean"], np.float64)
            self.scale = np.asarray(data["scale"], np.float64)
            self.coef = np.asarray(data["coef"], np.float64)
            self.intercept = np.asarray(data["intercept"], np.float64)
            self.quantiles = None
            if data.get("quantiles") is not None:
                self.quantiles = np.asarray(data["quantiles"], np.float64)
                self.knots = np.asarray(data["knots"], np.float64)
                if self.quantiles.shape != (n, self.knots.size) or self.knots.size < 2:
                    raise ModelError(f"quantiles shaped {self.quantiles.shape}, {n} features")
                if not np.all(np.diff(self.quantiles, axis=1) >= 0):
                    raise ModelError("quantiles must be non-decreasing")
            if tuple(data["classes"]) != QUADRANTS:
                raise ModelError(f"classes must be {QUADRANTS}")
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelError(f"malformed model: {exc!r}") from None
        shapes = [self.mean.shape, self.scale.shape, self.coef.shape, self.intercept.shape]
        if n == 0 or shapes != [(n,), (n,), (4, n), (4,)] or not 1 <= self.segments <= 16:
            raise ModelError(f"malformed model: {n} features but arrays shaped {shapes}")
        finite = all(np.all(np.isfinite(a)) for a in (self.mean, self.coef, self.intercept))
        if not finite or not np.all(self.scale > 0):
            raise ModelError("malformed model: non-finite weights or non-positive scale")
        self.sha256 = sha256

    @classmethod
    def load(cls, path: Path = DEFAULT_MODEL) -> MoodModel:
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelError(f"{path} is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ModelError(f"{path}: not a JSON object")
        return cls(data, hashlib.sha256(raw).hexdigest())

    def probabilities(self, feats: dict[str, float]) -> np.ndarray:
        """P(Q1..Q4) of one segment's features."""
        try:
            x = np.array([feats[n] for n in self.features], np.float64)
        except KeyError as exc:
            raise ModelError(f"feature {exc} missing: model and extractor disagree") from None
        x = np.nan_to_num(x)
        if self.quantiles is not None:
            x = quantile_normal(x[None, :], self.quantiles, self.knots)[0]
        z = np.nan_to_num((x - self.mean) / self.scale)
        z = np.clip(z, -8.0, 8.0)  # an outlier track must not saturate the scores
        logits = self.coef @ z + self.intercept
        e = np.exp(logits - logits.max())
        return e / e.sum()

    def predict(self, segments: list[dict[str, float]]) -> Mood:
        """Mood of a track from its segments' features (probabilities averaged)."""
        p = np.mean([self.probabilities(f) for f in segments], axis=0)
        v = 2 * (p[0] + p[3]) - 1
        a = 2 * (p[0] + p[1]) - 1
        k = int(np.argmax(p))
        return Mood(round(float(v), 4), round(float(a), 4), QUADRANTS[k], round(float(p[k]), 4))
