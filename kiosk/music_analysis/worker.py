"""Background analysis for the daemon: one niced thread, optionally a niced child process.

``isolate=True`` (the daemon's choice) runs each batch as ``kiosk music analyze --json`` in
a child process at nice 10: the analysis's imports and its ~50 MB of transient arrays never
count against the daemon's 150 MB budget, and a decoder that crashes or hangs on a hostile
file takes down a child, not the kiosk. ``isolate=False`` analyses in the thread itself.

``submit(paths)`` queues files (folders expanded); ``progress()`` is for status, MQTT and
the log; ``on_result(path, result)`` runs in the worker thread. Nothing a file or a callback
does stops the worker: errors are logged (rate-limited), counted, and the worker goes on.

Wiring into the daemon (not done here)::

    worker = AnalysisWorker(state_dir(loaded)); worker.start()
    worker.submit([music_root(loaded)])   # at start, and when refresh_library() is True
    status["music_analysis"] = worker.progress()   # status, MQTT state, log
    worker.stop()                          # on shutdown
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from kiosk.music_analysis.cache import AnalysisCache, analyser_version
from kiosk.music_analysis.paths import display_path, expand

log = logging.getLogger(__name__)

BATCH = 50  # files per child process: start-up (~0.6 s) amortised, progress still fresh
FILE_TIMEOUT_S = 600.0  # a child silent this long on one file is killed


class AnalysisWorker:
    def __init__(
        self,
        cache_dir: Path,
        on_result: Callable[[Path, dict], None] | None = None,
        niceness: int = 10,
        isolate: bool = True,
        model_path: Path | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.on_result = on_result
        self.niceness = niceness
        self.isolate = isolate
        self.model_path = model_path
        self._queue: deque[Path] = deque()
        self._queued: set[Path] = set()
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._proc: subprocess.Popen | None = None
        self._analyzer = None  # in-thread mode: a kiosk.music_analysis.service.Analyzer
        self._cache: AnalysisCache | None = None
        self._done = self._failed = self._errors = 0
        self._busy = False
        self._last_log = 0.0

    # -- interface --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="music-analysis", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        with self._cv:
            self._stop = True
            proc = self._proc
            self._cv.notify_all()
        if proc and proc.poll() is None:
            proc.kill()
        if self._thread:
            self._thread.join(timeout)

    def submit(self, paths: Iterable[Path]) -> int:
        """Queue files (folders expanded); returns how many were new to the queue."""
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
                "busy": self._busy,
                "internal_errors": self._errors,
            }

    def wait_idle(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        with self._cv:
            while self._queue or self._busy:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    # -- internals --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.niceness)
        except (OSError, AttributeError):
            log.info("music analysis: could not lower the thread's priority")
        while True:
            with self._cv:
                while not self._queue and not self._stop:
                    self._cv.wait()
                if self._stop:
                    break
                self._busy = True
            try:
                batch = self._next_batch()
                if batch and self.isolate:
                    self._child(batch)
                elif batch:
                    self._in_thread(batch[0])
            except Exception:
                self._count_error("music analysis batch failed")
            finally:
                with self._cv:
                    self._busy = False
                    if not self._queue:
                        log.info(
                            "music analysis idle: %d done, %d failed", self._done, self._failed
                        )
                    self._cv.notify_all()
        if self._analyzer:
            self._analyzer.close()
        if self._cache:
            self._cache.close()

    def _deliver(self, path: Path, result: dict) -> None:
        with self._cv:
            self._done += 1
            self._failed += "error" in result
        if "error" in result:
            log.warning("music analysis: %s: %s", result.get("path"), result["error"])
        if self.on_result:
            try:
                self.on_result(path, result)
            except Exception:
                self._count_error("music analysis callback failed")

    def _count_error(self, what: str) -> None:
        with self._cv:
            self._errors += 1
        if time.monotonic() - self._last_log > 60:
            self._last_log = time.monotonic()
            log.exception(what)

    def _next_batch(self) -> list[Path]:
        """Up to BATCH files that need analysis (1 in-thread); cache hits delivered on the way."""
        want = BATCH if self.isolate else 1
        batch: list[Path] = []
        while len(batch) < want:
            with self._cv:
                if self._stop or not self._queue:
                    break
                chunk = [self._queue.popleft() for _ in range(min(200, len(self._queue)))]
                self._queued.difference_update(chunk)
            todo = self._take_cached(chunk)  # outside the lock: submit() never waits on it
            room = want - len(batch)
            batch += todo[:room]
            if len(todo) > room:  # more work than fits: back to the front, in order
                with self._cv:
                    back = [p for p in todo[room:] if p not in self._queued]
                    self._queue.extendleft(reversed(back))
                    self._queued.update(back)
        return batch

    def _take_cached(self, batch: list[Path]) -> list[Path]:
        """Deliver unchanged, already analysed files from the cache; return the rest.

        This is what a library rescan costs per known file: one stat and one SQLite lookup
        in this process, with no analysis imports (numpy decoders stay out of the daemon).
        """
        if self._cache is None:
            import hashlib

            from kiosk.music_analysis.mood_model import DEFAULT_MODEL

            try:
                sha = hashlib.sha256(Path(self.model_path or DEFAULT_MODEL).read_bytes())
                db = self.cache_dir / "music-analysis.sqlite"
                self._cache = AnalysisCache(db, analyser_version(sha.hexdigest()))
            except (OSError, sqlite3.Error):
                return batch  # no fast path; the analyser reports the problem per file
        rest = []
        for p in batch:
            hit = self._cache.known(p)
            if hit is None:
                rest.append(p)
            else:
                self._deliver(p, {"path": display_path(p), **hit})
        return rest

    def _in_thread(self, path: Path) -> None:
        if self._analyzer is None:
            from kiosk.music_analysis.service import Analyzer

            self._analyzer = Analyzer(
                self.cache_dir, *([self.model_path] if self.model_path else [])
            )
        self._deliver(path, self._analyzer.analyse_path(path))

    def _child(self, batch: list[Path]) -> None:
        cmd = [sys.executable, "-m", "kiosk", "music", "analyze", "--json"]
        cmd += ["--cache-dir", os.fspath(self.cache_dir)]
        if self.model_path:
            cmd += ["--model", os.fspath(self.model_path)]
        cmd += ["--", *(os.fsencode(p) for p in batch)]

        with self._cv:
            if self._stop:
                return
            # The child inherits this thread's nice value (Linux: per thread, kept on fork).
            proc = self._proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
            )
        timer = threading.Timer(FILE_TIMEOUT_S, proc.kill)
        timer.start()
        got = 0
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                timer.cancel()
                timer = threading.Timer(FILE_TIMEOUT_S, proc.kill)
                timer.start()
                if got >= len(batch):
                    break
                try:
                    result = json.loads(line)
                    if not isinstance(result, dict):
                        raise ValueError("not an object")
                except ValueError:
                    result = {"path": display_path(batch[got]), "error": "bad analyser output"}
                self._deliver(batch[got], result)
                got += 1
        finally:
            timer.cancel()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            with self._cv:
                self._proc = None
        if got < len(batch) and not self._stop:
            # The child died on batch[got] (crash, kill, timeout): that file fails, the
            # rest go back to the front of the queue.
            self._deliver(
                batch[got],
                {"path": display_path(batch[got]), "error": f"analyser died ({proc.returncode})"},
            )
            with self._cv:
                rest = [p for p in batch[got + 1 :] if p not in self._queued]
                self._queue.extendleft(reversed(rest))
                self._queued.update(rest)
