"""Opening hours and dayparts, evaluated on the device's local time.

Pure functions of a ``datetime``: the policy passes the injected clock's local time, so the
tests can check midnight and the edges without waiting for them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from kiosk.mood.config import DAYS, Daypart, ScheduleConfig, hhmm_to_minutes

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScheduleState:
    """What the schedule says at one moment."""

    open: bool
    daypart: int | None  # index into the config's dayparts sorted by start; None if none
    volume: int | None  # the daypart's volume, None: leave the volume alone
    allowed: frozenset[str] | None  # playlists allowed now; None: all

    def allows(self, playlist: str) -> bool:
        return self.allowed is None or playlist in self.allowed


ALWAYS_OPEN = ScheduleState(True, None, None, None)


@dataclass(frozen=True)
class DayHours:
    """The opening of one date: minutes after midnight, or closed; and why."""

    start: int | None  # None: closed all day
    end: int | None
    reason: str  # "weekly", "special day", or the holiday's name

    @property
    def closed(self) -> bool:
        return self.start is None

    def text(self) -> str:
        if self.start is None or self.end is None:
            return "closed"
        if self.start == self.end:
            return "open all day"
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@lru_cache(maxsize=16)
def _holiday_table(country: str, subdiv: str | None, year: int) -> dict[date, str]:
    import holidays  # imported only when holidays are configured

    table = holidays.country_holidays(country, subdiv=subdiv, years=year)
    return {d: str(name) for d, name in table.items()}


def holiday_name(cfg: ScheduleConfig, day: date) -> str | None:
    """The public holiday on ``day`` per ``cfg.holidays``, or None."""
    h = cfg.holidays
    if h is None:
        return None
    try:
        return _holiday_table(h.country, h.subdiv, day.year).get(day)
    except Exception:  # package missing or broken: ordinary day, said once in the log
        _warn_holidays()
        return None


@lru_cache(maxsize=1)
def _warn_holidays() -> None:
    log.warning("public holidays cannot be looked up (is the holidays package installed?)")


def hours_on(cfg: ScheduleConfig, day: date) -> DayHours:
    """Opening hours of ``day``: special day, else public holiday, else the weekly hours."""
    for special in cfg.special_days:
        if special.date == day:
            h = special.hours()
            if h is None:
                return DayHours(None, None, "special day")
            return DayHours(hhmm_to_minutes(h.open), hhmm_to_minutes(h.close), "special day")
    name = holiday_name(cfg, day)
    if name is not None and cfg.holidays is not None:
        hours = cfg.holidays.hours
        if isinstance(hours, str):  # "closed"
            return DayHours(None, None, name)
        return DayHours(hhmm_to_minutes(hours.open), hhmm_to_minutes(hours.close), name)
    if DAYS[day.weekday()] not in cfg.days:
        return DayHours(None, None, "weekly")
    return DayHours(hhmm_to_minutes(cfg.open), hhmm_to_minutes(cfg.close), "weekly")


def is_open(cfg: ScheduleConfig, now: datetime) -> bool:
    """Whether the shop is open at local time ``now``.

    An opening that passes midnight (close earlier than open) belongs to the day it starts
    on: with ``days: [fri]``, ``18:00``-``02:00`` is open Friday 18:00 to Saturday 02:00.
    ``open == close`` means open the whole of that day. Special days and holidays replace
    the hours of their date (and so also the part of that opening after midnight).
    """
    minute = now.hour * 60 + now.minute
    today = hours_on(cfg, now.date())
    if today.start is not None and today.end is not None:
        if today.start == today.end:
            return True
        if today.start < today.end and today.start <= minute < today.end:
            return True
        if today.start > today.end and minute >= today.start:
            return True
    yesterday = hours_on(cfg, now.date() - timedelta(days=1))
    return (
        yesterday.start is not None
        and yesterday.end is not None
        and yesterday.start > yesterday.end
        and minute < yesterday.end
    )


def opening_days(cfg: ScheduleConfig, first: date, days: int = 14) -> list[tuple[date, DayHours]]:
    """The hours of ``days`` dates from ``first`` (for ``kiosk config show``)."""
    return [
        (first + timedelta(days=i), hours_on(cfg, first + timedelta(days=i))) for i in range(days)
    ]


def sorted_dayparts(cfg: ScheduleConfig) -> list[Daypart]:
    return sorted(cfg.dayparts, key=lambda d: hhmm_to_minutes(d.start))


def current_daypart(cfg: ScheduleConfig, now: datetime) -> int | None:
    """Index (into ``sorted_dayparts``) of the daypart in force at ``now``.

    Each daypart runs until the next one starts; before the first start of the day the last
    daypart of the previous day is still in force.
    """
    parts = sorted_dayparts(cfg)
    if not parts:
        return None
    minute = now.hour * 60 + now.minute
    index = len(parts) - 1
    for i, part in enumerate(parts):
        if hhmm_to_minutes(part.start) <= minute:
            index = i
    return index


def evaluate(cfg: ScheduleConfig, now: datetime) -> ScheduleState:
    """The schedule's verdict at local time ``now`` (always open when disabled)."""
    if not cfg.enabled:
        return ALWAYS_OPEN
    index = current_daypart(cfg, now)
    part = sorted_dayparts(cfg)[index] if index is not None else None
    return ScheduleState(
        open=is_open(cfg, now),
        daypart=index,
        volume=part.volume if part else None,
        allowed=frozenset(part.playlists) if part and part.playlists is not None else None,
    )
