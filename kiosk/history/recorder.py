"""The recorder: core events in, history rows out, on its own writer thread.

The core's listeners only enqueue (never block, never touch SQLite), so a slow SD card can
not hold up the music. One writer thread owns the connection: it folds samples into
per-minute counts and commits every ``history.commit_s`` real seconds, so a power cut loses
at most that much. It never dies: an error is logged (rate-limited), counted, and the rows
wait for the next commit.

Only aggregates arrive here: the ``sample`` event holds counts, never a frame or a box.

Its size (just over 300 lines): the event queue, the one writer thread and its error
handling are one unit.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.core.events import Event, EventBus
from kiosk.history import store
from kiosk.history.config import HistoryConfig

log = logging.getLogger(__name__)

KINDS = {"sample", "playlist", "track", "fault", "command", "experiment"}
QUEUE_MAX = 10_000  # events waiting for the writer; beyond it new ones are dropped, counted
MAX_PENDING = 2_000  # buffered rows that force an early commit (fast simulations)
MAX_BUFFERED = 50_000  # while the file cannot be written, keep at most this many rows
# Commands recorded per minute: a flood over MQTT is counted as dropped, so it can never
# push the day's mood minutes out of the size cap (history.max_mb).
MAX_COMMANDS_PER_MIN = 120
MAINTAIN_EVERY_S = 3600.0  # retention sweep, real seconds
LOG_EVERY_S = 60.0

# user:password@ in a URL (an RTSP camera's source shows up in its fault messages)
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@]+@")
# A lone surrogate: a file name that is not UTF-8 (``\udcff``), or a hostile ``"\ud800"``.
# SQLite cannot bind one, and a row it refuses would fail every commit after it.
_SURROGATE = re.compile("[\ud800-\udfff]")

_FLUSH = object()
_STOP = object()


class Recorder:
    """``attach(bus)``, ``start()``; ``flush()`` commits now; ``close()`` commits and stops."""

    def __init__(
        self,
        path: str | Path,
        cfg: HistoryConfig,
        interval_s: float,
        min_faces: int = 1,
        on_commit: Callable[[dict[str, int]], None] | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``wall`` is the real clock retention counts from: a simulation at another date
        (``--start``) must neither be trimmed by its own dates nor trim the real record."""
        self.path = Path(path)
        self.cfg = cfg
        self.interval_s = float(interval_s)
        self.min_faces = int(min_faces)
        self.on_commit = on_commit
        self.wall = wall
        self.counters = {"events": 0, "dropped": 0, "errors": 0, "commits": 0, "samples": 0}
        self._q: queue.Queue[Any] = queue.Queue(QUEUE_MAX)
        self._thread: threading.Thread | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._db: sqlite3.Connection | None = None
        self._minutes: dict[int, list[float]] = {}  # minute -> deltas not yet written
        self._rows: list[tuple[str, tuple[Any, ...]]] = []
        self._play: dict[str, Any] | None = None  # the track playing now
        self._ended: list[dict[str, Any]] = []
        self._pending_samples = 0
        self._last_ts: float | None = None
        self._prev_sample: float | None = None
        self._last_log = 0.0
        self._command_minute = (0, 0)  # (minute, commands recorded in it)

    # -- any thread -------------------------------------------------------------------------

    def attach(self, bus: EventBus) -> None:
        self._unsubscribe = bus.subscribe(self.on_event, KINDS)

    def on_event(self, event: Event) -> None:
        """The listener: enqueue only."""
        try:
            self._q.put_nowait(event)
        except queue.Full:
            self.counters["dropped"] += 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="history-writer", daemon=True)
        self._thread.start()

    def flush(self, timeout: float = 5.0) -> bool:
        """Commit everything queued so far; True when done within ``timeout``."""
        if self._thread is None or not self._thread.is_alive():
            return False
        done = threading.Event()
        try:
            self._q.put((_FLUSH, done), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout)

    def close(self, timeout: float = 10.0) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._thread is not None:
            try:
                self._q.put(_STOP, timeout=timeout)
            except queue.Full:
                log.error("history writer is stuck; the last rows are lost")
            self._thread.join(timeout)
            self._thread = None

    # -- writer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        next_commit = time.monotonic() + self.cfg.commit_s
        next_maintain = 0.0  # at once: a file left over a size change is trimmed now
        failing = False
        while True:
            try:
                item = self._q.get(timeout=max(0.0, next_commit - time.monotonic()))
            except queue.Empty:
                item = None
            stop = item is _STOP
            done = item[1] if isinstance(item, tuple) and item[0] is _FLUSH else None
            if isinstance(item, Event):
                self._guard(self._handle, item)
            now = time.monotonic()
            backlog = not failing and self._backlog()  # a broken disk waits for commit_s
            if stop or done is not None or now >= next_commit or backlog:
                if stop and self._play is not None:
                    self._guard(self._end_play, self._last_ts)
                maintain = now >= next_maintain
                failing = not self._guard(self._commit, maintain)
                if failing:
                    self._trim()
                elif maintain:
                    next_maintain = now + MAINTAIN_EVERY_S
                next_commit = now + self.cfg.commit_s
            if done is not None:
                done.set()
            if stop:
                break
        if self._db is not None:
            self._guard(self._db.close)

    def _guard(self, fn: Callable[..., Any], *args: Any) -> bool:
        try:
            fn(*args)
            return True
        except Exception as exc:  # never let the writer die: count, log now and then
            self.counters["errors"] += 1
            now = time.monotonic()
            if now - self._last_log >= LOG_EVERY_S:
                self._last_log = now
                log.error(
                    "history write failed (%d error(s) so far): %s", self.counters["errors"], exc
                )
            return False

    def _trim(self) -> None:
        """Bound the memory while commits fail: the oldest buffered rows go, counted."""
        excess = len(self._rows) + len(self._minutes) + len(self._ended) - MAX_BUFFERED
        if excess <= 0:
            return
        self.counters["dropped"] += excess
        for minute in sorted(self._minutes)[:excess]:
            del self._minutes[minute]
        excess = len(self._rows) + len(self._minutes) + len(self._ended) - MAX_BUFFERED
        del self._rows[: max(0, excess)]
        excess = len(self._rows) + len(self._minutes) + len(self._ended) - MAX_BUFFERED
        del self._ended[: max(0, excess)]

    def _backlog(self) -> bool:
        return len(self._minutes) + len(self._rows) + len(self._ended) >= MAX_PENDING

    def _handle(self, event: Event) -> None:
        self.counters["events"] += 1
        ts, d = float(event.ts), event.data
        self._last_ts = ts if self._last_ts is None else max(self._last_ts, ts)
        if event.kind == "sample":
            self._sample(ts, d)
        elif event.kind == "playlist":
            self._add("switches", ts, d.get("from"), d.get("to"), str(d["reason"]))
            if d.get("to") is None:
                self._end_play(ts)
        elif event.kind == "track":
            self._end_play(ts)
            self._play = {
                "start": ts, "end": None, "path": _text(str(d.get("path"))),
                "title": _text(d.get("title")), "artist": _text(d.get("artist")),
                "playlist": _text(d.get("playlist")), "skipped": 0,
                "failed": 0, "id": None, "valence": _num(d.get("valence")),
                "arousal": _num(d.get("arousal")), "order_mode": _mode(d.get("order")),
            }  # fmt: skip
        elif event.kind == "fault":
            ok = bool(d.get("ok"))
            message = d.get("message")
            if isinstance(message, str):  # a camera URL's password never goes to disk
                message = _URL_CREDENTIALS.sub(r"\1***@", message)[:1000]
            self._add("faults", ts, str(d.get("component")), message, ok)
            if d.get("component") == "player" and not ok and self._play is not None:
                self._play["failed"] = 1
        elif event.kind == "command":
            if d.get("command") == "next" and d.get("ok") and self._play is not None:
                self._play["skipped"] = 1
            minute, n = self._command_minute
            n = n + 1 if int(ts // 60) == minute else 1
            self._command_minute = (int(ts // 60), n)
            if n > MAX_COMMANDS_PER_MIN:
                self.counters["dropped"] += 1
                return
            args = json.dumps(d.get("args") or {}, sort_keys=True)[:1000]
            row = (ts, d.get("source"), str(d.get("command")), args, bool(d.get("ok")))
            self._add("commands", *row, d.get("error"), d.get("role"), d.get("user"))
        elif event.kind == "experiment":
            row = (ts, str(d.get("arm")), d.get("mood"), d.get("playlist"), d.get("from"))
            self._add("decisions", *row, d.get("strategy"), d.get("control"))

    def _add(self, table: str, *values: Any) -> None:
        self._rows.append((table, tuple(_text(v) for v in values)))

    def _sample(self, ts: float, d: dict[str, Any]) -> None:
        faces = d.get("faces")
        faces = faces if isinstance(faces, int) and faces >= 0 else 0
        emotions = d.get("emotions") if isinstance(d.get("emotions"), dict) else {}
        # A sample stands for the time since the one before (a slow camera takes fewer,
        # longer samples), at most three intervals (a gap is an outage, not an audience).
        dt = self.interval_s
        if self._prev_sample is not None and 0 < ts - self._prev_sample <= 3 * self.interval_s:
            dt = ts - self._prev_sample
        self._prev_sample = ts
        minute = int(ts // 60) * 60
        m = self._minutes.get(minute)
        if m is None:
            m = self._minutes[minute] = [0.0] * (5 + len(store.LABELS))
        audience = faces >= self.min_faces
        m[0] += 1
        m[1] += dt
        m[2] += dt if audience else 0.0
        m[3] += faces
        m[4] = max(m[4], faces)
        for i, label in enumerate(store.LABELS):
            n = emotions.get(label)
            if isinstance(n, int) and n > 0:
                m[5 + i] += n
        self._pending_samples += 1

    def _end_play(self, ts: float | None) -> None:
        if self._play is not None:
            # The clock stepped back (NTP on a Pi without RTC): never a negative play time.
            self._play["end"] = ts if ts is None else max(ts, self._play["start"])
            self._ended.append(self._play)
            self._play = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._db = store.open_for_writing(self.path)
        return self._db

    def _commit(self, maintain: bool) -> None:
        db = self._connect()
        plays = [*self._ended, *([self._play] if self._play is not None else [])]
        db.execute("BEGIN IMMEDIATE")
        try:
            for minute, m in self._minutes.items():
                counts = [int(m[0]), m[1], m[2], int(m[3]), int(m[4])]
                db.execute(store.UPSERT_MINUTE, (minute, *counts, *(int(v) for v in m[5:])))
            for table, values in self._rows:
                marks = ", ".join("?" * len(values))
                cols = store.INSERT_COLUMNS[table]
                db.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})", values)
            ids = [store.write_play(db, p) for p in plays]
            cap = int(self.cfg.max_mb * 1024 * 1024)
            if maintain or store.used_bytes(db) > cap:
                store.enforce_bounds(db, self.wall(), self.cfg.retention_days, cap)
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite has already rolled back after "disk full"
                db.execute("ROLLBACK")
            raise  # the buffers stay; the next commit tries again
        for p, rowid in zip(plays, ids, strict=True):
            p["id"] = rowid
        db.execute("PRAGMA incremental_vacuum")
        self.counters["commits"] += 1
        self.counters["samples"] += self._pending_samples
        self._pending_samples = 0
        self._minutes.clear()
        self._rows.clear()
        self._ended.clear()
        if self.on_commit is not None:
            self.on_commit(dict(self.counters))


def _text(value: Any) -> Any:
    """``value`` with any lone surrogate as U+FFFD, so SQLite can always store it."""
    return _SURROGATE.sub("\ufffd", value) if isinstance(value, str) else value


def _num(value: Any) -> float | None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    return float(value) if ok and -1.0 <= value <= 1.0 else None


def _mode(value: Any) -> str | None:
    return value if isinstance(value, str) and len(value) <= 32 else None


def history_path(cfg: HistoryConfig, state_dir: Path, resolve: Callable[[str], Path]) -> Path:
    """Where the history lives: ``history.path`` or ``history.sqlite3`` in the state dir."""
    return resolve(cfg.path) if cfg.path else state_dir / "history.sqlite3"
