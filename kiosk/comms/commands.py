"""The command dispatcher shared by every remote front end.

name + raw payload → typed pydantic model → one ``KioskApi`` call → result dict
``{"id", "command", "ok", "error"}`` (plus ``"status"`` for ``status``). Nothing reaches
the core unless the payload validated, so a refused command never changes state.

``source`` says who asks: ``operator`` (MQTT, ``kiosk ctl``, the staff page's operator
login: everything) or ``staff`` (the staff page's staff login: only ``STAFF_COMMANDS``,
and ``next`` within ``player.skip_limit_per_hour``). The source comes from how the caller
authenticated, never from the payload.
"""

from __future__ import annotations

import json
import logging
import time
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

from kiosk.api import CommandError, Event, KioskApi
from kiosk.comms.json_depth import check_depth
from kiosk.library.names import PLAYLIST_NAME_PATTERN

log = logging.getLogger(__name__)

MAX_ID_LEN = 128
# A playlist or mood name: printable, short. The core decides whether it exists.
NAME_PATTERN = PLAYLIST_NAME_PATTERN
# Select entity in Home Assistant sends this to go back to the camera's mood.
AUTO = "auto"
OPERATOR, STAFF = "operator", "staff"
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


def _block(api: Any, c: Block) -> dict[str, Any]:
    return {"blocked": api.block(*c.rule())}


def _unblock(api: Any, c: Block) -> None:
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
STAFF_ACTIONS: dict[str, Callable[[Any, Any], dict[str, Any] | None]] = {
    "next": lambda api, c: api.next_track(limited=True),
    "block": lambda api, c: {"blocked": api.block(*c.rule(), limited=True)},
}


def safe_id(value: Any) -> str | int | None:
    """A request id worth echoing even when the rest of the payload is bad."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and abs(value) < 2**53:
        return value
    if isinstance(value, str) and len(value) <= MAX_ID_LEN:
        return value
    return None


def _describe(exc: ValidationError) -> str:
    parts = []
    for e in exc.errors()[:3]:
        loc = ".".join(str(p) for p in e.get("loc", ())) or "payload"
        msg = "unknown field" if e.get("type") == "extra_forbidden" else e.get("msg", "invalid")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_payload(payload: bytes | str | dict[str, Any] | None) -> dict[str, Any]:
    """Raw payload to a JSON object. Empty means ``{}``. Raises ValueError with a reason."""
    if payload is None:
        return {}
    if isinstance(payload, dict):
        return payload
    if isinstance(payload, bytes):
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("payload is not UTF-8") from None
    if not payload.strip():
        return {}
    try:
        check_depth(payload)
    except ValueError as exc:
        raise ValueError(f"payload is {exc}") from None
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise ValueError(f"payload is not valid JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError(f"payload must be a JSON object, got {type(data).__name__}")
    return data


class Dispatcher:
    """Turns (name, payload) into one validated API call and a result dict. Thread-safe as
    far as the API is; it holds no state of its own."""

    def __init__(self, api: KioskApi, source: str = "mqtt") -> None:
        self.api = api
        self.source = source  # recorded with each command in the history

    def dispatch(
        self,
        name: str,
        payload: bytes | str | dict[str, Any] | None = None,
        source: str = OPERATOR,
    ) -> dict[str, Any]:
        result: dict[str, Any] = {"id": None, "command": name[:64], "ok": False, "error": None}
        try:
            data = parse_payload(payload)
        except ValueError as exc:
            result["error"] = str(exc)
            return result
        result["id"] = safe_id(data.get("id"))
        entry = COMMANDS.get(name)
        if entry is None:
            result["error"] = f"unknown command {name[:64]!r}; known: {', '.join(COMMANDS)}"
            return result
        model, action = entry
        if source != OPERATOR:
            if name not in STAFF_COMMANDS:
                result["error"] = f"{name} needs the operator role"
                return result
            action = STAFF_ACTIONS.get(name, action)
        try:
            cmd = model.model_validate(data)
        except ValidationError as exc:
            result["error"] = f"invalid {name} payload: {_describe(exc)}"
            return result
        try:
            extra = action(self.api, cmd)
        except CommandError as exc:
            result["error"] = str(exc) or f"{name} refused"
            return self._record(result, cmd, source)
        except Exception as exc:  # a core bug must not take the front end down
            log.exception("command %s failed", name)
            result["error"] = f"internal error: {type(exc).__name__}"
            return self._record(result, cmd, source)
        result["ok"] = True
        self._record(result, cmd, source)
        if extra:
            result.update(extra)
        return result

    def _record(self, result: dict[str, Any], cmd: _Cmd, role: str) -> dict[str, Any]:
        """A ``command`` event for the history (validated commands only; never the id)."""
        events = getattr(self.api, "events", None)
        if events is not None:
            source = self.source if role == OPERATOR else f"{self.source}:{role}"
            data = {"command": result["command"], "source": source, "ok": result["ok"]}
            data |= {"args": cmd.model_dump(exclude={"id"}), "error": result["error"]}
            events.emit(Event("command", data, time.time()))
        return result
