"""Every camera read has a deadline: hung grabs, hung reads, hung opens (fake captures)."""

from __future__ import annotations

import sys
import threading
import time
import types

import numpy as np
import pytest

import kiosk.camera.opencv_cam as opencv_cam
from kiosk.camera.base import CameraOpenError, FrameError
from kiosk.camera.deadlines import CameraOpening, FrameTimeout, GuardedCamera
from kiosk.config import parse_config

FRAME = np.full((48, 64, 3), 7, np.uint8)


@pytest.fixture
def release():
    """Set at the end of each test so every hung fake call returns."""
    ev = threading.Event()
    yield ev
    ev.set()


def bounded(fn, limit_s: float):
    """Run ``fn`` on a thread; fail (instead of hanging the suite) if it overruns."""
    out: dict = {}

    def run():
        t0 = time.monotonic()
        try:
            out["value"] = fn()
        except BaseException as exc:
            out["error"] = exc
        out["took"] = time.monotonic() - t0

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(limit_s)
    assert not t.is_alive(), f"call still blocked after {limit_s} s"
    return out


def test_read_timeout_is_typed_config_with_a_bound():
    assert parse_config({}).camera.read_timeout_s == 2.0
    with pytest.raises(Exception, match="read_timeout_s"):
        parse_config({"camera": {"read_timeout_s": 60}})  # would starve the watchdog


class StallingCapture:
    """grab() works ``good`` times, then blocks until released (a stream that died)."""

    def __init__(self, release: threading.Event, good: int = 3) -> None:
        self.release_ev, self.good = release, good
        self.grabs = 0
        self.params: list[int] | None = None

    def __call__(self, source, api, params=None):
        self.params = params
        return self

    def isOpened(self):
        return True

    def set(self, *a):
        return True

    def grab(self):
        self.grabs += 1
        if self.grabs > self.good:
            self.release_ev.wait()
        return True

    def retrieve(self):
        return True, FRAME.copy()

    def release(self):
        pass


def test_opencv_read_never_waits_on_a_hung_grab(monkeypatch, release):
    cap = StallingCapture(release, good=2)
    monkeypatch.setattr(opencv_cam.cv2, "VideoCapture", cap)
    cam = opencv_cam.OpenCVCamera("rtsp://192.0.2.1/x", 64, 48, 1.0, read_timeout_s=0.3)
    first = bounded(cam.read, 3)
    assert first["value"].shape == (48, 64, 3)
    time.sleep(0.2)  # the grab thread is now stuck inside grab()
    assert cap.grabs > 2
    later = bounded(cam.read, 3)
    assert isinstance(later["error"], FrameError)
    assert "read_timeout_s=0.3" in str(later["error"])
    assert later["took"] < 0.3 + 0.3
    closed = bounded(cam.close, 2)
    assert "error" not in closed


def test_opencv_passes_open_and_read_timeouts(monkeypatch, release):
    import cv2

    cap = StallingCapture(release)
    monkeypatch.setattr(opencv_cam.cv2, "VideoCapture", cap)
    cam = opencv_cam.OpenCVCamera("rtsp://192.0.2.1/x", 64, 48, 4.0, read_timeout_s=1.5)
    cam.open()
    cam.close()
    params = dict(zip(cap.params[::2], cap.params[1::2], strict=True))
    assert params[cv2.CAP_PROP_OPEN_TIMEOUT_MSEC] == 4000
    assert params[cv2.CAP_PROP_READ_TIMEOUT_MSEC] == 1500


def test_opencv_refuses_to_pile_up_hung_grab_threads(monkeypatch, release):
    monkeypatch.setattr(opencv_cam, "_stuck", [])
    for _ in range(opencv_cam.MAX_STUCK_GRABBERS):
        cap = StallingCapture(release, good=0)
        monkeypatch.setattr(opencv_cam.cv2, "VideoCapture", cap)
        cam = opencv_cam.OpenCVCamera("rtsp://192.0.2.1/x", 64, 48, 1.0, read_timeout_s=0.1)
        with pytest.raises(FrameError):
            cam.read()
        cam.close()
    with pytest.raises(CameraOpenError, match="hung inside the camera driver"):
        opencv_cam.OpenCVCamera("rtsp://192.0.2.1/x", 64, 48, 1.0).open()
    release.set()
    time.sleep(0.1)
    opencv_cam.OpenCVCamera("rtsp://192.0.2.1/x", 64, 48, 1.0).open()  # they let go


