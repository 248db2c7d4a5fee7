"""The history file: schema, opening (WAL), bounded size, and the queries reports need.

Aggregates only. A minute row holds counts (samples, faces per mood label); the other
tables hold switches, plays, commands, faults and experiment decisions. Times are wall
clock seconds (UTC epoch); reports turn them into the kiosk's local time. Just over 300
lines: the schema, its migration and the queries must change together.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import time
from pathlib import Path
from typing import Any

from kiosk.core.api import EMOTIONS

log = logging.getLogger(__name__)

SCHEMA_VERSION = 3
# Added after version 1, by ``migrate`` (ALTER TABLE ... ADD COLUMN: old rows keep NULL):
# each play's mood estimate and the order mode that chose it (shuffle / trajectory); each
# command's role (operator / staff) and user, beside its source (web, mqtt, ctl, cli, signal).
ADDED_COLUMNS = {
    "plays": (("valence", "REAL"), ("arousal", "REAL"), ("order_mode", "TEXT")),
    "commands": (("role", "TEXT"), ("user", "TEXT")),
}
LABELS = EMOTIONS  # column names of the per-minute face counts
# Every table with its time column: retention and the size cap delete by it.
TIME_COLUMNS = {
    "minutes": "t",
    "switches": "t",
    "plays": "start",
    "commands": "t",
    "faults": "t",
    "decisions": "t",
}

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS minutes (
    t INTEGER PRIMARY KEY,          -- start of the minute, epoch seconds
    samples INTEGER NOT NULL,       -- samples taken in this minute
    seconds REAL NOT NULL,          -- seconds those samples stand for (interval each)
    audience_s REAL NOT NULL,       -- of which an audience was in view
    faces_sum INTEGER NOT NULL,     -- faces counted, summed over samples
    faces_max INTEGER NOT NULL,     -- most faces in one sample
    {", ".join(f"{label} INTEGER NOT NULL DEFAULT 0" for label in LABELS)}
);
CREATE TABLE IF NOT EXISTS switches (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, src TEXT, dst TEXT, reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS switches_t ON switches (t);
CREATE TABLE IF NOT EXISTS plays (
    id INTEGER PRIMARY KEY, start REAL NOT NULL, end REAL, path TEXT NOT NULL, title TEXT,
    artist TEXT, playlist TEXT, skipped INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0, valence REAL, arousal REAL, order_mode TEXT
);
CREATE INDEX IF NOT EXISTS plays_start ON plays (start);
CREATE TABLE IF NOT EXISTS commands (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, source TEXT, command TEXT NOT NULL, args TEXT,
    ok INTEGER NOT NULL, error TEXT, role TEXT, user TEXT
);
CREATE INDEX IF NOT EXISTS commands_t ON commands (t);
CREATE TABLE IF NOT EXISTS faults (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, component TEXT NOT NULL, message TEXT,
    ok INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS faults_t ON faults (t);
CREATE TABLE IF NOT EXISTS decisions (
    id INTEGER PRIMARY KEY, t REAL NOT NULL, arm TEXT NOT NULL, mood TEXT, playlist TEXT,
    previous TEXT, strategy TEXT, control TEXT
);
CREATE INDEX IF NOT EXISTS decisions_t ON decisions (t);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

_COUNTS = ("samples", "seconds", "audience_s", "faces_sum")
UPSERT_MINUTE = (
    f"INSERT INTO minutes (t, {', '.join(_COUNTS)}, faces_max, {', '.join(LABELS)}) "
    f"VALUES ({', '.join('?' * (len(_COUNTS) + len(LABELS) + 2))}) "
    "ON CONFLICT(t) DO UPDATE SET "
    + ", ".join(f"{c} = {c} + excluded.{c}" for c in (*_COUNTS, *LABELS))
    + ", faces_max = max(faces_max, excluded.faces_max)"
)


INSERT_COLUMNS = {
    "switches": "t, src, dst, reason",
    "faults": "t, component, message, ok",
    "commands": "t, source, command, args, ok, error, role, user",
    "decisions": "t, arm, mood, playlist, previous, strategy, control",
}


def write_play(db: sqlite3.Connection, p: dict[str, Any]) -> int:
    """Insert a play, or update its end and flags once it has a row id."""
    values = (p["end"], p["skipped"], p["failed"])
    if p["id"] is not None:
        sql = "UPDATE plays SET end = ?, skipped = ?, failed = ? WHERE id = ?"
        db.execute(sql, (*values, p["id"]))
        return int(p["id"])
    mood = (p.get("valence"), p.get("arousal"), p.get("order_mode"))
    cur = db.execute(
        "INSERT INTO plays (start, path, title, artist, playlist, end, skipped, failed, "
        "valence, arousal, order_mode) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (p["start"], p["path"], p["title"], p["artist"], p["playlist"], *values, *mood),
    )
    return int(cur.lastrowid or 0)


class HistoryError(OSError):
    """The history file cannot be used as it is; the message says why and what to do."""


# Only these mean the file itself is damaged; "locked", "read-only", "disk full" or
# "cannot open" are conditions of the moment and must never cost the history.
CORRUPT_CODES = {getattr(sqlite3, "SQLITE_CORRUPT", 11), getattr(sqlite3, "SQLITE_NOTADB", 26)}
# SQLite's own texts for those two codes, for Python 3.10, whose exceptions carry no code.
CORRUPT_TEXTS = ("file is not a database", "database disk image is malformed")


def is_corrupt(exc: sqlite3.DatabaseError) -> bool:
    """Damaged or not a database at all (as opposed to locked, read-only or full)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code in CORRUPT_CODES
    return str(exc) in CORRUPT_TEXTS


