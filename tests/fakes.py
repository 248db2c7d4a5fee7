"""The suite's shared fakes: a face, a player, a library and a clock (no camera, no audio,
no disk). Every test folder imports them from here by bare name (``from fakes import ...``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.core.api import EMOTIONS


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


@dataclass
class FakeFace:
    """What the vision pipeline hands the mood window for one face."""

    box: tuple[float, float, float, float] = (100.0, 100.0, 80.0, 80.0)
    score: float = 0.9
    scores: dict[str, float] = field(default_factory=dict)

    @property
    def emotion(self) -> str:
        return max(self.scores, key=self.scores.get)


def face(mood: str, p: float = 0.9, score: float = 0.9, x: float = 100.0, w: float = 80.0):
    """A face whose top emotion is ``mood`` with probability ``p``; the rest spread evenly."""
    rest = (1 - p) / (len(EMOTIONS) - 1)
    scores = {k: (p if k == mood else rest) for k in EMOTIONS}
    return FakeFace((x, 100.0, w, w), score, scores)


def sure_face(mood: str, x: float = 100.0) -> FakeFace:
    """A clearly detected face, 94 % ``mood`` and 1 % each other emotion."""
    scores = {k: (0.94 if k == mood else 0.01) for k in EMOTIONS}
    return FakeFace((x, 100.0, 80.0, 80.0), 0.95, scores)


class FakeClock:
    """A monotonic clock that moves only when told."""

    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t

    def advance(self, dt: float) -> None:
        self.t += dt
