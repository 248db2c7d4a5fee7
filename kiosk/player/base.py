"""The player interface the daemon codes against: state, errors, fades, the protocol.

The backends (``decks.py``, ``null.py``, ``vlc.py``) import these types from
here, and ``player.py`` picks a backend, so imports only flow player -> backend -> types.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

from kiosk.library.tracks import Track

Clock = Callable[[], float]


class PlayerError(Exception):
    """The player backend cannot start (e.g. libvlc missing); the message says how to fix."""


@dataclass(frozen=True)
class PlayerState:
    playlist: str | None
    track: Track | None
    volume: int  # target volume 0..100 (within min/max), not the momentary ramp level
    paused: bool
    playing: bool  # a playlist is loaded and a track is (being) played
    errors: int  # files skipped since start
    output: str = ""  # e.g. "default", "alsa:hw:1,0", "afile:/tmp/kiosk-audio.wav"


@runtime_checkable
class Player(Protocol):
    on_track: Callable[[Track], None] | None
    on_error: Callable[[str], None] | None

    def play_playlist(self, name: str, tracks: list[Track], crossfade_s: float) -> None:
        """Switch to (or start) ``name``; the same playlist again only updates its tracks."""

    def next_track(self) -> None: ...

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def set_volume(self, level: int) -> None:
        """Target volume 0..100, clamped to the configured min/max."""

    def stop(self, fade_s: float = 0.0) -> None:
        """Fade out (finished by ``poll`` or ``close``) and forget the playlist."""

    def poll(self) -> None: ...

    def state(self) -> PlayerState: ...

    def close(self) -> None:
        """Finish a running stop fade (bounded by its length), then release everything."""


@dataclass
class Fade:
    """Gain 0..1 over time: equal-power curve so a crossfade has no loudness dip."""

    start: float
    duration: float
    rising: bool

    def gain(self, now: float) -> float:
        x = 1.0 if self.duration <= 0 else min(1.0, max(0.0, (now - self.start) / self.duration))
        return math.sin(x * math.pi / 2) if self.rising else math.cos(x * math.pi / 2)

    def done(self, now: float) -> bool:
        return now - self.start >= self.duration


def default_wav_path() -> Path:
    import tempfile

    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"kiosk-audio-{uid}.wav"