def check_schema(db: sqlite3.Connection, path: str | Path) -> None:
    """Refuse a file written by a newer kiosk: its tables may mean something else."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    except sqlite3.OperationalError:  # no meta table yet: a new or foreign file
        return
    try:
        version = int(row[0]) if row is not None else SCHEMA_VERSION
    except (TypeError, ValueError):
        version = SCHEMA_VERSION + 1  # unreadable: treat as unknown, never overwrite
    if version > SCHEMA_VERSION:
        raise HistoryError(
            f"history {path} was written by a newer kiosk (schema {row[0]!r}, this one knows "
            f"{SCHEMA_VERSION}); left untouched: update the kiosk or set history.path"
        )


def check_plain_file(path: str | Path) -> None:
    """A FIFO or device in the history's place (planted, or a wrong history.path) would hang
    the open or, for /dev/watchdog, reboot the box: refuse anything but a plain file."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISREG(st.st_mode):
        raise HistoryError(f"history {path} is not a plain file (a device, FIFO or folder)")


def connect(path: str | Path, readonly: bool = False) -> sqlite3.Connection:
    """Open (and create) the history. Read-only opens never create or change the file."""
    check_plain_file(path)
    if readonly:
        uri = f"{Path(path).resolve().as_uri()}?mode=ro"
        db = sqlite3.connect(uri, uri=True, timeout=5, check_same_thread=False)
        try:
            check_schema(db, path)
        except BaseException:
            db.close()
            raise
        db.row_factory = sqlite3.Row
        return db
    db = sqlite3.connect(str(path), timeout=5, isolation_level=None, check_same_thread=False)
    # Incremental auto-vacuum (only takes effect on a new file) lets the size cap give
    # pages back without a full VACUUM.
    try:
        check_schema(db, path)
    except BaseException:
        db.close()
        raise
    db.execute("PRAGMA auto_vacuum=INCREMENTAL")
    # WAL + NORMAL: a crash or power cut keeps every committed transaction; a commit is
    # an append, not a full fsync of the file (SD cards wear out).
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(SCHEMA)
    db.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
    )
    migrate(db)
    db.row_factory = sqlite3.Row
    return db


def migrate(db: sqlite3.Connection) -> None:
    """Bring a file of an older schema up to ``SCHEMA_VERSION``, additively (no row lost)."""
    for table, columns in ADDED_COLUMNS.items():
        have = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns:
            if name not in have:
                db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION),))


