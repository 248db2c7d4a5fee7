"""Config for the crowd mood window and the playlist policy.

Its size: the window and the policy's tables, dayparts, opening hours and experiment, each
with the validators that keep its YAML readable in the error messages.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.core.api import EMOTIONS
from kiosk.library.names import check_playlist_name
from kiosk.mood.schedule_config import HolidaysConfig, SpecialDay
from kiosk.settings_base import Section

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
DAYS: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hhmm_to_minutes(text: str) -> int:
    """Minutes after midnight of a validated ``HH:MM`` string."""
    m = _HHMM.match(text)
    if not m:
        raise ValueError(f"{text!r} is not a time of day HH:MM (00:00 to 23:59)")
    return int(m.group(1)) * 60 + int(m.group(2))


def _check_hhmm(v: str) -> str:
    hhmm_to_minutes(v)
    return v


class MoodConfig(Section):
    """Crowd mood aggregation window."""

    window_s: float = Field(
        30.0,
        ge=1,
        le=3600,
        description=(
            "Seconds of samples the crowd mood is computed from. Longer is steadier, shorter "
            "reacts faster. Keep it at several sampling intervals."
        ),
    )
    half_life_s: float | None = Field(
        None,
        gt=0,
        le=3600,
        description=(
            "Recency weighting inside the window: a sample this many seconds old counts half "
            "as much as a fresh one. null: half of window_s."
        ),
    )
    min_faces: int = Field(
        1,
        ge=1,
        le=100,
        description="A sample with at least this many faces counts as 'audience present'.",
    )
    audience_fraction: float = Field(
        0.3,
        gt=0,
        le=1,
        description=(
            "Fraction of the window's samples that must show an audience (min_faces) before "
            "the crowd mood is used; below it the kiosk is in 'no audience'. Makes one stray "
            "detection in an empty shop harmless."
        ),
    )
    min_face_score: float = Field(
        0.5,
        ge=0,
        le=1,
        description="Faces with a lower detector score are ignored by the mood window.",
    )
    long_stay_s: float = Field(
        120.0,
        gt=0,
        le=86400,
        description=(
            "A face that stays in the same place longer than this (staff at the till, one "
            "visitor parked in front of the camera) counts less and less: its weight halves "
            "every long_stay_s after that, down to long_stay_min_weight."
        ),
    )
    long_stay_min_weight: float = Field(
        0.1,
        ge=0,
        le=1,
        description="Lowest weight of a long-staying face (0: it stops counting at all).",
    )


MATCH_DEFAULT: dict[str, str] = {
    "angry": "energetic",
    "disgust": "energetic",
    "fear": "calm",
    "happy": "happy",
    "sad": "mellow",
    "surprise": "upbeat",
    "neutral": "background",
}
UPLIFT_DEFAULT: dict[str, str] = {
    "angry": "calm",
    "disgust": "calm",
    "fear": "calm",
    "happy": "happy",
    "sad": "uplifting",
    "surprise": "happy",
    "neutral": "upbeat",
}


def _check_mapping(v: dict[str, str]) -> dict[str, str]:
    unknown = sorted(set(v) - set(EMOTIONS))
    if unknown:
        raise ValueError(f"unknown mood(s) {unknown}; moods are {list(EMOTIONS)}")
    for name in v.values():
        check_playlist_name(name)
    # A mood left out falls back to the default mapping's entry for it.
    return v


class Daypart(Section):
    """A stretch of the day with its own volume and playlists."""

    start: str = Field(..., description="HH:MM when this daypart begins (local time).")
    volume: int | None = Field(
        None, ge=0, le=100, description="Volume 0-100 set when the daypart begins; null: keep."
    )
    playlists: list[str] | None = Field(
        None,
        description=(
            "Playlists allowed in this daypart; a mood whose playlist is not allowed plays "
            "the default playlist instead. null: all."
        ),
    )

    @field_validator("start")
    @classmethod
    def _start(cls, v: str) -> str:
        return _check_hhmm(v)

    @field_validator("playlists")
    @classmethod
    def _names(cls, v: list[str] | None) -> list[str] | None:
        if v is not None:
            if not v:
                raise ValueError("must name at least one playlist, or be null for all")
            for name in v:
                check_playlist_name(name)
        return v


class ScheduleConfig(Section):
    """Opening hours and dayparts (local time of the device)."""

    enabled: bool = Field(
        False, description="Use the opening hours and dayparts below. false: always open."
    )
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        list(DAYS),
        description="Days the shop opens (an opening that passes midnight belongs "
        "to the day it starts on).",
    )
    open: str = Field("09:00", description="Opening time HH:MM.")
    close: str = Field(
        "20:00",
        description=(
            "Closing time HH:MM. Earlier than open means past midnight (18:00 to 02:00); "
            "equal to open means open all day."
        ),
    )
    closed_playlist: str | None = Field(
        None,
        description="Playlist while closed (e.g. quiet music for cleaning). null: silence.",
    )
    dayparts: list[Daypart] = Field(
        default_factory=lambda: [
            Daypart(start="09:00", volume=50),
            Daypart(start="12:00", volume=65),
            Daypart(start="17:00", volume=60),
        ],
        description=(
            "Each daypart lasts until the next one starts (wrapping past midnight). Empty: "
            "no volume changes and every playlist allowed."
        ),
    )
    special_days: list[SpecialDay] = Field(
        [],
        description=(
            "Dates with their own hours, e.g. {date: '2026-12-24', open: '09:00', close: "
            "'14:00'} or {date: '2026-12-25', closed: true}. They win over holidays and the "
            "weekly hours."
        ),
    )
    holidays: HolidaysConfig | None = Field(
        None,
        description=(
            "Public holidays (the holidays package, no network): {country: GB, subdiv: ENG, "
            "hours: closed}, or hours: {open: '10:00', close: '16:00'}. null: holidays are "
            "ordinary days. `kiosk config show` lists the next 14 days' hours."
        ),
    )

    @field_validator("open", "close")
    @classmethod
    def _times(cls, v: str) -> str:
        return _check_hhmm(v)

    @field_validator("days")
    @classmethod
    def _days(cls, v: list[str]) -> list[str]:
        if len(set(v)) != len(v):
            raise ValueError("a day is listed twice")
        return v

    @field_validator("closed_playlist")
    @classmethod
    def _closed(cls, v: str | None) -> str | None:
        return None if v is None else check_playlist_name(v)

    @field_validator("dayparts")
    @classmethod
    def _unique_starts(cls, v: list[Daypart]) -> list[Daypart]:
        starts = [d.start for d in v]
        if len(set(starts)) != len(starts):
            raise ValueError("two dayparts start at the same time")
        return v

    @field_validator("special_days")
    @classmethod
    def _unique_dates(cls, v: list[SpecialDay]) -> list[SpecialDay]:
        dates = [d.date for d in v]
        if len(set(dates)) != len(dates):
            raise ValueError("a date is listed twice")
        return v


class ExperimentConfig(Section):
    """Randomised test of the strategy against a control arm (see `kiosk report`)."""

    enabled: bool = Field(
        False,
        description=(
            "At each mood-driven decision pick at random between the configured strategy "
            "and the control arm, and record which, so the report can say whether the "
            "strategy changes the mood. Needs strategy: uplift to compare anything."
        ),
    )
    p: float = Field(
        0.5, gt=0, lt=1, description="Chance of the control arm at each mood-driven decision."
    )
    control: Literal["match", "keep"] = Field(
        "match",
        description="Control arm: match (the match table) or keep (leave the music as it is).",
    )
    seed: int | None = Field(None, description="Random seed (tests). null: a fresh draw.")

    def arms(self, strategy: str) -> dict[str, str]:
        return {"strategy": strategy, "control": self.control}


class PolicyConfig(Section):
    """Mood to playlist policy."""

    strategy: Literal["match", "uplift"] = Field(
        "match",
        description=(
            "match: play what mirrors the crowd (table 'match'). uplift: counter negative "
            "moods, e.g. angry -> calm, sad -> uplifting (table 'uplift')."
        ),
    )
    match: dict[str, str] = Field(
        default_factory=lambda: dict(MATCH_DEFAULT),
        description="Mood -> playlist folder for the match strategy.",
    )
    uplift: dict[str, str] = Field(
        default_factory=lambda: dict(UPLIFT_DEFAULT),
        description="Mood -> playlist folder for the uplift strategy.",
    )
    default_playlist: str = Field(
        "background",
        description=(
            "Played when there is no audience, when the crowd mood is unclear at start, and "
            "instead of a mood whose folder is empty or missing."
        ),
    )
    min_confidence: float = Field(
        0.35,
        ge=0,
        le=1,
        description="The dominant mood's share of the window must reach this to drive a switch.",
    )
    hysteresis: float = Field(
        0.1,
        ge=0,
        le=1,
        description=(
            "A new mood must lead the current one by this share of the window (0.1 = 10 "
            "points) before the music changes. Stops flapping between two close moods."
        ),
    )
    min_dwell_s: float = Field(
        90.0,
        ge=0,
        le=86400,
        description=(
            "Seconds a playlist keeps playing before the mood may switch it again (the first "
            "switch after start is immediate). Overrides and opening hours ignore it."
        ),
    )
    override_max_ttl_s: float = Field(
        4 * 3600.0,
        gt=0,
        le=7 * 86400,
        description="Longest manual override accepted (seconds).",
    )
    schedule: ScheduleConfig = Field(
        default_factory=ScheduleConfig, description="Opening hours and dayparts."
    )
    experiment: ExperimentConfig = Field(
        default_factory=ExperimentConfig, description="Randomised strategy experiment."
    )

    @field_validator("match", "uplift")
    @classmethod
    def _tables(cls, v: dict[str, str]) -> dict[str, str]:
        return _check_mapping(v)

    @field_validator("default_playlist")
    @classmethod
    def _default(cls, v: str) -> str:
        return check_playlist_name(v)

    @model_validator(mode="after")
    def _fill_tables(self) -> PolicyConfig:
        # A table that names only some moods keeps the built-in entry for the others.
        for name, base in (("match", MATCH_DEFAULT), ("uplift", UPLIFT_DEFAULT)):
            table = getattr(self, name)
            if set(table) != set(EMOTIONS):
                object.__setattr__(self, name, {**base, **table})
        return self

    def table(self) -> dict[str, str]:
        """Mood -> playlist for the active strategy (all seven moods)."""
        return self.match if self.strategy == "match" else self.uplift

    def playlist_names(self) -> list[str]:
        """Every playlist this policy can ask for, sorted (used to generate demo music)."""
        names = {self.default_playlist, *self.match.values(), *self.uplift.values()}
        if self.schedule.closed_playlist:
            names.add(self.schedule.closed_playlist)
        return sorted(names)
