"""How many times staff may skip a track per hour (``player.skip_limit_per_hour``)."""

from __future__ import annotations

from collections import deque

HOUR_S = 3600.0


class SkipLimiter:
    """A sliding one-hour window of skips, on the core's monotonic clock."""

    def __init__(self, per_hour: int) -> None:
        self.per_hour = per_hour
        self._times: deque[float] = deque()

    def _prune(self, now: float) -> None:
        while self._times and now - self._times[0] >= HOUR_S:
            self._times.popleft()

    def wait_s(self, now: float) -> float:
        """Seconds until the next skip is allowed; 0 when one is allowed now."""
        if self.per_hour <= 0:
            return 0.0
        self._prune(now)
        if len(self._times) < self.per_hour:
            return 0.0
        return self._times[-self.per_hour] + HOUR_S - now

    def left(self, now: float) -> int | None:
        """Skips left in this hour; None when unlimited."""
        if self.per_hour <= 0:
            return None
        self._prune(now)
        return max(0, self.per_hour - len(self._times))

    def record(self, now: float) -> None:
        if self.per_hour > 0:
            self._times.append(now)
            while len(self._times) > self.per_hour:
                self._times.popleft()
