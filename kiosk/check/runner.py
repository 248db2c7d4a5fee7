"""Every check in order, each with a deadline; and the config check for a config that did
not load."""

from __future__ import annotations

import os
from collections.abc import Callable

from kiosk.check.audio import audio_check, player_aout
from kiosk.check.camera import CAMERA_FIX, check_camera, check_models
from kiosk.check.clock import check_clock
from kiosk.check.music import check_disk, check_music
from kiosk.check.network import check_mqtt
from kiosk.check.result import Check, with_timeout


def config_failure(path: str | None, exc: Exception) -> Check:
    """The config check for a config that did not load: say what is wrong with the file."""
    example = "kiosk config example > FILE"
    if path is not None and not os.path.lexists(path):
        return Check(
            "config",
            False,
            True,
            f"config file {path} does not exist",
            f"check the --config path, or create the file ({example.replace('FILE', path)})",
        )
    if path is not None and not os.path.isfile(path):
        return Check("config", False, True, f"{path} is not a regular file", "pass a YAML file")
    problems = getattr(exc, "problems", [])
    if problems and all(p.startswith(("cannot read file", "file is not UTF-8")) for p in problems):
        return Check(
            "config",
            False,
            True,
            f"{path}: {'; '.join(problems)}",
            "make the file readable by this user (the service reads it as user kiosk), in UTF-8",
        )
    return Check("config", False, True, str(exc), "fix the keys named above")


def run_checks(loaded, skip: set[str]) -> list[Check]:
    cam_timeout = loaded.config.camera.open_timeout_s + 10
    aout, extra = player_aout(loaded)
    plan: list[tuple[str, Callable[[], Check], float, str]] = [
        ("camera", lambda: check_camera(loaded), cam_timeout, CAMERA_FIX["opencv"]),
        ("models", lambda: check_models(loaded), 60, "reinstall the models"),
        ("audio", lambda: audio_check(loaded, aout, extra), 20, "check the sound card"),
        ("music", lambda: check_music(loaded), 60, "check the music folder"),
        ("mqtt", lambda: check_mqtt(loaded), 15, "check the broker"),
        ("disk", lambda: check_disk(loaded), 10, "check the disk"),
        ("clock", check_clock, 10, "check the clock"),
    ]
    return [with_timeout(fn, t, name, fix) for name, fn, t, fix in plan if name not in skip]
