"""Config for frame sources."""

from typing import Literal

from pydantic import Field, field_validator

from kiosk.settings_base import Section


class CameraConfig(Section):
    """Where frames come from and how often."""

    backend: Literal["demo", "folder", "opencv", "picamera2"] = Field(
        "demo",
        description=(
            "demo: a built-in shop day made from the bundled photographs (no camera needed); "
            "folder: images or a video file for replay; opencv: V4L2 device index, file, "
            "RTSP/HTTP URL or GStreamer pipeline; picamera2: Raspberry Pi camera module."
        ),
    )
    source: str | int | None = Field(
        None,
        description=(
            "folder backend: a directory of images or a video file. opencv backend: device "
            "index (0), /dev/videoN, file, URL or GStreamer pipeline string ending in appsink."
        ),
    )
    interval_s: float = Field(
        3.0, gt=0, le=3600, description="Seconds between samples. A few seconds is plenty."
    )
    width: int = Field(1280, ge=64, le=7680, description="Requested frame width in pixels.")
    height: int = Field(720, ge=64, le=4320, description="Requested frame height in pixels.")
    loop: bool = Field(
        True, description="folder/demo: start again after the last frame instead of stopping."
    )
    open_timeout_s: float = Field(
        10.0,
        gt=0,
        le=300,
        description="Give up opening the camera after this many seconds. The open runs in "
        "the background, so the music and the watchdog carry on meanwhile.",
    )
    read_timeout_s: float = Field(
        2.0,
        gt=0,
        le=5,
        description="A camera read that brings no frame within this many seconds (a stalled "
        "stream, a hung driver) is a camera fault: the music goes on and the camera is "
        "reopened with back-off. The daemon loop waits at most about this long, so keep it "
        "well under the unit's WatchdogSec (30 s).",
    )

    @field_validator("source")
    @classmethod
    def _source_not_blank(cls, v: str | int | None) -> str | int | None:
        if isinstance(v, str) and not v.strip():
            raise ValueError("must not be empty; leave it out to use the backend default")
        return v
