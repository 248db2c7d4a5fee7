"""Policy: strategies, hysteresis, dwell, no audience, fallbacks, override, schedule."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.config import parse_config
from kiosk.mood.policy import Policy, PolicyError
from kiosk.mood.window import MoodState

NOON = datetime(2026, 11, 18, 12, 0)  # a Wednesday
ALL = {"background", "calm", "energetic", "happy", "mellow", "upbeat", "uplifting"}
NOBODY = MoodState(None, 0.0, {}, 0, False, 5)


def crowd(**shares: float) -> MoodState:
    top = max(shares, key=shares.get)
    return MoodState(top, shares[top], dict(shares), 3, True, 5)


def policy(**kw) -> Policy:
    return Policy(parse_config({"policy": kw}).policy)


def test_startup_plays_the_default_playlist():
    p = policy()
    d = p.decide(0.0, NOON, NOBODY, ALL)
    assert (d.playlist, d.reason, d.changed, d.previous) == ("background", "startup", True, None)


def test_match_strategy_mirrors_the_crowd_and_first_switch_is_immediate():
    p = policy(strategy="match")
    p.decide(0.0, NOON, NOBODY, ALL)
    d = p.decide(1.0, NOON, crowd(sad=0.7, neutral=0.3), ALL)
    assert (d.playlist, d.reason, d.mood, d.previous) == ("mellow", "mood", "sad", "background")


@pytest.mark.parametrize(
    ("mood", "playlist"),
    [("angry", "calm"), ("sad", "uplifting"), ("fear", "calm"), ("happy", "happy")],
)
def test_uplift_strategy_counters_negative_moods(mood, playlist):
    p = policy(strategy="uplift")
    p.decide(0.0, NOON, NOBODY, ALL)
    assert p.decide(1.0, NOON, crowd(**{mood: 0.8, "neutral": 0.2}), ALL).playlist == playlist


def test_low_confidence_keeps_what_plays():
    p = policy(min_confidence=0.5)
    p.decide(0.0, NOON, NOBODY, ALL)
    d = p.decide(1.0, NOON, crowd(happy=0.4, sad=0.35, neutral=0.25), ALL)
    assert d.playlist == "background" and not d.changed


def test_hysteresis_needs_a_clear_lead_over_the_current_mood():
    p = policy(hysteresis=0.15, min_dwell_s=0)
    p.decide(0.0, NOON, NOBODY, ALL)
    assert p.decide(1.0, NOON, crowd(happy=0.6, sad=0.4), ALL).playlist == "happy"
    # sad leads, but only by 10 points: keep happy
    d = p.decide(2.0, NOON, crowd(sad=0.55, happy=0.45), ALL)
    assert d.playlist == "happy" and not d.changed
    # 20 points: switch
    d = p.decide(3.0, NOON, crowd(sad=0.6, happy=0.4), ALL)
    assert (d.playlist, d.reason) == ("mellow", "mood")


def test_alternating_near_tie_does_not_flap():
    p = policy(hysteresis=0.1, min_dwell_s=0)
    p.decide(0.0, NOON, NOBODY, ALL)
    switches = 0
    for i in range(100):
        st = crowd(happy=0.52, sad=0.48) if i % 2 else crowd(sad=0.52, happy=0.48)
        switches += p.decide(float(i + 1), NOON, st, ALL).changed
    assert switches == 1  # the first choice, then steady


def test_min_dwell_between_mood_switches():
    p = policy(min_dwell_s=90, hysteresis=0.0)
    p.decide(0.0, NOON, NOBODY, ALL)
    assert p.decide(10.0, NOON, crowd(happy=0.9, sad=0.1), ALL).playlist == "happy"
    d = p.decide(50.0, NOON, crowd(sad=0.9, happy=0.1), ALL)
    assert d.playlist == "happy" and not d.changed  # 40 s < 90 s
    d = p.decide(99.9, NOON, crowd(sad=0.9, happy=0.1), ALL)
    assert not d.changed
    d = p.decide(100.0, NOON, crowd(sad=0.9, happy=0.1), ALL)
    assert (d.playlist, d.reason) == ("mellow", "mood")


def test_no_audience_returns_to_default_after_dwell():
    p = policy(min_dwell_s=60)
    p.decide(0.0, NOON, NOBODY, ALL)
    p.decide(1.0, NOON, crowd(happy=0.9, sad=0.1), ALL)
    assert not p.decide(30.0, NOON, NOBODY, ALL).changed
    d = p.decide(61.0, NOON, NOBODY, ALL)
    assert (d.playlist, d.reason, d.mood) == ("background", "no_audience", None)


def test_moods_sharing_a_playlist_do_not_start_the_dwell():
    p = policy(min_dwell_s=60, hysteresis=0.0)  # match: angry and disgust -> energetic
    p.decide(0.0, NOON, NOBODY, ALL)
    p.decide(1.0, NOON, crowd(angry=0.9, happy=0.1), ALL)
    d = p.decide(2.0, NOON, crowd(disgust=0.9, happy=0.1), ALL)
    assert not d.changed and d.mood == "disgust"
    assert not p.decide(60.9, NOON, crowd(sad=0.9, happy=0.1), ALL).changed
    assert p.decide(61.0, NOON, crowd(sad=0.9, happy=0.1), ALL).playlist == "mellow"


def test_empty_folder_falls_back_to_default_without_waiting():
    p = policy(min_dwell_s=600)
    p.decide(0.0, NOON, NOBODY, ALL)
    assert p.decide(1.0, NOON, crowd(happy=0.9, sad=0.1), ALL).playlist == "happy"
    d = p.decide(2.0, NOON, crowd(happy=0.9, sad=0.1), ALL - {"happy"})
    assert (d.playlist, d.reason) == ("background", "empty_playlist")
    d = p.decide(3.0, NOON, crowd(happy=0.9, sad=0.1), ALL)  # music is back
    assert d.playlist == "happy" and d.changed


def test_default_empty_too_plays_any_music_rather_than_silence():
    p = policy()
    d = p.decide(0.0, NOON, NOBODY, {"calm"})
    assert d.playlist == "calm"
    assert p.decide(1.0, NOON, NOBODY, set()).playlist is None


def test_override_beats_mood_and_dwell_then_expires():
    p = policy(min_dwell_s=600)
    p.decide(0.0, NOON, NOBODY, ALL)
    p.decide(1.0, NOON, crowd(happy=0.9, sad=0.1), ALL)
    o = p.set_override("sad", 60, now=2.0, wall=1000.0, available=ALL)
    assert o.to_dict() == {"mood": "sad", "playlist": "mellow", "expires_at": 1060.0}
    d = p.decide(2.0, NOON, crowd(happy=0.9, sad=0.1), ALL)
    assert (d.playlist, d.reason) == ("mellow", "override")
    assert not p.decide(61.9, NOON, crowd(happy=0.9, sad=0.1), ALL).changed
    d = p.decide(62.0, NOON, crowd(happy=0.9, sad=0.1), ALL)
    assert (d.playlist, d.reason) == ("happy", "override_ended") and p.override is None


def test_override_by_playlist_name_and_clear():
    p = policy()
    p.decide(0.0, NOON, NOBODY, ALL)
    p.set_override("upbeat", 30, 0.0, 0.0, ALL)
    assert p.decide(1.0, NOON, NOBODY, ALL).playlist == "upbeat"
    assert p.clear_override() is True and p.clear_override() is False
    d = p.decide(2.0, NOON, NOBODY, ALL)
    assert (d.playlist, d.reason) == ("background", "override_ended")


@pytest.mark.parametrize(
    ("target", "ttl", "message"),
    [
        ("furious", 60, "unknown mood or playlist"),
        ("", 60, "needs a mood"),
        (None, 60, "needs a mood"),
        ("happy", 0, "ttl_s"),
        ("happy", -5, "ttl_s"),
        ("happy", float("nan"), "ttl_s"),
        ("happy", True, "ttl_s"),
        ("happy", "60", "ttl_s"),
        ("happy", 10**9, "ttl_s"),
        ("sad", 60, "has no music"),  # mellow is empty below
    ],
)
def test_bad_overrides_are_refused_and_change_nothing(target, ttl, message):
    p = policy()
    p.decide(0.0, NOON, NOBODY, ALL - {"mellow"})
    with pytest.raises(PolicyError, match=message):
        p.set_override(target, ttl, 0.0, 0.0, ALL - {"mellow"})
    assert p.override is None


def test_override_mood_names_are_case_insensitive():
    p = policy()
    assert p.set_override(" Happy ", 10, 0.0, 0.0, ALL).playlist == "happy"


SHOP = {
    "enabled": True,
    "open": "09:00",
    "close": "20:00",
    "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
    "dayparts": [
        {"start": "09:00", "volume": 40, "playlists": ["background", "calm"]},
        {"start": "12:00", "volume": 70},
    ],
}


def at(h: int, m: int = 0, day: int = 18) -> datetime:
    return datetime(2026, 11, day, h, m)


def test_closing_time_silences_and_opening_resumes_immediately():
    p = policy(schedule=SHOP, min_dwell_s=600)
    p.decide(0.0, at(19, 59), crowd(happy=0.9, sad=0.1), ALL)
    assert p.playlist == "happy"
    d = p.decide(60.0, at(20, 0), crowd(happy=0.9, sad=0.1), ALL)
    assert (d.playlist, d.reason, d.changed) == (None, "closed", True)
    d = p.decide(70.0, at(8, 59, day=19), crowd(happy=0.9, sad=0.1), ALL)
    assert d.playlist is None and not d.changed
    d = p.decide(80.0, at(9, 0, day=19), crowd(happy=0.9, sad=0.1), ALL)
    # 09:00 daypart allows only background/calm: happy falls back to background
    assert (d.playlist, d.reason) == ("background", "daypart")


def test_closed_playlist_plays_while_closed():
    p = policy(schedule={**SHOP, "closed_playlist": "calm"})
    d = p.decide(0.0, at(22), NOBODY, ALL)
    assert (d.playlist, d.reason) == ("calm", "startup")
    assert p.decide(1.0, at(22), crowd(happy=0.9, sad=0.1), ALL).playlist == "calm"


def test_sunday_closed():
    p = policy(schedule=SHOP)
    assert p.decide(0.0, at(12, day=22), crowd(happy=0.9, sad=0.1), ALL).playlist is None


def test_override_plays_even_when_closed():
    p = policy(schedule=SHOP)
    p.decide(0.0, at(22), NOBODY, ALL)
    p.set_override("happy", 600, 1.0, 1.0, ALL)
    assert p.decide(1.0, at(22), NOBODY, ALL).playlist == "happy"


def test_daypart_volume_is_set_once_when_it_begins():
    p = policy(schedule=SHOP)
    assert p.decide(0.0, at(11, 59), NOBODY, ALL).volume == 40
    assert p.decide(1.0, at(11, 59), NOBODY, ALL).volume is None
    assert p.decide(2.0, at(12, 0), NOBODY, ALL).volume == 70
    assert p.decide(3.0, at(15, 0), NOBODY, ALL).volume is None


def test_daypart_restriction_lifts_at_noon():
    p = policy(schedule=SHOP, min_dwell_s=0)
    p.decide(0.0, at(10), NOBODY, ALL)
    assert p.decide(1.0, at(11), crowd(happy=0.9, sad=0.1), ALL).playlist == "background"
    d = p.decide(2.0, at(12), crowd(happy=0.9, sad=0.1), ALL)
    assert d.playlist == "happy" and d.changed


def test_reconfigure_applies_new_table():
    p = policy(min_dwell_s=0)
    p.decide(0.0, NOON, NOBODY, ALL)
    p.decide(1.0, NOON, crowd(sad=0.9, happy=0.1), ALL)
    p.reconfigure(parse_config({"policy": {"strategy": "uplift"}}).policy)
    d = p.decide(2.0, NOON, crowd(sad=0.9, happy=0.1), ALL)
    assert (d.playlist, d.reason) == ("uplifting", "config")


def test_without_library_every_playlist_counts_as_available():
    p = policy()
    p.decide(0.0, NOON, NOBODY, None)
    assert p.decide(1.0, NOON, crowd(happy=0.9, sad=0.1), None).playlist == "happy"
