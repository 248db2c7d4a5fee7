"""MQTT front end: state, mood and stats out; commands in; Home Assistant discovery.

Threads and what each one owns:

- paho's network loop runs the ``_on_*`` callbacks. They never block (no broker probe, no
  core call) and never raise: every one is wrapped by ``guarded``.
- ``mqtt-commands`` runs validated API calls, one at a time (``mqtt_commands.py``).
- ``mqtt-ticker`` queues stats and periodic mood, and is the only thread that publishes
  ``state`` and discovery (``mqtt_state.py``; so the last state sent has one owner).
- ``mqtt-drain`` owns the SQLite outbox (``drain.py``): it stores what listeners queued,
  hands rows to paho, and deletes them on PUBACK (or moves them to the dead letters on a
  refusal).

Event listeners only record or enqueue, so the core's thread never waits on the network
or the SD card. The kiosk plays with no broker at all: ``connect_async`` + ``loop_start``
retry in the background with back-off.

Its size: the connection's life (connect, subscribe, reconnect, will, stop) is one state
machine over paho's callbacks; commands and state publishing are already apart
(``mqtt_commands.py``, ``mqtt_state.py``).
"""

from __future__ import annotations

import contextlib
import logging
import ssl
import threading
import time
from typing import Any

from kiosk.comms.client import new_client, probe, tls_context
from kiosk.comms.config import MqttConfig, PasswordError
from kiosk.comms.drain import Drain
from kiosk.comms.limits import (
    Counters,
    LogLimiter,
    guarded,
    to_json,
)
from kiosk.comms.mqtt_commands import CommandIntake
from kiosk.comms.mqtt_state import StatePublisher
from kiosk.comms.outbox import Outbox
from kiosk.comms.stats import StatsAggregator
from kiosk.comms.topics import Topics
from kiosk.core.api import KioskApi
from kiosk.core.dispatch import Dispatcher

__all__ = ["MqttFrontend", "new_client", "probe", "tls_context"]

log = logging.getLogger(__name__)

FLAP_S = 10.0  # a connection that ends sooner than this counts as flapping
# Factory host names: two kiosks with the same one would fight over one client id.
GENERIC_HOSTNAMES = frozenset(
    {"raspberrypi", "localhost", "ubuntu", "debian", "jetson", "nano", "orin", "kiosk"}
)
COUNTERS = (
    "connects",
    "connect_failures",
    "commands",
    "commands_failed",
    "rate_limited",
    "too_large",
    "retained_ignored",
    "busy",
    "response_topic_refused",
    "published_queued",
    "refused",  # PUBACKs with a failure reason code (ACL...)
    "intake_dropped",  # queued messages lost because the outbox could not keep up
    "errors",  # exceptions caught in a callback or worker loop
)


