"""Helpers for the comms tests: a fake KioskApi and a watching client (the broker itself is
tests/broker.py, shared by every test area)."""

from __future__ import annotations

import queue
import threading
import time
from pathlib import Path

from broker import MOSQUITTO, Broker, free_port  # noqa: F401  (re-exported for the tests)

from kiosk.core.api import EMOTIONS, CommandError, Status
from kiosk.core.events import Event, EventBus


class FakeApi:
    """Behaves like the core's contract: validates, raises CommandError, emits state."""

    def __init__(self) -> None:
        self.events = EventBus()
        self.lock = threading.Lock()
        self.st = Status(volume=50, playlist="happy", version="test")
        self.calls: list[str] = []

    def status(self) -> Status:
        with self.lock:
            return Status(**self.st.to_dict())

    def _changed(self, call: str) -> None:
        self.calls.append(call)
        self.events.emit(Event("state", self.status().to_dict(), time.time()))

    def set_volume(self, level: int) -> None:
        if not 0 <= level <= 100:
            raise CommandError("volume must be 0-100")
        with self.lock:
            self.st.volume = level
        self._changed("volume")

    def next_track(self) -> None:
        self._changed("next")

    def pause(self) -> None:
        with self.lock:
            self.st.paused = True
        self._changed("pause")

    def resume(self) -> None:
        with self.lock:
            self.st.paused = False
        self._changed("resume")

    def override(self, mood: str, ttl_s: float) -> None:
        if mood not in EMOTIONS:
            raise CommandError(f"no playlist for {mood!r}")
        with self.lock:
            self.st.override = {"mood": mood, "expires_at": time.time() + ttl_s}
        self._changed("override")

    def clear_override(self) -> None:
        with self.lock:
            self.st.override = None
        self._changed("clear_override")

    def reload_config(self) -> None:
        self._changed("reload")

    def rescan_library(self) -> None:
        self._changed("rescan")

    def snapshot(self) -> dict:
        d = self.status().to_dict()
        d.pop("uptime_s")
        return d


class Watcher:
    """A test MQTT client that records every message on its subscriptions."""

    def __init__(
        self,
        port: int,
        topics: list[str],
        session: str | None = None,
        auth: tuple[str, str] | None = None,
    ) -> None:
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        self.q: queue.Queue = queue.Queue()
        self.seen: list = []
        self.topics = topics
        self.ready = False
        self.c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=session or f"watch-{time.monotonic_ns()}",
            protocol=MQTTProtocolVersion.MQTTv5,
        )
        self.c.reconnect_delay_set(1, 1)
        if auth:
            self.c.username_pw_set(*auth)
        self.c.on_connect = self._on_connect
        self.c.on_message = lambda c, u, m: self.q.put(m)
        self.c.on_subscribe = lambda *a: setattr(self, "ready", True)
        props = None
        if session:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.c.connect("127.0.0.1", port, 30, clean_start=session is None, properties=props)
        self.c.loop_start()
        deadline = time.monotonic() + 5
        while not self.ready and time.monotonic() < deadline:
            time.sleep(0.02)
        assert self.ready, "watcher did not subscribe"

    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        client.subscribe([(t, 1) for t in self.topics])

    def publish(self, topic: str, payload, retain: bool = False, properties=None) -> None:
        self.c.publish(topic, payload, qos=1, retain=retain, properties=properties)

    def wait(self, pred, timeout: float = 5.0):
        """First message (old or new) matching pred(msg)."""
        for m in self.seen:
            if pred(m):
                return m
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError("no matching message in time")
            try:
                m = self.q.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(m)
            if pred(m):
                return m

    def drain(self, quiet: float = 0.3) -> list:
        while True:
            try:
                self.seen.append(self.q.get(timeout=quiet))
            except queue.Empty:
                return self.seen

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def loaded_for(tmp_path: Path, port: int, **mqtt) -> object:
    from kiosk.config import KioskConfig, LoadedConfig

    settings = {
        "enabled": True,
        "host": "127.0.0.1",
        "port": port,
        "kiosk_id": "k1",
        "groups": ["north"],
        "stats_interval_s": 3600,
        "outbox_path": str(tmp_path / "outbox.sqlite"),
        "reconnect_min_s": 1,
        "reconnect_max_s": 1,
        "rate_limit_per_s": 1000,
        "rate_limit_burst": 1000,
    }
    settings.update(mqtt)
    return LoadedConfig(KioskConfig(mqtt=settings), tmp_path, None)


def wait_until(pred, timeout: float = 5.0, step: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(step)
