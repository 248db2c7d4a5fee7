"""Picks the camera backend named in the config."""

from __future__ import annotations

from kiosk.camera.base import Camera, CameraOpenError
from kiosk.config import LoadedConfig


def open_camera(loaded: LoadedConfig) -> Camera:
    """Build the configured camera. It opens on first ``read`` (or an explicit ``open``)."""
    cfg = loaded.config.camera
    if cfg.backend == "demo":
        from kiosk.camera.demo import DemoCamera

        return DemoCamera(cfg.width, cfg.height, cfg.loop)
    if cfg.backend == "folder":
        from kiosk.camera.folder import FolderCamera

        if cfg.source is None:
            raise CameraOpenError("camera.source: the folder backend needs a folder or video")
        return FolderCamera(loaded.resolve(str(cfg.source)), cfg.loop, cfg.interval_s)
    if cfg.backend == "opencv":
        from kiosk.camera.opencv_cam import OpenCVCamera

        return OpenCVCamera(
            cfg.source, cfg.width, cfg.height, cfg.open_timeout_s, cfg.read_timeout_s
        )
    if cfg.backend == "picamera2":
        from kiosk.camera.picam import PiCamera

        return PiCamera(cfg.width, cfg.height)
    raise CameraOpenError(f"camera.backend: unknown backend {cfg.backend!r}")
