"""Special days and public holidays replace the weekly hours of their date."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, datetime

import pytest

from kiosk.commands.config_cmd import opening_hours_text
from kiosk.config import ConfigError, parse_config
from kiosk.mood.policy import Policy
from kiosk.mood.schedule import hours_on, is_open, opening_days
from kiosk.mood.window import MoodState

NOBODY = MoodState(None, 0.0, {}, 0, False, 5)
ALL = {"background", "calm", "happy"}
CHRISTMAS = {
    "enabled": True,
    "open": "09:00",
    "close": "20:00",
    "holidays": {"country": "GB", "subdiv": "ENG", "hours": "closed"},
    "special_days": [
        {"date": "2026-12-24", "open": "09:00", "close": "14:00"},
        {"date": "2026-12-25", "closed": True},
    ],
}


def sched(**kw):
    return parse_config({"policy": {"schedule": {**CHRISTMAS, **kw}}}).policy.schedule


def test_christmas_day_is_closed_all_day():
    s = sched()
    for h in (0, 9, 12, 19, 23):
        assert not is_open(s, datetime(2026, 12, 25, h, 30))
    assert hours_on(s, date(2026, 12, 25)).reason == "special day"


def test_christmas_eve_has_short_hours():
    s = sched()
    assert not is_open(s, datetime(2026, 12, 24, 8, 59))
    assert is_open(s, datetime(2026, 12, 24, 9, 0))
    assert is_open(s, datetime(2026, 12, 24, 13, 59))
    assert not is_open(s, datetime(2026, 12, 24, 14, 0))
    assert is_open(s, datetime(2026, 12, 23, 19, 0))  # the day before: weekly hours


def test_bank_holiday_closed_and_short_hours():
    # 2026-08-31 is England's Late Summer Bank Holiday (a Monday), not Scotland's.
    s = sched()
    assert not is_open(s, datetime(2026, 8, 31, 12, 0))
    assert "Bank Holiday" in hours_on(s, date(2026, 8, 31)).reason
    assert is_open(s, datetime(2026, 9, 1, 12, 0))
    ten_to_four = {"open": "10:00", "close": "16:00"}
    short = sched(holidays={"country": "GB", "subdiv": "ENG", "hours": ten_to_four})
    assert not is_open(short, datetime(2026, 8, 31, 9, 30))
    assert is_open(short, datetime(2026, 8, 31, 15, 59))
    assert not is_open(short, datetime(2026, 8, 31, 16, 0))
    scotland = sched(holidays={"country": "GB", "subdiv": "SCT", "hours": "closed"})
    assert is_open(scotland, datetime(2026, 8, 31, 12, 0))


def test_special_day_beats_holiday_and_overnight_opening_belongs_to_its_day():
    s = sched(special_days=[{"date": "2026-12-26", "open": "11:00", "close": "15:00"}])
    assert is_open(s, datetime(2026, 12, 26, 12, 0))  # Boxing Day, but a special day
    late = sched(open="18:00", close="02:00", special_days=[{"date": "2026-12-25", "closed": True}])
    assert is_open(late, datetime(2026, 12, 25, 1, 0))  # the 24th's night goes on
    assert not is_open(late, datetime(2026, 12, 25, 19, 0))
    assert not is_open(late, datetime(2026, 12, 26, 1, 0))  # no opening on the 25th


def test_policy_goes_silent_on_a_closed_special_day():
    p = Policy(parse_config({"policy": {"schedule": CHRISTMAS}}).policy)
    assert p.decide(0.0, datetime(2026, 12, 24, 10, 0), NOBODY, ALL).playlist == "background"
    d = p.decide(1.0, datetime(2026, 12, 25, 10, 0), NOBODY, ALL)
    assert (d.playlist, d.reason) == (None, "closed")


def test_fourteen_days_listing():
    s = sched()
    days = opening_days(s, date(2026, 12, 20))
    assert len(days) == 14
    text = {d.isoformat(): h.text() for d, h in days}
    assert text["2026-12-24"] == "09:00-14:00"
    assert text["2026-12-25"] == "closed"
    assert text["2026-12-28"] == "closed"  # Boxing Day (observed)
    assert text["2026-12-29"] == "09:00-20:00"
    out = opening_hours_text(s, date(2026, 12, 20))
    assert "Fri 2026-12-25  closed" in out and "(special day)" in out and "Boxing Day" in out
    assert len(out.splitlines()) == 15
    assert "always open" in opening_hours_text(parse_config({}).policy.schedule)


def test_config_show_prints_the_next_fourteen_days(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("policy:\n  schedule:\n    enabled: true\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "config", "show", str(p)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("09:00-20:00") == 14


@pytest.mark.parametrize(
    "bad",
    [
        {"special_days": [{"date": "2026-12-25"}]},
        {"special_days": [{"date": "2026-12-25", "closed": True, "open": "09:00"}]},
        {"special_days": [{"date": "2026-13-01", "closed": True}]},
        {"special_days": [{"date": "2026-12-25", "open": "9", "close": "10:00"}]},
        {"special_days": [{"date": "2026-12-25", "closed": True}] * 2},
        {"holidays": {"country": "XX"}},
        {"holidays": {"country": "GB", "subdiv": "NOPE"}},
        {"holidays": {"country": "GB", "hours": "open"}},
        {"holidays": {"country": "GB", "when": "always"}},
    ],
)
def test_bad_special_days_name_the_key(bad):
    with pytest.raises(ConfigError) as err:
        sched(**bad)
    assert "policy.schedule." in str(err.value)
