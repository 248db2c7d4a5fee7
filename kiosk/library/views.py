"""The daemon's library: playlists as views over the folders, mood estimates and corrections.

``MusicViews`` has the ``Library`` interface the core uses (``root``, ``extensions``,
``refresh_if_changed``, ``rescan``, ``playlists``, ``tracks``), but a playlist is a view:
folder tracks stay in their folder's playlist, tracks in auto folders (``music/unsorted/``)
join the playlist(s) nearest their mood estimate, and a staff correction wins over both.
No file is ever moved.

Estimates come from the analysis cache only (``CachedEstimates``: one stat and a few SQLite
lookups per track, no decoder imports); the background ``AnalysisWorker`` fills the cache and
calls ``mark_dirty``, and the next ``refresh_if_changed`` rebuilds the views.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kiosk.library.catalog import Catalog
from kiosk.library.config import SortingConfig
from kiosk.library.sorting import Corrections
from kiosk.library.tracks import PlaylistLists, Track
from kiosk.music_analysis.cache import CACHE_FILE, AnalysisCache, analyser_version
from kiosk.music_analysis.paths import display_path

log = logging.getLogger(__name__)


class CachedEstimates:
    """Analyzer stand-in that only reads the cache: a file not analysed yet has no estimate."""

    def __init__(self, state_dir: Path, model_path: Path | None = None) -> None:
        from kiosk.music_analysis.mood_model import DEFAULT_MODEL

        self.cache: AnalysisCache | None = None
        try:
            sha = hashlib.sha256(Path(model_path or DEFAULT_MODEL).read_bytes()).hexdigest()
            self.cache = AnalysisCache(Path(state_dir) / CACHE_FILE, analyser_version(sha))
        except (OSError, sqlite3.Error) as exc:
            log.warning("music analysis cache unavailable (%s); playlists are folders only", exc)

    def analyse_path(self, path: Path) -> dict | None:
        if self.cache is None:
            return None
        try:
            hit = self.cache.known(path)
        except sqlite3.Error:
            return None
        return None if hit is None else {"path": display_path(path), **hit}

    def close(self) -> None:
        if self.cache is not None:
            self.cache.close()


class MusicViews(PlaylistLists):
    def __init__(
        self,
        root: Path,
        extensions: Iterable[str],
        state_dir: Path,
        cfg: SortingConfig | None = None,
        model_path: Path | None = None,
    ) -> None:
        self.estimates = CachedEstimates(state_dir, model_path)
        self.catalog = Catalog(
            Path(root), self.estimates, Corrections(state_dir), cfg, tuple(extensions)
        )
        self.library = self.catalog.library
        self.root = self.library.root
        self.extensions = self.library.extensions
        self.files_changed = True  # the last refresh saw files change (not only estimates)
        self._lock = threading.Lock()
        self._dirty = False
        self._lists: dict[str, list[Track]] = {}
        self._est: dict[Path, dict[str, Any]] = {}
        self._rebuild()

    # -- Library interface ------------------------------------------------------------------

    def refresh_if_changed(self) -> bool:
        """True when a view changed (files changed, or new estimates or corrections)."""
        self.files_changed = self.library.refresh_if_changed()
        if self.catalog.corrections.changed_on_disk():  # `kiosk music retag` wrote one
            self._dirty = True
        if not (self.files_changed or self._dirty):
            return False
        return self._rebuild() or self.files_changed

    def rescan(self) -> None:
        self.library.rescan()
        self.files_changed = True
        self._rebuild()

    # -- views ------------------------------------------------------------------------------

    def estimate(self, path: Path) -> dict[str, Any] | None:
        """The cached analysis of a track (lufs, peak_db, valence, arousal...), or None."""
        with self._lock:
            return self._est.get(Path(path))

    def mark_dirty(self) -> None:
        """New analysis results: rebuild the views at the next refresh (any thread)."""
        self._dirty = True

    def retag(self, track: str, playlist: str | None) -> dict[str, Any]:
        """A staff correction through ``Catalog.retag`` (validated, persisted); the views
        are rebuilt at once. Raises ``CorrectionError``."""
        entry = self.catalog.retag(track, playlist)
        self._dirty = True
        self._rebuild()
        return entry

    def _rebuild(self) -> bool:
        self._dirty = False
        by_path = {t.path: t for ts in self.library.playlists().values() for t in ts}
        lists: dict[str, list[Track]] = {}
        est: dict[Path, dict[str, Any]] = {}
        sources: dict[str, int] = {}
        for a in self.catalog.assignments(hash_unknown=False):
            sources[a.source] = sources.get(a.source, 0) + 1
            if a.estimate and "error" not in a.estimate:
                est[a.path] = a.estimate
            track = by_path.get(a.path)
            if track is None:
                continue
            pending = self.catalog.cfg.pending_playlist
            for name in a.playlists or ([pending] if a.source == "unsorted" and pending else []):
                lst = lists.setdefault(name, [])
                if track not in lst:
                    lst.append(track)
        with self._lock:
            old = {k: [t.path for t in v] for k, v in self._lists.items()}
            self._lists, self._est = lists, est
        changed = old != {k: [t.path for t in v] for k, v in lists.items()}
        if changed:
            log.info("music views: %s", ", ".join(f"{k} {v}" for k, v in sorted(sources.items())))
        return changed
