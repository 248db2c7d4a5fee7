"""Raspberry Pi camera modules through picamera2 (apt: python3-picamera2)."""

from __future__ import annotations

import numpy as np

from kiosk.camera.base import CameraOpenError, FrameError, validate_frame


class PiCamera:
    """picamera2 in video mode; ``capture_array`` returns the newest frame."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.name = "picamera2"
        self._cam = None

    def open(self) -> None:
        if self._cam is not None:
            return
        try:
            from picamera2 import Picamera2
        except ImportError:
            raise CameraOpenError(
                "picamera2 is not importable. On Raspberry Pi OS: `sudo apt install "
                "python3-picamera2` and create the venv with --system-site-packages "
                "(scripts/install.sh does both)."
            ) from None
        try:
            cam = Picamera2()
            # "RGB888" is laid out B, G, R in memory, which is what OpenCV expects.
            config = cam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "RGB888"}, buffer_count=2
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:  # libcamera raises plain RuntimeError/IndexError
            raise CameraOpenError(f"picamera2: cannot start camera: {exc}") from None
        self._cam = cam

    def read(self) -> np.ndarray:
        self.open()
        try:
            frame = self._cam.capture_array("main")
        except Exception as exc:
            raise FrameError(f"picamera2: capture failed: {exc}") from None
        return validate_frame(frame, self.name)

    def close(self) -> None:
        if self._cam is not None:
            try:
                self._cam.stop()
                self._cam.close()
            finally:
                self._cam = None
