"""Tell the world about an import: SIGHUP to the daemon, progress/result over MQTT.

Both are best effort. A kiosk without systemd or without a broker still imports; the
library notices the switch on its next poll. Failures here are logged, never raised.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import threading
import time

log = logging.getLogger(__name__)


def notify_daemon(service: str) -> str:
    """Ask the running daemon to rescan. Returns what was done, for the log and reports."""
    if not service:
        return "daemon not notified (usb_import.notify_service is empty)"
    systemctl = shutil.which("systemctl")
    if systemctl is None or not os.path.isdir("/run/systemd/system"):
        return "not under systemd: the library picks the change up on its next poll"
    try:
        out = subprocess.run(
            [systemctl, "show", "--property=MainPID", "--value", service],
            capture_output=True,
            text=True,
            timeout=10,
        )
        pid = int(out.stdout.strip() or 0)
    except (OSError, ValueError, subprocess.TimeoutExpired) as exc:
        return f"could not ask systemd about {service}: {exc}"
    if pid <= 0:
        return f"{service} is not running; nothing to notify"
    try:
        # Same user as the daemon (the import unit runs as kiosk): a signal needs no polkit.
        os.kill(pid, signal.SIGHUP)
        return f"sent SIGHUP to {service} (pid {pid}) to rescan the library"
    except PermissionError:
        pass
    except ProcessLookupError:
        return f"{service} exited before it could be notified"
    try:
        subprocess.run([systemctl, "reload", service], check=True, timeout=30)
        return f"reloaded {service}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"could not reload {service}: {exc}"


def connect_mqtt(loaded, suffix: str, timeout_s: float = 5.0, will: tuple[str, str] | None = None):
    """A connected, looping paho client, or raise ``ConnectionError`` with a readable reason.

    Built by the one MQTT client factory (``kiosk.comms.client.new_client``: MQTT 5, the
    configured credentials and TLS). The client id gets ``suffix`` so it never kicks the
    daemon's own session off the broker. ``will``: (topic, payload) published retained by
    the broker if this process dies without saying goodbye.
    """
    from kiosk.comms.client import connect_error, new_client
    from kiosk.comms.config import PasswordError

    cfg = loaded.config.mqtt
    try:
        client = new_client(cfg, f"{cfg.effective_client_id()}-{suffix}"[:128], loaded.resolve)
    except (PasswordError, OSError, ValueError) as exc:
        raise ConnectionError(str(exc)) from None
    if will is not None:
        client.will_set(will[0], will[1], qos=1, retain=True)
    done = threading.Event()
    outcome: dict = {}

    def on_connect(_c, _u, _flags, reason, _props):
        outcome["reason"] = reason
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(cfg.host, cfg.port, keepalive=30)
    except (OSError, ValueError) as exc:
        why = connect_error(exc)
        raise ConnectionError(f"cannot reach broker {cfg.host}:{cfg.port}: {why}") from None
    client.loop_start()
    if not done.wait(timeout_s):
        client.loop_stop()
        client.disconnect()
        raise ConnectionError(f"broker {cfg.host}:{cfg.port} did not answer in {timeout_s:g} s")
    reason = outcome["reason"]
    if reason.is_failure:
        client.loop_stop()
        client.disconnect()
        raise ConnectionError(f"broker {cfg.host}:{cfg.port} refused the login: {reason}")
    return client


class MqttReporter:
    """Publishes import progress to ``<prefix>/<id>/import``; does nothing when MQTT is off.

    Every message is retained, so a subscriber that arrives late sees the state of *this*
    import (``running``, ``copying``, then ``done``/``failed``), never the last one's
    ``done``. A process killed with SIGKILL leaves the broker's will: ``failed``.
    """

    def __init__(self, loaded, timeout_s: float = 5.0):
        self.client = None
        self.topic = ""
        self._last = 0.0
        cfg = getattr(loaded.config, "mqtt", None)
        if cfg is None or not getattr(cfg, "enabled", False):
            return
        if not loaded.config.usb_import.mqtt_report:
            return
        self.topic = f"{cfg.topic_prefix}/{cfg.effective_kiosk_id()}/import"
        will = json.dumps({"state": "failed", "ok": False, "error": "the import process died"})
        try:
            self.client = connect_mqtt(loaded, "import", timeout_s, will=(self.topic, will))
        except ConnectionError as exc:
            log.warning("import progress will not go to MQTT: %s", exc)

    def __call__(self, event: dict) -> None:
        if self.client is None:
            return
        state = event.get("state")
        final = state in ("done", "failed")
        now = time.monotonic()
        if state == "copying" and now - self._last < 1.0:
            return
        self._last = now
        payload = json.dumps({"ts": time.time(), **event}, default=str)
        try:
            info = self.client.publish(self.topic, payload, qos=1, retain=True)
            if final or state == "running":
                info.wait_for_publish(timeout=5)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("MQTT publish of import progress failed: %s", exc)

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None
