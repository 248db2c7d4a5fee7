"""The trajectory play order (music therapy's iso principle): meet the crowd, then move it.

Every track has a point on Russell's valence-arousal plane (its mood estimate), and so does
the crowd (``crowd_point``: the emotion mix averaged over ``EMOTION_POINTS``). The k-th
track of a playlist is the unplayed one nearest the target

    start + (goal - start) * min(k, n) / n        (k = 0, 1, 2, ...)

so the first track meets the crowd and the (n+1)-th reaches the goal. ``start`` is the
crowd's point when the playlist began, ``goal`` the playlist's place
(``music.sorting.places``: where the strategy wants the mood) and ``n`` is
``player.trajectory_tracks``. Shuffle's fairness holds: no track repeats before every track
of the playlist has played, and never the same track twice in a row.

``EMOTION_POINTS``: each classifier label at the angle of the matching affect word on
Russell's circumplex (Russell 1980, "A circumplex model of affect", J. Pers. Soc. Psychol.
39:1161, direct circular scaling; angles approximate, counter-clockwise from "pleasure"),
at radius 0.8: happy ~ "happy" (8 deg), surprise ~ "astonished" (70 deg), angry ~ "angry"
(99 deg), fear ~ "afraid" (117 deg), disgust ~ "annoyed"/"distressed" (130 deg; disgust
is not among Russell's 28 words), sad ~ "sad" (208 deg); neutral is the origin. Their
signs agree with Warriner et al. 2013's valence/arousal norms for the label words (happy:
pleasant, mid-high arousal; sad: unpleasant, low; angry/fear: unpleasant, high).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

T = TypeVar("T")
Point = tuple[float, float]

RADIUS = 0.8
_ANGLES = {"happy": 8, "surprise": 70, "angry": 99, "fear": 117, "disgust": 130, "sad": 208}
EMOTION_POINTS: dict[str, Point] = {
    label: (
        round(RADIUS * math.cos(math.radians(a)), 3),
        round(RADIUS * math.sin(math.radians(a)), 3),
    )
    for label, a in _ANGLES.items()
} | {"neutral": (0.0, 0.0)}


def crowd_point(distribution: Mapping[str, float] | None) -> Point | None:
    """The emotion mix's weighted mean point; None without an audience (empty mix)."""
    if not distribution:
        return None
    total = v = a = 0.0
    for label, weight in distribution.items():
        p = EMOTION_POINTS.get(label)
        if p is None or not isinstance(weight, (int, float)) or not weight > 0:
            continue
        total += weight
        v += weight * p[0]
        a += weight * p[1]
    return (v / total, a / total) if total > 0 else None


def track_point(estimate: Mapping[str, Any] | None) -> Point | None:
    if not estimate:
        return None
    v, a = estimate.get("valence"), estimate.get("arousal")
    ok = isinstance(v, (int, float)) and isinstance(a, (int, float))
    return (float(v), float(a)) if ok and math.isfinite(v) and math.isfinite(a) else None


class TrajectoryOrder(Generic[T]):
    """Endless order over ``items`` like ``PlayOrder``, nearest-to-target instead of random.

    ``estimate(track)`` gives a track's analysis (``valence``, ``arousal``) or None; a track
    without one is taken to sit at the goal (it was filed in this playlist). Ties, and the
    case without any point, are broken at random.
    """

    shuffle = True

    def __init__(
        self,
        items: Sequence[T],
        estimate: Callable[[T], Mapping[str, Any] | None],
        start: Point | None,
        goal: Point | None,
        steps: int = 4,
        rng: random.Random | None = None,
    ) -> None:
        self.items = list(items)
        self._estimate = estimate
        self.goal = goal
        self.start = start if start is not None else goal
        self.steps = max(1, int(steps))
        self._rng = rng or random.Random()
        self._played: set[T] = set()
        self._last: T | None = None
        self.step = 0  # tracks chosen so far
        self.last_target: Point | None = None

    def __len__(self) -> int:
        return len(self.items)

    def target(self, step: int | None = None) -> Point | None:
        """The point the ``step``-th track (from 0) aims at."""
        k = self.step if step is None else step
        if self.start is None or self.goal is None:
            return self.start or self.goal
        f = min(k, self.steps) / self.steps
        return (
            self.start[0] + (self.goal[0] - self.start[0]) * f,
            self.start[1] + (self.goal[1] - self.start[1]) * f,
        )

    def next(self) -> T:
        if not self.items:
            raise IndexError("empty playlist")
        pool = [t for t in self.items if t not in self._played]
        if not pool:  # a new cycle: every track has played
            self._played.clear()
            pool = list(self.items)
        if len(pool) > 1:
            pool = [t for t in pool if t != self._last]
        target = self.target()
        self.last_target = target

        def distance(t: T) -> float:
            if target is None:
                return 0.0
            p = track_point(self._safe_estimate(t)) or self.goal
            return 0.0 if p is None else math.hypot(p[0] - target[0], p[1] - target[1])

        item = min(pool, key=lambda t: (round(distance(t), 9), self._rng.random()))
        self._played.add(item)
        self._last = item
        self.step += 1
        return item

    def continue_after(self, item: T) -> None:
        """Carry on from ``item`` (the track playing when the playlist's files changed)."""
        self._last = item
        if item in self.items:
            self._played.add(item)

    def _safe_estimate(self, track: T) -> Mapping[str, Any] | None:
        try:
            return self._estimate(track)
        except Exception:  # a broken lookup must not stop the music
            return None
