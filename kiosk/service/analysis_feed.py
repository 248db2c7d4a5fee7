"""The daemon's background music analysis: one niced ``AnalysisWorker`` fed with the library.

The music root is queued at start and after every library change (files changed, a USB
import swapped the folder, ``rescan``, a config reload); files already analysed cost one
stat and one SQLite lookup. Results land in the cache in the state directory; each one
marks the core's views dirty, so new estimates reach the playlists at the next library
check. Progress is in ``status`` (``music_analysis``), in the MQTT state and stats, and in
the log (at most every ``LOG_EVERY_S`` while busy, and when the queue runs dry).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.config import LoadedConfig
from kiosk.library.config import music_root
from kiosk.paths import state_dir

log = logging.getLogger(__name__)

LOG_EVERY_S = 30.0


def open_library(loaded: LoadedConfig, root: Path) -> Any:
    """``MusicViews`` (self-sorting playlists) when ``music.analysis`` is on, else a plain
    ``Library`` (folders only)."""
    music = loaded.config.music
    if music.analysis:
        from kiosk.library.views import MusicViews

        return MusicViews(root, music.extensions, state_dir(loaded), music.sorting)
    from kiosk.library.library import Library

    return Library(root, music.extensions)


class AnalysisFeed:
    def __init__(
        self,
        root: Callable[[], Path],
        cache_dir: Path,
        on_result: Callable[[], None],
        worker: Any = None,
    ) -> None:
        """``root()`` is the music root now (it changes with a config reload)."""
        from kiosk.music_analysis.worker import AnalysisWorker

        self.root = root
        self.on_result = on_result
        self.worker = worker or AnalysisWorker(cache_dir, on_result=self._result, niceness=10)
        self._last_log = 0.0
        self._lock = threading.Lock()

    def start(self) -> None:
        self.worker.start()
        self.library_changed()

    def stop(self) -> None:
        self.worker.stop()

    def progress(self) -> dict[str, Any]:
        return self.worker.progress()

    def library_changed(self) -> None:
        root = self.root()
        added = self.worker.submit([root]) if root.is_dir() else 0
        if added:
            log.info("music analysis: %d file(s) queued from %s", added, root)

    def _result(self, path: Path, result: dict) -> None:
        self.on_result()
        now = time.monotonic()
        with self._lock:
            due = now - self._last_log >= LOG_EVERY_S
            if due:
                self._last_log = now
        if due:
            p = self.worker.progress()
            log.info(
                "music analysis: %d done, %d failed, %d queued", p["done"], p["failed"], p["queued"]
            )


def start_analysis(core: Any, loaded: LoadedConfig) -> AnalysisFeed | None:
    """Start the feed for the core (None when ``music.analysis`` is off or it cannot start)."""
    if not loaded.config.music.analysis:
        return None
    try:
        feed = AnalysisFeed(
            lambda: music_root(core.loaded),
            state_dir(loaded),
            core.analysis_result,
        )
        core.attach_analysis(feed)
        feed.start()
        return feed
    except Exception:  # the music plays without its analysis
        log.exception("music analysis cannot start; running without it")
        core.attach_analysis(None)
        return None
