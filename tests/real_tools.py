"""The real components the integration tests need, and what happens when one is missing.

Locally a missing tool skips the test (with the install hint). Under ``CI=true`` it fails
it: CI installs everything, so a missing tool there means CI is broken, and a silently
skipped integration test would hide that. Import it from any test:
``from real_tools import require_tool``.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Tool -> the package that provides it (Debian names, as scripts/bootstrap.sh installs).
HINTS = {
    "mosquitto": "apt install mosquitto",
    "mosquitto_passwd": "apt install mosquitto",
    "systemd-analyze": "apt install systemd",
    "sox": "apt install sox libsox-fmt-all",
    "ffmpeg": "apt install ffmpeg",
    "openssl": "apt install openssl",
    "libvlc": "apt install libvlc5 vlc-plugin-base; pip install python-vlc",
}
# Daemons live in sbin, which is not on every user's PATH.
EXTRA_DIRS = ("/usr/sbin", "/sbin", "/usr/local/sbin")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing(what: str, detail: str = "") -> None:
    """Skip locally, fail under CI=true. Never returns."""
    hint = HINTS.get(what, "")
    reason = f"{what} not installed" + (f" ({detail})" if detail else "")
    reason += f": {hint}" if hint else ""
    if in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def find_tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for d in EXTRA_DIRS:
        p = Path(d) / name
        if p.is_file() and os.access(p, os.X_OK):
            return str(p)
    return None


def require_tool(name: str) -> str:
    """The path of program ``name``; skips (locally) or fails (CI=true) without it."""
    path = find_tool(name)
    if path is None:
        missing(name)
    return path


def require_libvlc():
    """The loaded python-vlc module with a working libvlc; skips/fails like require_tool."""
    from kiosk.player.player import PlayerError
    from kiosk.player.vlc import load_vlc

    try:
        return load_vlc()
    except PlayerError as exc:
        missing("libvlc", str(exc))
