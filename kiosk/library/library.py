"""The music library: ``<root>/<playlist>/**/<audio files>``, rescanned cheaply on change.

The daemon calls ``refresh_if_changed()`` every few seconds. That walks the folders and
compares names, sizes and modification times (no file is opened), so adding, removing or
replacing files is noticed without a restart. Tags are read again only for files that
changed. ``root`` may be a symlink that the USB importer swaps atomically; it is resolved
again on every check, so the new target is followed.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from pathlib import Path

from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.library.tracks import PlaylistLists, Track, read_track

log = logging.getLogger(__name__)

# (path relative to the playlist, size, mtime_ns) per file, per playlist
_Listing = dict[str, list[tuple[str, int, int]]]


class Library(PlaylistLists):
    """Playlists found under ``root``. Thread-safe; a missing root is an empty library."""

    def __init__(self, root: str | os.PathLike[str], extensions: Iterable[str] = AUDIO_EXTENSIONS):
        self.root = Path(root)
        self.extensions = frozenset(e.lower() for e in extensions)
        self._lock = threading.Lock()
        self._signature: tuple[object, ...] | None = None
        self._lists: dict[str, list[Track]] = {}
        self._cache: dict[tuple[Path, int, int], Track] = {}
        self.rescan()

    # -- public -----------------------------------------------------------------------------

    def refresh_if_changed(self) -> bool:
        """Re-list the folders; rebuild the playlists when anything changed. True if it did."""
        with self._lock:
            real, listing = self._walk()
            signature = (real, _freeze(listing))
            if signature == self._signature:
                return False
            self._rebuild(real, listing)
            self._signature = signature
            return True

    def rescan(self) -> None:
        """Forced rebuild (tags included) for ``kiosk ctl rescan``."""
        with self._lock:
            self._cache.clear()
            real, listing = self._walk()
            self._rebuild(real, listing)
            self._signature = (real, _freeze(listing))

    # -- internals --------------------------------------------------------------------------

    def _walk(self) -> tuple[str | None, _Listing]:
        try:
            real = os.path.realpath(self.root, strict=True)
            entries = list(os.scandir(real))
        except OSError:
            return None, {}
        listing: _Listing = {}
        for entry in sorted(entries, key=lambda e: e.name):
            if entry.name.startswith(".") or not _is_dir(entry):
                continue
            listing[entry.name] = self._files(Path(entry.path))
        return real, listing

    def _files(self, top: Path) -> list[tuple[str, int, int]]:
        # scandir gives names and types without a syscall per file; one stat per audio file
        # remains (sizes and times). Symlinked sub-folders are not followed: a link loop on
        # a stick must not hang the check.
        found: list[tuple[str, int, int]] = []
        prefix = len(str(top)) + 1
        stack = [str(top)]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError as exc:
                log.warning("cannot read music folder %s: %s", folder, exc.strerror)
                continue
            for entry in entries:
                name = entry.name
                if name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif name[name.rfind(".") :].lower() in self.extensions and entry.is_file():
                        st = entry.stat()
                        if st.st_size > 0:
                            found.append((entry.path[prefix:], st.st_size, st.st_mtime_ns))
                except OSError:
                    continue  # dangling link, or removed while we looked
        found.sort()  # path order: albums in sub-folders keep their track order
        return found

    def _rebuild(self, real: str | None, listing: _Listing) -> None:
        cache: dict[tuple[Path, int, int], Track] = {}
        lists: dict[str, list[Track]] = {}
        base = Path(real) if real else self.root
        for name, files in listing.items():
            tracks = []
            for rel, size, mtime in files:
                # Resolved paths: after the importer swaps the root symlink, queued tracks
                # still point at files that exist (the old version) until the player
                # takes the new list, instead of at names the new version may not have.
                key = (base / name / rel, size, mtime)
                track = self._cache.get(key) or read_track(key[0])
                cache[key] = track
                tracks.append(track)
            lists[name] = tracks
        self._cache, self._lists = cache, lists
        total = sum(len(t) for t in lists.values())
        log.info(
            "music library: %d track(s) in %d playlist(s) under %s",
            total,
            len(lists),
            self.root if real is None else real,
        )


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()  # follows a symlinked playlist folder
    except OSError:
        return False


def _freeze(listing: _Listing) -> tuple[object, ...]:
    return tuple((name, tuple(files)) for name, files in listing.items())
