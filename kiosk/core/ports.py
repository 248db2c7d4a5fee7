"""What the core needs from its backends and plug-ins, as narrow Protocols.

The core codes against these, not against concrete classes: the real player
(``kiosk.player``), the library (``kiosk.library``), the history reporter, the announcer
and the music analysis feed each satisfy one. Plug-ins attach through ``Core.attach_*``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from kiosk.core.events import Event


class TrackLike(Protocol):
    path: Path


class PlayerStateLike(Protocol):
    playlist: str | None
    track: Any  # a TrackLike or None
    volume: int
    playing: bool


@runtime_checkable
class PlayerPort(Protocol):
    def play_playlist(self, name: str, tracks: list[Any], crossfade_s: float) -> None: ...
    def next_track(self) -> None: ...
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    def set_volume(self, level: int) -> None: ...
    def stop(self, fade_s: float = 0.0) -> None: ...
    def poll(self) -> None: ...
    def state(self) -> Any: ...  # PlayerStateLike
    def close(self) -> None: ...


@runtime_checkable
class OrderedPlayer(Protocol):
    """A player that takes its play order and loudness lookup from the core."""

    order_factory: Callable[[str, Sequence[Any]], Any] | None
    estimate: Callable[[Any], dict[str, Any] | None] | None


@runtime_checkable
class ReconfigurablePlayer(Protocol):
    def reconfigure(self, cfg: Any) -> None: ...


@runtime_checkable
class LibraryPort(Protocol):
    root: Path

    def playlists(self) -> dict[str, list[Any]]: ...
    def tracks(self, name: str) -> list[Any]: ...
    def refresh_if_changed(self) -> bool: ...


@runtime_checkable
class Rescanning(Protocol):
    """A library that can be re-read from scratch (``rescan``, a config reload)."""

    def rescan(self) -> None: ...


@runtime_checkable
class ReportsFileChanges(Protocol):
    """Views that tell a change of files from one of estimates only."""

    files_changed: bool


@runtime_checkable
class SortingLibrary(Protocol):
    """Self-sorting playlists (``kiosk.library.views.MusicViews``)."""

    def estimate(self, path: Path) -> dict[str, Any] | None: ...
    def retag(self, track: str, playlist: str | None) -> dict[str, Any]: ...
    def mark_dirty(self) -> None: ...


# (date or None for today, include plays) -> the history summary.
Reporter = Callable[[str | None, bool], dict[str, Any]]


@runtime_checkable
class AnnouncerPort(Protocol):
    def announce(self, file: str) -> Path: ...
    def poll(self, local: datetime, open_now: bool) -> None: ...
    def on_track(self, event: Event) -> None: ...
    def close(self) -> None: ...


@runtime_checkable
class AnalysisPort(Protocol):
    def progress(self) -> dict[str, Any]: ...
    def library_changed(self) -> None: ...
