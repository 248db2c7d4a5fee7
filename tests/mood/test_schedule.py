"""Opening hours and dayparts at the edges: midnight, equal times, day lists."""

from __future__ import annotations

from datetime import datetime

import pytest

from kiosk.config import ConfigError, parse_config
from kiosk.mood.schedule import ALWAYS_OPEN, current_daypart, evaluate, is_open


def sched(**kw):
    return parse_config({"policy": {"schedule": {"enabled": True, **kw}}}).policy.schedule


# 2026-11-16 is a Monday.
def at(day: int, h: int, m: int = 0) -> datetime:
    return datetime(2026, 11, 16 + day, h, m)


@pytest.mark.parametrize(
    ("when", "expected"),
    [(at(0, 8, 59), False), (at(0, 9, 0), True), (at(0, 19, 59), True), (at(0, 20, 0), False)],
)
def test_same_day_hours_edges(when, expected):
    assert is_open(sched(open="09:00", close="20:00"), when) is expected


def test_past_midnight_belongs_to_the_starting_day():
    s = sched(open="18:00", close="02:00", days=["fri"])
    assert not is_open(s, at(4, 17, 59))  # Fri 17:59
    assert is_open(s, at(4, 18, 0))  # Fri 18:00
    assert is_open(s, at(4, 23, 59))
    assert is_open(s, at(5, 0, 0))  # Sat 00:00, still Friday's opening
    assert is_open(s, at(5, 1, 59))
    assert not is_open(s, at(5, 2, 0))
    assert not is_open(s, at(5, 18, 0))  # Saturday is not an opening day
    assert not is_open(s, at(4, 1, 0))  # Fri 01:00 would be Thursday's night


def test_equal_open_and_close_means_all_day():
    s = sched(open="00:00", close="00:00", days=["mon"])
    assert is_open(s, at(0, 0, 0)) and is_open(s, at(0, 23, 59))
    assert not is_open(s, at(1, 0, 0))


def test_dayparts_wrap_midnight():
    s = sched(
        dayparts=[{"start": "22:00", "volume": 20}, {"start": "07:00", "volume": 50}],
    )
    assert evaluate(s, at(0, 6, 59)).volume == 20  # yesterday's 22:00 part still on
    assert evaluate(s, at(0, 7, 0)).volume == 50
    assert evaluate(s, at(0, 21, 59)).volume == 50
    assert evaluate(s, at(0, 22, 0)).volume == 20
    assert evaluate(s, at(0, 0, 0)).volume == 20


def test_no_dayparts_means_no_volume_and_no_restrictions():
    s = sched(dayparts=[])
    st = evaluate(s, at(0, 12))
    assert current_daypart(s, at(0, 12)) is None
    assert st.volume is None and st.allowed is None and st.allows("anything")


def test_disabled_schedule_is_always_open():
    s = parse_config({}).policy.schedule
    assert evaluate(s, at(6, 3)) == ALWAYS_OPEN


@pytest.mark.parametrize(
    "bad",
    [
        {"open": "24:00"},
        {"close": "9:00"},
        {"days": ["monday"]},
        {"days": ["mon", "mon"]},
        {"dayparts": [{"start": "09:00"}, {"start": "09:00"}]},
        {"dayparts": [{"start": "09:00", "volume": 101}]},
        {"dayparts": [{"start": "09:00", "playlists": []}]},
        {"dayparts": [{"start": "09:00", "playlists": ["../etc"]}]},
        {"closed_playlist": ""},
    ],
)
def test_bad_schedules_name_the_key(bad):
    with pytest.raises(ConfigError) as err:
        sched(**bad)
    assert "policy.schedule." in str(err.value)


@pytest.mark.parametrize(
    "bad",
    [
        {"match": {"furious": "x"}},
        {"uplift": {"sad": "a/b"}},
        {"strategy": "mirror"},
        {"hysteresis": 1.5},
        {"default_playlist": ".."},
    ],
)
def test_bad_policy_values_are_errors(bad):
    with pytest.raises(ConfigError, match="policy"):
        parse_config({"policy": bad})


def test_partial_table_keeps_builtin_entries():
    p = parse_config({"policy": {"match": {"sad": "blues"}}}).policy
    assert p.table()["sad"] == "blues" and p.table()["happy"] == "happy"
    assert "blues" in p.playlist_names()
