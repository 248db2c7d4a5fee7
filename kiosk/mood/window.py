"""The crowd mood window: per-face emotion probabilities over time → one crowd mood.

How a sample becomes a mood (all of it documented in README "How the mood drives the music"):

1. **Face weight** ``w = detector score × classifier confidence × stay factor``. The
   classifier confidence is the face's top probability, so a blurry, ambiguous face counts
   less than a clear one. Faces under ``min_face_score`` are dropped.
2. **Stay factor.** Faces are followed from sample to sample by position and size (no
   identity, no image kept: only a box centre and width). A face that has been in the same
   place longer than ``long_stay_s`` has its weight halved every further ``long_stay_s``,
   down to ``long_stay_min_weight``. So staff at the till, or one visitor parked in front
   of the camera, cannot outvote the people passing by. Alone, they are still the audience.
3. **Per-sample normalisation.** A sample's distribution is the weighted mean of its faces'
   probability vectors, and the sample's own weight is ``min(1, Σw)``. A crowd of twenty
   and a single clear face both count at most as one sample: the window measures "how did
   the room feel over time", not "how many people were there".
4. **Window.** The crowd distribution is the mean of the sample distributions of the last
   ``window_s`` seconds, weighted by sample weight and by recency (half-life
   ``half_life_s``, an exponential moving average cut at the window's edge). One noisy
   frame is at most one sample among many.
5. **Audience.** A sample shows an audience when it has ``min_faces`` faces. The window is
   "audience present" only when at least ``audience_fraction`` of its samples do, so a
   single false detection in an empty shop does not count as a crowd.

The dominant mood is the distribution's top label and the confidence its share (0..1).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.core.api import EMOTIONS
from kiosk.mood.config import MoodConfig

# A face not seen for this long starts a new stay when it is seen again.
TRACK_FORGET_S = 20.0
# Two detections are the same person when the centres are closer than this many face widths
# and the sizes differ by less than MAX_SIZE_RATIO.
MATCH_DISTANCE = 0.6
MAX_SIZE_RATIO = 1.6


class FaceLike(Protocol):
    """What the window needs from a detected face (``kiosk.vision.pipeline.Face`` fits)."""

    box: tuple[float, float, float, float]
    score: float
    scores: Mapping[str, float]


@dataclass(frozen=True)
class MoodState:
    """The window's verdict at one moment."""

    mood: str | None  # dominant mood; None when there is no audience or no usable face
    confidence: float  # the dominant mood's share of the distribution, 0..1
    distribution: dict[str, float]  # label -> share, sums to 1 (empty without audience)
    faces: int  # faces in the latest sample
    audience: bool
    samples: int  # samples in the window
    window_s: float = 0.0

    def to_event(self) -> dict[str, Any]:
        """The ``mood`` event payload (kiosk.core.events)."""
        return {
            "mood": self.mood,
            "confidence": round(self.confidence, 4),
            "faces": self.faces,
            "distribution": {k: round(v, 4) for k, v in self.distribution.items()},
            "window_s": self.window_s,
            "audience": self.audience,
        }


EMPTY = MoodState(None, 0.0, {}, 0, False, 0)


@dataclass
class _Track:
    cx: float
    cy: float
    width: float
    first_seen: float
    last_seen: float


@dataclass
class _Sample:
    t: float
    faces: int
    weight: float  # min(1, Σ face weights)
    distribution: dict[str, float] | None = field(default=None)


