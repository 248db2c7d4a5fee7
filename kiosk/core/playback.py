"""Playback: the player's commands, its callbacks and the track that is playing.

A controller of ``kiosk.core.core.Core``: every method runs under the core's lock (the
public ones take it, the rest are called with it held). Player callbacks, which may arrive
on libvlc's own threads, only enqueue; ``poll`` handles them on the daemon thread.
"""

from __future__ import annotations

import logging
import queue
from typing import TYPE_CHECKING, Any

from kiosk.core.api import CommandError
from kiosk.core.commands import checked_volume
from kiosk.service.logs import fields

if TYPE_CHECKING:
    from kiosk.core.core import Core

log = logging.getLogger("kiosk.core.core")

# After the player drops a playlist on its own (all files failed...), ask again this often.
REPLAY_BACKOFF_S = 5.0


class PlaybackController:
    def __init__(self, core: Core) -> None:
        self.core = core
        self.user_paused = False
        self.track: dict[str, Any] | None = None  # {"path", "title", "artist"}
        self._track_key: str | None = None
        self._fault = False
        self._replay_at = 0.0
        self._callbacks: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()

    # -- the player's callbacks (any thread) ------------------------------------------------

    def track_callback(self, *args: Any, **kwargs: Any) -> None:
        """Give to the player as ``on_track``; the track itself is read in ``poll``."""
        self._callbacks.put(("track", ""))

    def error_callback(self, *args: Any, **kwargs: Any) -> None:
        """Give to the player as ``on_error``; any arguments become the fault message."""
        text = " ".join(str(a) for a in (*args, *kwargs.values()) if a is not None)
        self._callbacks.put(("error", text or "player error"))

    # -- commands (KioskApi) ----------------------------------------------------------------

    def set_volume(self, level: int) -> None:
        level = checked_volume(level)  # the Volume command's rule, for direct callers too
        core = self.core
        with core._locked():
            core.player.set_volume(level)
            core._emit("state", core._status().to_dict())

    def next_track(self, limited: bool = False) -> None:
        """Skip. ``limited`` (staff) obeys ``player.skip_limit_per_hour``."""
        core = self.core
        with core._locked():
            if core.policy.playlist is None:
                raise CommandError("nothing is playing")
            if self.user_paused:
                raise CommandError("paused; resume first")
            if limited:
                core.controls.check_skip_limit()
            core.player.next_track()
            if limited:
                core.controls.record_skip()

    def pause(self) -> None:
        core = self.core
        with core._locked():
            if self.user_paused:
                return
            self.user_paused = True
            core.player.pause()
            core._emit("state", core._status().to_dict())

    def resume(self) -> None:
        core = self.core
        with core._locked():
            if not self.user_paused:
                return
            playlist = core.policy.playlist
            if playlist is None:
                raise CommandError(
                    "nothing to play now (closed per schedule, or no music); "
                    "use override to play anyway"
                )
            self.user_paused = False
            if core.player.state().playlist == playlist:
                core.player.resume()
            else:
                self.play(playlist)
            core._emit("state", core._status().to_dict())

    def shutdown(self, fade_s: float) -> None:
        """Fade out and stop the player (the caller closes it)."""
        with self.core._locked():
            try:
                self.core.player.stop(fade_s)
            except Exception:
                log.exception("player stop failed")

    # -- internals (lock held) --------------------------------------------------------------

    def poll_player(self) -> None:
        """Player housekeeping and the callbacks that arrived since the last poll."""
        try:
            self.core.player.poll()
        except Exception as exc:  # a player bug must not stop the loop
            log.exception("player poll failed")
            self.player_error(f"player poll failed: {exc}")
        while True:
            try:
                kind, text = self._callbacks.get_nowait()
            except queue.Empty:
                return
            if kind == "error":
                self.player_error(text)

    def play(self, playlist: str) -> None:
        core = self.core
        crossfade = float(core.loaded.config.player.crossfade_s)
        self._replay_at = core.clock.monotonic() + REPLAY_BACKOFF_S
        try:
            core.player.play_playlist(playlist, core.music.playable(playlist), crossfade)
        except Exception as exc:  # keep deciding; the watch retries after the back-off
            log.exception("player cannot play %s", playlist)
            self.player_error(f"cannot play {playlist}: {exc}")

    def stop(self) -> None:
        """The policy chose silence (closed, or nothing to play)."""
        self.core.player.stop(self.core.loaded.config.service.stop_fade_s)
        self.set_track(None)

    def player_error(self, message: str) -> None:
        log.warning("player fault", extra=fields(error=message))
        self._fault = True
        self.core._emit("fault", {"component": "player", "message": message, "ok": False})

    def watch(self) -> None:
        """Track changes → events; a player that dropped the playlist is asked again."""
        core = self.core
        try:
            st = core.player.state()
        except Exception:
            log.exception("player state failed")
            return
        self.set_track(st.track, st.playlist)
        want = core.policy.playlist
        if (
            want is not None
            and not self.user_paused
            and not st.playing
            and core.clock.monotonic() >= self._replay_at
            and core.music.playable(want)  # nothing to play (simulation without music): idle
        ):
            log.info("player idle; restarting playlist", extra=fields(playlist=want))
            self.play(want)

    def set_track(self, track: Any, playlist: str | None = None) -> None:
        """``track``: the player's track object (``path``, ``title``, ``artist``) or None."""
        core = self.core
        if track is None:
            if self.track is not None:
                self._track_key, self.track = None, None
            return
        path = str(getattr(track, "path", track))  # a backend may report a bare path
        key = f"{playlist}\0{path}"
        if key == self._track_key:
            return
        self._track_key = key
        self.track = {
            "path": path,
            "title": getattr(track, "title", None),
            "artist": getattr(track, "artist", None),
        }
        est = core.music.track_estimate(track) or {}
        name = playlist or core.policy.playlist
        core._emit(
            "track",
            {"playlist": name, **self.track}
            | {"valence": est.get("valence"), "arousal": est.get("arousal")}  # None: unknown
            | {"order": core.music.order_mode(name)},
        )
        if self._fault:
            self._fault = False
            core._emit("fault", {"component": "player", "message": "playing", "ok": True})

    def volume(self) -> int:
        """The player's target volume for the status (0 when the player cannot tell)."""
        try:
            return int(self.core.player.state().volume)
        except Exception:
            return 0
