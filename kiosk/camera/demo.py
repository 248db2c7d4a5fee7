"""The built-in demo camera: a short shop day made from the bundled real photographs.

Every frame goes through the real detector, classifier, mood window and policy; nothing
here says what mood a frame has. The day, at the default 3 s sampling interval (one frame
per ``read``):

- opening: the shop is empty (the no-audience playlist plays);
- morning: three visitors walk in (two copies of the smiling astronaut photograph and Grace
  Hopper's calm portrait), drift through the shop and leave; the music follows them;
- midday: the shop is empty again and the music goes back to the no-audience playlist;
- afternoon: two unsmiling visitors (the cameraman photograph) stay a while, then leave;
  the demo plays the ``uplift`` strategy, so the music lifts them (see DEMO_SETTINGS);
- evening: empty. Then the day starts again.

Faces are pasted as head-and-shoulders crops at several sizes and positions, and move a
little from frame to frame like people walking. Frames exist only in memory.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import cv2
import numpy as np

from kiosk import ASSETS_DIR
from kiosk.camera.base import EndOfStream
from kiosk.camera.compose import PHOTO_FACE, background

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    """One bundled photograph and where the detector finds its face (x, y, w, h)."""

    file: str
    face: tuple[int, int, int, int]


ASTRONAUT = Person("astronaut.png", PHOTO_FACE)  # Eileen Collins, classified happy
HOPPER = Person("grace_hopper.jpg", (158, 118, 210, 210))  # Grace Hopper, neutral
CAMERAMAN = Person("cameraman.png", (205, 124, 69, 69))  # the cameraman, neutral or sad


@dataclass(frozen=True)
class Visitor:
    """A person walking from ``start`` to ``end`` (centres as fractions of the frame)."""

    person: Person
    face_px: int
    start: tuple[float, float]
    end: tuple[float, float]


@dataclass(frozen=True)
class Phase:
    name: str
    frames: int
    says: str  # logged when the phase begins, so the log tells the story
    visitors: tuple[Visitor, ...] = ()


MORNING = (
    Visitor(ASTRONAUT, 150, (0.22, 0.40), (0.30, 0.42)),
    Visitor(HOPPER, 120, (0.55, 0.35), (0.50, 0.38)),
    Visitor(ASTRONAUT, 95, (0.82, 0.55), (0.74, 0.50)),
)
AFTERNOON = (
    Visitor(CAMERAMAN, 130, (0.30, 0.45), (0.34, 0.45)),
    Visitor(CAMERAMAN, 100, (0.72, 0.40), (0.68, 0.42)),
)
# One demo day: 26 frames, 78 s at the default interval. The first minute shows an empty
# shop, a mood-driven switch when the visitors come in and the switch back when they go.
DAY: tuple[Phase, ...] = (
    Phase("opening", 3, "the shop opens, nobody in"),
    Phase("morning", 7, "three visitors come in, two of them smiling", MORNING),
    Phase("midday", 5, "the visitors have left, the shop is empty"),
    Phase("afternoon", 7, "two unsmiling visitors come in", AFTERNOON),
    Phase("evening", 4, "the shop is empty again; then the day starts over"),
)


# The demo runs on the built-in config, tuned so a day fits in little more than a minute:
# a 12 s mood window (4 samples) and 15 s between mood-driven switches. A shop's config
# keeps the slower defaults (30 s window, 90 s dwell), which suit real foot traffic.
# The strategy is ``uplift``: the default emotion model reads the cameraman as neutral or
# sad (about 0.45 and 0.40: he looks into a camera, he does not pull a face), and under
# ``match`` a neutral crowd plays the no-audience music, so the afternoon would change
# nothing. Under ``uplift`` neutral plays upbeat and sad uplifting: either way the music
# answers the visitors, and happy still plays happy.
DEMO_SETTINGS: dict[str, dict[str, Any]] = {
    "mood": {"window_s": 12.0},
    "policy": {"min_dwell_s": 15.0, "strategy": "uplift"},
}


def with_demo_settings(cfg: Any) -> Any:
    """A copy of the config ``cfg`` with the demo day's window, dwell and strategy."""
    cfg = cfg.model_copy(deep=True)
    for section, values in DEMO_SETTINGS.items():
        for key, value in values.items():
            setattr(getattr(cfg, section), key, value)
    return cfg


