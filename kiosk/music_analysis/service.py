"""The analysis core API: ``Analyzer`` (cached, one file at a time) and ``AnalysisWorker``.

Front ends (``kiosk music analyze``, the daemon) call ``Analyzer.analyse_path``; the daemon
uses ``kiosk.music_analysis.worker.AnalysisWorker`` for the background.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from kiosk.music_analysis.analyze import analyse
from kiosk.music_analysis.cache import CACHE_FILE, AnalysisCache, analyser_version
from kiosk.music_analysis.decode import DecodeError
from kiosk.music_analysis.mood_model import DEFAULT_MODEL, MoodModel
from kiosk.music_analysis.paths import display_path, expand


class Analyzer:
    def __init__(self, cache_dir: Path | None, model_path: Path = DEFAULT_MODEL) -> None:
        self.model = MoodModel.load(model_path)
        version = analyser_version(self.model.sha256)
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
            if not stat.S_ISREG(os.stat(path).st_mode):
                # A FIFO or device named *.mp3 would block the decoder forever.
                return {"path": shown, "error": "not a regular file"}
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


__all__ = ["CACHE_FILE", "Analyzer", "display_path", "expand"]
