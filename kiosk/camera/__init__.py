"""Frame sources: where the kiosk's pictures come from.

``open_camera`` picks a backend from ``CameraConfig``: ``picamera2`` (``picam.py``),
``opencv`` (V4L2, RTSP, video files; ``opencv_cam.py``), ``folder`` (images; ``folder.py``)
or ``demo`` (a composed shop day; ``demo.py``). Every backend meets the ``Camera`` protocol
of ``base.py``; ``GuardedCamera`` (``deadlines.py``) gives each call a deadline. A new
camera is one module with a ``Camera`` class, named in ``factory.py``.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "Camera",
    "CameraConfig",
    "CameraError",
    "CameraOpenError",
    "EndOfStream",
    "FrameError",
    "GuardedCamera",
    "open_camera",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CameraConfig": "config",
        "Camera": "base",
        "CameraError": "base",
        "CameraOpenError": "base",
        "FrameError": "base",
        "EndOfStream": "base",
        "open_camera": "factory",
        "GuardedCamera": "deadlines",
    },
)
