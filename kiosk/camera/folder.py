"""Replay from a folder of images or a video file, for tuning and tests."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from kiosk.camera.base import CameraOpenError, EndOfStream, FrameError, validate_frame

log = logging.getLogger(__name__)

IMAGE_EXTS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
VIDEO_EXTS = {".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}


def list_images(root: Path) -> list[Path]:
    """Images under ``root``, recursive, in sorted path order."""
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in IMAGE_EXTS and p.is_file())


class FolderCamera:
    """Yields the images of a folder in sorted order, or the frames of a video file.

    For a video, one frame is taken per sampling interval of video time, so replaying a
    recording behaves like the live camera sampling every ``interval_s``.
    """

    def __init__(self, source: str | Path, loop: bool = True, interval_s: float = 3.0) -> None:
        self.path = Path(source)
        self.loop = loop
        self.interval_s = interval_s
        self.name = f"folder:{self.path}"
        self._images: list[Path] | None = None
        self._video: cv2.VideoCapture | None = None
        self._step = 1
        self._pos = 0

    def open(self) -> None:
        if self._images is not None or self._video is not None:
            return
        if self.path.is_dir():
            self._images = list_images(self.path)
            if not self._images:
                raise CameraOpenError(f"{self.path}: no images ({', '.join(sorted(IMAGE_EXTS))})")
        elif self.path.is_file() and self.path.suffix.lower() in VIDEO_EXTS:
            cap = cv2.VideoCapture(str(self.path))
            if not cap.isOpened():
                raise CameraOpenError(f"{self.path}: cannot open video")
            fps = cap.get(cv2.CAP_PROP_FPS) or 0.0
            self._step = max(1, round(fps * self.interval_s)) if fps > 0 else 1
            self._video = cap
        elif self.path.exists():
            raise CameraOpenError(f"{self.path}: not a folder of images or a video file")
        else:
            raise CameraOpenError(f"{self.path}: does not exist")
        self._pos = 0

    def _read_video(self) -> np.ndarray:
        assert self._video is not None
        for attempt in range(2):
            # grab() skips without decoding; only the sampled frame is decoded.
            for _ in range(self._step - 1):
                if not self._video.grab():
                    break
            ok, frame = self._video.read()
            if ok:
                return validate_frame(frame, self.name)
            if not self.loop or attempt:
                raise EndOfStream(f"{self.path}: end of video")
            self._video.set(cv2.CAP_PROP_POS_FRAMES, 0)
        raise EndOfStream(f"{self.path}: end of video")

    def read(self) -> np.ndarray:
        self.open()
        if self._video is not None:
            return self._read_video()
        assert self._images is not None
        if self._pos >= len(self._images):
            if not self.loop:
                raise EndOfStream(f"{self.path}: all {len(self._images)} images replayed")
            self._pos = 0
        path = self._images[self._pos]
        self._pos += 1
        frame = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if frame is None:
            raise FrameError(f"{path}: unreadable image")
        return validate_frame(frame, str(path))

    def close(self) -> None:
        if self._video is not None:
            self._video.release()
        self._video = None
        self._images = None
