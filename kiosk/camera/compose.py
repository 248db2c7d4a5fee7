"""Frames composed in memory from the bundled real photograph.

Used by the demo camera, ``kiosk bench`` and the tests. The photograph has one real face;
pasting head-and-shoulders crops of it at chosen sizes gives frames with a known number of
faces at known places. Nothing here is ever written to disk.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from kiosk import ASSETS_DIR

# Face box of the bundled astronaut.png as found by the detector (x, y, w, h, pixels).
PHOTO_FACE = (174, 70, 105, 105)
# Head-and-shoulders crop around that face: 1 face width either side, a bit more below.
_CROP_X0, _CROP_Y0, _CROP_X1, _CROP_Y1 = 90, 5, 365, 300


@lru_cache(maxsize=1)
def photo() -> np.ndarray:
    img = cv2.imread(str(ASSETS_DIR / "astronaut.png"), cv2.IMREAD_COLOR)
    if img is None:
        raise FileNotFoundError(ASSETS_DIR / "astronaut.png")
    return img


@dataclass(frozen=True)
class PlacedFace:
    """Where a pasted face ended up in the composed frame (x, y, w, h)."""

    box: tuple[int, int, int, int]


@lru_cache(maxsize=4)
def _background(width: int, height: int, seed: int) -> np.ndarray:
    img = _make_background(width, height, seed)
    img.flags.writeable = False
    return img


def background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A plain shop-like backdrop: a soft gradient with mild noise, no faces.

    Cached per size: drawing the noise costs more than detecting faces, and the demo
    camera needs a fresh frame every few seconds for weeks.
    """
    return _background(width, height, seed % 4).copy()


def _make_background(width: int, height: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    gy = np.linspace(90, 170, height, dtype=np.float32)[:, None]
    gx = np.linspace(0, 30, width, dtype=np.float32)[None, :]
    base = gy + gx
    img = np.stack([base * 0.9, base, base * 1.05], axis=-1)
    img += rng.normal(0, 4, img.shape).astype(np.float32)
    return np.clip(img, 0, 255).astype(np.uint8)


def paste_face(frame: np.ndarray, cx: int, cy: int, face_px: int) -> PlacedFace:
    """Paste the photo's head so its face is ``face_px`` wide and centred at (cx, cy)."""
    src = photo()[_CROP_Y0:_CROP_Y1, _CROP_X0:_CROP_X1]
    s = face_px / PHOTO_FACE[2]
    head = cv2.resize(
        src,
        (max(1, round(src.shape[1] * s)), max(1, round(src.shape[0] * s))),
        interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
    )
    fx = (PHOTO_FACE[0] - _CROP_X0 + PHOTO_FACE[2] / 2) * s
    fy = (PHOTO_FACE[1] - _CROP_Y0 + PHOTO_FACE[3] / 2) * s
    x0, y0 = round(cx - fx), round(cy - fy)
    fh, fw = frame.shape[:2]
    hx0, hy0 = max(0, -x0), max(0, -y0)
    x1, y1 = min(fw, x0 + head.shape[1]), min(fh, y0 + head.shape[0])
    frame[max(0, y0) : y1, max(0, x0) : x1] = head[
        hy0 : hy0 + y1 - max(0, y0), hx0 : hx0 + x1 - max(0, x0)
    ]
    return PlacedFace((round(cx - face_px / 2), round(cy - face_px / 2), face_px, face_px))


def crowd_frame(
    width: int, height: int, face_sizes: list[int], seed: int = 0
) -> tuple[np.ndarray, list[PlacedFace]]:
    """A frame with one face per entry of ``face_sizes``, spread out without overlap."""
    frame = background(width, height, seed)
    n = len(face_sizes)
    placed = []
    if n == 0:
        return frame, placed
    cols = min(n, 3 if n > 2 else n)
    rows = int(np.ceil(n / cols))
    rng = np.random.default_rng(seed)
    for i, size in enumerate(face_sizes):
        r, c = divmod(i, cols)
        cw, ch = width / cols, height / rows
        jitter_x = rng.uniform(-0.15, 0.15) * cw
        jitter_y = rng.uniform(-0.1, 0.1) * ch
        cx = int(np.clip(cw * (c + 0.5) + jitter_x, size, width - size))
        cy = int(np.clip(ch * (r + 0.45) + jitter_y, size, height - size))
        placed.append(paste_face(frame, cx, cy, size))
    return frame, placed
