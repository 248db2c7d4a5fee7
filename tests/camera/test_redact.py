"""An RTSP camera's password never shows in names, errors, status or fault events."""

from __future__ import annotations

from kiosk.camera.base import redact
from kiosk.camera.opencv_cam import OpenCVCamera

URL = "rtsp://admin:s3cret@127.0.0.1:9/stream1"


def test_redact_masks_user_and_password_only():
    assert redact(f"cannot open {URL!r}") == "cannot open 'rtsp://***@127.0.0.1:9/stream1'"
    assert redact("rtsp://127.0.0.1/x and /dev/video0") == "rtsp://127.0.0.1/x and /dev/video0"


def test_opencv_camera_name_and_open_error_carry_no_password():
    cam = OpenCVCamera(URL, 640, 480, open_timeout_s=1.0, read_timeout_s=1.0)
    assert "s3cret" not in cam.name and "admin" not in cam.name
    try:
        cam.open()
    except Exception as exc:  # nothing listens on port 9: the open fails
        assert "s3cret" not in str(exc), exc
    finally:
        cam.close()
