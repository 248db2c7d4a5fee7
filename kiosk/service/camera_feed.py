"""The daemon's camera: opened in the background, read with a deadline, reopened with back-off.

Camera faults never stop the music: the camera is closed, a fault is reported, and it is
reopened after an exponential back-off (``service.camera_retry_initial_s`` doubling up to
``camera_retry_max_s``). A live source that ends (EndOfStream) is treated the same way.

Off simulation every backend call runs on the camera's own worker thread with a deadline
(``camera.read_timeout_s``, see ``kiosk.camera.deadlines``), so a hung driver or a stalled
stream costs the daemon loop at most about that long. A camera left stuck inside a call is
not reopened until the call returns, so a hung driver cannot make the kiosk pile up threads.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.camera.base import CameraError, EndOfStream, redact
from kiosk.camera.deadlines import CameraOpening, GuardedCamera
from kiosk.config import LoadedConfig
from kiosk.service.clock import Clock
from kiosk.service.logs import fields

log = logging.getLogger("kiosk.service.daemon")

# Backends that make frames in memory and cannot block. They skip the worker thread: it
# would gain nothing, and the demo's frame composing on a second thread costs a second
# malloc arena (+35 MB RSS measured, against the 150 MB budget).
IN_MEMORY_BACKENDS = frozenset({"demo"})


class CameraStartError(Exception):
    """Simulation only: the source cannot be opened (there is nothing to simulate)."""


class CameraFeed:
    """Owns the camera for the daemon loop. ``config`` returns the current loaded config."""

    def __init__(self, config: Callable[[], LoadedConfig], clock: Clock, simulate: bool) -> None:
        self._config = config
        self.clock = clock
        self.simulate = simulate
        self.camera: Any = None
        self._hung: Any = None  # a closed camera whose worker is still stuck in a call
        self._retry_at = 0.0
        self._backoff = config().config.service.camera_retry_initial_s

    def read(self, fault: Callable[[str], None]) -> np.ndarray | None:
        """The next frame, or None when there is none this time (a fault was reported
        through ``fault``, the camera is backing off, or it is still opening).

        Simulation: raises ``EndOfStream`` when the source has played, and
        ``CameraStartError`` when it cannot be opened; a bad frame is skipped.
        """
        if self.camera is None and not self._start(fault):
            return None
        try:
            return self.camera.read()
        except CameraOpening:
            return None  # still within camera.open_timeout_s: no frame yet, no fault
        except EndOfStream as exc:
            if self.simulate:
                raise
            self.failed(fault, f"source ended: {exc}")
        except CameraError as exc:
            if self.simulate:
                log.warning("skipping frame", extra=fields(error=str(exc)))
                return None
            self.failed(fault, str(exc))
        except Exception as exc:  # a backend bug is a camera fault, not a silent shop
            log.exception("camera read failed unexpectedly")
            self.failed(fault, f"camera failed: {exc}")
        return None

    def delivered(self) -> None:
        """A frame made it through the pipeline: the next fault starts a fresh back-off."""
        self._backoff = self._config().config.service.camera_retry_initial_s

    def reopen_now(self) -> None:
        """The camera settings changed: close it and open the new one at the next sample."""
        self.close()
        self._retry_at = 0.0
        self._backoff = self._config().config.service.camera_retry_initial_s

    def failed(self, fault: Callable[[str], None], message: str) -> None:
        message = redact(message)  # a backend's own error text may quote the URL
        self.close()
        self._retry_at = self.clock.monotonic() + self._backoff
        log.warning("camera fault", extra=fields(error=message, retry_in_s=self._backoff))
        fault(message)
        svc = self._config().config.service
        self._backoff = min(self._backoff * 2, svc.camera_retry_max_s)

    def close(self) -> None:
        if self.camera is not None:
            try:
                self.camera.close()
            except Exception:
                log.exception("camera close failed")
            if getattr(self.camera, "stuck", False):
                self._hung = self.camera  # not reopened until it lets go
        self.camera = None

    def _start(self, fault: Callable[[str], None]) -> bool:
        if self.clock.monotonic() < self._retry_at:
            return False
        hung = self._hung
        if hung is not None and hung.stuck:
            self.failed(
                fault,
                f"camera {hung.name}: a call has hung for {hung.stuck_for_s():.0f} s; "
                "reopening once it returns (replug the camera or restart the kiosk)",
            )
            return False
        self._hung = None
        try:
            self._open()
        except Exception as exc:  # CameraError, or a backend library failing oddly
            if self.simulate:
                raise CameraStartError(f"camera: {exc}") from None
            if not isinstance(exc, CameraError):
                log.exception("camera open failed unexpectedly")
            self.failed(fault, str(exc))
            return False
        return True

    def _open(self) -> None:
        from kiosk.camera.factory import open_camera

        loaded = self._config()
        cam = open_camera(loaded)
        if self.simulate or loaded.config.camera.backend in IN_MEMORY_BACKENDS:
            cam.open()  # offline replay, or frames made in memory: nothing that can hang
        else:
            cfg = loaded.config.camera
            cam = GuardedCamera(cam, cfg.read_timeout_s, cfg.open_timeout_s)
        self.camera = cam
        log.info("camera starting", extra=fields(camera=getattr(cam, "name", "?")))
