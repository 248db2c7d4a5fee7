"""The core: owns the mood window, the policy, the library and the player.

Every front end (MQTT, signals, the daemon loop itself) goes through this object, which
implements ``kiosk.core.api.KioskApi``. One re-entrant lock serialises all state changes, so
MQTT commands from the network thread and samples from the daemon loop never interleave.
Events are collected under the lock and emitted after it is released: a slow or re-entrant
listener can never deadlock the core or hold up the music.

Player callbacks (which may arrive on libvlc's own threads) only enqueue; ``poll`` handles
them on the daemon thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from kiosk import __version__
from kiosk.camera.base import redact
from kiosk.config import ConfigError, LoadedConfig, load_config
from kiosk.core.api import CommandError, Status
from kiosk.core.commands import checked_volume
from kiosk.core.controls import ControlsMixin
from kiosk.core.events import Event, EventBus, EventKind
from kiosk.core.library import CoreMusic
from kiosk.core.ports import AnalysisPort, AnnouncerPort, Reporter
from kiosk.library.blocklist import BlockList
from kiosk.mood.policy import Decision, Policy, PolicyError
from kiosk.mood.window import EMPTY, FaceLike, MoodState, MoodWindow
from kiosk.service.clock import Clock, RealClock
from kiosk.service.logs import fields

log = logging.getLogger(__name__)

# After the player drops a playlist on its own (all files failed...), ask again this often.
REPLAY_BACKOFF_S = 5.0


class Core(ControlsMixin, CoreMusic):
    """Implements ``KioskApi``. Construct, then ``start()``; feed ``add_sample`` and ``poll``."""

    def __init__(
        self,
        loaded: LoadedConfig,
        player: Any,
        library: Any | None,
        clock: Clock | None = None,
        events: EventBus | None = None,
        reload_hook: Callable[[LoadedConfig], LoadedConfig] | None = None,
        library_factory: Callable[[LoadedConfig], Any] | None = None,
        blocklist: BlockList | None = None,
    ) -> None:
        """``library`` None means "every playlist is available" (simulation without music).

        ``reload_hook`` adjusts a freshly loaded config the way the daemon adjusted the
        first one (e.g. the demo's music root) before it is applied. ``library_factory``
        builds a fresh library on ``rescan_library`` and config reloads, so a music root
        that is a symlink swapped by the USB importer, or a changed ``music.root``, is
        followed. ``blocklist`` (default: in memory, from ``music.blocked``) holds the
        tracks never played; the daemon passes one kept in the state directory.
        """
        self.loaded = loaded
        self.player = player
        self.library = library
        self.clock = clock or RealClock()
        self.events = events or EventBus()
        self.generation = 0  # bumped by reload_config; the daemon reopens camera/vision
        self._reload_hook = reload_hook
        self._views_changed = False
        self._library_factory = library_factory
        self._lock = threading.RLock()
        self._announcer_unsubscribe: Callable[[], None] | None = None
        self._pending: list[Event] = []
        self._callbacks: queue.SimpleQueue[tuple[str, str]] = queue.SimpleQueue()
        cfg = loaded.config
        self.window = MoodWindow(cfg.mood)
        self.policy = Policy(cfg.policy)
        self._state: MoodState = EMPTY
        self._available: frozenset[str] | None = None
        self._user_paused = False
        self._track_key: str | None = None
        self._track: dict[str, Any] | None = None
        self._player_fault = False
        self._library_fault = False
        self._replay_at = 0.0
        self._started_mono = self.clock.monotonic()
        self._camera: dict[str, Any] = {"ok": True, "error": None, "since": self.clock.time()}
        # Plug-ins, attached through attach_reporter / attach_announcer / attach_analysis.
        self._reporter: Reporter | None = None
        self._announcer: AnnouncerPort | None = None
        self._analysis: AnalysisPort | None = None
        self._init_controls(blocklist)  # skip limit and block list (controls.py)
        self._files_touched = False  # the last library check saw files change
        self._order_modes: dict[str, str] = {}

    # -- plug-ins ---------------------------------------------------------------------------

    def attach_reporter(self, reporter: Reporter | None) -> None:
        """The history's summary for the ``report`` command (None: the history is off)."""
        self._reporter = reporter

    def attach_announcer(self, announcer: AnnouncerPort | None) -> None:
        """Announcements (``announce`` and the timed ones); it hears every track change."""
        if self._announcer_unsubscribe is not None:
            self._announcer_unsubscribe()
            self._announcer_unsubscribe = None
        self._announcer = announcer
        if announcer is not None:
            self._announcer_unsubscribe = self.events.subscribe(announcer.on_track, {"track"})

    def attach_analysis(self, feed: AnalysisPort | None) -> None:
        """The background music analysis: its progress is in the status, and it hears of
        every library change."""
        self._analysis = feed

    @property
    def announcer(self) -> AnnouncerPort | None:
        return self._announcer

    @property
    def analysis(self) -> AnalysisPort | None:
        return self._analysis

    # -- plumbing ---------------------------------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            yield
        self._flush()

    def _emit(self, kind: EventKind, data: dict[str, Any]) -> None:
        self._pending.append(Event(kind, data, self.clock.time()))

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for event in pending:
            self.events.emit(event)

    def player_track_callback(self, *args: Any, **kwargs: Any) -> None:
        """Give to the player as ``on_track``; the track itself is read in ``poll``."""
        self._callbacks.put(("track", ""))

    def player_error_callback(self, *args: Any, **kwargs: Any) -> None:
        """Give to the player as ``on_error``; any arguments become the fault message."""
        text = " ".join(str(a) for a in (*args, *kwargs.values()) if a is not None)
        self._callbacks.put(("error", text or "player error"))

    # -- lifecycle (daemon) -----------------------------------------------------------------

    def start(self) -> None:
        """Scan the library and start the default music."""
        with self._locked():
            self._refresh_available(force=False)
            self._decide_and_apply(self.window.state(self.clock.monotonic()))
            self._emit("state", self._status().to_dict())

    def add_sample(self, faces: Sequence[FaceLike], inference_ms: float = 0.0) -> MoodState:
        """Feed one sample's faces (``Face`` objects of the vision pipeline)."""
        with self._locked():
            now = self.clock.monotonic()
            state = self.window.add(now, faces)
            self._state = state
            # The stats count the faces the mood counts; the rest are reported apart so a
            # badly placed camera shows up.
            kept = self.window.counted(faces)
            emotions: dict[str, int] = {}
            for f in kept:
                label = getattr(f, "emotion", None) or max(f.scores, key=f.scores.get)
                emotions[label] = emotions.get(label, 0) + 1
            self._emit(
                "sample",
                {
                    "faces": len(kept),
                    "faces_ignored": len(faces) - len(kept),
                    "emotions": emotions,
                    "inference_ms": round(inference_ms, 2),
                    "camera_ok": True,
                },
            )
            self._emit("mood", state.to_event())
            self._decide_and_apply(state)
            return state

    def camera_fault(self, message: str) -> None:
        """The camera failed; the music goes on. Emits a fault when the error is new."""
        message = redact(message)  # status and MQTT never carry a camera URL's password
        with self._locked():
            if self._camera["ok"] or self._camera["error"] != message:
                self._camera = {"ok": False, "error": message, "since": self.clock.time()}
                self._emit("fault", {"component": "camera", "message": message, "ok": False})
                self._emit("state", self._status().to_dict())

    def camera_recovered(self) -> None:
        with self._locked():
            if not self._camera["ok"]:
                self._camera = {"ok": True, "error": None, "since": self.clock.time()}
                self._emit("fault", {"component": "camera", "message": "camera ok", "ok": True})
                self._emit("state", self._status().to_dict())

    def poll(self) -> None:
        """Call every ~0.5 s: player housekeeping, override expiry, schedule changes."""
        with self._locked():
            try:
                self.player.poll()
            except Exception as exc:  # a player bug must not stop the loop
                log.exception("player poll failed")
                self._player_error(f"player poll failed: {exc}")
            self._drain_callbacks()
            if self._camera["ok"]:
                self._state = self.window.state(self.clock.monotonic())  # let samples expire
            # While the camera is down the last crowd mood stands: the music carries on as
            # it was (schedule and override still apply) instead of drifting to "no audience".
            self._decide_and_apply(self._state)
            self._watch_player()

    def refresh_library(self) -> bool:
        """Cheap periodic check for changed music folders; True when something changed."""
        with self._locked():
            changed = self._refresh_available(force=False)
            # New estimates or files inside a playlist: the player takes the new list.
            if changed or self._views_changed:
                self._after_library_change()
            touched = self._files_touched
        if touched:
            self._library_files_changed()
        return changed

    def shutdown(self, fade_s: float) -> None:
        """Fade out and stop the player (the caller closes it)."""
        with self._locked():
            try:
                self.player.stop(fade_s)
            except Exception:
                log.exception("player stop failed")

    # -- KioskApi ---------------------------------------------------------------------------

    def status(self) -> Status:
        with self._lock:
            return self._status()

    def set_volume(self, level: int) -> None:
        level = checked_volume(level)  # the Volume command's rule, for direct callers too
        with self._locked():
            self.player.set_volume(level)
            self._emit("state", self._status().to_dict())

    def next_track(self, limited: bool = False) -> None:
        """Skip. ``limited`` (staff) obeys ``player.skip_limit_per_hour``."""
        with self._locked():
            if self.policy.playlist is None:
                raise CommandError("nothing is playing")
            if self._user_paused:
                raise CommandError("paused; resume first")
            if limited:
                self._check_skip_limit()
            self.player.next_track()
            if limited:
                self._record_skip()

    def pause(self) -> None:
        with self._locked():
            if self._user_paused:
                return
            self._user_paused = True
            self.player.pause()
            self._emit("state", self._status().to_dict())

    def resume(self) -> None:
        with self._locked():
            if not self._user_paused:
                return
            if self.policy.playlist is None:
                raise CommandError(
                    "nothing to play now (closed per schedule, or no music); "
                    "use override to play anyway"
                )
            self._user_paused = False
            state = self.player.state()
            if getattr(state, "playlist", None) == self.policy.playlist:
                self.player.resume()
            else:
                self._play(self.policy.playlist)
            self._emit("state", self._status().to_dict())

    def override(self, mood: str, ttl_s: float) -> None:
        with self._locked():
            now, wall = self.clock.monotonic(), self.clock.time()
            try:
                o = self.policy.set_override(mood, ttl_s, now, wall, self._available)
            except PolicyError as exc:
                raise CommandError(str(exc)) from None
            log.info("override", extra=fields(target=o.target, playlist=o.playlist, ttl_s=ttl_s))
            self._decide_and_apply(self.window.state(now))
            self._emit("state", self._status().to_dict())

    def clear_override(self) -> None:
        with self._locked():
            if self.policy.clear_override():
                self._decide_and_apply(self.window.state(self.clock.monotonic()))
                self._emit("state", self._status().to_dict())

    def reload_config(self) -> None:
        with self._locked():
            if self.loaded.path is None:
                loaded = self.loaded  # built-in defaults cannot have changed
            else:
                try:
                    loaded = load_config(self.loaded.path)
                except ConfigError as exc:
                    raise CommandError(str(exc)) from None
                if self._reload_hook is not None:
                    loaded = self._reload_hook(loaded)
            self._apply_config(loaded)
            self._emit("state", self._status().to_dict())

    def rescan_library(self) -> None:
        with self._locked():
            self._refresh_available(force=True)
            self._after_library_change()
            self._emit("state", self._status().to_dict())
        self._library_files_changed()

    def playlists(self) -> list[str]:
        """Playlist names with something in them, sorted (the page's pickers)."""
        library = self.library
        if library is None:
            return []
        try:
            return sorted(n for n, tracks in library.playlists().items() if tracks)
        except Exception:  # a broken USB copy: the page shows no choice, the music plays on
            log.exception("cannot list the playlists")
            return []

    def report(self, date: str | None = None, plays: bool = False) -> dict[str, Any]:
        if self._reporter is None:
            raise CommandError("history is off (history.enabled: false)")
        try:
            return self._reporter(date, plays)  # reads the file; no core lock needed
        except (ValueError, OSError) as exc:  # a bad date, a missing or unreadable file
            raise CommandError(str(exc)) from None

    # -- internals (lock held) --------------------------------------------------------------

    def _apply_config(self, loaded: LoadedConfig) -> None:
        cfg = loaded.config
        self.window.reconfigure(cfg.mood)
        self.policy.reconfigure(cfg.policy)
        self._reconfigure_controls(cfg)
        reconfigure = getattr(self.player, "reconfigure", None)
        if callable(reconfigure):
            reconfigure(cfg.player)
        elif cfg.player != self.loaded.config.player:
            log.warning("player settings changed; they take effect after a restart")
        self.loaded = loaded
        self.generation += 1
        self._refresh_available(force=True)
        log.info("config applied", extra=fields(path=str(loaded.path or "(built-in)")))
        self._decide_and_apply(self.window.state(self.clock.monotonic()))

    def _refresh_available(self, force: bool) -> bool:
        if force and self._library_factory is not None:
            try:
                self.library = self._library_factory(self.loaded)
            except Exception as exc:
                log.exception("music library cannot be opened")
                self._set_library_fault(f"music library cannot be opened: {exc}")
                return False
        self._files_touched = self._views_changed = False
        if self.library is None:
            return False
        try:
            rescan = getattr(self.library, "rescan", None) if force else None
            if callable(rescan):
                rescan()
                self._views_changed = True
            else:
                self._views_changed = bool(self.library.refresh_if_changed())
            self._files_touched = bool(getattr(self.library, "files_changed", self._views_changed))
            lists = self.library.playlists()
        except Exception as exc:  # a broken USB copy must not stop the music
            log.exception("music library scan failed")
            self._set_library_fault(f"music library scan failed: {exc}")
            return False
        available = frozenset(n for n, tracks in lists.items() if self.blocklist.allowed(tracks))
        changed = available != self._available
        self._available = available
        if available:
            self._set_library_fault(None)
        else:
            root = getattr(self.library, "root", "music/")
            self._set_library_fault(f"no playable music under {root}")
        return changed

    def _after_library_change(self) -> None:
        d = self._decide_and_apply(self.window.state(self.clock.monotonic()))
        if not d.changed and d.playlist is not None and not self._user_paused:
            # Same playlist, new files: the player takes the fresh track list without a break.
            self._play(d.playlist)

    def _set_library_fault(self, message: str | None) -> None:
        if message is None and self._library_fault:
            self._library_fault = False
            self._emit("fault", {"component": "library", "message": "music found", "ok": True})
        elif message is not None and not self._library_fault:
            self._library_fault = True
            log.warning(message)
            self._emit("fault", {"component": "library", "message": message, "ok": False})

    def _decide_and_apply(self, state: MoodState) -> Decision:
        now = self.clock.monotonic()
        d = self.policy.decide(now, self.clock.local(), state, self._available)
        if d.volume is not None:
            self.player.set_volume(d.volume)
        if d.arm is not None:  # policy.experiment: which arm this mood decision drew
            self._emit("experiment", {**d.arm, "mood": d.mood, "playlist": d.playlist})
        if d.changed:
            log.info(
                "playlist switch",
                extra=fields(src=d.previous, dst=d.playlist, reason=d.reason, mood=d.mood),
            )
            self._emit("playlist", {"from": d.previous, "to": d.playlist, "reason": d.reason})
            if d.playlist is None:
                fade = self.loaded.config.service.stop_fade_s
                self.player.stop(fade)
                self._set_track(None)
            elif not self._user_paused:
                self._play(d.playlist)
            self._emit("state", self._status().to_dict())
        return d

    def _tracks(self, playlist: str) -> list[Any]:
        if self.library is None:
            return []
        try:
            return self.blocklist.allowed(self.library.tracks(playlist))
        except Exception:
            log.exception("cannot list playlist %s", playlist)
            return []

    def _play(self, playlist: str) -> None:
        crossfade = float(getattr(self.loaded.config.player, "crossfade_s", 3.0))
        self._replay_at = self.clock.monotonic() + REPLAY_BACKOFF_S
        try:
            self.player.play_playlist(playlist, self._tracks(playlist), crossfade)
        except Exception as exc:  # keep deciding; the watch retries after the back-off
            log.exception("player cannot play %s", playlist)
            self._player_error(f"cannot play {playlist}: {exc}")

    def _drain_callbacks(self) -> None:
        while True:
            try:
                kind, text = self._callbacks.get_nowait()
            except queue.Empty:
                return
            if kind == "error":
                self._player_error(text)

    def _player_error(self, message: str) -> None:
        log.warning("player fault", extra=fields(error=message))
        self._player_fault = True
        self._emit("fault", {"component": "player", "message": message, "ok": False})

    def _watch_player(self) -> None:
        """Track changes → events; a player that dropped the playlist is asked again."""
        try:
            st = self.player.state()
        except Exception:
            log.exception("player state failed")
            return
        track = getattr(st, "track", None)
        self._set_track(track, getattr(st, "playlist", None))
        want = self.policy.playlist
        if (
            want is not None
            and not self._user_paused
            and not getattr(st, "playing", True)
            and self.clock.monotonic() >= self._replay_at
            and self._tracks(want)  # nothing to play (simulation without music): stay idle
        ):
            log.info("player idle; restarting playlist", extra=fields(playlist=want))
            self._play(want)

    def _set_track(self, track: Any, playlist: str | None = None) -> None:
        if track is None:
            if self._track is not None:
                self._track_key, self._track = None, None
            return
        path = str(getattr(track, "path", track))
        key = f"{playlist}\0{path}"
        if key == self._track_key:
            return
        self._track_key = key
        self._track = {
            "path": path,
            "title": getattr(track, "title", None),
            "artist": getattr(track, "artist", None),
        }
        est = self.track_estimate(track) or {}
        mood = {k: est.get(k) for k in ("valence", "arousal")}  # None when not analysed
        self._emit(
            "track",
            {"playlist": playlist or self.policy.playlist, **self._track, **mood}
            | {"order": self.order_mode(playlist or self.policy.playlist)},
        )
        if self._player_fault:
            self._player_fault = False
            self._emit("fault", {"component": "player", "message": "playing", "ok": True})

    def _status(self) -> Status:
        try:
            pst = self.player.state()
            volume = int(getattr(pst, "volume", 0))
        except Exception:
            volume = 0
        s = self._state
        override = self.policy.override
        return Status(
            mood=s.mood,
            confidence=round(s.confidence, 4),
            faces=s.faces,
            distribution={k: round(v, 4) for k, v in s.distribution.items()},
            playlist=self.policy.playlist,
            track=dict(self._track) if self._track else None,
            volume=volume,
            paused=self._user_paused,
            override=override.to_dict() if override else None,
            camera=dict(self._camera),
            version=__version__,
            uptime_s=round(self.clock.monotonic() - self._started_mono, 1),
            music_analysis=self.analysis_progress(),
        )
