"""Bounded, durable queue for stats and mood messages (SQLite).

Every stats/mood message goes through here, connected or not: a row is deleted only when
the broker acknowledged it (QoS 1 PUBACK), so a broker outage or a daemon crash loses
nothing. A row the broker refused (a PUBACK with a failure reason code, e.g. an ACL that
forbids the topic) moves to the ``dead`` table instead; the next start queues dead rows
again, so fixing the ACL and restarting delivers them. At the bound the oldest rows go and
the drop counter (kept in the same file) counts them.

One thread owns the connection (the front end's drainer); the lock only guards against
misuse. Counts are kept in memory so readers on other threads never touch SQLite.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS dead (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    payload BLOB NOT NULL,
    created REAL NOT NULL
);
"""

_BUMP = (
    "INSERT INTO meta (key, value) VALUES (?, ?) "
    "ON CONFLICT(key) DO UPDATE SET value = value + excluded.value"
)


class Outbox:
    """``put`` appends; ``peek`` oldest first; ``ack`` removes delivered rows; ``refuse``
    moves rows the broker refused to the dead-letter table."""

    def __init__(self, path: str | Path | None, max_messages: int) -> None:
        self.max_messages = max_messages
        self.path = Path(path) if path is not None else None
        self.durable = True
        self._lock = threading.Lock()
        self._db = self._open()
        self.requeued = self._requeue_dead()
        self._count = self._db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
        self._dropped = self._meta("dropped")
        self._refused = self._meta("refused")
        self._dead = self._db.execute("SELECT COUNT(*) FROM dead").fetchone()[0]

    def _meta(self, key: str) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return int(row[0]) if row else 0

    def _requeue_dead(self) -> int:
        """Dead rows get one more try per start: the broker's ACL may have been fixed."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            n = db.execute(
                "INSERT INTO outbox (kind, payload, created) "
                "SELECT kind, payload, created FROM dead ORDER BY seq"
            ).rowcount
            db.execute("DELETE FROM dead")
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return max(n, 0)

    def _connect(self, target: str) -> sqlite3.Connection:
        db = sqlite3.connect(target, check_same_thread=False, isolation_level=None, timeout=5)
        if target != ":memory:":
            # WAL + NORMAL: a process crash loses nothing committed, and each put is one
            # small append instead of a full fsync (SD cards wear out).
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        db.execute("SELECT COUNT(*) FROM outbox").fetchone()
        return db

    def _open(self) -> sqlite3.Connection:
        if self.path is None:
            self.durable = False
            return self._connect(":memory:")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return self._connect(str(self.path))
        except sqlite3.DatabaseError as exc:
            # A corrupt file (power cut on a cheap SD card) must not stop the kiosk: keep
            # the old file for inspection and start a fresh queue.
            aside = self.path.with_name(f"{self.path.name}.corrupt-{int(time.time())}")
            log.error("MQTT outbox %s is unreadable (%s); moved it to %s", self.path, exc, aside)
            try:
                self.path.rename(aside)
                return self._connect(str(self.path))
            except (OSError, sqlite3.DatabaseError) as exc2:
                log.error("MQTT outbox: cannot start a fresh file either (%s)", exc2)
        except OSError as exc:
            log.error("MQTT outbox %s cannot be created: %s", self.path, exc)
        log.error(
            "MQTT outbox falls back to memory: messages queued while offline are lost on restart"
        )
        self.durable = False
        return self._connect(":memory:")

    def put(self, kind: str, payload: bytes, created: float | None = None) -> None:
        self.put_many([(kind, payload, time.time() if created is None else created)])

    def put_many(self, items: list[tuple[str, bytes, float]]) -> None:
        """Append (kind, payload, created) rows in one transaction, then apply the bound."""
        if not items:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.executemany(
                    "INSERT INTO outbox (kind, payload, created) VALUES (?, ?, ?)", items
                )
                excess = self._count + len(items) - self.max_messages
                if excess > 0:
                    db.execute(
                        "DELETE FROM outbox WHERE seq IN "
                        "(SELECT seq FROM outbox ORDER BY seq LIMIT ?)",
                        (excess,),
                    )
                    db.execute(_BUMP, ("dropped", excess))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                self._count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
                raise
            self._count += len(items) - max(excess, 0)
            self._dropped += max(excess, 0)

    def peek(self, after_seq: int = 0, limit: int = 100) -> list[tuple[int, str, bytes]]:
        """Oldest rows with ``seq > after_seq``: (seq, kind, payload)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT seq, kind, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [(int(s), str(k), bytes(p)) for s, k, p in rows]

    def ack(self, seqs: list[int]) -> None:
        if not seqs:
            return
        with self._lock:
            cur = self._db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
            self._count -= max(cur.rowcount, 0)

    def refuse(self, seqs: list[int]) -> None:
        """Rows the broker refused: out of the queue (it must not block the rest), into
        ``dead``, bounded like the queue itself."""
        if not seqs:
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                marks = ",".join("?" * len(seqs))
                moved = db.execute(
                    f"INSERT OR IGNORE INTO dead SELECT seq, kind, payload, created FROM outbox "
                    f"WHERE seq IN ({marks})",
                    seqs,
                ).rowcount
                db.execute(f"DELETE FROM outbox WHERE seq IN ({marks})", seqs)
                db.execute(_BUMP, ("refused", moved))
                dead = db.execute("SELECT COUNT(*) FROM dead").fetchone()[0]
                excess = dead - self.max_messages
                if excess > 0:
                    db.execute(
                        "DELETE FROM dead WHERE seq IN (SELECT seq FROM dead ORDER BY seq LIMIT ?)",
                        (excess,),
                    )
                    db.execute(_BUMP, ("dropped", excess))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._count = db.execute("SELECT COUNT(*) FROM outbox").fetchone()[0]
            self._refused += max(moved, 0)
            self._dead = dead - max(excess, 0)
            self._dropped += max(excess, 0)

    def __len__(self) -> int:
        return self._count

    @property
    def dropped(self) -> int:
        """Rows dropped at the bound, ever (kept in the file)."""
        return self._dropped

    @property
    def refused(self) -> int:
        """Rows the broker refused, ever (kept in the file)."""
        return self._refused

    @property
    def dead(self) -> int:
        """Refused rows waiting in the dead-letter table for the next start."""
        return self._dead

    def close(self) -> None:
        with self._lock:
            self._db.close()
