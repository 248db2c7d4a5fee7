"""Does the music change the mood? Before/after valence around switches, and experiment arms.

Valence of a stretch of minutes = (faces looking happy or surprised - faces looking angry,
sad, fearful or disgusted) / all faces counted, pooled over the minutes that had an
audience. For a switch at time t the change is valence(after) - valence(before), each over
``n`` minutes; the minute of the switch itself belongs to neither side.

The per-playlist comparison is observational (the kiosk switched *because* the mood
changed, so regression to the mean and the time of day are mixed in). The experiment arms
are randomised, so their difference is the causal effect of the strategy over the control.
Intervals are percentile bootstraps with a fixed seed, so a report is reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

POSITIVE = ("happy", "surprise")
NEGATIVE = ("angry", "sad", "fear", "disgust")
MOOD_DRIVEN = ("mood", "override")  # switch reasons the effect table looks at
BOOTSTRAP = 2000
Z95 = 1.959964


@dataclass(frozen=True)
class Series:
    """Per-minute valence inputs, sorted by minute."""

    t: np.ndarray  # minute starts (epoch seconds)
    net: np.ndarray  # positive - negative faces
    faces: np.ndarray  # faces counted (with a label)
    audience: np.ndarray  # bool: the minute had an audience

    @classmethod
    def from_rows(cls, minutes: Iterable[dict[str, Any]]) -> Series:
        rows = sorted(minutes, key=lambda r: r["t"])
        t = np.array([r["t"] for r in rows], dtype=np.float64)
        pos = np.array([sum(r.get(k, 0) for k in POSITIVE) for r in rows], dtype=np.float64)
        neg = np.array([sum(r.get(k, 0) for k in NEGATIVE) for r in rows], dtype=np.float64)
        labelled = [sum(r.get(k, 0) for k in (*POSITIVE, *NEGATIVE, "neutral")) for r in rows]
        faces = np.array(labelled, dtype=np.float64)
        audience = np.array([r.get("audience_s", 0) > 0 for r in rows], dtype=bool) & (faces > 0)
        return cls(t, pos - neg, faces, audience)


def change_at(s: Series, t: float, n_minutes: int) -> float | None:
    """Valence after minus before a switch at ``t``; None when a side had no audience."""
    t0 = math.floor(t / 60.0) * 60.0
    span = n_minutes * 60.0
    before = s.audience & (s.t >= t0 - span) & (s.t < t0)
    after = s.audience & (s.t > t0) & (s.t <= t0 + span)
    fb, fa = s.faces[before].sum(), s.faces[after].sum()
    if fb <= 0 or fa <= 0:
        return None
    return float(s.net[after].sum() / fa - s.net[before].sum() / fb)


def bootstrap_mean(values: Sequence[float], seed: int = 0) -> tuple[float, float] | None:
    """Percentile bootstrap 95 % interval of the mean; None below two values."""
    x = np.asarray(values, dtype=np.float64)
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(BOOTSTRAP, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _ci(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [round(pair[0], 4), round(pair[1], 4)]


def effect_by_playlist(
    s: Series, switches: Iterable[dict[str, Any]], n_minutes: int
) -> list[dict[str, Any]]:
    """One row per target playlist of the mood-driven switches and overrides."""
    changes: dict[str, list[float]] = {}
    for sw in switches:
        if sw.get("reason") not in MOOD_DRIVEN or sw.get("to") is None:
            continue
        c = change_at(s, float(sw["t"]), n_minutes)
        if c is not None:
            changes.setdefault(str(sw["to"]), []).append(c)
    out = []
    for playlist in sorted(changes):
        values = changes[playlist]
        out.append(
            {
                "playlist": playlist,
                "count": len(values),
                "mean_change": round(float(np.mean(values)), 4),
                "ci95": _ci(bootstrap_mean(values)),
            }
        )
    return out


def effect_by_order(
    s: Series, plays: Iterable[dict[str, Any]], n_minutes: int
) -> dict[str, Any] | None:
    """Valence change around each track start, by the order mode that chose the track
    (``player.order``); with ``experiment`` the modes are randomised, so the difference is
    causal. None when no play recorded a mode."""
    changes: dict[str, list[float]] = {}
    for p in plays:
        mode = p.get("order_mode")
        if not mode:
            continue
        c = change_at(s, float(p["start"]), n_minutes)
        changes.setdefault(str(mode), [])
        if c is not None:
            changes[str(mode)].append(c)
    if not changes:
        return None
    rows = [
        {"order": m, "count": len(v), "mean_change": _mean(v), "ci95": _ci(bootstrap_mean(v))}
        for m, v in sorted(changes.items())
    ]
    diff, ci, _ = arm_difference(changes.get("trajectory", []), changes.get("shuffle", []))
    return {
        "orders": rows,
        "trajectory_minus_shuffle": None if math.isnan(diff) else round(diff, 4),
        "ci95": _ci(ci),
    }


def arm_difference(
    treated: Sequence[float], control: Sequence[float], seed: int = 0
) -> tuple[float, tuple[float, float] | None, float | None]:
    """(mean treated - mean control, bootstrap 95 % interval, standard error)."""
    a, b = np.asarray(treated, dtype=np.float64), np.asarray(control, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return float("nan"), None, None
    diff = float(a.mean() - b.mean())
    if a.size < 2 or b.size < 2:
        return diff, None, None
    rng = np.random.default_rng(seed)
    da = a[rng.integers(0, a.size, size=(BOOTSTRAP, a.size))].mean(axis=1)
    db = b[rng.integers(0, b.size, size=(BOOTSTRAP, b.size))].mean(axis=1)
    lo, hi = np.percentile(da - db, [2.5, 97.5])
    se = math.sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return diff, (float(lo), float(hi)), se


def more_days_needed(diff: float, se: float | None, n: int, days: float) -> int | None:
    """Days more (at today's rate of decisions) until |diff| / SE reaches 1.96, assuming the
    difference and the spread stay as they are. 0: already significant; None: cannot say."""
    if se is None or not math.isfinite(diff) or diff == 0 or n <= 0 or days <= 0:
        return None
    if abs(diff) >= Z95 * se:
        return 0
    n_needed = n * (Z95 * se / abs(diff)) ** 2  # SE shrinks as 1/sqrt(n)
    per_day = n / days
    return max(1, math.ceil((n_needed - n) / per_day))


def experiment(
    s: Series, decisions: Iterable[dict[str, Any]], n_minutes: int, days: float
) -> dict[str, Any] | None:
    """The randomised comparison of the arms; None when the experiment never ran."""
    arms: dict[str, list[float]] = {"strategy": [], "control": []}
    decided = 0
    for d in decisions:
        decided += 1
        c = change_at(s, float(d["t"]), n_minutes)
        if c is not None and d.get("arm") in arms:
            arms[str(d["arm"])].append(c)
    if decided == 0:
        return None
    diff, ci, se = arm_difference(arms["strategy"], arms["control"])
    n = len(arms["strategy"]) + len(arms["control"])
    return {
        "decisions": decided,
        "strategy": {"count": len(arms["strategy"]), "mean_change": _mean(arms["strategy"])},
        "control": {"count": len(arms["control"]), "mean_change": _mean(arms["control"])},
        "difference": None if math.isnan(diff) else round(diff, 4),
        "ci95": _ci(ci),
        "significant": bool(ci is not None and (ci[0] > 0 or ci[1] < 0)),
        "more_days_needed": more_days_needed(diff, se, n, days),
    }


def _mean(values: Sequence[float]) -> float | None:
    return round(float(np.mean(values)), 4) if values else None
