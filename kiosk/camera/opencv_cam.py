"""USB/V4L2 cameras, RTSP/HTTP streams and GStreamer pipelines through OpenCV."""

from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from kiosk.camera.base import CameraOpenError, FrameError, redact, validate_frame

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


# Grab threads of closed cameras still stuck inside cap.grab(). Past this many, opening
# another capture is refused, so a hung driver cannot make the kiosk pile up threads.
MAX_STUCK_GRABBERS = 2
_stuck: list[threading.Thread] = []


def _timeout_params(open_timeout_s: float, read_timeout_s: float) -> list[int]:
    """Open/read deadlines for the backends that honour them (FFmpeg, GStreamer...)."""
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, int(open_timeout_s * 1000)]
    if hasattr(cv2, "CAP_PROP_READ_TIMEOUT_MSEC"):
        params += [cv2.CAP_PROP_READ_TIMEOUT_MSEC, int(read_timeout_s * 1000)]
    return params


class OpenCVCamera:
    """A live source whose frames are always current.

    Live sources queue frames (V4L2 buffers, RTSP jitter buffers). Sampling every few
    seconds would otherwise return a frame seconds old, so a small thread keeps grabbing —
    grab() does not decode. Only that thread touches the capture: ``read`` asks it for a
    frame, it decodes the next grabbed one, and ``read`` waits for it at most
    ``read_timeout_s``. No lock is held across ``grab()``, so a stalled stream can delay the
    grab thread but never the caller.
    """

    def __init__(
        self,
        source: str | int | None,
        width: int,
        height: int,
        open_timeout_s: float,
        read_timeout_s: float = 2.0,
    ):
        self.source, self.api = _parse_source(source)
        self.width, self.height = width, height
        self.open_timeout_s = open_timeout_s
        self.read_timeout_s = read_timeout_s
        self.name = f"opencv:{redact(str(self.source))}"  # never the password
        self._cap: cv2.VideoCapture | None = None
        self._lock = threading.Lock()  # guards _frame/_decode_failed, never held over I/O
        self._want = threading.Event()  # read() waits for a frame
        self._ready = threading.Event()  # the grab thread handed one over
        self._frame: np.ndarray | None = None
        self._decode_failed = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def open(self) -> None:
        if self._cap is not None:
            return
        _stuck[:] = [t for t in _stuck if t.is_alive()]
        if len(_stuck) >= MAX_STUCK_GRABBERS:
            raise CameraOpenError(
                f"{len(_stuck)} earlier captures are still hung inside the camera driver; "
                "not opening another (replug the camera or restart the kiosk)"
            )
        if self.api == cv2.CAP_GSTREAMER and "GStreamer:                   YES" not in (
            cv2.getBuildInformation()
        ):
            raise CameraOpenError(
                "this OpenCV has no GStreamer support (PyPI wheels don't); on Jetson use the "
                "system OpenCV via a --system-site-packages venv, or a V4L2/USB camera"
            )
        cap = cv2.VideoCapture(
            self.source, self.api, _timeout_params(self.open_timeout_s, self.read_timeout_s)
        )
        if not cap.isOpened():
            cap.release()
            raise CameraOpenError(f"cannot open camera {redact(str(self.source))!r}")
        if isinstance(self.source, int):
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap
        self._stop = threading.Event()  # a fresh one: an old grab thread keeps its own
        self._want.clear()
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._grab_loop, args=(cap, self._stop), name="camera-grab", daemon=True
        )
        self._thread.start()

    def _grab_loop(self, cap: cv2.VideoCapture, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                ok = cap.grab()  # may block for as long as the stream stalls; no lock held
                if stop.is_set():
                    break
                if not ok:
                    stop.wait(0.5)
                    continue
                if self._want.is_set():
                    decoded, frame = cap.retrieve()
                    with self._lock:
                        self._frame = frame if decoded else None
                        self._decode_failed = not decoded
                    self._want.clear()
                    self._ready.set()
                # Pace below the camera's rate; the driver keeps the newest buffer.
                stop.wait(0.02)
        except Exception:
            log.exception("camera grab thread failed")
        finally:
            cap.release()  # only this thread ever touches the capture

    def read(self) -> np.ndarray:
        self.open()
        with self._lock:
            self._frame, self._decode_failed = None, False
        self._ready.clear()
        self._want.set()
        if not self._ready.wait(self.read_timeout_s):
            raise FrameError(
                f"{self.name}: no frame within camera.read_timeout_s={self.read_timeout_s:g} s "
                "(stream stalled or camera unplugged?)"
            )
        with self._lock:
            frame, self._frame = self._frame, None
            failed = self._decode_failed
        if frame is None or failed:
            raise FrameError(f"{self.name}: frame could not be decoded")
        return validate_frame(frame, self.name)

    def close(self) -> None:
        self._stop.set()
        self._want.clear()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=0.5)  # a working grab returns within a frame time
            if thread.is_alive():
                log.warning(
                    "%s: grab() hangs; the capture is released if it ever returns", self.name
                )
                _stuck.append(thread)
        self._cap = None
        with self._lock:
            self._frame = None
