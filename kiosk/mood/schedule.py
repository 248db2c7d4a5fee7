"""Opening hours and dayparts, evaluated on the device's local time.

Pure functions of a ``datetime``: the policy passes the injected clock's local time, so the
tests can check midnight and the edges without waiting for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from kiosk.mood.config import DAYS, Daypart, ScheduleConfig, hhmm_to_minutes


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


def is_open(cfg: ScheduleConfig, now: datetime) -> bool:
    """Whether the shop is open at local time ``now``.

    An opening that passes midnight (close earlier than open) belongs to the day it starts
    on: with ``days: [fri]``, ``18:00``-``02:00`` is open Friday 18:00 to Saturday 02:00.
    ``open == close`` means open the whole of each listed day.
    """
    minute = now.hour * 60 + now.minute
    today = DAYS[now.weekday()]
    yesterday = DAYS[(now.weekday() - 1) % 7]
    start, end = hhmm_to_minutes(cfg.open), hhmm_to_minutes(cfg.close)
    if start == end:
        return today in cfg.days
    if start < end:
        return today in cfg.days and start <= minute < end
    return (today in cfg.days and minute >= start) or (yesterday in cfg.days and minute < end)


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
