"""Commands in over MQTT: refusals that need no core call are answered at once on paho's
network thread (retained, rate-limited, too large, bad response topic, queue full); the
rest wait in a bounded queue for the ``mqtt-commands`` worker, which runs them one at a
time through the kiosk's one dispatcher. Nothing here blocks, and nothing here raises out.

Every MQTT command runs with the operator role (the broker's ACL decides who may publish
on the command topics). Its source is ``mqtt`` (Home Assistant and any other client), or
what the MQTT v5 user property ``source`` names when that is one of our own command-line
tools (``ctl``, ``cli``): it only labels the history, it grants nothing."""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk.comms.config import MqttConfig
from kiosk.comms.limits import (
    MAX_CORRELATION,
    Counters,
    LogLimiter,
    TokenBucket,
    peek_id,
    response_topic_problem,
    to_json,
)
from kiosk.comms.topics import Topics
from kiosk.core.api import OPERATOR, Origin
from kiosk.core.dispatch import Dispatcher

QUEUE = 64

# (response topic, correlation data, why the topic was refused)
Reply = tuple[str | None, bytes | None, str | None]
# What a client may name as its source in the ``source`` user property.
CLAIMABLE_SOURCES = frozenset({"ctl", "cli"})


def claimed_origin(props: Any) -> Origin:
    """The origin of one MQTT command: ``mqtt``, or a tool that named itself."""
    for key, value in getattr(props, "UserProperty", None) or ():
        if key == "source" and value in CLAIMABLE_SOURCES:
            return Origin(value, OPERATOR)
    return Origin("mqtt", OPERATOR)


class CommandIntake:
    def __init__(
        self,
        cfg: MqttConfig,
        topics: Topics,
        dispatcher: Dispatcher,
        counters: Counters,
        limiter: LogLimiter,
        get_client: Callable[[], Any],
    ) -> None:
        self.cfg = cfg
        self.topics = topics
        self.dispatcher = dispatcher
        self.counters = counters
        self.limiter = limiter
        self.get_client = get_client
        self.on_success: Callable[[], None] = lambda: None
        self.queue: queue.Queue[tuple[str, bytes, Reply, Origin] | None] = queue.Queue(QUEUE)
        self.bucket = TokenBucket(cfg.rate_limit_per_s, cfg.rate_limit_burst)
        self.own_roots = (cfg.topic_prefix, cfg.discovery_prefix)

    # -- paho's network thread -----------------------------------------------------------

    def handle(self, name: str, msg: Any) -> None:
        """One message on a command topic (``name`` may be ``""``)."""
        topic = msg.topic
        if msg.retain:
            # A retained command would replay on every reconnect (a stale "pause").
            self.counters.bump("retained_ignored")
            # repr: no log injection, and a surrogate cannot break the log handler
            self.limiter.log(logging.INFO, "retained", "ignoring retained command on %r", topic)
            return
        props = getattr(msg, "properties", None)
        reply = self._reply_target(props)
        payload = bytes(msg.payload)
        too_large = len(payload) > self.cfg.max_payload_bytes
        if not self.bucket.take():
            self.counters.bump("rate_limited")
            rid = None if too_large else peek_id(payload)
            self._refuse(name, rid, "rate limited: too many commands, try again shortly", reply)
            return
        if too_large:
            self.counters.bump("too_large")
            error = f"payload too large ({len(payload)} bytes, max {self.cfg.max_payload_bytes})"
            self._refuse(name, None, error, reply)
            return
        if reply[2] is not None:
            self.counters.bump("response_topic_refused")
            self._refuse(name, peek_id(payload), f"response topic refused: {reply[2]}", reply)
            return
        try:
            self.queue.put_nowait((name, payload, reply, claimed_origin(props)))
        except queue.Full:
            self.counters.bump("busy")
            self._refuse(name, peek_id(payload), "busy: command queue full, try again", reply)

    def _reply_target(self, props: Any) -> Reply:
        topic = getattr(props, "ResponseTopic", None)
        if topic is None:
            return None, None, None
        correlation = getattr(props, "CorrelationData", None)
        if not isinstance(correlation, (bytes, bytearray)) or len(correlation) > MAX_CORRELATION:
            correlation = None
        problem = response_topic_problem(topic, self.own_roots)
        if problem is not None:
            self.limiter.log(
                logging.WARNING, "response-topic", "refusing response topic %r: %s", topic, problem
            )
            return None, None, problem
        return topic, bytes(correlation) if correlation is not None else None, None

    def _refuse(self, name: str, rid: Any, error: str, reply: Reply) -> None:
        self.publish_result({"id": rid, "command": name[:64], "ok": False, "error": error}, reply)

    # -- the worker ----------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while True:
            item = self.queue.get()
            if item is None or stop.is_set():
                return
            try:
                self._run(*item)
            except Exception:
                self.counters.bump("errors")
                self.limiter.log(
                    logging.ERROR, "command", "MQTT command worker step failed", exc_info=True
                )
                with contextlib.suppress(Exception):  # still answer, if at all possible
                    self._refuse(item[0], peek_id(item[1]), "internal error", item[2])

    def wake(self) -> None:
        """Let a waiting worker see the stop flag (a full queue: after its current item)."""
        with contextlib.suppress(queue.Full):
            self.queue.put_nowait(None)

    def _run(self, name: str, payload: bytes, reply: Reply, origin: Origin) -> None:
        result = self.dispatcher.dispatch(name, payload, origin)
        self.counters.bump("commands")
        if not result["ok"]:
            self.counters.bump("commands_failed")
            self.limiter.log(
                logging.INFO, "refused", "command %r refused: %r", name[:64], result["error"]
            )
        else:
            self.on_success()
        self.publish_result(result, reply)

    # -- either thread -------------------------------------------------------------------

    def publish_result(self, result: dict[str, Any], reply: Reply) -> None:
        client = self.get_client()
        if client is None:
            return
        body = to_json({**result, "kiosk_id": self.topics.kiosk_id, "ts": time.time()})
        client.publish(self.topics.result, body, qos=1)
        topic, correlation, _ = reply
        if topic is None:
            return
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        props = Properties(PacketTypes.PUBLISH)
        if correlation is not None:
            props.CorrelationData = correlation
        try:
            client.publish(topic, body, qos=1, properties=props)
        except ValueError as exc:
            self.limiter.log(
                logging.INFO, "reply", "cannot answer on response topic %r: %s", topic, exc
            )
