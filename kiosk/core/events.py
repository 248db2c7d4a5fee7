"""The core's events: one typed payload per kind, and the synchronous bus that fans them out.

Payloads are ``TypedDict``s: at run time they are the plain JSON-safe dicts that MQTT, Home
Assistant and the history have always received (aggregates only, never an image), and a
type checker knows each kind's keys. ``Event.data`` is the payload of ``Event.kind``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, TypedDict, Union

log = logging.getLogger(__name__)


class SampleEvent(TypedDict):
    """One camera sample. Faces under ``mood.min_face_score`` count only as ignored."""

    faces: int
    faces_ignored: int
    emotions: dict[str, int]
    inference_ms: float
    camera_ok: bool


class MoodEvent(TypedDict):
    mood: str | None
    confidence: float
    faces: int
    distribution: dict[str, float]
    window_s: float
    audience: bool


PlaylistEvent = TypedDict("PlaylistEvent", {"from": str | None, "to": str | None, "reason": str})


class TrackEvent(TypedDict):
    playlist: str | None
    path: str
    title: str | None
    artist: str | None
    valence: float | None
    arousal: float | None
    order: str  # "shuffle" | "trajectory"


class FaultEvent(TypedDict):
    component: str  # "camera" | "player" | "library"
    message: str
    ok: bool  # True when the fault cleared


class CommandEvent(TypedDict):
    """A validated command and its outcome, with who sent it (``kiosk.core.api.Origin``)."""

    command: str
    source: str  # web | mqtt | ctl | cli | signal
    role: str  # operator | staff
    user: str | None
    args: dict[str, Any]
    ok: bool
    error: str | None


ExperimentEvent = TypedDict(
    "ExperimentEvent",
    {
        "arm": str,  # "strategy" | "control"
        "mood": str | None,
        "playlist": str | None,
        "from": str | None,
        "strategy": str | None,
        "control": str | None,
    },
    total=False,
)

# ``state`` carries ``Status.to_dict()``; ``stats`` free-form aggregate counters.
StateEvent = dict[str, Any]
StatsEvent = dict[str, Any]

EventKind = Literal[
    "sample", "mood", "playlist", "track", "fault", "state", "stats", "command", "experiment"
]
EventData = Union[  # noqa: UP007 (a runtime alias; Python 3.10 has no TypeAliasType)
    SampleEvent,
    MoodEvent,
    PlaylistEvent,
    TrackEvent,
    FaultEvent,
    CommandEvent,
    ExperimentEvent,
    dict[str, Any],
]


@dataclass(frozen=True)
class Event:
    """Something that happened in the core; ``data`` is the payload of ``kind`` (above)."""

    kind: EventKind
    data: Any  # EventData; Any so listeners index the kind they subscribed to directly
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
        for kinds, listener in list(self._listeners):
            if kinds is not None and event.kind not in kinds:
                continue
            try:
                listener(event)
            except Exception:  # a front end bug must not stop the music
                log.exception("event listener failed on %s", event.kind)
