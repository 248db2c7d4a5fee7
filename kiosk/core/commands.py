"""The commands every front end can send: one pydantic model each, and the command table.

A payload is validated against its model before anything reaches the core, so a refused
command never changes state. ``COMMANDS`` is the single list of what exists (``kiosk ctl
--help`` and the dispatcher's "known:" answer both read it); ``STAFF_COMMANDS`` is what a
staff login may send.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    model_validator,
)

from kiosk.core.api import CommandError, KioskApi
from kiosk.errors import describe_errors
from kiosk.library.names import PLAYLIST_NAME_PATTERN

MAX_ID_LEN = 128
# A playlist or mood name: printable, short. The core decides whether it exists.
NAME_PATTERN = PLAYLIST_NAME_PATTERN
# Select entity in Home Assistant sends this to go back to the camera's mood.
AUTO = "auto"
# What a staff login may do; everything else needs the operator role.
STAFF_COMMANDS = frozenset({"next", "volume", "block", "blocks", "retag", "status"})


class _Cmd(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    id: str | StrictInt | None = Field(None, description="Request id, echoed in the result.")


class NoArgs(_Cmd):
    """Commands without arguments: the payload is empty, ``{}`` or ``{"id": ...}``."""


class Volume(_Cmd):
    level: StrictInt = Field(..., ge=0, le=100, description="Volume 0-100.")


class Override(_Cmd):
    mood: str = Field(..., pattern=NAME_PATTERN, description="Mood or playlist name, or 'auto'.")
    minutes: StrictInt | StrictFloat = Field(
        60, gt=0, le=7 * 24 * 60, description="How long the override lasts."
    )


class Report(_Cmd):
    date: str | None = Field(None, pattern=r"^\d{4}-\d{2}-\d{2}$", description="Day; null: today.")
    plays: bool = Field(False, description="Include the list of plays.")  # strict: no "yes"


class Block(_Cmd):
    """Exactly one of track ("current" or a path), artist, pattern."""

    track: str | None = Field(
        None, min_length=1, max_length=1024, description='"current" or a file path.'
    )
    artist: str | None = Field(None, min_length=1, max_length=200, description="An artist.")
    pattern: str | None = Field(
        None, min_length=1, max_length=200, description="Text in title, artist or path."
    )

    @model_validator(mode="after")
    def _one(self) -> Block:
        if sum(v is not None for v in (self.track, self.artist, self.pattern)) != 1:
            raise ValueError("give exactly one of track, artist, pattern")
        for v in (self.track, self.artist, self.pattern):
            if v is not None and (not v.strip() or any(ord(c) < 32 for c in v)):
                raise ValueError("must be printable text")
        return self

    def rule(self) -> tuple[str, str]:
        if self.track is not None:
            return "track", self.track
        if self.artist is not None:
            return "artist", self.artist
        return "pattern", str(self.pattern)


class Announce(_Cmd):
    file: str = Field(
        ..., min_length=1, max_length=1024, description="A file in an announcement folder."
    )


def _block(api: KioskApi, c: Block) -> dict[str, Any]:
    return {"blocked": api.block(*c.rule())}


def _unblock(api: KioskApi, c: Block) -> None:
    api.unblock(*c.rule())


class Retag(_Cmd):
    track: str = Field(
        ...,
        min_length=1,
        max_length=4096,
        pattern=r"^[^\x00]+$",
        description="Track path, relative to music.root (as `kiosk music list` shows it), "
        "or 'current' for the playing track.",
    )
    playlist: str | None = Field(
        ...,
        pattern=f"^(|{PLAYLIST_NAME_PATTERN[1:-1]})$",
        description="Playlist the track plays in from now on; null or '' removes the correction.",
    )


def _status(api: KioskApi, _: _Cmd) -> dict[str, Any]:
    return {"status": api.status().to_dict()}


def _override(api: KioskApi, c: Override) -> None:
    if c.mood == AUTO:
        api.clear_override()
    else:
        api.override(c.mood, float(c.minutes) * 60.0)


# name -> (model, action). An action returns extra result fields or None.
COMMANDS: dict[str, tuple[type[_Cmd], Callable[[KioskApi, Any], dict[str, Any] | None]]] = {
    "volume": (Volume, lambda api, c: api.set_volume(c.level)),
    "pause": (NoArgs, lambda api, c: api.pause()),
    "resume": (NoArgs, lambda api, c: api.resume()),
    "next": (NoArgs, lambda api, c: api.next_track()),
    "override": (Override, _override),
    "clear_override": (NoArgs, lambda api, c: api.clear_override()),
    "reload": (NoArgs, lambda api, c: api.reload_config()),
    "rescan": (NoArgs, lambda api, c: api.rescan_library()),
    "status": (NoArgs, _status),
    "report": (Report, lambda api, c: {"report": api.report(c.date, c.plays)}),
    "retag": (Retag, lambda api, c: {"retag": api.retag(c.track, c.playlist or None)}),
    "block": (Block, _block),
    "unblock": (Block, _unblock),
    "blocks": (NoArgs, lambda api, c: {"blocks": api.blocks()}),
    "announce": (Announce, lambda api, c: {"announced": api.announce(c.file)}),
}
# What a staff source runs instead of the plain action.
STAFF_ACTIONS: dict[str, Callable[[KioskApi, Any], dict[str, Any] | None]] = {
    "next": lambda api, c: api.next_track(limited=True),
    "block": lambda api, c: {"blocked": api.block(*c.rule(), limited=True)},
}


def checked_volume(level: Any) -> int:
    """The one volume rule (the ``Volume`` model's) for callers that bypass the dispatcher."""
    try:
        return Volume.model_validate({"level": level}).level
    except ValidationError as exc:
        raise CommandError(f"volume must be 0-100: {'; '.join(describe_errors(exc))}") from None


def help_text() -> str:
    """One line per command for ``kiosk ctl --help`` (from the table, so none is missing)."""
    lines = []
    for name, (model, _action) in COMMANDS.items():
        fields = [f for f in model.model_fields if f != "id"]
        args = " ".join(f"{f}" for f in fields)
        staff = "" if name in STAFF_COMMANDS else " (operator)"
        lines.append(f"  {name:<15}{args}{staff}")
    return "\n".join(lines)
