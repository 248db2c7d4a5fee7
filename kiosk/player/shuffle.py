"""Play order: a shuffle that plays every track once per cycle and never repeats back to back."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class PlayOrder(Generic[T]):
    """Endless order over ``items``.

    With ``shuffle`` every cycle is a fresh permutation; when a new cycle would start with the
    track that just ended it is swapped away, so with two or more tracks nothing plays twice in
    a row. Without shuffle the folder order loops.
    """

    def __init__(self, items: Sequence[T], shuffle: bool = True, rng: random.Random | None = None):
        self.items = list(items)
        self.shuffle = shuffle
        self._rng = rng or random.Random()
        self._cycle: list[T] = []
        self._last: T | None = None

    def __len__(self) -> int:
        return len(self.items)

    def next(self) -> T:
        if not self.items:
            raise IndexError("empty playlist")
        if not self._cycle:
            self._cycle = self._new_cycle()
        item = self._cycle.pop()
        self._last = item
        return item

    def continue_after(self, item: T) -> None:
        """Carry on from ``item`` (the track playing when the playlist's files changed)."""
        self._last = item
        if not self.shuffle and item in self.items:
            rest = self.items[self.items.index(item) + 1 :]
            self._cycle = list(reversed(rest))

    def _new_cycle(self) -> list[T]:
        cycle = list(self.items)
        if not self.shuffle:
            cycle.reverse()  # popped from the end
            return cycle
        self._rng.shuffle(cycle)
        if len(cycle) > 1 and cycle[-1] == self._last:
            swap = self._rng.randrange(len(cycle) - 1)
            cycle[-1], cycle[swap] = cycle[swap], cycle[-1]
        return cycle
