"""systemd notify protocol (sd_notify(3)) over ``$NOTIFY_SOCKET``, standard library only.

``status_text`` is the daemon's one-line ``STATUS=``.

Messages are newline-separated ``KEY=VALUE`` lines in one datagram. Without
``NOTIFY_SOCKET`` (not started by systemd with ``Type=notify``) every call is a no-op.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kiosk.core.core import Core

log = logging.getLogger(__name__)

SEND_TIMEOUT_S = 0.5


class Notifier:
    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        env = os.environ if env is None else env
        self._address = _address(env.get("NOTIFY_SOCKET", ""))
        self._sock: socket.socket | None = None
        self._failed = False
        self._last_status: str | None = None
        self._watchdog_s = _watchdog_interval(env)

    @property
    def enabled(self) -> bool:
        return self._address is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1 (half of WATCHDOG_USEC), or None when not asked."""
        return self._watchdog_s

    def send(self, **fields: str | int) -> bool:
        """Send ``KEY=VALUE`` fields in one datagram; False when not sent."""
        if self._address is None:
            return False
        payload = "\n".join(f"{k}={v}" for k, v in fields.items()).encode("utf-8", "replace")
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
                # A full receive queue (systemd busy) must not stall the daemon loop.
                self._sock.settimeout(SEND_TIMEOUT_S)
                self._sock.connect(self._address)
            self._sock.sendall(payload)
            self._failed = False
            return True
        except OSError as exc:
            if not self._failed:  # once per outage, not every watchdog tick
                log.warning("systemd notify failed: %s", exc)
            self._failed = True
            self.close()
            return False

    def ready(self, status: str | None = None) -> bool:
        fields: dict[str, str | int] = {"READY": 1}
        if status:
            fields["STATUS"] = status
            self._last_status = status
        return self.send(**fields)

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets Type=notify-reload units match the reload to this message.
        return self.send(RELOADING=1, MONOTONIC_USEC=int(time.monotonic() * 1e6))

    def stopping(self) -> bool:
        return self.send(STOPPING=1)

    def watchdog(self) -> bool:
        return self.send(WATCHDOG=1)

    def status(self, text: str) -> bool:
        """STATUS= shown by ``systemctl status``; only sent when the text changed."""
        if text == self._last_status:
            return False
        self._last_status = text
        return self.send(STATUS=text)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None


def _address(raw: str) -> str | None:
    if not raw:
        return None
    if raw.startswith("@"):
        return "\0" + raw[1:]  # Linux abstract socket namespace
    if raw.startswith("/"):
        return raw
    log.warning("NOTIFY_SOCKET=%r is not a unix socket path; systemd notify disabled", raw)
    return None


def _watchdog_interval(env: Mapping[str, str]) -> float | None:
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) <= 0:
        return None
    if pid and pid.isdigit() and int(pid) != os.getpid():
        return None  # meant for another process (e.g. a wrapper script)
    return int(usec) / 1e6 / 2


def status_text(core: Core) -> str:
    """The one-line status systemd shows (``STATUS=``)."""
    st = core.status()
    mood = f"{st.mood} {st.confidence:.0%}" if st.mood else "no audience"
    cam = "ok" if st.camera.get("ok") else f"error: {st.camera.get('error')}"
    playing = st.playlist or "silence"
    if st.paused:
        playing += " (paused)"
    if st.override:
        playing += " (override)"
    return f"mood: {mood}, {st.faces} face(s); music: {playing}; camera: {cam}"
