"""The core API every front end uses: the web page, MQTT (and Home Assistant through it),
``kiosk ctl``, the CLI and signals.

The daemon owns one object that satisfies ``KioskApi`` and one ``Dispatcher`` over it.
Front ends never reach into the camera, the mood window or the player: they send commands
through the dispatcher (with their ``Origin``) and listen to events. Methods raise
``CommandError`` for a request that cannot be honoured, and then leave state unchanged.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from kiosk.core.events import EventBus

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

Source = Literal["web", "mqtt", "ctl", "cli", "signal"]
Role = Literal["operator", "staff"]
OPERATOR: Role = "operator"
STAFF: Role = "staff"
SOURCES: tuple[str, ...] = ("web", "mqtt", "ctl", "cli", "signal")


class CommandError(Exception):
    """A command that was refused; the message is shown to the operator as-is."""


@dataclass(frozen=True)
class Origin:
    """Who sent a command and through which front end, as the history records it.

    The role comes from how the caller authenticated (a staff page login, the broker's
    ACL, a local signal), never from the payload. ``user`` is a login name where the front
    end has one.
    """

    source: str  # one of SOURCES
    role: str = OPERATOR
    user: str | None = None


@dataclass
class Status:
    """Snapshot of the kiosk, JSON-safe via ``to_dict``. Aggregates only, never images."""

    mood: str | None = None  # dominant mood, None when there is no audience
    confidence: float = 0.0
    faces: int = 0
    distribution: dict[str, float] = field(default_factory=dict)
    playlist: str | None = None
    track: dict[str, Any] | None = None  # {"path", "title", "artist"}
    volume: int = 0
    paused: bool = False
    override: dict[str, Any] | None = None  # {"mood", "expires_at"} (wall-clock seconds)
    camera: dict[str, Any] = field(default_factory=dict)  # {"ok", "error", "since"}
    version: str = ""
    uptime_s: float = 0.0
    # Background music analysis: {"queued", "done", "failed", "busy", "internal_errors"};
    # None when it is off.
    music_analysis: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class KioskApi(Protocol):
    """What the core offers to front ends (through the dispatcher, and the page's view)."""

    events: EventBus

    def status(self) -> Status: ...
    def set_volume(self, level: int) -> None: ...  # 0..100, clamped to the configured limits
    def next_track(self, limited: bool = False) -> None: ...  # limited: staff's skip limit
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def override(self, mood: str, ttl_s: float) -> None: ...  # mood or playlist name
    def clear_override(self) -> None: ...
    def reload_config(self) -> None: ...
    def rescan_library(self) -> None: ...
    def report(self, date: str | None, plays: bool) -> dict[str, Any]: ...  # history summary
    def retag(self, track: str, playlist: str | None) -> dict[str, Any]: ...  # staff correction
    def block(self, kind: str, value: str, limited: bool = False) -> dict[str, str]: ...
    def unblock(self, kind: str, value: str) -> None: ...
    def blocks(self) -> list[dict[str, str]]: ...
    def announce(self, file: str) -> dict[str, str]: ...
    def skip_allowance(self) -> dict[str, Any]: ...  # {"limit", "left"}
    def playlists(self) -> list[str]: ...  # names with something to play, sorted
    def import_progress(self) -> dict[str, Any] | None: ...  # the USB import's, if recent
