"""The built-in demo camera: a scripted shop scene made from the bundled photograph.

It cycles through an empty shop, a small group arriving, a crowd at several distances and
the shop emptying again, so the demo shows both "no audience" and an audience mood.
"""

from __future__ import annotations

import numpy as np

from kiosk.camera.base import EndOfStream
from kiosk.camera.compose import crowd_frame

# (number of samples, face widths in pixels at 1280×720)
SCRIPT: tuple[tuple[int, tuple[int, ...]], ...] = (
    (4, ()),
    (6, (140, 110)),
    (10, (160, 120, 90, 70)),
    (6, (130,)),
    (6, ()),
)


class DemoCamera:
    def __init__(self, width: int = 1280, height: int = 720, loop: bool = True) -> None:
        self.width, self.height, self.loop = width, height, loop
        self.name = "demo"
        self._frames = [sizes for n, sizes in SCRIPT for _ in range(n)]
        self._pos = 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        if self._pos >= len(self._frames):
            if not self.loop:
                raise EndOfStream("demo script finished")
            self._pos = 0
        sizes = self._frames[self._pos]
        frame, _ = crowd_frame(self.width, self.height, list(sizes), seed=self._pos)
        self._pos += 1
        return frame

    def close(self) -> None:
        pass
