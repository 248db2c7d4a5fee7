"""Events in from the core; state, mood, stats and discovery out over MQTT.

The core's thread only records or enqueues here (``on_event``). The ticker thread
(``run``) queues stats and periodic mood for the outbox and is the only thread that
publishes ``state`` and discovery, so ``last_state`` has one owner.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk import __version__
from kiosk.comms.config import MqttConfig
from kiosk.comms.discovery import discovery_messages
from kiosk.comms.limits import Counters, LogLimiter, to_json
from kiosk.comms.stats import StatsAggregator
from kiosk.comms.topics import Topics
from kiosk.core.api import KioskApi
from kiosk.core.events import Event

TICK_S = 0.1
STATE_MIN_INTERVAL_S = 1.0
MOOD_KEYS = ("mood", "confidence", "faces", "distribution", "window_s", "audience")


class StatePublisher:
    def __init__(
        self,
        api: KioskApi,
        cfg: MqttConfig,
        topics: Topics,
        counters: Counters,
        limiter: LogLimiter,
        get_client: Callable[[], Any],
        connected: threading.Event,
        queue: Callable[[str, dict[str, Any]], None],
        outbox_info: Callable[[], dict[str, Any] | None],
    ) -> None:
        self.api = api
        self.cfg = cfg
        self.topics = topics
        self.counters = counters
        self._limiter = limiter
        self._get_client = get_client
        self._connected = connected
        self._queue = queue
        self._outbox_info = outbox_info
        self.stats = StatsAggregator()
        self.state_dirty = threading.Event()
        self.republish = threading.Event()  # Home Assistant came back: announce again
        # Bumped by paho's thread per connection; the ticker copies it once it has sent
        # discovery and state for that connection (the front end's ``ready`` waits).
        self.connect_gen = 0
        self.announced_gen = 0
        # _events_lock guards what the core's thread records for the ticker.
        self._events_lock = threading.Lock()
        self._last_mood: dict[str, Any] | None = None
        self._last_mood_key: tuple[Any, ...] | None = None
        self._last_mood_put = 0.0
        self._core_stats: dict[str, Any] | None = None
        # Ticker only:
        self._last_state: bytes | None = None
        self._last_state_at = 0.0

    @property
    def announced(self) -> bool:
        return self.announced_gen == self.connect_gen

    def on_event(self, event: Event) -> None:
        # The core's thread: record or enqueue only, never wait on the network or SQLite.
        kind = event.kind
        if kind == "sample":
            self.stats.add(event.data)
        elif kind == "mood":
            self._on_mood(event)
        elif kind == "stats":
            with self._events_lock:
                self._core_stats = dict(event.data)
        else:
            data = event.data
            if kind == "fault" and data.get("component") == "camera" and data.get("ok") is False:
                self.stats.add_camera_error()
            self.state_dirty.set()

    def _on_mood(self, event: Event) -> None:
        data = {k: event.data.get(k) for k in MOOD_KEYS}
        key = (data["mood"], data["audience"])
        with self._events_lock:
            self._last_mood = data
            changed = key != self._last_mood_key
            if changed:
                self._last_mood_key = key
                self._last_mood_put = time.monotonic()
        self.state_dirty.set()
        if changed:
            self._queue("mood", {"ts": event.ts, **data, "reason": "change"})

    def _state_payload(self) -> dict[str, Any] | None:
        try:
            status = self.api.status().to_dict()
        except Exception:
            self._limiter.log(logging.ERROR, "status", "status() failed; state not published")
            return None
        status["version"] = status.get("version") or __version__
        status["kiosk_id"] = self.topics.kiosk_id
        status["groups"] = list(self.topics.groups)
        return status

    def _publish_state(self, force: bool = False) -> None:
        """Ticker thread only: it owns ``_last_state``."""
        client = self._get_client()
        data = self._state_payload()
        if client is None or data is None:
            return
        compare = to_json({k: v for k, v in data.items() if k != "uptime_s"})
        if not force and compare == self._last_state:
            return
        self._last_state = compare
        self._last_state_at = time.monotonic()
        client.publish(self.topics.state, to_json({**data, "ts": time.time()}), qos=1, retain=True)

    def _publish_discovery(self) -> None:
        client = self._get_client()
        if not self.cfg.discovery or client is None:
            return
        for topic, payload in discovery_messages(self.topics, self.cfg.discovery_prefix):
            client.publish(topic, to_json(payload), qos=1, retain=True)

    def run(self, stop: threading.Event) -> None:
        next_stats = time.monotonic() + self.cfg.stats_interval_s
        while not stop.wait(TICK_S):
            now = time.monotonic()
            try:
                if now >= next_stats:
                    next_stats += self.cfg.stats_interval_s
                    if next_stats < now:  # a long stall: skip, do not burst
                        next_stats = now + self.cfg.stats_interval_s
                    self.publish_stats()
                with self._events_lock:
                    mood = self._last_mood
                    due = mood is not None and now - self._last_mood_put >= self.cfg.mood_interval_s
                    if due:
                        self._last_mood_put = now
                if due:
                    self._queue("mood", {"ts": time.time(), **mood, "reason": "periodic"})
                if self._connected.is_set():
                    gen = self.connect_gen
                    if gen != self.announced_gen or self.republish.is_set():
                        self.republish.clear()
                        self._publish_discovery()
                        self._publish_state(force=True)
                        self.announced_gen = gen
                    elif (
                        self.state_dirty.is_set()
                        and now - self._last_state_at >= STATE_MIN_INTERVAL_S
                    ):
                        self.state_dirty.clear()
                        self._publish_state()
            except Exception:
                self.counters.bump("errors")
                self._limiter.log(logging.ERROR, "tick", "MQTT ticker step failed", exc_info=True)

    def publish_stats(self) -> None:
        """Queue one stats message for the interval that just ended."""
        data = self.stats.take()
        with self._events_lock:
            if self._core_stats:
                data["core"] = self._core_stats
        outbox = self._outbox_info()
        if outbox is not None:
            data["outbox"] = outbox
        data["mqtt"] = self.counters.snapshot()
        try:  # background music analysis progress (None when it is off)
            data["music_analysis"] = self.api.status().music_analysis
        except Exception:
            data["music_analysis"] = None
        self._queue("stats", data)