class MoodWindow:
    """Time window of face samples. Not thread-safe: the core serialises access."""

    def __init__(self, cfg: MoodConfig) -> None:
        self.cfg = cfg
        self._samples: deque[_Sample] = deque()
        self._tracks: list[_Track] = []
        self._last_faces = 0

    def reconfigure(self, cfg: MoodConfig) -> None:
        """Apply a new config; samples already collected are kept."""
        self.cfg = cfg

    @property
    def half_life_s(self) -> float:
        return self.cfg.half_life_s or self.cfg.window_s / 2

    def counted(self, faces: Sequence[FaceLike]) -> list[FaceLike]:
        """The faces the mood counts: those at or above ``min_face_score``."""
        return [f for f in faces if f.score >= self.cfg.min_face_score]

    def add(self, t: float, faces: Sequence[FaceLike]) -> MoodState:
        """Add the faces of one sample taken at monotonic time ``t``; return the new state."""
        kept = self.counted(faces)
        stays = self._follow(t, kept)
        total = 0.0
        acc = dict.fromkeys(EMOTIONS, 0.0)
        for face, stay in zip(kept, stays, strict=True):
            probs = _probabilities(face.scores)
            if probs is None:
                continue
            w = max(0.0, min(1.0, face.score)) * max(probs.values()) * stay
            total += w
            for label, p in probs.items():
                acc[label] += w * p
        dist = {k: v / total for k, v in acc.items()} if total > 0 else None
        self._samples.append(_Sample(t, len(kept), min(1.0, total), dist))
        self._last_faces = len(kept)
        return self.state(t)

    def state(self, now: float) -> MoodState:
        """The crowd mood at ``now`` from the samples still inside the window."""
        self._expire(now)
        n = len(self._samples)
        if n == 0:
            return MoodState(None, 0.0, {}, 0, False, 0, self.cfg.window_s)
        with_audience = sum(1 for s in self._samples if s.faces >= self.cfg.min_faces)
        audience = with_audience / n >= self.cfg.audience_fraction
        faces = self._last_faces if self._samples[-1].t >= now - self.cfg.window_s else 0
        if not audience:
            return MoodState(None, 0.0, {}, faces, False, n, self.cfg.window_s)
        acc = dict.fromkeys(EMOTIONS, 0.0)
        total = 0.0
        for s in self._samples:
            if s.distribution is None or s.weight <= 0:
                continue
            w = s.weight * 0.5 ** (max(0.0, now - s.t) / self.half_life_s)
            total += w
            for label, p in s.distribution.items():
                acc[label] += w * p
        if total <= 0:
            return MoodState(None, 0.0, {}, faces, True, n, self.cfg.window_s)
        dist = {k: v / total for k, v in acc.items()}
        mood = max(EMOTIONS, key=lambda k: dist[k])  # ties go to the earlier label
        return MoodState(mood, dist[mood], dist, faces, True, n, self.cfg.window_s)

    def _expire(self, now: float) -> None:
        horizon = now - self.cfg.window_s
        while self._samples and self._samples[0].t <= horizon:
            self._samples.popleft()

    def _follow(self, t: float, faces: Sequence[FaceLike]) -> list[float]:
        """Match faces to tracks by position; return each face's stay factor."""
        self._tracks = [tr for tr in self._tracks if t - tr.last_seen <= TRACK_FORGET_S]
        free = list(self._tracks)
        out: list[float] = []
        for face in faces:
            x, y, w, h = face.box
            cx, cy, width = x + w / 2, y + h / 2, max(w, h, 1e-6)
            best, best_d = None, float("inf")
            for tr in free:
                ratio = max(width, tr.width) / max(min(width, tr.width), 1e-6)
                d = ((cx - tr.cx) ** 2 + (cy - tr.cy) ** 2) ** 0.5 / max(width, tr.width)
                if ratio <= MAX_SIZE_RATIO and d <= MATCH_DISTANCE and d < best_d:
                    best, best_d = tr, d
            if best is None:
                best = _Track(cx, cy, width, t, t)
                self._tracks.append(best)
            else:
                free.remove(best)
                best.cx, best.cy, best.width, best.last_seen = cx, cy, width, t
            out.append(self._stay_factor(t - best.first_seen))
        return out

    def _stay_factor(self, age: float) -> float:
        over = age - self.cfg.long_stay_s
        if over <= 0:
            return 1.0
        return max(self.cfg.long_stay_min_weight, 0.5 ** (over / self.cfg.long_stay_s))


def _probabilities(scores: Mapping[str, float]) -> dict[str, float] | None:
    """The face's scores restricted to the seven moods, renormalised; None if unusable."""
    probs = {k: float(scores.get(k, 0.0)) for k in EMOTIONS}
    probs = {k: (v if v > 0 and v == v else 0.0) for k, v in probs.items()}  # drop NaN/neg
    s = sum(probs.values())
    if s <= 0:
        return None
    return {k: v / s for k, v in probs.items()}
