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


def connect_mqtt(loaded, suffix: str, timeout_s: float = 5.0):
    """A connected, looping paho client, or raise ``ConnectionError`` with a readable reason.

    The client id gets ``suffix`` so it never kicks the daemon's own session off the broker.
    """
    import paho.mqtt.client as mqtt

    from kiosk.comms.config import PasswordError, read_password

    cfg = loaded.config.mqtt
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"{cfg.effective_client_id()}-{suffix}"[:128],
        clean_session=True,
    )
    if cfg.username:
        try:
            password = read_password(cfg, loaded.resolve)
        except PasswordError as exc:
            raise ConnectionError(str(exc)) from None
        client.username_pw_set(cfg.username, password)
    tls = cfg.tls
    if tls.enabled:
        client.tls_set(
            ca_certs=str(loaded.resolve(tls.ca)) if tls.ca else None,
            certfile=str(loaded.resolve(tls.certfile)) if tls.certfile else None,
            keyfile=str(loaded.resolve(tls.keyfile)) if tls.keyfile else None,
        )
        client.tls_insecure_set(tls.insecure)
    done = threading.Event()
    outcome: dict = {}

    def on_connect(_c, _u, _flags, reason, _props):
        outcome["reason"] = reason
        done.set()

    client.on_connect = on_connect
    try:
        client.connect(cfg.host, cfg.port, keepalive=30)
    except (OSError, ValueError) as exc:
        raise ConnectionError(f"cannot reach broker {cfg.host}:{cfg.port}: {exc}") from None
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
    """Publishes import progress to ``<prefix>/<id>/import``; does nothing when MQTT is off."""

    def __init__(self, loaded, timeout_s: float = 5.0):
        self.client = None
        self.topic = ""
        cfg = getattr(loaded.config, "mqtt", None)
        if cfg is None or not getattr(cfg, "enabled", False):
            return
        if not loaded.config.usb_import.mqtt_report:
            return
        self.topic = f"{cfg.topic_prefix}/{cfg.effective_kiosk_id()}/import"
        try:
            self.client = connect_mqtt(loaded, "import", timeout_s)
        except ConnectionError as exc:
            log.warning("import progress will not go to MQTT: %s", exc)
        self._last = 0.0

    def __call__(self, event: dict) -> None:
        if self.client is None:
            return
        final = event.get("state") in ("done", "failed")
        now = time.monotonic()
        if not final and now - self._last < 1.0:
            return
        self._last = now
        payload = json.dumps({"ts": time.time(), **event}, default=str)
        try:
            info = self.client.publish(self.topic, payload, qos=1, retain=final)
            if final:
                info.wait_for_publish(timeout=5)
        except (OSError, RuntimeError, ValueError) as exc:
            log.warning("MQTT publish of import progress failed: %s", exc)

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()
            self.client = None
