"""What one check found, and how a check runs without hanging the self-test."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

CHECK_NAMES = ("config", "camera", "models", "audio", "music", "mqtt", "disk", "clock")


@dataclass
class Check:
    name: str
    ok: bool
    required: bool
    detail: str
    fix: str = ""


def with_timeout(fn: Callable[[], Check], seconds: float, name: str, fix: str) -> Check:
    """Run one check in a thread so a hung camera or driver cannot hang the whole test."""
    box: list[Check] = []

    def target() -> None:
        try:
            box.append(fn())
        except Exception as exc:  # a check must report, never crash the self-test
            box.append(Check(name, False, True, f"{type(exc).__name__}: {exc}", fix))

    t = threading.Thread(target=target, daemon=True, name=f"check-{name}")
    t.start()
    t.join(seconds)
    if not box:
        return Check(name, False, True, f"no answer within {seconds:g} s", fix)
    return box[0]
