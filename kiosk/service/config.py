"""Config for the daemon: logging, state directory, watchdog."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from kiosk.settings_base import Section


class ServiceConfig(Section):
    """Daemon settings."""

    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="Least severe log level written (debug, info, warning, error)."
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description=(
            "Log lines on stderr: text (key=value, read by people and journald) or json "
            "(one object per line, for log shippers)."
        ),
    )
    state_dir: str | None = Field(
        None,
        description=(
            "Writable directory for state such as the generated demo music. null: "
            "$STATE_DIRECTORY (systemd StateDirectory=), else $XDG_STATE_HOME/kiosk, else "
            "~/.local/state/kiosk."
        ),
    )
    watchdog: bool = Field(
        True,
        description=(
            "Ping the systemd watchdog (WatchdogSec= in the unit) so a hung daemon is "
            "restarted. Only active when systemd asks for it."
        ),
    )
    poll_interval_s: float = Field(
        0.5,
        ge=0.05,
        le=5,
        description="Seconds between player checks (next track, faults) between samples.",
    )
    library_refresh_s: float = Field(
        5.0,
        ge=0.5,
        le=3600,
        description="Seconds between checks of the music folders for added or removed files.",
    )
    camera_retry_initial_s: float = Field(
        2.0, gt=0, le=600, description="First wait before reopening a failed camera (seconds)."
    )
    camera_retry_max_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Longest wait between camera reopen attempts; the wait doubles up to it.",
    )
    stop_fade_s: float = Field(
        2.0, ge=0, le=30, description="Fade-out on shutdown (SIGTERM/SIGINT) and at closing time."
    )

    @field_validator("state_dir")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be empty; leave it out for the default")
        return v

    @model_validator(mode="after")
    def _retry_order(self) -> ServiceConfig:
        if self.camera_retry_max_s < self.camera_retry_initial_s:
            raise ValueError("camera_retry_max_s must be >= camera_retry_initial_s")
        return self