class SlowCamera:
    """A backend whose open or read blocks until released."""

    name = "slow"

    def __init__(self, release: threading.Event, hang_open=False, hang_read=True) -> None:
        self.release_ev = release
        self.hang_open, self.hang_read = hang_open, hang_read
        self.reads = 0
        self.closed = threading.Event()

    def open(self):
        if self.hang_open:
            self.release_ev.wait()

    def read(self):
        self.reads += 1
        if self.hang_read:
            self.release_ev.wait()
        return FRAME.copy()

    def close(self):
        self.closed.set()


def test_guard_times_out_a_hung_read_and_does_not_queue_more(release):
    backend = SlowCamera(release)
    cam = GuardedCamera(backend, read_timeout_s=0.2, open_timeout_s=1.0)
    first = bounded(cam.read, 3)
    assert isinstance(first["error"], FrameTimeout) and first["took"] < 1.0
    again = bounded(cam.read, 1)
    assert isinstance(again["error"], FrameTimeout) and again["took"] < 0.05
    assert backend.reads == 1  # the second read did not queue behind the hung one
    assert cam.stuck
    closing = bounded(cam.close, 1)
    assert closing["took"] < 0.1  # no waiting on a worker known to hang
    assert cam.stuck and not backend.closed.is_set()
    release.set()
    assert backend.closed.wait(2)  # the worker closes it once the call returns
    deadline = time.monotonic() + 2
    while cam.stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not cam.stuck


def test_guard_recovers_when_a_late_read_returns(release):
    backend = SlowCamera(release)
    cam = GuardedCamera(backend, read_timeout_s=0.1, open_timeout_s=1.0)
    with pytest.raises(FrameTimeout):
        cam.read()
    backend.hang_read = False
    release.set()
    time.sleep(0.05)
    assert cam.read().shape == (48, 64, 3)  # a fresh frame, not the late one
    assert backend.reads == 2
    cam.close()


def test_guard_open_runs_in_the_background_with_its_own_deadline(release):
    backend = SlowCamera(release, hang_open=True, hang_read=False)
    cam = GuardedCamera(backend, read_timeout_s=0.1, open_timeout_s=0.5)
    t0 = time.monotonic()
    with pytest.raises(CameraOpening):
        cam.read()  # still opening: no fault yet, and the caller waited only briefly
    assert time.monotonic() - t0 < 0.3
    deadline = time.monotonic() + 2
    while True:
        try:
            cam.read()
        except CameraOpening:
            assert time.monotonic() < deadline
            continue
        except CameraOpenError as exc:
            assert "open_timeout_s=0.5" in str(exc)
            break
    cam.close()


def test_guard_passes_backend_errors_through():
    class Broken(SlowCamera):
        def read(self):
            raise FrameError("bad frame")

    cam = GuardedCamera(Broken(threading.Event(), hang_read=False), 0.5, 1.0)
    with pytest.raises(FrameError, match="bad frame"):
        cam.read()
    cam.close()


def test_picamera2_capture_that_hangs_is_cut_off(monkeypatch, release):
    from kiosk.camera.picam import PiCamera

    class FakePicamera2:
        def create_video_configuration(self, **kw):
            return kw

        def configure(self, cfg):
            pass

        def start(self):
            pass

        def capture_array(self, name):
            release.wait()
            return FRAME.copy()

        def stop(self):
            pass

        def close(self):
            pass

    monkeypatch.setitem(sys.modules, "picamera2", types.SimpleNamespace(Picamera2=FakePicamera2))
    cam = GuardedCamera(PiCamera(64, 48), read_timeout_s=0.2, open_timeout_s=1.0)
    out = bounded(cam.read, 2)
    assert isinstance(out["error"], FrameTimeout)
    cam.close()
