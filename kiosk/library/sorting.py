"""Playlists as views: folder tracks stay put, auto-folder tracks join the nearest places.

Staff corrections (``retag``) persist in the state directory, keyed by the file's content,
so they survive renames and re-imports, and they win over folder and estimate alike.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.library.config import SortingConfig
from kiosk.state_files import write_json_atomic

CORRECTIONS_FILE = "music-corrections.json"
MAX_FILE = 16 * 1024 * 1024
# The state folder belongs to the service user, and ``kiosk music retag`` may run as root:
# nothing in it is followed (O_NOFOLLOW), and a FIFO planted there must not hang the open.
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


@dataclass
class Assignment:
    """Where one track plays, and why: ``folder``, ``estimate`` or ``correction``."""

    path: Path
    folder: str
    playlists: list[str]
    source: str
    estimate: dict | None = field(default=None)


def nearest(valence: float, arousal: float, cfg: SortingConfig) -> list[str]:
    """Playlists for a point: the nearest place, plus those within ``join_margin`` of it."""
    if not cfg.places:
        return []
    dist = sorted(
        (math.hypot(valence - p.valence, arousal - p.arousal), name)
        for name, p in cfg.places.items()
    )
    best = dist[0][0]
    return [n for d, n in dist if d <= best + cfg.join_margin][: cfg.max_playlists]


def assign(
    folder: str,
    path: Path,
    estimate: dict | None,
    correction: str | None,
    cfg: SortingConfig,
) -> Assignment:
    if correction:
        return Assignment(path, folder, [correction], "correction", estimate)
    if folder in cfg.auto_folders:
        ok = estimate and estimate.get("valence") is not None
        lists = nearest(estimate["valence"], estimate["arousal"], cfg) if ok else []
        return Assignment(path, folder, lists, "estimate" if ok else "unsorted", estimate)
    return Assignment(path, folder, [folder], "folder", estimate)


def views(assignments: list[Assignment]) -> dict[str, list[Path]]:
    """Playlist -> its tracks (folder order kept, each track once per playlist)."""
    out: dict[str, list[Path]] = {}
    for a in assignments:
        for name in a.playlists:
            lst = out.setdefault(name, [])
            if a.path not in lst:
                lst.append(a.path)
    return out


class CorrectionError(ValueError):
    """A retag that cannot be applied (unknown track or playlist name)."""


class Corrections:
    """``content key -> {"playlist", "path", "at"}`` in one JSON file, written atomically.

    Several processes share the file (the daemon's views and ``kiosk music retag``), so
    every write re-reads it under an exclusive lock and changes only its own key, and a
    read picks up a file another process replaced. Neither can erase the other's entry.
    """

    def __init__(self, state_dir: Path) -> None:
        self.path = Path(state_dir) / CORRECTIONS_FILE
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._data = self._load()

    def _file_stamp(self) -> tuple[int, int] | None:
        try:
            st = self.path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_ino

    def _load(self) -> dict[str, dict]:
        self._stamp = self._file_stamp()
        try:
            data = json.loads(_read_plain(self.path))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError):
            # A damaged file is kept aside, not silently overwritten.
            with contextlib.suppress(OSError):
                os.replace(self.path, self.path.with_suffix(".damaged"))
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if isinstance(v, dict) and "playlist" in v}

    def _fresh(self) -> None:
        """Re-read the file when another process replaced it (call under ``_lock``)."""
        if self._file_stamp() != self._stamp:
            self._data = self._load()

    def changed_on_disk(self) -> bool:
        """True when another process wrote corrections since this store last read them."""
        with self._lock:
            return self._file_stamp() != self._stamp

    def get(self, key: str) -> str | None:
        with self._lock:
            self._fresh()
            entry = self._data.get(key)
        return entry["playlist"] if entry else None

    def all(self) -> dict[str, dict]:
        with self._lock:
            self._fresh()
            return dict(self._data)

    def set(self, key: str, playlist: str | None, shown_path: str) -> None:
        """Record (or with ``None`` remove) a correction, then write the file atomically."""
        with self._lock, _file_lock(self.path.with_name(self.path.name + ".lock")):
            self._data = self._load()  # what the other processes wrote is kept
            if playlist is None:
                self._data.pop(key, None)
            else:
                self._data[key] = {"playlist": playlist, "path": shown_path, "at": time.time()}
            self._write()
            self._stamp = self._file_stamp()

    def _write(self) -> None:
        # 0644: a file written by root (``kiosk music retag``) stays readable by the daemon.
        write_json_atomic(
            self.path, self._data, ".corrections.", mode=0o644, ensure_ascii=False, indent=1
        )


def _read_plain(path: Path) -> str:
    """The text of a regular file; a symlink, FIFO, device or huge file is a ValueError."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ValueError(f"{path.name} is a symlink") from None
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_FILE:
            raise ValueError(f"{path.name} is not a plain file of at most {MAX_FILE} bytes")
        return f.read(MAX_FILE + 1).decode("utf-8")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive advisory lock between processes (held for one read-modify-write)."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # flock needs no write access: a lock file left by root still works for kiosk
        fd = os.open(path, _OPEN_FLAGS | os.O_CREAT, 0o644)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise CorrectionError(
                f"{path.name} in the state folder is a symlink; refusing to follow it "
                "(someone planted it: remove it)"
            ) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise CorrectionError(f"{path.name} in the state folder is not a plain file")
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock
