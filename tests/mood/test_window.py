"""The crowd mood window: weighting, audience, noise, long stays."""

from __future__ import annotations

import pytest
from fakes import face

from kiosk.mood.config import MoodConfig
from kiosk.mood.window import MoodWindow


def make(**kw) -> MoodWindow:
    return MoodWindow(MoodConfig(**{"window_s": 30.0, **kw}))


def test_empty_window_has_no_audience():
    st = make().state(0.0)
    assert (st.mood, st.audience, st.samples, st.confidence) == (None, False, 0, 0.0)


def test_single_happy_face_is_the_mood():
    st = make().add(0.0, [face("happy")])
    assert st.audience and st.mood == "happy" and st.faces == 1
    assert st.confidence == pytest.approx(st.distribution["happy"])
    assert sum(st.distribution.values()) == pytest.approx(1.0)


def test_weights_follow_detector_score_and_confidence():
    w = make()
    # One clear sad face vs. one blurry, low-confidence happy face in the same sample.
    st = w.add(0.0, [face("sad", p=0.95, score=0.95, x=0), face("happy", p=0.4, score=0.55, x=500)])
    assert st.mood == "sad"


def test_faces_below_min_score_are_ignored():
    w = make(min_face_score=0.6)
    st = w.add(0.0, [face("happy", score=0.5)])
    assert st.faces == 0 and not st.audience


def test_crowd_and_single_face_count_once_per_sample():
    w = make(half_life_s=1000)
    # Two samples: a crowd of six happy faces, then a single sad face. Per-sample
    # normalisation makes them count equally, so the crowd does not win 6:1.
    w.add(0.0, [face("happy", p=1.0, score=1.0, x=i * 120) for i in range(6)])
    st = w.add(3.0, [face("sad", p=1.0, score=1.0)])
    assert st.distribution["happy"] == pytest.approx(st.distribution["sad"], rel=0.05)


def test_single_noisy_frame_does_not_flip_the_mood():
    w = make()
    for i in range(8):
        w.add(i * 3.0, [face("happy")])
    st = w.add(24.0, [face("angry", p=0.99, score=0.99)])
    assert st.mood == "happy"


def test_samples_leave_the_window():
    w = make(window_s=10)
    w.add(0.0, [face("sad")])
    assert w.state(9.9).mood == "sad"
    st = w.state(10.0)
    assert st.samples == 0 and st.mood is None and not st.audience


def test_recent_samples_weigh_more():
    w = make(window_s=60, half_life_s=5)
    for t in range(0, 30, 3):
        w.add(float(t), [face("sad")])
    for t in range(30, 39, 3):
        w.add(float(t), [face("happy")])
    assert w.state(38.0).mood == "happy"


def test_one_stray_detection_is_no_audience():
    w = make(audience_fraction=0.3)
    for i in range(9):
        w.add(i * 3.0, [])
    st = w.add(27.0, [face("angry")])
    assert not st.audience and st.mood is None and st.faces == 1


def test_min_faces():
    w = make(min_faces=2, audience_fraction=0.5)
    st = w.add(0.0, [face("happy")])
    assert not st.audience
    st = w.add(3.0, [face("happy", x=0), face("happy", x=400)])
    assert st.audience and st.mood == "happy"


def test_long_stay_is_down_weighted_against_passers_by():
    w = make(window_s=30, long_stay_s=60, long_stay_min_weight=0.1, half_life_s=1000)
    # The same person sits at the same place for 10 minutes looking sad...
    for t in range(0, 600, 3):
        w.add(float(t), [face("sad", x=100)])
    # ...while for the last 30 s happy shoppers pass at other places.
    for t in range(600, 630, 3):
        st = w.add(float(t), [face("sad", x=100), face("happy", x=600 + (t % 9) * 2)])
    assert st.mood == "happy"


def test_without_long_stay_decay_the_sitter_would_tie():
    w = make(window_s=30, long_stay_s=10_000, half_life_s=1000)
    for t in range(0, 630, 3):
        w.add(float(t), [face("sad", x=100), *([face("happy", x=600)] if t >= 600 else [])])
    st = w.state(627.0)
    assert st.distribution["sad"] > 0.4  # the sitter holds on to a large share


def test_a_lone_long_stayer_is_still_the_audience():
    w = make(window_s=30, long_stay_s=30)
    for t in range(0, 300, 3):
        st = w.add(float(t), [face("neutral")])
    assert st.audience and st.mood == "neutral"


def test_unusable_scores_are_ignored():
    w = make()
    bad = face("happy")
    bad = type(bad)(bad.box, 0.9, {"happy": float("nan"), "sad": -1.0})
    st = w.add(0.0, [bad])
    assert st.audience and st.mood is None  # seen, but nothing to read


def test_to_event_is_the_api_payload():
    st = make().add(0.0, [face("happy")])
    ev = st.to_event()
    assert set(ev) == {"mood", "confidence", "faces", "distribution", "window_s", "audience"}
    assert ev["window_s"] == 30.0
