"""Config of the announcements (``announcements:``): recorded messages over ducked music."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.settings_base import Section

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class AnnouncementRule(Section):
    """One folder of messages and when to play one: every N tracks, or at given times."""

    folder: str = Field(
        ..., min_length=1, description="Folder of audio files; they take turns in name order."
    )
    every_tracks: int | None = Field(
        None, ge=1, le=1000, description="Play one after every this many tracks."
    )
    at: list[str] | None = Field(
        None, description="Times of day HH:MM, e.g. ['10:00', '14:00'] (local time)."
    )
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]] = Field(
        list(DAYS), description="Days the 'at' times apply."
    )

    @field_validator("at")
    @classmethod
    def _times(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("name at least one time, or leave 'at' out")
        from kiosk.mood.config import hhmm_to_minutes

        for t in v:
            hhmm_to_minutes(t)
        return v

    @model_validator(mode="after")
    def _one(self) -> AnnouncementRule:
        if (self.every_tracks is None) == (self.at is None):
            raise ValueError("give either every_tracks or at")
        return self


class AnnouncementsConfig(Section):
    """Recorded messages (offers, closing time) played over the music."""

    duck_volume: int = Field(
        30,
        ge=0,
        le=100,
        description="Music volume while a message plays, in percent of its normal volume.",
    )
    duck_ramp_s: float = Field(
        1.0, ge=0, le=10, description="Seconds the music takes to go down and to come back."
    )
    max_message_s: float = Field(
        300.0, ge=1, le=3600, description="A message playing longer than this is stopped."
    )
    wav_path: str | None = Field(
        None,
        description="Where the messages go with player.aout afile (and the no-sound-card "
        "fallback): a file of its own, since afile cannot mix. null: the music's WAV path "
        "with '-announce' added.",
    )
    rules: list[AnnouncementRule] = Field(
        [],
        description="e.g. {folder: /var/lib/kiosk/announcements/offers, every_tracks: 4} or "
        "{folder: .../closing, at: ['17:45'], days: [mon, tue, wed, thu, fri, sat]}. "
        "Timed messages that fall while the shop is closed are dropped, not queued.",
    )
