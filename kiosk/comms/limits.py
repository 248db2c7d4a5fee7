"""What keeps the MQTT front end alive whatever arrives: thread-safe counters, a log that
cannot flood the journal, the command rate limit, and the response-topic rule."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from kiosk.core.dispatch import parse_payload, safe_id

MAX_RESPONSE_TOPIC = 256
MAX_CORRELATION = 1024


def to_json(data: dict[str, Any]) -> bytes:
    """Compact JSON that always encodes: ``ensure_ascii`` keeps a lone surrogate (a hostile
    ``"\\ud800"`` escape echoed back in an id or an error) as an escape instead of raising."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=True, default=str).encode()


class Counters:
    """Named counters bumped from several threads; one lock owns them all."""

    def __init__(self, names: Iterable[str]) -> None:
        self._lock = threading.Lock()
        self._values = dict.fromkeys(names, 0)

    def bump(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._values[name] = self._values.get(name, 0) + n

    def __getitem__(self, name: str) -> int:
        with self._lock:
            return self._values[name]

    def snapshot(self) -> dict[str, int]:
        with self._lock:
            return dict(self._values)


class LogLimiter:
    """At most one line per key every ``every_s``; the next one says how many were held back.
    A sender that repeats one bad message 1,000 times a second must not fill the SD card."""

    def __init__(self, logger: logging.Logger, every_s: float = 60.0) -> None:
        self.logger = logger
        self.every_s = every_s
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[float, int]] = {}

    def log(self, level: int, key: str, msg: str, *args: Any, exc_info: bool = False) -> None:
        now = time.monotonic()
        with self._lock:
            last, held = self._seen.get(key, (None, 0))
            if last is not None and now - last < self.every_s:
                self._seen[key] = (last, held + 1)
                return
            self._seen[key] = (now, 0)
        if held:
            msg += " (%d more like this in the last %ds)"
            args = (*args, held, int(self.every_s))
        self.logger.log(level, msg, *args, exc_info=exc_info)


def guarded(fn: Callable[..., Any], where: str, counters: Counters, limiter: LogLimiter):
    """``fn`` that never raises: paho re-raises callback exceptions on its network thread,
    which would end MQTT for good. A failure is logged (rate-limited) and counted."""

    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception:
            counters.bump("errors")
            limiter.log(logging.ERROR, where, "MQTT %s failed; carrying on", where, exc_info=True)
            return None

    run.__name__ = getattr(fn, "__name__", where)
    return run


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


def peek_id(payload: bytes) -> Any:
    """The request id of a payload that will not be executed, so the sender can match it."""
    try:
        return safe_id(parse_payload(payload).get("id"))
    except ValueError:
        return None


def response_topic_problem(topic: Any, own_roots: Iterable[str]) -> str | None:
    """Why the kiosk will not answer on ``topic``, or None when it may.

    Refused: anything under the kiosk's own topic prefix or the discovery prefix (a reply on
    ``<prefix>/<id>/availability`` would fake the kiosk's presence, one on
    ``<prefix>/all/cmd/...`` would command the fleet), wildcards, ``$`` system topics.
    """
    if not isinstance(topic, str) or not 0 < len(topic) <= MAX_RESPONSE_TOPIC:
        return f"must be 1-{MAX_RESPONSE_TOPIC} characters"
    if any(c in topic for c in "+#\x00"):
        return "must not contain '+', '#' or NUL"
    if topic.startswith("$"):
        return "must not be a '$' system topic"
    for root in own_roots:
        if topic == root or topic.startswith(root + "/"):
            return f"must be outside {root}/ (the kiosk's own topics)"
    return None