def open_for_writing(path: Path) -> sqlite3.Connection:
    """Open the history; a damaged file is moved aside and a fresh one started. Anything
    else (locked, read-only, full disk, newer schema) raises: the writer retries later."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        db = connect(path)
        db.execute("SELECT COUNT(*) FROM minutes").fetchone()
        return db
    except sqlite3.DatabaseError as exc:
        if not is_corrupt(exc):
            raise
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        log.error("history %s is unreadable (%s); moved it to %s", path, exc, aside)
        path.rename(aside)
        for suffix in ("-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return connect(path)


def used_bytes(db: sqlite3.Connection) -> int:
    """Bytes the live rows take (free pages not counted)."""
    page_size = db.execute("PRAGMA page_size").fetchone()[0]
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    free = db.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * page_size)


def delete_before(db: sqlite3.Connection, cutoff: float) -> int:
    """Delete every row older than ``cutoff`` (epoch seconds); returns rows deleted."""
    deleted = 0
    for table, col in TIME_COLUMNS.items():
        deleted += db.execute(f"DELETE FROM {table} WHERE {col} < ?", (cutoff,)).rowcount
    return deleted


def _edge_time(db: sqlite3.Connection, fn: str) -> float | None:
    times = [
        db.execute(f"SELECT {fn}({col}) FROM {table}").fetchone()[0]
        for table, col in TIME_COLUMNS.items()
    ]
    known = [t for t in times if t is not None]
    return (min if fn == "MIN" else max)(known) if known else None


def oldest_time(db: sqlite3.Connection) -> float | None:
    return _edge_time(db, "MIN")


def newest_time(db: sqlite3.Connection) -> float | None:
    return _edge_time(db, "MAX")


def enforce_bounds(
    db: sqlite3.Connection, now: float, retention_days: float, max_bytes: int
) -> int:
    """Retention first, then the size cap: drop the oldest tenth of the span (at least an
    hour) until the live rows fit. Runs inside the caller's transaction; returns rows."""
    deleted = delete_before(db, now - retention_days * 86400.0)
    for _ in range(64):
        if used_bytes(db) <= max_bytes:
            break
        oldest, newest = oldest_time(db), newest_time(db)
        if oldest is None or newest is None:
            break
        step = max(3600.0, (newest - oldest) / 10.0)
        deleted += delete_before(db, oldest + step)
        if oldest + step > newest:
            break
    return deleted


def rows(db: sqlite3.Connection, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute(sql, params).fetchall()]


def read_range(
    path: str | Path, start: float, end: float, margin_s: float, max_rows: int | None = None
) -> dict[str, Any]:
    """Everything a report needs between ``start`` and ``end``; minutes and experiment data
    also ``margin_s`` either side (the effect windows reach outside the day).

    ``max_rows`` caps each list (switches, plays, commands, faults, decisions), so a day
    flooded with commands cannot blow the daemon's memory; ``cut`` names the lists cut and
    ``plays_count`` is always the full count.
    """
    db = connect(path, readonly=True)
    limit = -1 if max_rows is None else int(max_rows)  # SQLite: LIMIT -1 is no limit
    try:
        lo, hi = start - margin_s, end + margin_s
        out: dict[str, Any] = {
            "minutes": rows(db, "SELECT * FROM minutes WHERE t >= ? AND t < ? ORDER BY t", (lo, hi))
        }
        for table, col in (("switches", "t"), ("plays", "start"), ("commands", "t"),
                           ("faults", "t"), ("decisions", "t")):  # fmt: skip
            sql = f"SELECT * FROM {table} WHERE {col} >= ? AND {col} < ? ORDER BY {col}, id"
            out[table] = rows(db, sql + " LIMIT ?", (start, end, limit))
        out["cut"] = [t for t in TIME_COLUMNS if t != "minutes" and len(out[t]) == limit]
        sql = "SELECT COUNT(*) FROM plays WHERE start >= ? AND start < ?"
        out["plays_count"] = db.execute(sql, (start, end)).fetchone()[0]
        return out
    finally:
        db.close()
