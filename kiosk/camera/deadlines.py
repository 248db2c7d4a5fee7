"""Deadlines for any camera backend: its blocking calls run on a worker thread.

A camera driver, an RTSP stream or a network folder can block a call for as long as it
likes. The daemon loop must keep feeding the systemd watchdog and the player, so it never
calls a backend directly: ``GuardedCamera`` runs ``open``/``read``/``close`` on one worker
thread per camera and waits for each with a deadline.

- ``open`` runs in the background. Until it finishes, ``read`` raises ``CameraOpening``
  (not a fault); after ``open_timeout_s`` it raises ``CameraOpenError``.
- ``read`` waits at most ``read_timeout_s`` (plus a small margin for a backend that has
  its own deadline) and then raises ``FrameTimeout``. While the late call has not returned,
  further reads fail at once: calls never queue up behind a hung one.
- ``close`` waits briefly and otherwise leaves the backend to its thread, which closes it
  if the hung call ever returns. ``stuck`` says whether that thread is still busy, so the
  daemon does not pile up new cameras (and threads) on a hung driver.

The worker is a daemon thread: a call that never returns cannot keep the process alive.
Frames returned late are dropped here, never kept.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.camera.base import Camera, CameraError, CameraOpenError, FrameError

log = logging.getLogger(__name__)

# Extra wait over read_timeout_s, so a backend that enforces the same deadline itself
# (OpenCVCamera) reports its own, more precise error first.
READ_MARGIN_S = 0.25
CLOSE_WAIT_S = 1.0  # OpenCVCamera.close waits 0.5 s for its grab thread


class CameraOpening(CameraError):
    """The camera is still opening (within ``open_timeout_s``): no frame yet, no fault."""


class FrameTimeout(FrameError):
    """The backend did not deliver a frame before the deadline."""


class _Call:
    def __init__(self, kind: str, fn: Callable[[], Any]) -> None:
        self.kind = kind
        self.fn = fn
        self.started = time.monotonic()
        self.done = threading.Event()
        self.result: Any = None
        self.error: BaseException | None = None

    def age(self) -> float:
        return time.monotonic() - self.started


class GuardedCamera:
    """Wraps a ``Camera`` so that no call blocks its caller past a deadline."""

    def __init__(self, camera: Camera, read_timeout_s: float, open_timeout_s: float) -> None:
        self.camera = camera
        self.name = camera.name
        self.read_timeout_s = read_timeout_s
        self.open_timeout_s = open_timeout_s
        self._jobs: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._work, name="camera-io", daemon=True)
        self._thread.start()
        self._busy: _Call | None = None  # the last call handed over that has not been taken
        self._opened = False
        self._closed = False
        self._close_call: _Call | None = None

    # -- worker -----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            call = self._jobs.get()
            if call is None:
                return
            try:
                call.result = call.fn()
            except BaseException as exc:  # handed to the caller, never kills the worker
                call.error = exc
            finally:
                call.done.set()

    def _submit(self, kind: str, fn: Callable[[], Any]) -> _Call:
        call = _Call(kind, fn)
        self._jobs.put(call)
        return call

    @property
    def stuck(self) -> bool:
        """The worker is still inside a call that overran its deadline (or, once closed,
        has not finished closing)."""
        if self._close_call is not None:
            return not self._close_call.done.is_set()
        return self._busy is not None and not self._busy.done.is_set()

    def stuck_for_s(self) -> float:
        for call in (self._busy, self._close_call):
            if call is not None and not call.done.is_set():
                return call.age()
        return 0.0

    # -- Camera -----------------------------------------------------------------------------

    def open(self) -> None:
        """Start opening; wait up to ``read_timeout_s`` for it. See the module docstring."""
        if self._opened:
            return
        if self._closed:
            raise FrameError(f"{self.name}: closed")
        if self._busy is None:
            self._busy = self._submit("open", self.camera.open)
        call = self._busy
        if call.kind != "open":
            raise FrameTimeout(f"{self.name}: camera has not answered for {call.age():.0f} s")
        left = self.open_timeout_s - call.age()
        if not call.done.wait(max(0.0, min(self.read_timeout_s, left))):
            if call.age() >= self.open_timeout_s:
                raise CameraOpenError(
                    f"{self.name}: did not open within camera.open_timeout_s="
                    f"{self.open_timeout_s:g} s"
                )
            raise CameraOpening(f"{self.name}: opening")
        self._busy = None
        if call.error is not None:
            raise call.error
        self._opened = True
        log.info("camera open: %s", self.name)

    def read(self) -> np.ndarray:
        self.open()
        late = self._busy
        if late is not None:
            if not late.done.is_set():
                raise FrameTimeout(
                    f"{self.name}: camera has not answered for {late.age():.0f} s "
                    f"(camera.read_timeout_s={self.read_timeout_s:g})"
                )
            late.result = None  # a frame that came too late is stale: drop it
            self._busy = None
        call = self._submit("read", self.camera.read)
        self._busy = call
        if not call.done.wait(self.read_timeout_s + READ_MARGIN_S):
            raise FrameTimeout(
                f"{self.name}: no frame within camera.read_timeout_s={self.read_timeout_s:g} s "
                "(stream stalled or camera hung)"
            )
        self._busy = None
        frame, call.result = call.result, None
        if call.error is not None:
            raise call.error
        return frame

    def _close_backend(self) -> None:
        # Runs after any hung call has returned: a frame it brought is dropped, never kept.
        if self._busy is not None:
            self._busy.result = None
        self.camera.close()

    def close(self) -> None:
        """Close the backend after any running call; wait at most ``CLOSE_WAIT_S``, and not
        at all when a call is already known to hang (the close queues behind it)."""
        if self._closed:
            return
        hung = self.stuck
        self._closed = True
        call = self._close_call = self._submit("close", self._close_backend)
        self._jobs.put(None)
        if hung or not call.done.wait(CLOSE_WAIT_S):
            log.warning(
                "camera %s: a call has hung for %.0f s; leaving the camera to its worker "
                "thread, which closes it if the call returns",
                self.name,
                self.stuck_for_s(),
            )
        elif call.error is not None:
            log.warning("camera close failed: %s", call.error)
