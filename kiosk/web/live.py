"""What the page shows, and how it learns that something changed.

``Live`` subscribes once to the core's EventBus. Its listener only wakes the waiting
Server-Sent-Events streams (``loop.call_soon_threadsafe``): it never builds a page, never
blocks the core, and a dead event loop costs it nothing. Each stream then builds one fresh
snapshot, at most a few per second however many events arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from typing import Any

from kiosk.core.api import EMOTIONS, KioskApi
from kiosk.core.events import Event

log = logging.getLogger(__name__)

WAKE_KINDS = {"state", "track", "mood", "playlist", "fault"}


class Live:
    """Fan-out from the EventBus (any thread) to asyncio streams (the server's loop)."""

    def __init__(self, api: Any) -> None:
        self.api = api
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.version = 0
        self.closed = False
        self._unsubscribe = api.events.subscribe(self._on_event, WAKE_KINDS)

    def close(self) -> None:
        """Stop listening and end every stream (the server is stopping)."""
        self._unsubscribe()
        self.closed = True
        self._on_event(None)

    def _on_event(self, _event: Event | None) -> None:
        with self._lock:
            self.version += 1
            waiters = list(self._waiters)
        for loop, ev in waiters:
            with contextlib.suppress(RuntimeError):  # that loop is gone; its stream ends
                loop.call_soon_threadsafe(ev.set)

    def register(self) -> asyncio.Event:
        ev = asyncio.Event()
        with self._lock:
            self._waiters.add((asyncio.get_running_loop(), ev))
        return ev

    def unregister(self, ev: asyncio.Event) -> None:
        with self._lock:
            self._waiters = {w for w in self._waiters if w[1] is not ev}

    def clients(self) -> int:
        with self._lock:
            return len(self._waiters)


def snapshot(api: KioskApi, role: str, player_cfg: Any) -> dict[str, Any]:
    """Everything the page shows. Aggregates and names only: never a frame, face or box."""
    st = api.status()
    track = st.track or None
    allowance = api.skip_allowance()
    return {
        "role": role,
        "mood": st.mood,
        "confidence": st.confidence,
        "faces": st.faces,
        "distribution": {k: st.distribution.get(k, 0.0) for k in EMOTIONS},
        "playlist": st.playlist,
        "track": {"title": track.get("title"), "artist": track.get("artist")} if track else None,
        "volume": st.volume,
        "volume_limits": [player_cfg.min_volume, player_cfg.max_volume],
        "paused": st.paused,
        "override": st.override,
        "camera_ok": bool(st.camera.get("ok", True)),
        "skips": allowance,
        "blocks": api.blocks(),
        "import": api.import_progress(),
        "moods": list(EMOTIONS),
        # override (operator) and "belongs in" (everyone) pick from these
        "playlists": api.playlists(),
    }
