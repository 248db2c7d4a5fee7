"""MQTT front end: state, mood and stats out; commands in; Home Assistant discovery.

Threads: paho's network loop, a command worker (API calls never run on the network thread),
a ticker (stats, periodic mood, state) and a drainer that moves the outbox to the broker.
Event listeners only record or enqueue, so the core's thread never waits on the network.
The kiosk plays with no broker at all: ``connect_async`` + ``loop_start`` retry in the
background with back-off.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from kiosk import __version__
from kiosk.api import Event, KioskApi
from kiosk.comms.commands import Dispatcher, parse_payload, safe_id
from kiosk.comms.config import MqttConfig, PasswordError, read_password
from kiosk.comms.discovery import discovery_messages
from kiosk.comms.outbox import Outbox
from kiosk.comms.stats import StatsAggregator
from kiosk.comms.topics import Topics

log = logging.getLogger(__name__)

TICK_S = 0.1
STATE_MIN_INTERVAL_S = 1.0
DRAIN_WINDOW = 100  # outbox messages handed to paho and not yet acknowledged
COMMAND_QUEUE = 64
FLAP_S = 10.0  # a connection that ends sooner than this counts as flapping
# Factory host names: two kiosks with the same one would fight over one client id.
GENERIC_HOSTNAMES = frozenset(
    {"raspberrypi", "localhost", "ubuntu", "debian", "jetson", "nano", "orin", "kiosk"}
)
MOOD_KEYS = ("mood", "confidence", "faces", "distribution", "window_s", "audience")


def _json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def tls_context(cfg: MqttConfig, resolve: Callable[[str], Any]) -> ssl.SSLContext | None:
    """The TLS context for the broker, or None without TLS. Verification is always on;
    ``insecure`` only skips the host name check."""
    if not cfg.tls.enabled:
        return None
    ca = str(resolve(cfg.tls.ca)) if cfg.tls.ca else None
    try:
        ctx = ssl.create_default_context(cafile=ca)
    except (OSError, ValueError) as exc:
        raise ValueError(f"mqtt.tls.ca: cannot load {ca}: {exc}") from None
    if cfg.tls.certfile and cfg.tls.keyfile:
        cert, key = str(resolve(cfg.tls.certfile)), str(resolve(cfg.tls.keyfile))
        try:
            ctx.load_cert_chain(cert, key)
        except (OSError, ValueError) as exc:
            raise ValueError(f"mqtt.tls.certfile/keyfile: cannot load {cert}: {exc}") from None
    if cfg.tls.insecure:
        ctx.check_hostname = False
    return ctx


def new_client(cfg: MqttConfig, client_id: str, resolve: Callable[[str], Any]) -> Any:
    """A paho MQTT 5 client with the configured credentials and TLS (not yet connected).

    Raises PasswordError, OSError (ssl.SSLError included) or ValueError for an unusable
    password or certificate.
    """
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=MQTTProtocolVersion.MQTTv5,
    )
    password = read_password(cfg, resolve)
    if cfg.username is not None or password is not None:
        client.username_pw_set(cfg.username, password)
    ctx = tls_context(cfg, resolve)
    if ctx is not None:
        client.tls_set_context(ctx)
    return client


def probe(host: str, port: int, ctx: ssl.SSLContext | None, timeout: float = 5.0) -> str:
    """Why a connection fails, in words: paho's retry loop does not say (DNS, refused,
    certificate...)."""
    try:
        with socket.create_connection((host, port), timeout) as sock:
            if ctx is not None:
                with ctx.wrap_socket(sock, server_hostname=host):
                    pass
    except (OSError, ValueError) as exc:
        return str(exc) or type(exc).__name__
    return "connection failed"


class TokenBucket:
    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.last = time.monotonic()
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
            self.last = now
            if self.tokens >= 1.0:
                self.tokens -= 1.0
                return True
            return False


def _peek_id(payload: bytes) -> Any:
    """The request id of a payload that will not be executed, so the sender can match it."""
    try:
        return safe_id(parse_payload(payload).get("id"))
    except ValueError:
        return None


def _valid_response_topic(topic: Any) -> bool:
    return (
        isinstance(topic, str)
        and 0 < len(topic) <= 256
        and not any(c in topic for c in "+#\x00")
        and not topic.startswith("$")
    )


class MqttFrontend:
    """One MQTT client for one kiosk. ``start()`` never blocks on the network or raises
    for a broker problem; ``stop()`` says goodbye (``offline``) and joins its threads."""

    def __init__(self, api: KioskApi, loaded: Any) -> None:
        self.api = api
        self.loaded = loaded
        self.cfg: MqttConfig = loaded.config.mqtt
        self.topics = Topics(
            self.cfg.topic_prefix, self.cfg.effective_kiosk_id(), tuple(self.cfg.groups)
        )
        self.dispatcher = Dispatcher(api)
        self.outbox: Outbox | None = None
        self.stats = StatsAggregator()
        self.counters = dict.fromkeys(
            (
                "connects",
                "connect_failures",
                "commands",
                "commands_failed",
                "rate_limited",
                "too_large",
                "retained_ignored",
                "busy",
                "published_queued",
            ),
            0,
        )
        self._client: Any = None
        self._tls: ssl.SSLContext | None = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self._cond = threading.Condition()
        self._pending: dict[int, int] = {}  # paho mid -> outbox seq
        self._early_acks: dict[int, float] = {}  # acks that beat the drainer's bookkeeping
        self._acked: list[int] = []
        self._sent_seq = 0
        self._barrier = False
        self._commands: queue.Queue[tuple[str, bytes, Any] | None] = queue.Queue(COMMAND_QUEUE)
        self._bucket = TokenBucket(self.cfg.rate_limit_per_s, self.cfg.rate_limit_burst)
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Any = None
        self._mood_lock = threading.Lock()
        self._last_mood: dict[str, Any] | None = None
        self._last_mood_key: tuple[Any, ...] | None = None
        self._last_mood_put = 0.0
        self._core_stats: dict[str, Any] | None = None
        self._state_dirty = threading.Event()
        self._republish = threading.Event()
        self._last_state: bytes | None = None
        self._last_state_at = 0.0
        self._failure_logged: str | None = None
        self._connected_at = 0.0
        self._flaps = 0
        self.started_at: float | None = None

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        self.started_at = time.monotonic()
        if self.cfg.kiosk_id is None and self.topics.kiosk_id in GENERIC_HOSTNAMES:
            log.warning(
                "MQTT kiosk id defaults to the host name %r, which many devices share; set "
                "mqtt.kiosk_id (or the host name) so two kiosks never share topics",
                self.topics.kiosk_id,
            )
        self.outbox = Outbox(self._outbox_path(), self.cfg.outbox_max_messages)
        if len(self.outbox):
            log.info(
                "MQTT outbox holds %d message(s) from before; sending them first", len(self.outbox)
            )
        self._unsubscribe = self.api.events.subscribe(
            self._on_event, {"sample", "mood", "state", "playlist", "track", "fault", "stats"}
        )
        for name, target in (
            ("mqtt-commands", self._command_loop),
            ("mqtt-ticker", self._tick_loop),
            ("mqtt-drain", self._drain_loop),
        ):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        try:
            self._client = self._make_client()
        except ImportError as exc:
            log.error("MQTT disabled: cannot import paho-mqtt (%s); pip install paho-mqtt", exc)
            return
        except (PasswordError, OSError, ValueError) as exc:
            # Stats keep queueing in the outbox, so fixing the config later loses nothing.
            log.error("MQTT disabled until restart: %s", exc)
            self._client = None
            return
        self._client.connect_async(self.cfg.host, self.cfg.port, self.cfg.keepalive_s)
        self._client.loop_start()
        log.info(
            "MQTT: connecting to %s:%d as %s (kiosk id %s) in the background",
            self.cfg.host,
            self.cfg.port,
            self._client_id,
            self.topics.kiosk_id,
        )

    def _outbox_path(self) -> Any:
        if self.cfg.outbox_path:
            return self.loaded.resolve(self.cfg.outbox_path)
        from kiosk.service.daemon import state_dir

        return state_dir(self.loaded) / "mqtt-outbox.sqlite"

    def stop(self, timeout: float = 3.0) -> None:
        if self._stop.is_set():
            return
        if self._unsubscribe:
            self._unsubscribe()
        # The unfinished interval is queued too (sent now or after the next start), and a
        # connected kiosk gets a moment to hand the outbox over before it says goodbye.
        if self.stats.pending_samples:
            self.publish_stats()
        if self._connected.is_set() and self.outbox is not None:
            end = time.monotonic() + min(timeout, 2.0)
            while len(self.outbox) and self._connected.is_set() and time.monotonic() < end:
                time.sleep(0.02)
                self._flush_acks()
        self._stop.set()
        # When the queue is full the worker still sees _stop after its current command.
        with contextlib.suppress(queue.Full):
            self._commands.put_nowait(None)
        with self._cond:
            self._cond.notify_all()
        for t in self._threads:
            t.join(timeout)
        client = self._client
        if client is not None:
            if self._connected.is_set():
                info = client.publish(self.topics.availability, "offline", qos=1, retain=True)
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(timeout)
            client.disconnect()
            client.loop_stop()
        self._flush_acks()
        if self.outbox is not None:
            self.outbox.close()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def ready(self) -> bool:
        """Connected and the command subscriptions acknowledged by the broker."""
        return self._connected.is_set() and self._subscribed.is_set()

    # -- client ------------------------------------------------------------------------

    def _make_client(self) -> Any:
        self._client_id = self.cfg.effective_client_id()
        client = new_client(self.cfg, self._client_id, self.loaded.resolve)
        self._tls = tls_context(self.cfg, self.loaded.resolve)  # for probe()
        client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        client.reconnect_delay_set(self.cfg.reconnect_min_s, self.cfg.reconnect_max_s)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_publish = self._on_publish
        client.on_subscribe = lambda *args: self._subscribed.set()
        return client

    def _log_failure(self, key: str, msg: str, *args: Any) -> None:
        # Log each new kind of failure once at WARNING/ERROR; repeats of the same failure
        # go to DEBUG so a dead broker does not fill the SD card with journal lines.
        self.counters["connect_failures"] += 1
        if self._failure_logged != key:
            self._failure_logged = key
            log.error(msg + " (retrying with back-off up to %ds)", *args, self.cfg.reconnect_max_s)
        else:
            log.debug(msg, *args)

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            self._log_failure(
                f"refused:{reason_code}",
                "MQTT broker %s:%d refused the connection: %s",
                self.cfg.host,
                self.cfg.port,
                reason_code,
            )
            return
        from paho.mqtt.subscribeoptions import SubscribeOptions

        self.counters["connects"] += 1
        self._connected_at = time.monotonic()
        self._failure_logged = None
        log.info("MQTT connected to %s:%d", self.cfg.host, self.cfg.port)
        # no_local: the kiosk never hears its own publishes (its results share cmd/+).
        # Retained commands are never sent on subscribe, and a live publish keeps its
        # retain flag so _on_message can refuse it too (it would replay on every restart).
        opts = SubscribeOptions(
            qos=1,
            noLocal=True,
            retainAsPublished=True,
            retainHandling=SubscribeOptions.RETAIN_DO_NOT_SEND,
        )
        subs = [(t, opts) for t in self.topics.command_filters()]
        if self.cfg.discovery:
            subs.append((f"{self.cfg.discovery_prefix}/status", SubscribeOptions(qos=1)))
        client.subscribe(subs)
        client.publish(self.topics.availability, "online", qos=1, retain=True)
        self._publish_discovery()
        self._publish_state(force=True)
        with self._cond:
            # Messages paho held across the outage are resent by paho first; new ones wait
            # behind them so the broker sees the outbox in order.
            self._barrier = bool(self._pending)
            self._connected.set()
            self._cond.notify_all()

    def _on_connect_fail(self, client, userdata) -> None:
        reason = "unreachable"
        if self._failure_logged != "unreachable":  # a new problem: find out why, once
            reason = probe(self.cfg.host, self.cfg.port, self._tls)
        self._log_failure(
            "unreachable",
            "MQTT broker %s:%d unreachable: %s",
            self.cfg.host,
            self.cfg.port,
            reason,
        )

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        self._subscribed.clear()
        if was and time.monotonic() - self._connected_at < FLAP_S:
            self._flaps += 1
        else:
            self._flaps = 0
        if self._flaps == 3 and not self._stop.is_set():
            # The usual cause: a second kiosk with the same client id, the broker drops
            # whichever connected first, forever. It is worth one loud line.
            log.error(
                "MQTT connection keeps dropping right after connecting (%s). Is another "
                "device using client id %s? Give every kiosk its own mqtt.kiosk_id.",
                reason_code,
                self._client_id,
            )
        elif was and not self._stop.is_set():
            log.warning(
                "MQTT disconnected (%s); stats are kept in the outbox meanwhile", reason_code
            )

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._cond:
            seq = self._pending.pop(mid, None)
            if seq is None:
                # Either an outbox message acked before the drainer recorded its mid, or a
                # state/result publish. Forget them soon: mids are reused after 65535.
                now = time.monotonic()
                self._early_acks[mid] = now
                if len(self._early_acks) > DRAIN_WINDOW:
                    self._early_acks = {m: t for m, t in self._early_acks.items() if now - t < 2.0}
            else:
                self._acked.append(seq)
            self._cond.notify_all()

    # -- commands ----------------------------------------------------------------------

    def _on_message(self, client, userdata, msg) -> None:
        topic = msg.topic
        if self.cfg.discovery and topic == f"{self.cfg.discovery_prefix}/status":
            if msg.payload.strip() == b"online":
                self._republish.set()
            return
        name = self.topics.command_name(topic)
        if name is None:
            return
        if msg.retain:
            # A retained command would replay on every reconnect (a stale "pause").
            self.counters["retained_ignored"] += 1
            log.info("ignoring retained command on %r", topic[:200])  # repr: no log injection
            return
        props = getattr(msg, "properties", None)
        reply = (getattr(props, "ResponseTopic", None), getattr(props, "CorrelationData", None))
        too_large = len(msg.payload) > self.cfg.max_payload_bytes
        if not self._bucket.take():
            self.counters["rate_limited"] += 1
            rid = None if too_large else _peek_id(msg.payload)
            self._reply(name, rid, "rate limited: too many commands, try again shortly", reply)
            return
        if too_large:
            self.counters["too_large"] += 1
            self._reply(
                name,
                None,
                f"payload too large ({len(msg.payload)} bytes, max {self.cfg.max_payload_bytes})",
                reply,
            )
            return
        try:
            self._commands.put_nowait((name, bytes(msg.payload), reply))
        except queue.Full:
            self.counters["busy"] += 1
            rid = _peek_id(msg.payload)
            self._reply(name, rid, "busy: command queue full, try again shortly", reply)

    def _reply(self, name: str, rid: Any, error: str, reply: Any) -> None:
        self._publish_result({"id": rid, "command": name[:64], "ok": False, "error": error}, reply)

    def _command_loop(self) -> None:
        while not self._stop.is_set():
            item = self._commands.get()
            if item is None:
                return
            name, payload, reply = item
            result = self.dispatcher.dispatch(name, payload)
            self.counters["commands"] += 1
            if not result["ok"]:
                self.counters["commands_failed"] += 1
                log.info("command %r refused: %s", name[:64], result["error"])
            else:
                self._state_dirty.set()
            self._publish_result(result, reply)

    def _publish_result(self, result: dict[str, Any], reply: Any) -> None:
        client = self._client
        if client is None:
            return
        result = {**result, "kiosk_id": self.topics.kiosk_id, "ts": time.time()}
        body = _json(result)
        client.publish(self.topics.result, body, qos=1)
        topic, correlation = reply
        if topic is not None and _valid_response_topic(topic):
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties

            props = Properties(PacketTypes.PUBLISH)
            if isinstance(correlation, (bytes, bytearray)) and len(correlation) <= 1024:
                props.CorrelationData = bytes(correlation)
            try:
                client.publish(topic, body, qos=1, properties=props)
            except ValueError as exc:
                log.info("cannot answer on response topic %r: %s", topic[:80], exc)

    # -- events out --------------------------------------------------------------------

    def _on_event(self, event: Event) -> None:
        kind = event.kind
        if kind == "sample":
            self.stats.add(event.data)
        elif kind == "mood":
            self._on_mood(event)
        elif kind == "stats":
            self._core_stats = dict(event.data)
        else:
            data = event.data
            if kind == "fault" and data.get("component") == "camera" and data.get("ok") is False:
                self.stats.add_camera_error()
            self._state_dirty.set()

    def _on_mood(self, event: Event) -> None:
        data = {k: event.data.get(k) for k in MOOD_KEYS}
        key = (data["mood"], data["audience"])
        with self._mood_lock:
            self._last_mood = data
            changed = key != self._last_mood_key
            if changed:
                self._last_mood_key = key
                self._last_mood_put = time.monotonic()
        self._state_dirty.set()
        if changed:
            self._queue("mood", {"ts": event.ts, **data, "reason": "change"})

    def _queue(self, kind: str, data: dict[str, Any]) -> None:
        if self.outbox is None:
            return
        try:
            self.outbox.put(kind, _json({**data, "kiosk_id": self.topics.kiosk_id}))
        except Exception:
            log.exception("MQTT outbox: cannot queue a %s message", kind)
            return
        self.counters["published_queued"] += 1
        with self._cond:
            self._cond.notify_all()

    def _topic_for(self, kind: str) -> str:
        return self.topics.stats if kind == "stats" else self.topics.mood

    def _state_payload(self) -> dict[str, Any] | None:
        try:
            status = self.api.status().to_dict()
        except Exception:
            log.exception("status() failed; state not published")
            return None
        status["version"] = status.get("version") or __version__
        status["kiosk_id"] = self.topics.kiosk_id
        status["groups"] = list(self.topics.groups)
        return status

    def _publish_state(self, force: bool = False) -> None:
        client = self._client
        data = self._state_payload()
        if client is None or data is None:
            return
        compare = _json({k: v for k, v in data.items() if k != "uptime_s"})
        if not force and compare == self._last_state:
            return
        self._last_state = compare
        self._last_state_at = time.monotonic()
        client.publish(self.topics.state, _json({**data, "ts": time.time()}), qos=1, retain=True)

    def _publish_discovery(self) -> None:
        if not self.cfg.discovery or self._client is None:
            return
        for topic, payload in discovery_messages(self.topics, self.cfg.discovery_prefix):
            self._client.publish(topic, _json(payload), qos=1, retain=True)

    def _tick_loop(self) -> None:
        next_stats = time.monotonic() + self.cfg.stats_interval_s
        while not self._stop.wait(TICK_S):
            now = time.monotonic()
            try:
                if now >= next_stats:
                    next_stats += self.cfg.stats_interval_s
                    if next_stats < now:  # a long stall: skip, do not burst
                        next_stats = now + self.cfg.stats_interval_s
                    self.publish_stats()
                with self._mood_lock:
                    mood = self._last_mood
                    due = mood is not None and now - self._last_mood_put >= self.cfg.mood_interval_s
                    if due:
                        self._last_mood_put = now
                if due:
                    self._queue("mood", {"ts": time.time(), **mood, "reason": "periodic"})
                if self._connected.is_set():
                    if self._republish.is_set():
                        self._republish.clear()
                        self._publish_discovery()
                        self._publish_state(force=True)
                    elif (
                        self._state_dirty.is_set()
                        and now - self._last_state_at >= STATE_MIN_INTERVAL_S
                    ):
                        self._state_dirty.clear()
                        self._publish_state()
            except Exception:
                log.exception("MQTT ticker step failed")

    def publish_stats(self) -> None:
        """Queue one stats message for the interval that just ended."""
        data = self.stats.take()
        if self._core_stats:
            data["core"] = self._core_stats
        if self.outbox is not None:
            data["outbox"] = {"queued": len(self.outbox), "dropped": self.outbox.dropped}
        self._queue("stats", data)

    # -- outbox drain ------------------------------------------------------------------

    def _flush_acks(self) -> None:
        with self._cond:
            acked, self._acked = self._acked, []
        if acked and self.outbox is not None:
            self.outbox.ack(acked)

    def _drain_loop(self) -> None:
        while not self._stop.is_set():
            self._flush_acks()
            with self._cond:
                if self._barrier and not self._pending:
                    self._barrier = False
                room = DRAIN_WINDOW - len(self._pending)
                if not self._connected.is_set() or self._barrier or room <= 0:
                    self._cond.wait(0.5)
                    continue
                after = self._sent_seq
            rows = self.outbox.peek(after, room) if self.outbox is not None else []
            if not rows:
                with self._cond:
                    if not self._acked:
                        self._cond.wait(0.5)
                continue
            for seq, kind, payload in rows:
                if not self._connected.is_set() or self._client is None:
                    break
                info = self._client.publish(self._topic_for(kind), payload, qos=1)
                # Even with rc NO_CONN paho keeps a QoS 1 message and sends it on reconnect,
                # so it counts as handed over either way.
                with self._cond:
                    self._sent_seq = seq
                    early = self._early_acks.pop(info.mid, None)
                    if early is not None and time.monotonic() - early < 2.0:
                        self._acked.append(seq)
                    else:
                        self._pending[info.mid] = seq