class MqttFrontend:
    """One MQTT client for one kiosk. ``start()`` never blocks on the network or raises
    for a broker problem; ``stop()`` says goodbye (``offline``) and joins its threads
    within its timeout, whatever the broker does."""

    def __init__(self, api: KioskApi, loaded: Any, dispatcher: Dispatcher | None = None) -> None:
        """``dispatcher``: the kiosk's one dispatcher (a fresh one over ``api`` if None)."""
        self.api = api
        self.loaded = loaded
        self.cfg: MqttConfig = loaded.config.mqtt
        self.topics = Topics(
            self.cfg.topic_prefix, self.cfg.effective_kiosk_id(), tuple(self.cfg.groups)
        )
        self.outbox: Outbox | None = None
        self.drain: Drain | None = None
        self.counters = Counters(COUNTERS)
        self._limiter = LogLimiter(log)
        self._client: Any = None
        self._client_id = self.cfg.effective_client_id()
        self._tls: ssl.SSLContext | None = None
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._stop = threading.Event()
        self.intake = CommandIntake(
            self.cfg,
            self.topics,
            dispatcher or Dispatcher(api),
            self.counters,
            self._limiter,
            self._get_client,
        )
        self.announce = StatePublisher(
            api,
            self.cfg,
            self.topics,
            self.counters,
            self._limiter,
            self._get_client,
            self._connected,
            self._queue,
            self._outbox_info,
        )
        self.intake.on_success = self.announce.state_dirty.set
        self._threads: list[threading.Thread] = []
        self._unsubscribe: Any = None
        # paho's network thread only:
        self._failure_logged: str | None = None
        self._connected_at = 0.0
        self._flaps = 0
        self._refusals_warned: set[str] = set()

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        if self.cfg.kiosk_id is None and self.topics.kiosk_id in GENERIC_HOSTNAMES:
            log.warning(
                "MQTT kiosk id defaults to the host name %r, which many devices share; set "
                "mqtt.kiosk_id (or the host name) so two kiosks never share topics",
                self.topics.kiosk_id,
            )
        self.outbox = Outbox(self._outbox_path(), self.cfg.outbox_max_messages)
        self.drain = Drain(
            self.outbox, self._topic_for, self._connected, self.counters, self._limiter
        )
        if len(self.outbox):
            log.info(
                "MQTT outbox holds %d message(s) from before (%d refused earlier, retried "
                "now); sending them first",
                len(self.outbox),
                self.outbox.requeued,
            )
        self._unsubscribe = self.api.events.subscribe(
            guarded(self.announce.on_event, "event listener", self.counters, self._limiter),
            {"sample", "mood", "state", "playlist", "track", "fault", "stats"},
        )
        for name, target in (
            ("mqtt-commands", lambda: self.intake.run(self._stop)),
            ("mqtt-ticker", lambda: self.announce.run(self._stop)),
            ("mqtt-drain", lambda: self.drain.run(self._stop)),
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
        self.drain.client = self._client
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
        from kiosk.paths import state_dir

        return state_dir(self.loaded) / "mqtt-outbox.sqlite"

    def stop(self, timeout: float = 3.0) -> None:
        """Hand over what is queued, say ``offline``, stop. Returns within about
        ``timeout`` seconds even when the broker hangs (what was not acknowledged stays in
        the outbox for the next start)."""
        if self._stop.is_set():
            return
        deadline = time.monotonic() + timeout
        if self._unsubscribe:
            self._unsubscribe()
        # The unfinished interval is queued too (sent now or after the next start).
        if self.stats.pending_samples:
            self.publish_stats()
        self._wait_handed_over(min(deadline, time.monotonic() + 2.0))
        self._stop.set()
        self.intake.wake()
        if self.drain is not None:
            self.drain.wake()
        for t in self._threads:
            t.join(max(0.1, deadline - time.monotonic()))
        client = self._client
        if client is not None:
            if self._connected.is_set():
                info = client.publish(self.topics.availability, "offline", qos=1, retain=True)
                with contextlib.suppress(RuntimeError, ValueError):
                    info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            client.disconnect()
            client.loop_stop()
        if self.drain is not None and not any(t.is_alive() for t in self._threads):
            self.drain.flush_acks()  # the drainer is gone: late acks are ours now
            self.drain.outbox.close()

    def _wait_handed_over(self, until: float) -> None:
        """While connected, give the drainer a moment to deliver the outbox; give up early
        when acknowledgements stop coming (a hung broker)."""
        if self.drain is None:
            return
        last, progress_at = -1, time.monotonic()
        while self._connected.is_set() and time.monotonic() < until:
            left = self.drain.queued()
            if left == 0:
                return
            now = time.monotonic()
            if left != last:
                last, progress_at = left, now
            elif now - progress_at > 0.5:
                return
            time.sleep(0.02)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def ready(self) -> bool:
        """Connected and the command subscriptions acknowledged by the broker."""
        return self._connected.is_set() and self._subscribed.is_set() and self.announce.announced

    # -- client ------------------------------------------------------------------------

    def _get_client(self) -> Any:
        return self._client

    def _make_client(self) -> Any:
        client = new_client(self.cfg, self._client_id, self.loaded.resolve)
        self._tls = tls_context(self.cfg, self.loaded.resolve)  # for probe()
        client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        client.reconnect_delay_set(self.cfg.reconnect_min_s, self.cfg.reconnect_max_s)
        client.suppress_exceptions = True  # a second net under guarded()
        for name, fn in (
            ("on_connect", self._on_connect),
            ("on_connect_fail", self._on_connect_fail),
            ("on_disconnect", self._on_disconnect),
            ("on_message", self._on_message),
            ("on_publish", self._on_publish),
            ("on_subscribe", self._on_subscribe),
        ):
            setattr(client, name, guarded(fn, name, self.counters, self._limiter))
        return client

    def _log_failure(self, key: str, msg: str, *args: Any) -> None:
        # Log each new kind of failure once at ERROR; repeats of the same failure go to
        # DEBUG so a dead broker does not fill the SD card with journal lines.
        self.counters.bump("connect_failures")
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

        self.counters.bump("connects")
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
        # Discovery and state need the core's status (its lock): the ticker sends them.
        self.announce.connect_gen += 1
        if self.drain is not None:
            self.drain.on_connect()  # sets _connected once the order is safe
        else:
            self._connected.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        self._subscribed.set()

    def _on_connect_fail(self, client, userdata) -> None:
        self.counters.bump("connect_failures")
        if self._failure_logged == "unreachable":
            log.debug("MQTT broker %s:%d still unreachable", self.cfg.host, self.cfg.port)
            return
        # A new problem: find out why, once, off this thread (the probe blocks up to 5 s).
        self._failure_logged = "unreachable"
        threading.Thread(target=self._probe_and_log, name="mqtt-probe", daemon=True).start()

    def _probe_and_log(self) -> None:
        try:
            reason = probe(self.cfg.host, self.cfg.port, self._tls)
        except Exception as exc:  # never let a diagnosis take anything down
            reason = type(exc).__name__
        log.error(
            "MQTT broker %s:%d unreachable: %s (retrying with back-off up to %ds)",
            self.cfg.host,
            self.cfg.port,
            reason,
            self.cfg.reconnect_max_s,
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
        # MQTT 5: a PUBACK can carry a refusal (0x87 not authorized, 0x97 quota...). The
        # row is then kept as a dead letter, never deleted as if delivered.
        failed = bool(getattr(reason_code, "is_failure", False))
        if self.drain is not None:
            self.drain.on_puback(mid, failed)
        if failed:
            self.counters.bump("refused")
            why = str(reason_code)
            if why not in self._refusals_warned:
                self._refusals_warned.add(why)
                log.warning(
                    "MQTT broker refused a message from this kiosk: %s. Check the broker ACL "
                    "lets it publish under %s/; refused stats and mood are kept as dead "
                    "letters (stats.outbox.refused) and retried on the next start",
                    why,
                    self.topics.base,
                )

    # -- commands ----------------------------------------------------------------------

    def _on_message(self, client, userdata, msg) -> None:
        topic = msg.topic
        if self.cfg.discovery and topic == f"{self.cfg.discovery_prefix}/status":
            if msg.payload.strip() == b"online":
                self.announce.republish.set()
            return
        name = self.topics.command_name(topic)
        if name is None:
            return
        self.intake.handle(name, msg)

    # -- events out --------------------------------------------------------------------

    def _queue(self, kind: str, data: dict[str, Any]) -> None:
        """Hand a stats/mood message to the drainer, which writes it to the outbox."""
        if self.drain is None:
            return
        self.drain.queue(kind, to_json({**data, "kiosk_id": self.topics.kiosk_id}))
        self.counters.bump("published_queued")

    def queued(self) -> int:
        """Messages not yet acknowledged by the broker (outbox + not yet stored)."""
        return self.drain.queued() if self.drain is not None else 0

    def _topic_for(self, kind: str) -> str:
        return self.topics.stats if kind == "stats" else self.topics.mood

    def _outbox_info(self) -> dict[str, Any] | None:
        if self.drain is None:
            return None
        return {
            "queued": self.drain.queued(),
            "dropped": self.drain.outbox.dropped + self.counters["intake_dropped"],
            "refused": self.drain.outbox.refused,
            "dead_letters": self.drain.outbox.dead,
        }

    @property
    def stats(self) -> StatsAggregator:
        return self.announce.stats

    def publish_stats(self) -> None:
        """Queue one stats message for the interval that just ended."""
        self.announce.publish_stats()
