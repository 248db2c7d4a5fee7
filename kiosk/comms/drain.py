"""The outbox's one owner: stores queued stats/mood messages, hands them to paho in order,
deletes a row only on its PUBACK, and moves refused rows to the dead letters.

Every other thread only appends to ``intake`` (under ``cond``) and wakes the drainer, so
the core's thread and paho's network thread never wait on SQLite.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from kiosk.comms.limits import Counters, LogLimiter
from kiosk.comms.outbox import Outbox

WINDOW = 100  # outbox messages handed to paho and not yet acknowledged
EARLY_ACK_S = 2.0


class Drain:
    def __init__(
        self,
        outbox: Outbox,
        topic_for: Callable[[str], str],
        connected: threading.Event,
        counters: Counters,
        limiter: LogLimiter,
    ) -> None:
        self.outbox = outbox
        self.topic_for = topic_for
        self.connected = connected
        self.counters = counters
        self.limiter = limiter
        self.client: Any = None
        self.cond = threading.Condition()  # guards everything below
        self.intake: deque[tuple[str, bytes, float]] = deque()
        self.pending: dict[int, int] = {}  # paho mid -> outbox seq
        self.early: dict[int, tuple[float, bool]] = {}  # acks that beat the bookkeeping
        self.acked: list[int] = []
        self.refused: list[int] = []
        self.sent_seq = 0
        self.barrier = False

    # -- any thread ----------------------------------------------------------------------

    def queue(self, kind: str, payload: bytes) -> None:
        with self.cond:
            self.intake.append((kind, payload, time.time()))
            overflow = len(self.intake) - self.outbox.max_messages
            for _ in range(max(overflow, 0)):
                self.intake.popleft()
            self.cond.notify_all()
        if overflow > 0:
            self.counters.bump("intake_dropped", overflow)

    def queued(self) -> int:
        """Messages not yet acknowledged by the broker (outbox + not yet stored)."""
        with self.cond:
            return len(self.outbox) + len(self.intake)

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    # -- paho's network thread -----------------------------------------------------------

    def on_connect(self) -> None:
        with self.cond:
            # Messages paho held across the outage are resent by paho first; new ones wait
            # behind them so the broker sees the outbox in order.
            self.barrier = bool(self.pending)
            self.connected.set()
            self.cond.notify_all()

    def on_puback(self, mid: int, failed: bool) -> None:
        with self.cond:
            seq = self.pending.pop(mid, None)
            if seq is None:
                # Either an outbox message acked before run() recorded its mid, or a
                # state/result publish. Forget them soon: mids are reused after 65535.
                now = time.monotonic()
                self.early[mid] = (now, failed)
                if len(self.early) > WINDOW:
                    self.early = {m: v for m, v in self.early.items() if now - v[0] < EARLY_ACK_S}
            else:
                (self.refused if failed else self.acked).append(seq)
            self.cond.notify_all()

    # -- the drainer thread --------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        while True:
            stopping = stop.is_set()
            try:
                self.store_intake()
                self.flush_acks()
                if stopping:
                    return
                self._step()
            except Exception:
                self.counters.bump("errors")
                self.limiter.log(logging.ERROR, "drain", "MQTT outbox step failed", exc_info=True)
                if stopping:
                    return
                stop.wait(0.5)

    def flush_acks(self) -> None:
        with self.cond:
            acked, self.acked = self.acked, []
            refused, self.refused = self.refused, []
        self.outbox.ack(acked)
        self.outbox.refuse(refused)

    def store_intake(self) -> None:
        with self.cond:
            items = list(self.intake)
            self.intake.clear()
        if not items:
            return
        try:
            self.outbox.put_many(items)
        except Exception:
            with self.cond:  # keep them for the next try, ahead of newer ones
                self.intake.extendleft(reversed(items))
            raise

    def _step(self) -> None:
        with self.cond:
            if self.intake:
                return
            if self.barrier and not self.pending:
                self.barrier = False
            room = WINDOW - len(self.pending)
            if not self.connected.is_set() or self.barrier or room <= 0:
                self.cond.wait(0.5)
                return
            after = self.sent_seq
        rows = self.outbox.peek(after, room)
        if not rows:
            with self.cond:
                if not (self.acked or self.refused or self.intake):
                    self.cond.wait(0.5)
            return
        for seq, kind, payload in rows:
            client = self.client
            if not self.connected.is_set() or client is None:
                break
            info = client.publish(self.topic_for(kind), payload, qos=1)
            # Even with rc NO_CONN paho keeps a QoS 1 message and sends it on reconnect,
            # so it counts as handed over either way; the row stays until its PUBACK.
            with self.cond:
                self.sent_seq = seq
                early = self.early.pop(info.mid, None)
                if early is not None and time.monotonic() - early[0] < EARLY_ACK_S:
                    (self.refused if early[1] else self.acked).append(seq)
                else:
                    self.pending[info.mid] = seq
