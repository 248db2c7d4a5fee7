"""The analysis core API: ``Analyzer`` (cached, one file at a time) and ``AnalysisWorker``.

Front ends (``kiosk music analyze``, the daemon) call ``Analyzer.analyse_path``; the daemon
uses ``kiosk.music.analysis.worker.AnalysisWorker`` for the background.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

from kiosk.music.analysis.analyze import ANALYSIS_VERSION, analyse
from kiosk.music.analysis.cache import AnalysisCache
from kiosk.music.analysis.decode import DecodeError
from kiosk.music.analysis.mood_model import DEFAULT_MODEL, MoodModel
from kiosk.music.config import AUDIO_EXTENSIONS

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
