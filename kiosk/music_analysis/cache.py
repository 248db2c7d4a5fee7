"""Analysis cache in the state directory (SQLite, WAL: a kill mid-write loses nothing committed).

Results are keyed by *content*: size + sha256 of the whole file, plus the analysis version
and the model's sha256. A second table remembers (path, size, mtime) -> content key, so an
unchanged file costs one ``stat``; a renamed or re-imported copy costs one hash read (no
decode); a changed file gets a new key and is analysed again.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import threading
from pathlib import Path

CACHE_FILE = "music-analysis.sqlite"  # in the state directory
HASH_BLOCK = 1 << 20
# Bump when features, decode or excerpt choice change: cached results are then recomputed.
ANALYSIS_VERSION = 2


def analyser_version(model_sha256: str) -> str:
    """Cache version of an analyser: the analysis code's version and the model's sha256."""
    return f"{ANALYSIS_VERSION}:{model_sha256[:16]}"


def content_key(path: Path) -> str:
    """``<size>:<sha256>`` of the file's bytes."""
    h = hashlib.sha256()
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(HASH_BLOCK):
            h.update(chunk)
            size += len(chunk)
    return f"{size}:{h.hexdigest()}"


def _path_text(path: Path) -> str:
    # Names in any encoding: the raw bytes, hex-encoded, are distinct and always storable.
    return os.fsencode(os.path.abspath(path)).hex()


class AnalysisCache:
    def __init__(self, db_path: Path, version: str) -> None:
        """``version`` names the analyser (analysis version + model sha); others miss."""
        self.db_path = Path(db_path)
        self.db_path.parent.mkdir(parents=True, exist_ok=True)
        self.version = version
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.db_path), check_same_thread=False, timeout=10)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        with self._db:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS results (key TEXT, version TEXT, result TEXT, "
                "PRIMARY KEY (key, version))"
            )
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS paths (path TEXT PRIMARY KEY, size INTEGER, "
                "mtime_ns INTEGER, key TEXT)"
            )

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def key_for(self, path: Path) -> str:
        """Content key, from the path table when size and mtime are unchanged."""
        st = os.stat(path)
        p = _path_text(path)
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns, key FROM paths WHERE path = ?", (p,)
            ).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        key = content_key(path)
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO paths VALUES (?, ?, ?, ?)",
                (p, st.st_size, st.st_mtime_ns, key),
            )
        return key

    def known_key(self, path: Path) -> str | None:
        """The content key of an unchanged, already seen file (one stat, no hashing)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns, key FROM paths WHERE path = ?", (_path_text(path),)
            ).fetchone()
        if row and row[0] == st.st_size and row[1] == st.st_mtime_ns:
            return row[2]
        return None

    def known(self, path: Path) -> dict | None:
        """The cached result of an unchanged file (same path, size, mtime), no hashing."""
        key = self.known_key(path)
        return None if key is None else self.get(key)

    def get(self, key: str) -> dict | None:
        with self._lock:
            row = self._db.execute(
                "SELECT result FROM results WHERE key = ? AND version = ?", (key, self.version)
            ).fetchone()
        if not row:
            return None
        try:
            value = json.loads(row[0])
        except json.JSONDecodeError:
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, result: dict) -> None:
        with self._lock, self._db:
            self._db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?)",
                (key, self.version, json.dumps(result)),
            )

    def count(self) -> int:
        with self._lock:
            return self._db.execute(
                "SELECT COUNT(*) FROM results WHERE version = ?", (self.version,)
            ).fetchone()[0]
