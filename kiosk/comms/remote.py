"""Commands to kiosks over the broker, as a client: the session ``kiosk ctl`` uses, and
``request_running_kiosk`` for CLI commands that change this machine's running kiosk.

Results come back on ``<prefix>/<kiosk>/cmd/result`` with the request's id. A command may
carry the MQTT v5 user property ``source`` (``labelled``) so the kiosk's history tells
``kiosk ctl`` and the CLI from other MQTT clients; it grants nothing.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from typing import Any

# Retained state arrives right after the subscription is acknowledged; this much quiet
# after the last retained message means we have them all.
RETAINED_SETTLE_S = 0.4


class Session:
    """Connected client that tracks retained kiosk state and command results."""

    def __init__(self, cfg: Any, loaded: Any) -> None:
        """``cfg``: an ``MqttConfig``; ``loaded``: the config it came from (paths)."""
        from kiosk.comms.client import new_client

        self.cfg = cfg
        self.prefix = cfg.topic_prefix
        self.kiosks: dict[str, dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []
        self.last_msg = time.monotonic()
        self.subscribed = threading.Event()
        self.connected = threading.Event()
        self.refused: str | None = None
        self.lock = threading.Lock()
        self.client = new_client(cfg, f"kiosk-ctl-{uuid.uuid4().hex[:10]}", loaded.resolve)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self.refused = str(reason_code)
            self.connected.set()
            return
        p = self.prefix
        client.subscribe(
            [(f"{p}/+/state", 1), (f"{p}/+/availability", 1), (f"{p}/+/cmd/result", 1)]
        )
        self.connected.set()

    def _on_message(self, client, userdata, msg) -> None:
        rest = msg.topic[len(self.prefix) + 1 :].split("/")
        with self.lock:
            self.last_msg = time.monotonic()
            kid = rest[0]
            if rest[1:] == ["availability"]:
                self.kiosks.setdefault(kid, {})["online"] = msg.payload == b"online"
            elif rest[1:] == ["state"]:
                with contextlib.suppress(ValueError):
                    self.kiosks.setdefault(kid, {})["state"] = json.loads(msg.payload)
            elif rest[1:] == ["cmd", "result"]:
                try:
                    result = json.loads(msg.payload)
                except ValueError:
                    return
                if isinstance(result, dict):
                    result.setdefault("kiosk_id", kid)
                    self.results.append(result)

    def open(self, timeout: float, settle: bool = True) -> str | None:
        try:
            self.client.connect(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        except OSError as exc:
            from kiosk.comms.client import connect_error

            return f"cannot reach broker {self.cfg.host}:{self.cfg.port}: {connect_error(exc)}"
        self.client.loop_start()
        if not self.connected.wait(timeout) or self.refused:
            return f"broker {self.cfg.host}:{self.cfg.port} refused: {self.refused or 'timeout'}"
        self.subscribed.wait(timeout)
        deadline = time.monotonic() + timeout
        while settle and time.monotonic() < deadline:
            with self.lock:
                quiet = time.monotonic() - self.last_msg
            if quiet >= RETAINED_SETTLE_S:
                break
            time.sleep(0.05)
        return None

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def labelled(source: str) -> Any:
    """MQTT v5 properties that label the command with ``source`` in the kiosk's history."""
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    props = Properties(PacketTypes.PUBLISH)
    props.UserProperty = ("source", source)
    return props


def request_running_kiosk(
    loaded: Any, name: str, data: dict[str, Any], source: str, timeout: float = 5.0
) -> dict[str, Any] | None:
    """Send one command to this config's own kiosk through the broker and return its
    result, so a CLI command that changes a running kiosk goes through its dispatcher.
    None when MQTT is off, the broker is unreachable or the kiosk is not online."""
    from kiosk.comms.config import PasswordError
    from kiosk.comms.topics import target_root

    cfg = loaded.config.mqtt
    if not cfg.enabled:
        return None
    try:
        session = Session(cfg, loaded)
    except (PasswordError, OSError, ValueError):
        return None
    if session.open(timeout, settle=True):  # the retained availability says who is online
        session.client.loop_stop()
        return None
    try:
        kid = cfg.effective_kiosk_id()
        with session.lock:
            online = bool(session.kiosks.get(kid, {}).get("online"))
        if not online:
            return None
        request_id = uuid.uuid4().hex[:12]
        body = json.dumps({**data, "id": request_id})
        topic = f"{target_root(cfg.topic_prefix, kid)}/cmd/{name}"
        session.client.publish(topic, body, qos=1, properties=labelled(source))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with session.lock:
                for r in session.results:
                    if r.get("id") == request_id and r.get("kiosk_id") == kid:
                        return r
            time.sleep(0.05)
        return None
    finally:
        session.close()
