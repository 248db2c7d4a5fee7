"""Clocks: the real one and a simulated one for ``--simulate`` and the tests.

Everything time-dependent in the core takes a clock, so tests and simulation never sleep.
``monotonic`` drives intervals (dwell, window, expiry); ``time`` stamps events; ``local``
is the wall time in the device's time zone for the opening hours.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def monotonic(self) -> float: ...
    def time(self) -> float: ...
    def local(self) -> datetime: ...
    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None: ...


class RealClock:
    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    def local(self) -> datetime:
        return datetime.now().astimezone()

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        """Sleep, returning early when ``wake`` is set (a signal handler sets it)."""
        if seconds <= 0:
            return
        if wake is None:
            time.sleep(seconds)
        else:
            wake.wait(seconds)


class SimClock:
    """A clock that only moves when told to. ``sleep`` advances it instantly."""

    def __init__(self, start_wall: float | None = None, start_mono: float = 0.0) -> None:
        self._mono = start_mono
        self._wall0 = time.time() if start_wall is None else start_wall
        self._mono0 = start_mono

    def monotonic(self) -> float:
        return self._mono

    def time(self) -> float:
        return self._wall0 + (self._mono - self._mono0)

    def local(self) -> datetime:
        return datetime.fromtimestamp(self.time()).astimezone()

    def advance(self, seconds: float) -> None:
        self._mono += max(0.0, seconds)

    def sleep(self, seconds: float, wake: threading.Event | None = None) -> None:
        self.advance(seconds)
