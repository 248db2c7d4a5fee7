"""A track of the music library and how its "now playing" text is read from tags."""

from __future__ import annotations

import logging
import re
import threading
from pathlib import Path

log = logging.getLogger(__name__)

# "Artist - Title" in a file name, optionally behind a track number ("03 - ", "03. ").
_NUMBER = re.compile(r"^\s*\d{1,3}\s*[-._)]?\s+")


class Track:
    """One playable file. ``title``/``artist`` come from tags, else from the file name.

    Tags are read on first use, not during the library scan: a library of thousands of
    files is listed in milliseconds, and only tracks that are shown or played cost a read.
    Two tracks are equal when their paths are.
    """

    __slots__ = ("_meta", "path")

    def __init__(
        self,
        path: Path,
        title: str | None = None,
        artist: str | None = None,
        duration_s: float | None = None,
    ) -> None:
        self.path = Path(path)
        self._meta = (title, artist, duration_s) if title is not None else None

    def _tags(self) -> tuple[str | None, str | None, float | None]:
        if self._meta is None:
            self._meta = read_tags(self.path)
        return self._meta

    @property
    def title(self) -> str:
        return self._tags()[0] or self.path.stem

    @property
    def artist(self) -> str | None:
        return self._tags()[1]

    @property
    def duration_s(self) -> float | None:
        return self._tags()[2]

    @property
    def display(self) -> str:
        return f"{self.artist} - {self.title}" if self.artist else self.title

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Track) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def __repr__(self) -> str:
        return f"Track({str(self.path)!r})"


def names_from_filename(path: Path) -> tuple[str, str | None]:
    """(title, artist) guessed from ``[NN] [Artist - ]Title.ext``."""
    stem = _NUMBER.sub("", path.stem).replace("_", " ").strip() or path.stem
    if " - " in stem:
        artist, title = stem.split(" - ", 1)
        if artist.strip() and title.strip():
            return title.strip(), artist.strip()
    return stem, None


def _first(tags: object, key: str) -> str | None:
    try:
        value = tags[key]  # type: ignore[index]
    except Exception:
        return None
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    text = str(value).strip() if value is not None else ""
    return text[:200] or None  # a hostile tag must not flood logs and MQTT


def read_track(path: Path) -> Track:
    """A track whose tags are read when first needed."""
    return Track(path)


def read_tags(path: Path) -> tuple[str, str | None, float | None]:
    """(title, artist, duration) from tags; any tag problem falls back to the file name.

    A file whose tags cannot be read may still play, so it is never dropped here; the player
    skips files that really cannot play.
    """
    title, artist = names_from_filename(path)
    duration: float | None = None
    try:
        import mutagen

        audio = mutagen.File(path, easy=True)
    except Exception as exc:  # mutagen raises many types on damaged or odd files
        log.debug("no tags in %s: %s", path, exc)
        audio = None
    if audio is not None:
        tags = getattr(audio, "tags", None)
        if tags is not None:
            title = _first(tags, "title") or title
            artist = _first(tags, "artist") or artist
        length = getattr(getattr(audio, "info", None), "length", None)
        if isinstance(length, (int, float)) and length > 0:
            duration = float(length)
    return title, artist, duration


class PlaylistLists:
    """Copies of the playlists under a lock, for the library and its sorted views alike:
    a caller may keep or change what it gets while a rescan replaces ``_lists``."""

    _lock: threading.Lock | threading.RLock
    _lists: dict[str, list[Track]]

    def playlists(self) -> dict[str, list[Track]]:
        """Every playlist with its tracks in play order (empty ones too)."""
        with self._lock:
            return {name: list(tracks) for name, tracks in self._lists.items()}

    def tracks(self, name: str) -> list[Track]:
        with self._lock:
            return list(self._lists.get(name, []))
