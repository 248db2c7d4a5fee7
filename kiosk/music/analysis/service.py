"""The analysis core API: ``Analyzer`` (cached, one file at a time) and ``AnalysisWorker``.

Front ends (``kiosk music analyze``, the daemon) call ``Analyzer.analyse_path``; the daemon
hands a library's files to ``AnalysisWorker.submit`` and reads ``progress()`` for status,
MQTT and the log.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from kiosk.music.analysis.analyze import ANALYSIS_VERSION, analyse
from kiosk.music.analysis.cache import AnalysisCache
from kiosk.music.analysis.decode import DecodeError
from kiosk.music.analysis.mood_model import DEFAULT_MODEL, MoodModel
from kiosk.music.config import AUDIO_EXTENSIONS

log = logging.getLogger(__name__)
CACHE_FILE = "music-analysis.sqlite"


def display_path(path: Path) -> str:
    """The path as text for JSON/logs; undecodable bytes become U+FFFD, never an exception."""
    return os.fsencode(path).decode("utf-8", "replace")


def expand(paths: Iterable[Path], extensions: Iterable[str] = AUDIO_EXTENSIONS) -> list[Path]:
    """Files as given; folders walked (sorted, no symlinked folders) for audio extensions."""
    exts = {e.lower() for e in extensions}
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if os.path.splitext(name)[1].lower() in exts:
                        out.append(Path(root) / name)
        else:
            out.append(p)
    return out


class Analyzer:
    def __init__(self, cache_dir: Path | None, model_path: Path = DEFAULT_MODEL) -> None:
        self.model = MoodModel.load(model_path)
        version = f"{ANALYSIS_VERSION}:{self.model.sha256[:16]}"
        self.cache = AnalysisCache(Path(cache_dir) / CACHE_FILE, version) if cache_dir else None
        self.hits = self.misses = 0

    def close(self) -> None:
        if self.cache:
            self.cache.close()

    def analyse_path(self, path: Path) -> dict:
        """``{"path", ...analysis}`` or ``{"path", "error"}``; never raises for bad input."""
        shown = display_path(path)
        key = None
        try:
            if self.cache:
                key = self.cache.key_for(path)
                hit = self.cache.get(key)
                if hit is not None:
                    self.hits += 1
                    return {"path": shown, **hit}
            self.misses += 1
            result: dict = analyse(path, self.model).to_dict()
        except DecodeError as exc:
            result = {"error": str(exc)}
        except OSError as exc:
            return {"path": shown, "error": f"unreadable: {exc.strerror or exc}"}
        if key and self.cache:
            self.cache.put(key, result)  # errors too: a damaged file is not decoded twice
        return {"path": shown, **result}


class AnalysisWorker:
    """One niced background thread that analyses queued files, oldest first.

    ``on_result(result_dict)`` runs in the worker thread for each file. Any exception from a
    file or the callback is logged and counted, and the worker goes on.
    """

    def __init__(
        self,
        analyzer: Analyzer,
        on_result: Callable[[dict], None] | None = None,
        niceness: int = 10,
    ) -> None:
        self.analyzer = analyzer
        self.on_result = on_result
        self.niceness = niceness
        self._queue: deque[Path] = deque()
        self._queued: set[Path] = set()
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._done = self._failed = self._errors = 0
        self._current: str | None = None
        self._last_log = 0.0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="music-analysis", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread:
            self._thread.join(timeout)

    def submit(self, paths: Iterable[Path]) -> int:
        """Queue files (folders are expanded); returns how many were new to the queue."""
        added = 0
        with self._cv:
            for p in expand(paths):
                if p not in self._queued:
                    self._queue.append(p)
                    self._queued.add(p)
                    added += 1
            self._cv.notify_all()
        return added

    def progress(self) -> dict:
        with self._cv:
            return {
                "queued": len(self._queue),
                "done": self._done,
                "failed": self._failed,
                "current": self._current,
                "cache_hits": self.analyzer.hits,
                "internal_errors": self._errors,
            }

    def wait_idle(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self._cv:
            while self._queue or self._current is not None:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.niceness)
        except (OSError, AttributeError):
            log.info("music analysis: could not lower thread priority")
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                path = self._queue.popleft()
                self._queued.discard(path)
                self._current = display_path(path)
            try:
                result = self.analyzer.analyse_path(path)
                with self._cv:
                    self._done += 1
                    self._failed += "error" in result
                if "error" in result:
                    log.warning("music analysis: %s: %s", result["path"], result["error"])
                if self.on_result:
                    self.on_result(result)
            except Exception:
                with self._cv:
                    self._errors += 1
                if time.monotonic() - self._last_log > 60:
                    self._last_log = time.monotonic()
                    log.exception("music analysis failed on %s", display_path(path))
            finally:
                with self._cv:
                    self._current = None
                    if not self._queue:
                        p = self.progress_unlocked()
                        log.info("music analysis idle: %s", p)
                    self._cv.notify_all()

    def progress_unlocked(self) -> dict:
        return {"done": self._done, "failed": self._failed, "cache_hits": self.analyzer.hits}
