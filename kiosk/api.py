"""The small core API every front end uses (CLI, MQTT, signals).

The daemon owns one object that satisfies ``KioskApi``. Front ends never reach into the
camera, the mood window or the player directly: they call these methods and listen to
events. Methods raise ``CommandError`` for a request that cannot be honoured; they must
leave state unchanged in that case.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

# Event payloads (all JSON-safe aggregates):
#   sample:   {"faces": n, "faces_ignored": n, "emotions": {label: count}, "inference_ms": x,
#              "camera_ok": bool}  (faces under mood.min_face_score are only in faces_ignored)
#   mood:     {"mood": str|None, "confidence": f, "faces": n, "distribution": {...},
#              "window_s": f, "audience": bool}
#   playlist: {"from": str|None, "to": str, "reason": str}
#   track:    {"playlist": str, "path": str, "title": str|None, "artist": str|None,
#              "valence": f|None, "arousal": f|None, "order": "shuffle"|"trajectory"}
#   fault:    {"component": str, "message": str, "ok": bool}  (ok=True when it cleared)
#   state:    Status.to_dict()
#   stats:    free-form aggregate counters from a front end or the core
#   command:  {"command": str, "source": str, "args": {...}, "ok": bool, "error": str|None}
#   experiment: {"arm": "strategy"|"control", "mood", "playlist", "from", "strategy", "control"}
EventKind = Literal[
    "sample", "mood", "playlist", "track", "fault", "state", "stats", "command", "experiment"
]


class CommandError(Exception):
    """A command that was refused; the message is shown to the operator as-is."""


@dataclass(frozen=True)
class Event:
    """Something that happened in the core. ``data`` holds JSON-safe aggregate values only."""

    kind: EventKind
    data: dict[str, Any]
    ts: float  # wall-clock seconds (time.time()), so published stats keep their real time


Listener = Callable[[Event], None]


class EventBus:
    """Synchronous fan-out. A failing listener is logged and never breaks the others."""

    def __init__(self) -> None:
        self._listeners: list[tuple[set[str] | None, Listener]] = []

    def subscribe(self, listener: Listener, kinds: set[str] | None = None) -> Callable[[], None]:
        entry = (kinds, listener)
        self._listeners.append(entry)

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    def emit(self, event: Event) -> None:
        import logging

        for kinds, listener in list(self._listeners):
            if kinds is not None and event.kind not in kinds:
                continue
            try:
                listener(event)
            except Exception:  # a front end bug must not stop the music
                logging.getLogger(__name__).exception("event listener failed on %s", event.kind)


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
        from dataclasses import asdict

        return asdict(self)


@runtime_checkable
class KioskApi(Protocol):
    """What the daemon core offers to front ends."""

    events: EventBus

    def status(self) -> Status: ...
    def set_volume(self, level: int) -> None: ...  # 0..100, clamped to the configured limits
    def next_track(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def override(self, mood: str, ttl_s: float) -> None: ...  # mood or playlist name
    def clear_override(self) -> None: ...
    def reload_config(self) -> None: ...
    def rescan_library(self) -> None: ...
    def report(self, date: str | None, plays: bool) -> dict[str, Any]: ...  # history summary
    def retag(self, track: str, playlist: str | None) -> dict[str, Any]: ...  # staff correction
