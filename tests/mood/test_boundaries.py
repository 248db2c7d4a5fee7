"""Every threshold tried exactly at its boundary (a `<` turned `<=` must go red).

Shares are binary fractions (0.625, 0.375...) so the arithmetic is exact.
"""

from __future__ import annotations

from datetime import datetime

from fakes import face

from kiosk.config import parse_config
from kiosk.mood.config import MoodConfig
from kiosk.mood.policy import Policy
from kiosk.mood.window import MoodState, MoodWindow

NOON = datetime(2026, 11, 18, 12, 0)
ALL = {"background", "calm", "energetic", "happy", "mellow", "upbeat", "uplifting"}
NOBODY = MoodState(None, 0.0, {}, 0, False, 5)


def crowd(**shares: float) -> MoodState:
    top = max(shares, key=shares.get)
    return MoodState(top, shares[top], dict(shares), 3, True, 5)


def policy_playing_happy(**kw) -> Policy:
    p = Policy(parse_config({"policy": {"min_dwell_s": 0, "strategy": "match", **kw}}).policy)
    p.decide(0.0, NOON, NOBODY, ALL)
    assert p.decide(1.0, NOON, crowd(happy=0.75, sad=0.25), ALL).playlist == "happy"
    return p


def test_a_lead_of_exactly_the_hysteresis_switches():
    p = policy_playing_happy(hysteresis=0.25)
    d = p.decide(2.0, NOON, crowd(sad=0.625, happy=0.375), ALL)  # lead 0.25 == hysteresis
    assert (d.playlist, d.changed) == ("mellow", True)


def test_a_lead_just_under_the_hysteresis_keeps_the_music():
    p = policy_playing_happy(hysteresis=0.25)
    d = p.decide(2.0, NOON, crowd(sad=0.6249, happy=0.3751), ALL)
    assert (d.playlist, d.changed) == ("happy", False)


def test_confidence_of_exactly_min_confidence_switches():
    p = Policy(parse_config({"policy": {"min_confidence": 0.5, "hysteresis": 0}}).policy)
    p.decide(0.0, NOON, NOBODY, ALL)
    d = p.decide(1.0, NOON, crowd(happy=0.5, sad=0.25, neutral=0.25), ALL)
    assert (d.playlist, d.changed) == ("happy", True)


def test_confidence_just_under_min_confidence_keeps_the_music():
    p = Policy(parse_config({"policy": {"min_confidence": 0.5, "hysteresis": 0}}).policy)
    p.decide(0.0, NOON, NOBODY, ALL)
    d = p.decide(1.0, NOON, crowd(happy=0.4999, sad=0.25, neutral=0.2501), ALL)
    assert (d.playlist, d.changed) == ("background", False)


def test_dwell_ends_exactly_at_min_dwell():
    p = Policy(parse_config({"policy": {"min_dwell_s": 64, "hysteresis": 0}}).policy)
    p.decide(0.0, NOON, NOBODY, ALL)
    assert p.decide(1.0, NOON, crowd(happy=0.75, sad=0.25), ALL).changed
    assert not p.decide(64.96875, NOON, crowd(sad=0.75, happy=0.25), ALL).changed
    assert p.decide(65.0, NOON, crowd(sad=0.75, happy=0.25), ALL).changed


def window(**kw) -> MoodWindow:
    return MoodWindow(MoodConfig(**{"window_s": 32.0, "min_faces": 1, **kw}))


def test_face_score_of_exactly_min_face_score_counts():
    w = window(min_face_score=0.5)
    assert len(w.counted([face("happy", score=0.5)])) == 1
    assert len(w.counted([face("happy", score=0.4999)])) == 0


def test_exactly_min_faces_is_an_audience():
    w = window(min_faces=2, audience_fraction=0.5)
    st = w.add(0.0, [face("happy", x=0), face("happy", x=500)])
    assert st.audience
    w = window(min_faces=2, audience_fraction=0.5)
    assert not w.add(0.0, [face("happy")]).audience


def test_exactly_the_audience_fraction_is_an_audience():
    w = window(audience_fraction=0.5)
    w.add(0.0, [])
    st = w.add(1.0, [face("happy")])  # 1 of 2 samples = 0.5
    assert st.audience and st.mood == "happy"
    w = window(audience_fraction=0.5)
    w.add(0.0, [])
    w.add(0.5, [])
    assert not w.add(1.0, [face("happy")]).audience  # 1 of 3


def test_a_sample_exactly_window_s_old_has_left_the_window():
    w = window()
    w.add(0.0, [face("happy")])
    assert w.state(31.96875).samples == 1
    assert w.state(32.0).samples == 0
