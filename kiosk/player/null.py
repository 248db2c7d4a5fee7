"""The ``null`` backend: plays nothing, keeps exactly the state VLC would have.

Tracks "play" for their tagged length (``default_length_s`` when unknown) on the player's
clock, so the daemon, the simulation and unit tests see track changes, crossfades and
volume ramps without audio. ``fails`` lets tests mark tracks as unplayable.
"""

from __future__ import annotations

from collections.abc import Callable

from kiosk.library.tracks import Track
from kiosk.player.base import Clock
from kiosk.player.config import PlayerConfig
from kiosk.player.decks import Deck, DeckPlayer


class NullPlayer(DeckPlayer):
    backend = "null"

    def __init__(
        self,
        cfg: PlayerConfig | None = None,
        clock: Clock | None = None,
        default_length_s: float = 180.0,
        fails: Callable[[Track], bool] | None = None,
    ) -> None:
        super().__init__(cfg or PlayerConfig(backend="null"), clock)
        self.default_length_s = default_length_s
        self.fails = fails or (lambda track: False)
        self.started: list[Track] = []  # every start, in order (tests, simulation logs)

    def _start(self, deck: Deck, track: Track, level: int) -> bool:
        self.started.append(track)
        deck.extra = {"t0": self._clock(), "paused_at": None, "level": level}
        return True

    def _halt(self, deck: Deck) -> None:
        deck.extra = {}

    def _set_level(self, deck: Deck, level: int) -> bool:
        deck.extra["level"] = level
        return True

    def _set_pause(self, deck: Deck, paused: bool) -> None:
        now = self._clock()
        if paused:
            deck.extra["paused_at"] = now
        elif deck.extra.get("paused_at") is not None:
            deck.extra["t0"] = float(deck.extra["t0"]) + now - float(deck.extra["paused_at"])  # type: ignore[arg-type]
            deck.extra["paused_at"] = None

    def _status(self, deck: Deck) -> tuple[str, float, float]:
        assert deck.track is not None
        if self.fails(deck.track):
            return "error", 0.0, 0.0
        length = deck.track.duration_s or self.default_length_s
        paused_at = deck.extra.get("paused_at")
        now = float(paused_at) if paused_at is not None else self._clock()  # type: ignore[arg-type]
        pos = now - float(deck.extra.get("t0", now))  # type: ignore[arg-type]
        return ("ended" if pos >= length else "playing"), min(pos, length), length

    def _output(self) -> str:
        return "null"
