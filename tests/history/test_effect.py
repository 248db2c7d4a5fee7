"""The effect estimate on synthetic histories with a known planted effect, and with none."""

from __future__ import annotations

import numpy as np
import pytest

from kiosk.history import effect
from kiosk.history.summary import summarize

N = 10  # minutes each side


def synthetic(rng, switches: int, planted: float, faces: int = 20):
    """A day of minutes with an audience; ``switches`` switch times spaced > 2N minutes
    apart. Each face is happy with chance 0.4 (sad otherwise, valence -0.2 on average),
    plus ``planted``/2 in the N minutes after a switch (valence + planted)."""
    gap = 2 * N + 5
    total = switches * gap + N + 5
    t = np.arange(total) * 60.0
    lift = np.zeros(total)
    times = []
    for k in range(switches):
        m = N + 2 + k * gap
        times.append(t[m] + 30.0)
        lift[m + 1 : m + 1 + N] = planted / 2
    happy = rng.binomial(faces, 0.4 + lift)
    minutes = [
        {"t": float(t[i]), "audience_s": 60.0, "happy": int(happy[i]), "sad": int(faces - happy[i])}
        for i in range(total)
    ]
    return effect.Series.from_rows(minutes), times


def changes(series, times):
    return [effect.change_at(series, t, N) for t in times]


def test_change_uses_only_minutes_with_an_audience():
    minutes = [
        # faces below mood.min_faces: counted, but not an audience
        {"t": -60.0, "audience_s": 0.0, "happy": 0, "sad": 5},
        {"t": 0.0, "audience_s": 60.0, "happy": 1, "sad": 3},  # before: -0.5
        {"t": 60.0, "audience_s": 0.0, "happy": 0, "sad": 0},  # the switch minute
        {"t": 120.0, "audience_s": 0.0, "happy": 0, "sad": 0},  # nobody: ignored
        {"t": 180.0, "audience_s": 60.0, "happy": 3, "sad": 1},  # after: +0.5
    ]
    s = effect.Series.from_rows(minutes)
    assert effect.change_at(s, 90.0, 10) == pytest.approx(1.0)
    assert effect.change_at(s, 90.0, 1) is None  # no audience in the minute after


def test_finds_a_planted_effect_with_enough_samples():
    rng = np.random.default_rng(7)
    series, times = synthetic(rng, switches=40, planted=0.1)
    values = changes(series, times)
    lo, hi = effect.bootstrap_mean(values)
    assert lo > 0, (lo, hi)
    assert lo < 0.1 < hi
    assert np.mean(values) == pytest.approx(0.1, abs=0.03)


def test_null_interval_covers_zero_about_95_percent_of_runs():
    rng = np.random.default_rng(2026)
    covered = 0
    runs = 200
    for _ in range(runs):
        series, times = synthetic(rng, switches=40, planted=0.0)
        lo, hi = effect.bootstrap_mean(changes(series, times))
        covered += lo <= 0 <= hi
    assert 0.90 <= covered / runs <= 0.99, covered


def test_effect_table_per_playlist_counts_only_mood_driven_switches():
    rng = np.random.default_rng(1)
    series, times = synthetic(rng, switches=6, planted=0.1)
    minutes = [
        {"t": int(t), "samples": 30, "seconds": 60.0, "audience_s": 60.0, "faces_sum": 20,
         "faces_max": 20, "happy": int(h), "sad": 20 - int(h), "angry": 0, "disgust": 0,
         "fear": 0, "surprise": 0, "neutral": 0}
        for t, h in zip(series.t, (series.net + 20) / 2, strict=True)
    ]  # fmt: skip
    reasons = ["mood", "override", "mood", "no_audience", "mood", "startup"]
    targets = ["calm", "calm", "uplifting", "calm", "uplifting", "calm"]
    switches = [
        {"t": t, "src": None, "dst": d, "reason": r}
        for t, d, r in zip(times, targets, reasons, strict=True)
    ]
    data = {"minutes": minutes, "switches": switches, "plays": [], "commands": [],
            "faults": [], "decisions": []}  # fmt: skip
    out = summarize(data, 0.0, 1e9, N)
    rows = {e["playlist"]: e for e in out["effect"]}
    assert rows["calm"]["count"] == 2 and rows["uplifting"]["count"] == 2
    assert rows["calm"]["ci95"] is not None
    assert out["experiment"] is None
    assert "observational" in out["note"]


def test_experiment_difference_and_days_to_significance():
    rng = np.random.default_rng(11)
    # Strategy arm: the planted +0.1; control arm: none. Interleaved decisions.
    s1, t1 = synthetic(rng, switches=60, planted=0.1)
    s0, t0 = synthetic(rng, switches=60, planted=0.0)
    treated, control = changes(s1, t1), changes(s0, t0)
    diff, ci, se = effect.arm_difference(treated, control)
    assert ci is not None and ci[0] > 0 and diff == pytest.approx(0.1, abs=0.04)
    assert effect.more_days_needed(diff, se, 120, days=2) == 0
    # A third of the data: not yet significant, and the estimate of days is finite.
    _, _, se3 = effect.arm_difference(treated[:6], control[:6])
    more = effect.more_days_needed(0.02, se3, 12, days=1)
    assert more is not None and more >= 1
    # n needed grows as (1.96 SE / diff)^2: halving the effect needs ~4x the data.
    assert effect.more_days_needed(0.01, se3, 12, days=1) > 3 * more
    assert effect.more_days_needed(0.0, se3, 12, days=1) is None


def test_experiment_summary_from_decisions():
    rng = np.random.default_rng(3)
    series, times = synthetic(rng, switches=20, planted=0.0)
    minutes = [
        {"t": int(t), "audience_s": 60.0, "happy": int(h), "sad": 20 - int(h)}
        for t, h in zip(series.t, (series.net + 20) / 2, strict=True)
    ]
    decisions = [{"t": t, "arm": "strategy" if i % 2 else "control"} for i, t in enumerate(times)]
    x = effect.experiment(effect.Series.from_rows(minutes), decisions, N, days=1)
    assert x["decisions"] == 20 and x["strategy"]["count"] == x["control"]["count"] == 10
    assert x["ci95"][0] <= x["difference"] <= x["ci95"][1]
