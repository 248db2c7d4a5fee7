"""The library seen through mood estimates and staff corrections (core API for every front end).

``Catalog.assignments()`` backs ``kiosk music list``; ``Catalog.retag()`` is the one
validated entry for a staff correction (CLI today; MQTT ``retag``, ``kiosk ctl`` and the
staff page call the same method once wired).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from kiosk.library.config import SortingConfig
from kiosk.library.library import Library
from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.library.sorting import Assignment, CorrectionError, Corrections, assign
from kiosk.music_analysis.paths import display_path


class Catalog:
    """``analyzer``: an ``Analyzer`` (analyses what is missing), or anything with its
    ``cache`` and ``analyse_path`` (the daemon's ``CachedEstimates`` only reads the cache)."""

    def __init__(
        self,
        music_root: Path,
        analyzer: Any,
        corrections: Corrections,
        cfg: SortingConfig | None = None,
        extensions=AUDIO_EXTENSIONS,
    ) -> None:
        self.root = Path(music_root)
        self.analyzer = analyzer
        self.corrections = corrections
        self.cfg = cfg or SortingConfig()
        self.library = Library(self.root, extensions)

    def playlist_names(self) -> set[str]:
        """Names a correction may use: the playlist folders and the configured places."""
        folders = set(self.library.playlists()) - set(self.cfg.auto_folders)
        return folders | set(self.cfg.places)

    def assignments(self, analyse: bool = True, hash_unknown: bool = True) -> list[Assignment]:
        """Every track with its playlists; ``analyse`` fills missing estimates (cached).

        ``hash_unknown=False`` (the daemon's periodic views) finds corrections only for
        files the cache has seen, so a rebuild never reads whole files."""
        self.library.refresh_if_changed()
        out = []
        for folder, tracks in self.library.playlists().items():
            for t in tracks:
                est = self.analyzer.analyse_path(t.path) if analyse else None
                key = self._key(t.path) if hash_unknown else self._known_key(t.path)
                corr = self.corrections.get(key) if key else None
                out.append(assign(folder, t.path, est, corr, self.cfg))
        return out

    def _key(self, path: Path) -> str | None:
        if self.analyzer.cache is None:
            from kiosk.music_analysis.cache import content_key

            try:
                return content_key(path)
            except OSError:
                return None
        try:
            return self.analyzer.cache.key_for(path)
        except OSError:
            return None

    def _known_key(self, path: Path) -> str | None:
        cache = self.analyzer.cache
        return cache.known_key(path) if cache is not None else None

    def resolve_track(self, track: str) -> Path:
        """A track named by a path relative to the music root (or absolute, inside it)."""
        if not isinstance(track, str) or not track or "\x00" in track:
            raise CorrectionError("track must be a non-empty path")
        root = Path(os.path.realpath(self.root))
        p = Path(track)
        full = Path(os.path.realpath(p if p.is_absolute() else root / p))
        if root not in full.parents:
            raise CorrectionError(f"track {track!r} is not inside the music library")
        if not full.is_file() or full.suffix.lower() not in self.library.extensions:
            raise CorrectionError(f"track {track!r} is not an audio file of the library")
        return full

    def retag(self, track: str, playlist: str | None) -> dict:
        """Record a staff correction (``playlist`` None or "" removes it); returns the entry."""
        path = self.resolve_track(track)
        if playlist in (None, ""):
            playlist = None
        elif not isinstance(playlist, str) or playlist not in self.playlist_names():
            names = ", ".join(sorted(self.playlist_names()))
            raise CorrectionError(f"unknown playlist {playlist!r} (known: {names})")
        key = self._key(path)
        if key is None:
            raise CorrectionError(f"track {track!r} cannot be read")
        self.corrections.set(key, playlist, display_path(path))
        return {"track": display_path(path), "playlist": playlist}
