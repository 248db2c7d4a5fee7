"""Small builders shared by the mood tests."""

from __future__ import annotations

from dataclasses import dataclass, field

from kiosk.api import EMOTIONS


@dataclass(frozen=True)
class FakeFace:
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
