"""Where the kiosk keeps its state. Its own module so any capability can use it without
importing the daemon (comms needs it for the outbox; the daemon imports comms)."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.config import LoadedConfig


def state_dir(loaded: LoadedConfig) -> Path:
    """Writable state directory (see ``service.state_dir``)."""
    configured = loaded.config.service.state_dir
    if configured:
        return loaded.resolve(configured)
    if os.environ.get("STATE_DIRECTORY"):
        # systemd may pass several, colon-separated; the first is ours.
        return Path(os.environ["STATE_DIRECTORY"].split(":")[0])
    xdg = os.environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "kiosk"
