"""Fakes for core/daemon unit tests: a clock, a player and a library (no audio, no disk)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class FakeTrack:
    path: Path
    title: str | None = None
    artist: str | None = None


@dataclass
class FakeState:
    playlist: str | None = None
    track: FakeTrack | None = None
    volume: int = 60
    paused: bool = False
    playing: bool = False
    errors: int = 0


@dataclass
class FakePlayer:
    st: FakeState = field(default_factory=FakeState)
    calls: list[tuple[Any, ...]] = field(default_factory=list)
    tracks: list[Any] = field(default_factory=list)
    limits: tuple[int, int] = (10, 90)

    def play_playlist(self, name: str, tracks: list, crossfade_s: float) -> None:
        self.calls.append(("play", name, crossfade_s))
        self.tracks = list(tracks)
        self.st.playlist, self.st.playing, self.st.paused = name, bool(tracks), False
        self.st.track = tracks[0] if tracks else None

    def next_track(self) -> None:
        self.calls.append(("next",))
        if len(self.tracks) > 1:
            self.st.track = self.tracks[1]

    def pause(self) -> None:
        self.calls.append(("pause",))
        self.st.paused = True

    def resume(self) -> None:
        self.calls.append(("resume",))
        self.st.paused = False

    def set_volume(self, level: int) -> None:
        self.calls.append(("volume", level))
        self.st.volume = max(self.limits[0], min(self.limits[1], level))

    def stop(self, fade_s: float = 0.0) -> None:
        self.calls.append(("stop", fade_s))
        self.st.playing, self.st.playlist, self.st.track = False, None, None

    def poll(self) -> None:
        pass

    def state(self) -> FakeState:
        return self.st

    def close(self) -> None:
        self.calls.append(("close",))


class FakeLibrary:
    def __init__(self, lists: dict[str, int], root: str = "/music") -> None:
        self.root = root
        self.set(lists)
        self.refreshes = 0

    def set(self, lists: dict[str, int]) -> None:
        self._lists = {
            name: [
                FakeTrack(Path(f"{self.root}/{name}/{i}.ogg"), f"{name} {i}", "Band")
                for i in range(n)
            ]
            for name, n in lists.items()
        }

    def refresh_if_changed(self) -> bool:
        self.refreshes += 1
        return False

    def playlists(self) -> dict[str, list]:
        return dict(self._lists)

    def tracks(self, name: str) -> list:
        return list(self._lists.get(name, []))
