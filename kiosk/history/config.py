"""Config for the local history (``history:`` in config.yaml)."""

from __future__ import annotations

from pydantic import Field

from kiosk.settings_base import Section


class HistoryConfig(Section):
    """Local memory of the day: aggregates only, in SQLite in the state directory."""

    enabled: bool = Field(
        True,
        description=(
            "Record per-minute mood aggregates, playlist switches, plays, commands and faults "
            "for `kiosk report`. Never a frame, a face crop, a box or an identity. The "
            "recording settings (enabled, path, limits) take effect at the next start."
        ),
    )
    path: str | None = Field(
        None,
        description="SQLite file. null: history.sqlite3 in the state directory.",
    )
    retention_days: int = Field(
        90,
        ge=1,
        le=3650,
        description="Rows older than this many days (by the real clock) are deleted while running.",
    )
    max_mb: float = Field(
        50.0,
        ge=0.1,
        le=10_000,
        description=(
            "Size cap of the history file (MB). Above it the oldest days are deleted first, "
            "whatever retention_days says."
        ),
    )
    commit_s: float = Field(
        15.0,
        ge=1,
        le=60,
        description=(
            "Seconds between commits. A power cut loses at most this much history (WAL mode)."
        ),
    )
    effect_minutes: int = Field(
        10,
        ge=1,
        le=120,
        description=(
            "The effect estimate compares the crowd's valence in this many minutes after a "
            "mood-driven switch or override with as many minutes before it."
        ),
    )
    report_max_bytes: int = Field(
        65536,
        ge=1024,
        le=1_048_576,
        description=(
            "Largest reply to the MQTT `report` command; the plays and switches lists are "
            "cut (and `truncated` says so) to stay under it."
        ),
    )
