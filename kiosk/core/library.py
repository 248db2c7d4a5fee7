"""The core's music-knowledge half: analysis progress, staff corrections, track estimates and
the play order. A mixin of ``Core`` (same lock, same events), kept apart for size.

The library may be a ``kiosk.library.views.MusicViews`` (self-sorting playlists; it has
``estimate``, ``retag`` and ``mark_dirty``) or a plain ``Library``; every hook here checks.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Sequence
from typing import Any

from kiosk.core.api import CommandError
from kiosk.player.trajectory import TrajectoryOrder, crowd_point

log = logging.getLogger(__name__)


class CoreMusic:
    # Set by Core.__init__ / the daemon: an AnalysisFeed (progress(), library_changed()).
    analysis: Any = None
    _order_modes: dict[str, str]  # playlist -> order mode of its current play order
    library: Any
    loaded: Any
    policy: Any

    # -- front ends (KioskApi) --------------------------------------------------------------

    def retag(self, track: str, playlist: str | None) -> dict[str, Any]:
        """Staff correction: ``track`` plays in ``playlist`` (None/"" removes the correction)."""
        from kiosk.library.sorting import CorrectionError

        with self._locked():  # type: ignore[attr-defined]
            retag = getattr(self.library, "retag", None)
            if not callable(retag):
                raise CommandError("self-sorting playlists are off (music.analysis: false)")
            if track == "current":  # the staff page's "this track belongs in..."
                playing = self._track  # type: ignore[attr-defined]
                if not playing:
                    raise CommandError("nothing is playing")
                track = str(playing["path"])
            try:
                entry = retag(track, playlist)
            except CorrectionError as exc:
                raise CommandError(str(exc)) from None
            log.info("retag %s -> %s", entry["track"], entry["playlist"])
            self._refresh_available(force=False)  # type: ignore[attr-defined]
            self._after_library_change()  # type: ignore[attr-defined]
            self._emit("state", self._status().to_dict())  # type: ignore[attr-defined]
            return entry

    # -- analysis ---------------------------------------------------------------------------

    def analysis_result(self, *_: Any) -> None:
        """The worker's ``on_result`` (its own thread): views are rebuilt at the next refresh."""
        mark = getattr(self.library, "mark_dirty", None)
        if callable(mark):
            mark()

    def analysis_progress(self) -> dict[str, Any] | None:
        feed = self.analysis
        if feed is None:
            return None
        try:
            return feed.progress()
        except Exception:
            log.exception("analysis progress failed")
            return None

    def _library_files_changed(self) -> None:
        """Files were added, replaced or removed (or a rescan): analyse what is new."""
        feed = self.analysis
        if feed is not None:
            try:
                feed.library_changed()
            except Exception:
                log.exception("cannot queue the music for analysis")

    # -- the player's hooks (any thread; no core lock) --------------------------------------

    def attach_player_hooks(self) -> None:
        """Give the player the play order and the loudness lookup (backends that take them)."""
        player = self.player  # type: ignore[attr-defined]
        if hasattr(player, "order_factory"):
            player.order_factory = self.make_order
        if hasattr(player, "estimate"):
            player.estimate = self.track_estimate

    def track_estimate(self, track: Any) -> dict[str, Any] | None:
        """The analysis of a track (``lufs``, ``peak_db``, ``valence``, ``arousal``) or None."""
        lookup = getattr(self.library, "estimate", None)
        if not callable(lookup):
            return None
        try:
            return lookup(getattr(track, "path", track))
        except Exception:
            return None

    def make_order(self, playlist: str, tracks: Sequence[Any]) -> Any:
        """The player's play order for a playlist: shuffle/folder order, or the trajectory."""
        from kiosk.player.shuffle import PlayOrder

        pcfg = self.loaded.config.player
        mode = getattr(pcfg, "order", "shuffle")
        if mode == "experiment":  # randomised per playlist start, recorded with each play
            mode = random.choice(("shuffle", "trajectory"))
        self._order_modes[playlist] = mode
        if mode != "trajectory":
            return PlayOrder(tracks, pcfg.shuffle)
        place = self.loaded.config.music.sorting.places.get(playlist)
        goal = (place.valence, place.arousal) if place else None
        start = crowd_point(self._state.distribution)  # type: ignore[attr-defined]
        return TrajectoryOrder(tracks, self.track_estimate, start, goal, pcfg.trajectory_tracks)

    def order_mode(self, playlist: str | None) -> str:
        """The order the playlist plays in now (what ``experiment`` drew for it)."""
        configured = str(getattr(self.loaded.config.player, "order", "shuffle"))
        return self._order_modes.get(playlist or "", configured)