@lru_cache(maxsize=8)
def _head(person: Person) -> tuple[np.ndarray, float, float]:
    """Head-and-shoulders crop of ``person`` and the face centre inside it."""
    img = cv2.imread(str(ASSETS_DIR / person.file), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(ASSETS_DIR / person.file)
    x, y, w, h = person.face
    x0, y0 = max(0, x - w * 4 // 5), max(0, y - h * 3 // 5)
    x1, y1 = min(img.shape[1], x + w + w * 4 // 5), min(img.shape[0], y + h + h * 6 // 5)
    crop = np.ascontiguousarray(img[y0:y1, x0:x1])
    crop.flags.writeable = False
    return crop, x + w / 2 - x0, y + h / 2 - y0


def paste(frame: np.ndarray, person: Person, cx: int, cy: int, face_px: int) -> None:
    """Paste ``person`` so the face is ``face_px`` wide and centred at (cx, cy)."""
    src, fx, fy = _head(person)
    s = face_px / person.face[2]
    head = cv2.resize(
        src,
        (max(1, round(src.shape[1] * s)), max(1, round(src.shape[0] * s))),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )
    x0, y0 = round(cx - fx * s), round(cy - fy * s)
    fh, fw = frame.shape[:2]
    hx0, hy0 = max(0, -x0), max(0, -y0)
    x1, y1 = min(fw, x0 + head.shape[1]), min(fh, y0 + head.shape[0])
    if x1 <= max(0, x0) or y1 <= max(0, y0):
        return
    frame[max(0, y0) : y1, max(0, x0) : x1] = head[
        hy0 : hy0 + y1 - max(0, y0), hx0 : hx0 + x1 - max(0, x0)
    ]


def day_frames() -> list[tuple[Phase, float]]:
    """(phase, progress 0..1 through the phase) for each frame of the day."""
    return [(p, i / max(1, p.frames - 1)) for p in DAY for i in range(p.frames)]


def render(
    width: int, height: int, visitors: tuple[Visitor, ...], progress: float, seed: int
) -> np.ndarray:
    """One frame: the shop backdrop with each visitor at ``progress`` along their walk."""
    frame = background(width, height, seed)
    scale = width / 1280  # sizes are given for 1280×720
    for v in visitors:
        fx = v.start[0] + (v.end[0] - v.start[0]) * progress
        fy = v.start[1] + (v.end[1] - v.start[1]) * progress
        paste(frame, v.person, round(fx * width), round(fy * height), round(v.face_px * scale))
    return frame


class DemoCamera:
    """Plays the demo day, one frame per ``read``; ``loop`` repeats the day."""

    def __init__(self, width: int = 1280, height: int = 720, loop: bool = True) -> None:
        self.width, self.height, self.loop = width, height, loop
        self.name = "demo"
        self._frames = day_frames()
        self._pos = 0

    @property
    def phase(self) -> str:
        """Name of the phase the next frame belongs to."""
        return self._frames[self._pos % len(self._frames)][0].name

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        if self._pos >= len(self._frames):
            if not self.loop:
                raise EndOfStream("demo day finished")
            self._pos = 0
        phase, progress = self._frames[self._pos]
        if progress == 0:
            log.info("demo day, %s: %s", phase.name, phase.says)
        frame = render(self.width, self.height, phase.visitors, progress, seed=self._pos)
        self._pos += 1
        return frame

    def close(self) -> None:
        pass


# (number of frames, face widths in pixels at 1280×720) per phase: the day's shape at a glance.
SCRIPT: tuple[tuple[int, tuple[int, ...]], ...] = tuple(
    (p.frames, tuple(v.face_px for v in p.visitors)) for p in DAY
)
