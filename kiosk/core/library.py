"""The core's library: what can play, staff corrections, analysis progress, track estimates
and the play order. A controller of ``kiosk.core.core.Core`` (same lock, same events).

``core.library`` is the library itself; a config reload or ``rescan`` may replace it
(``library_factory``), so a music root swapped by the USB import is followed.

The library may be a ``kiosk.library.views.MusicViews`` (self-sorting playlists: a
``SortingLibrary``) or a plain ``Library``; the player may take its play order from here
(an ``OrderedPlayer``). Each capability is a Protocol of ``kiosk.core.ports``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from kiosk.config import LoadedConfig
from kiosk.core.api import CommandError
from kiosk.core.ports import (
    LibraryPort,
    OrderedPlayer,
    ReportsFileChanges,
    Rescanning,
    SortingLibrary,
)
from kiosk.player.trajectory import TrajectoryOrder, crowd_point

if TYPE_CHECKING:
    from kiosk.core.core import Core

log = logging.getLogger(__name__)


class LibraryController:
    """Available playlists, corrections, analysis and play order of one core."""

    def __init__(
        self, core: Core, factory: Callable[[LoadedConfig], LibraryPort | None] | None
    ) -> None:
        self.core = core
        self.factory = factory
        # Playlists with something playable; None: no library, every playlist counts.
        self.available: frozenset[str] | None = None
        self.order_modes: dict[str, str] = {}  # playlist -> order mode of its play order
        self._fault = False
        self._views_changed = False  # the last check changed a view (files or estimates)
        self._files_touched = False  # the last check saw files change

    # -- the daemon loop and KioskApi -------------------------------------------------------

    def refresh_library(self) -> bool:
        """Cheap periodic check for changed music folders; True when something changed."""
        with self.core._locked():
            changed = self.refresh(force=False)
            # New estimates or files inside a playlist: the player takes the new list.
            if changed or self._views_changed:
                self.after_change()
            touched = self._files_touched
        if touched:
            self.library_files_changed()
        return changed

    def rescan_library(self) -> None:
        core = self.core
        with core._locked():
            self.refresh(force=True)
            self.after_change()
            core._emit("state", core._status().to_dict())
        self.library_files_changed()

    def import_progress(self) -> dict[str, Any] | None:
        """The USB import's last progress record, if recent (counts only)."""
        try:
            from kiosk.usb_import.importer import resolve_paths
            from kiosk.usb_import.progress import read_progress

            return read_progress(resolve_paths(self.core.loaded).library_dir)
        except Exception:  # no import set up, or its folder unreadable: nothing to show
            log.debug("no import progress", exc_info=True)
            return None

    def playlists(self) -> list[str]:
        """Playlist names with something in them, sorted (the page's pickers)."""
        library = self.core.library
        if library is None:
            return []
        try:
            return sorted(n for n, tracks in library.playlists().items() if tracks)
        except Exception:  # a broken USB copy: the page shows no choice, the music plays on
            log.exception("cannot list the playlists")
            return []

    # -- internals (lock held) --------------------------------------------------------------

    def refresh(self, force: bool) -> bool:
        """Re-read what can play (``force``: a fresh library); True when that changed."""
        core = self.core
        if force and self.factory is not None:
            try:
                core.library = self.factory(core.loaded)
            except Exception as exc:
                log.exception("music library cannot be opened")
                self._set_fault(f"music library cannot be opened: {exc}")
                return False
        self._files_touched = self._views_changed = False
        library = core.library
        if library is None:
            return False
        try:
            if force and isinstance(library, Rescanning):
                library.rescan()
                self._views_changed = True
            else:
                self._views_changed = bool(library.refresh_if_changed())
            # Views tell files from estimates; for a plain library any change is files.
            self._files_touched = bool(
                library.files_changed
                if isinstance(library, ReportsFileChanges)
                else self._views_changed
            )
            lists = library.playlists()
        except Exception as exc:  # a broken USB copy must not stop the music
            log.exception("music library scan failed")
            self._set_fault(f"music library scan failed: {exc}")
            return False
        allowed = core.controls.blocklist.allowed
        available = frozenset(n for n, tracks in lists.items() if allowed(tracks))
        changed = available != self.available
        self.available = available
        if available:
            self._set_fault(None)
        else:
            self._set_fault(f"no playable music under {library.root}")
        return changed

    def after_change(self) -> None:
        core = self.core
        d = core.mood.decide_now()
        if not d.changed and d.playlist is not None and not core.playback.user_paused:
            # Same playlist, new files: the player takes the fresh track list without a break.
            core.playback.play(d.playlist)

    def playable(self, playlist: str) -> list[Any]:
        """The playlist's tracks minus the blocked ones ([] without a library)."""
        library = self.core.library
        if library is None:
            return []
        try:
            return self.core.controls.blocklist.allowed(library.tracks(playlist))
        except Exception:
            log.exception("cannot list playlist %s", playlist)
            return []

    def _set_fault(self, message: str | None) -> None:
        core = self.core
        if message is None and self._fault:
            self._fault = False
            core._emit("fault", {"component": "library", "message": "music found", "ok": True})
        elif message is not None and not self._fault:
            self._fault = True
            log.warning(message)
            core._emit("fault", {"component": "library", "message": message, "ok": False})

    # -- front ends (KioskApi) --------------------------------------------------------------

    def retag(self, track: str, playlist: str | None) -> dict[str, Any]:
        """Staff correction: ``track`` plays in ``playlist`` (None/"" removes the correction)."""
        from kiosk.library.sorting import CorrectionError

        core = self.core
        with core._locked():
            library = core.library
            if not isinstance(library, SortingLibrary):
                raise CommandError("self-sorting playlists are off (music.analysis: false)")
            if track == "current":  # the staff page's "this track belongs in..."
                playing = core.playback.track
                if not playing:
                    raise CommandError("nothing is playing")
                track = str(playing["path"])
            try:
                entry = library.retag(track, playlist)
            except CorrectionError as exc:
                raise CommandError(str(exc)) from None
            log.info("retag %s -> %s", entry["track"], entry["playlist"])
            self.refresh(force=False)
            self.after_change()
            core._emit("state", core._status().to_dict())
            return entry

    # -- analysis ---------------------------------------------------------------------------

    def analysis_result(self, *_: Any) -> None:
        """The worker's ``on_result`` (its own thread): views are rebuilt at the next refresh."""
        library = self.core.library
        if isinstance(library, SortingLibrary):
            library.mark_dirty()

    def analysis_progress(self) -> dict[str, Any] | None:
        feed = self.core.analysis
        if feed is None:
            return None
        try:
            return feed.progress()
        except Exception:
            log.exception("analysis progress failed")
            return None

    def library_files_changed(self) -> None:
        """Files were added, replaced or removed (or a rescan): analyse what is new."""
        feed = self.core.analysis
        if feed is not None:
            try:
                feed.library_changed()
            except Exception:
                log.exception("cannot queue the music for analysis")

    # -- the player's hooks (any thread; no core lock) --------------------------------------

    def attach_player_hooks(self) -> None:
        """Give the player the play order and the loudness lookup (backends that take them)."""
        player = self.core.player
        if isinstance(player, OrderedPlayer):
            player.order_factory = self.make_order
            player.estimate = self.track_estimate

    def track_estimate(self, track: Any) -> dict[str, Any] | None:
        """The analysis of a track (``lufs``, ``peak_db``, ``valence``, ``arousal``) or None."""
        library = self.core.library
        if not isinstance(library, SortingLibrary):
            return None
        try:
            return library.estimate(getattr(track, "path", track))  # a Track or a path
        except Exception:
            return None

    def make_order(self, playlist: str, tracks: Sequence[Any]) -> Any:
        """The player's play order for a playlist: shuffle/folder order, or the trajectory."""
        from kiosk.player.shuffle import PlayOrder

        cfg = self.core.loaded.config
        pcfg = cfg.player
        mode = pcfg.order
        if mode == "experiment":  # randomised per playlist start, recorded with each play
            mode = random.choice(("shuffle", "trajectory"))
        self.order_modes[playlist] = mode
        if mode != "trajectory":
            return PlayOrder(tracks, pcfg.shuffle)
        place = cfg.music.sorting.places.get(playlist)
        goal = (place.valence, place.arousal) if place else None
        start = crowd_point(self.core.mood.state.distribution)
        return TrajectoryOrder(tracks, self.track_estimate, start, goal, pcfg.trajectory_tracks)

    def order_mode(self, playlist: str | None) -> str:
        """The order the playlist plays in now (what ``experiment`` drew for it)."""
        return self.order_modes.get(playlist or "", str(self.core.loaded.config.player.order))
