"""The one interface every frame source implements, and its typed errors."""

from __future__ import annotations

import re
from typing import Protocol, runtime_checkable

import numpy as np

# user:password@ in a URL: an RTSP camera's source carries its password, and the source
# shows up in names, logs, status and MQTT fault events.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")


def redact(text: str) -> str:
    """``text`` with any URL's ``user:password@`` replaced by ``***@``."""
    return _URL_CREDENTIALS.sub(r"\1***@", text)


class CameraError(Exception):
    """Any camera fault. The daemon keeps the music playing and retries with back-off."""


class CameraOpenError(CameraError):
    """The source cannot be opened (missing device, bad URL, missing library)."""


class FrameError(CameraError):
    """A frame could not be read, or what arrived is not a usable image."""


class EndOfStream(CameraError):
    """A finite source (folder, video file) has no more frames and does not loop."""


@runtime_checkable
class Camera(Protocol):
    """A frame source. ``read`` opens on first use, so callers may skip ``open``."""

    name: str

    def open(self) -> None: ...

    def read(self) -> np.ndarray:
        """The freshest frame as BGR uint8 HxWx3. Raises a ``CameraError`` subclass."""
        ...

    def close(self) -> None: ...


def validate_frame(frame: object, source: str) -> np.ndarray:
    """Turn what a backend returned into a BGR frame, or raise ``FrameError``."""
    if frame is None:
        raise FrameError(f"{source}: no frame")
    if not isinstance(frame, np.ndarray) or frame.size == 0:
        raise FrameError(f"{source}: empty or non-image frame ({type(frame).__name__})")
    if frame.dtype != np.uint8:
        raise FrameError(f"{source}: frame dtype {frame.dtype}, want uint8")
    if frame.ndim == 2:
        frame = np.repeat(frame[..., None], 3, axis=2)
    if frame.ndim != 3 or frame.shape[2] not in (3, 4):
        raise FrameError(f"{source}: frame shape {frame.shape} is not an image")
    if frame.shape[2] == 4:
        frame = np.ascontiguousarray(frame[..., :3])
    if min(frame.shape[:2]) < 32:
        raise FrameError(f"{source}: frame {frame.shape[1]}x{frame.shape[0]} is too small")
    return frame
