"""USB/V4L2 cameras, RTSP/HTTP streams and GStreamer pipelines through OpenCV."""

from __future__ import annotations

import logging
import threading
import time

import cv2
import numpy as np

from kiosk.camera.base import CameraOpenError, FrameError, validate_frame

log = logging.getLogger(__name__)


def _parse_source(source: str | int | None) -> tuple[str | int, int]:
    """Map the config's source to what VideoCapture takes, plus the API preference."""
    if source is None:
        return 0, cv2.CAP_V4L2 if hasattr(cv2, "CAP_V4L2") else cv2.CAP_ANY
    if isinstance(source, int) or (isinstance(source, str) and source.isdigit()):
        return int(source), cv2.CAP_V4L2 if hasattr(cv2, "CAP_V4L2") else cv2.CAP_ANY
    if "!" in source and "appsink" in source:
        return source, cv2.CAP_GSTREAMER
    return source, cv2.CAP_ANY


class OpenCVCamera:
    """A live source whose frames are always current.

    Live sources queue frames (V4L2 buffers, RTSP jitter buffers). Sampling every few
    seconds would otherwise return a frame seconds old, so a small thread keeps grabbing —
    grab() does not decode — and ``read`` decodes only the latest grabbed frame.
    """

    def __init__(self, source: str | int | None, width: int, height: int, open_timeout_s: float):
        self.source, self.api = _parse_source(source)
        self.width, self.height = width, height
        self.open_timeout_s = open_timeout_s
        self.name = f"opencv:{self.source}"
        self._cap: cv2.VideoCapture | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._grabbed_at = 0.0
        self._grab_failed = False

    def open(self) -> None:
        if self._cap is not None:
            return
        if self.api == cv2.CAP_GSTREAMER and "GStreamer:                   YES" not in (
            cv2.getBuildInformation()
        ):
            raise CameraOpenError(
                "this OpenCV has no GStreamer support (PyPI wheels don't); on Jetson use the "
                "system OpenCV via a --system-site-packages venv, or a V4L2/USB camera"
            )
        cap = cv2.VideoCapture(
            self.source,
            self.api,
            [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(self.open_timeout_s * 1000)],
        )
        if not cap.isOpened():
            cap.release()
            raise CameraOpenError(f"cannot open camera {self.source!r}")
        if isinstance(self.source, int):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self._stop.clear()
        self._grab_failed = False
        self._thread = threading.Thread(target=self._grab_loop, name="camera-grab", daemon=True)
        self._thread.start()

    def _grab_loop(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                cap = self._cap
                ok = cap is not None and cap.grab()
                if ok:
                    self._grabbed_at = time.monotonic()
            if not ok:
                self._grab_failed = True
                self._stop.wait(0.5)
            else:
                # Pace below the camera's rate; the driver keeps the newest buffer.
                self._stop.wait(0.02)

    def read(self) -> np.ndarray:
        self.open()
        deadline = time.monotonic() + self.open_timeout_s
        while self._grabbed_at == 0.0 and time.monotonic() < deadline:
            time.sleep(0.02)
        with self._lock:
            if self._cap is None:
                raise FrameError(f"{self.name}: closed")
            if time.monotonic() - self._grabbed_at > max(5.0, self.open_timeout_s):
                raise FrameError(f"{self.name}: no new frame for a while (camera unplugged?)")
            ok, frame = self._cap.retrieve()
        if not ok:
            raise FrameError(f"{self.name}: frame could not be decoded")
        return validate_frame(frame, self.name)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            if self._cap is not None:
                self._cap.release()
            self._cap = None
        self._grabbed_at = 0.0
