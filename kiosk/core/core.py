"""The core: owns the mood window, the policy, the library and the player.

Every front end (the web page, MQTT, signals, the daemon loop itself) goes through this
object, which implements ``kiosk.core.api.KioskApi``. It composes four controllers, in
Mopidy's manner: ``mood`` (samples, camera health, override, the playlist decision),
``playback`` (the player), ``music`` (the library, corrections, analysis, play order) and
``controls`` (skip limit, block list, announcements). Each holds the core.

One re-entrant lock serialises all state changes, so commands from the front ends'
threads and samples from the daemon loop never interleave. Events are collected under the
lock and emitted after it is released: a slow or re-entrant listener can never deadlock the
core or hold up the music.

Over 300 lines because it is the one public face of four controllers: most of it is the
thin, typed ``KioskApi`` methods that take the lock and hand over to a controller.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from kiosk import __version__
from kiosk.config import ConfigError, LoadedConfig, load_config
from kiosk.core.api import CommandError, Status
from kiosk.core.controls import ControlsController
from kiosk.core.events import Event, EventBus, EventData, EventKind
from kiosk.core.library import LibraryController
from kiosk.core.mood import MoodController
from kiosk.core.playback import PlaybackController
from kiosk.core.ports import (
    AnalysisPort,
    AnnouncerPort,
    LibraryPort,
    PlayerPort,
    ReconfigurablePlayer,
    Reporter,
)
from kiosk.library.blocklist import BlockList
from kiosk.mood.policy import Policy
from kiosk.mood.window import FaceLike, MoodState, MoodWindow
from kiosk.service.clock import Clock, RealClock
from kiosk.service.logs import fields

log = logging.getLogger(__name__)


class Core:
    """Implements ``KioskApi``. Construct, then ``start()``; feed ``add_sample`` and ``poll``."""

    def __init__(
        self,
        loaded: LoadedConfig,
        player: PlayerPort | None,
        library: LibraryPort | None,
        clock: Clock | None = None,
        events: EventBus | None = None,
        reload_hook: Callable[[LoadedConfig], LoadedConfig] | None = None,
        library_factory: Callable[[LoadedConfig], LibraryPort | None] | None = None,
        blocklist: BlockList | None = None,
    ) -> None:
        """``library`` None means "every playlist is available" (simulation without music).

        ``player`` None: the daemon attaches the player after building it with this core's
        callbacks (``player_track_callback``, ``player_error_callback``).
        ``reload_hook`` adjusts a freshly loaded config the way the daemon adjusted the
        first one (e.g. the demo's music root) before it is applied. ``library_factory``
        builds a fresh library on ``rescan_library`` and config reloads, so a music root
        that is a symlink swapped by the USB importer, or a changed ``music.root``, is
        followed. ``blocklist`` (default: in memory, from ``music.blocked``) holds the
        tracks never played; the daemon passes one kept in the state directory.
        """
        self.loaded = loaded
        self.player: PlayerPort = player  # type: ignore[assignment]  # see the docstring
        self.library: LibraryPort | None = library
        self.clock = clock or RealClock()
        self.events = events or EventBus()
        self.generation = 0  # bumped by reload_config; the daemon reopens camera/vision
        self._reload_hook = reload_hook
        self._lock = threading.RLock()
        self._pending: list[Event] = []
        self._started_mono = self.clock.monotonic()
        # Plug-ins, attached through attach_reporter / attach_announcer / attach_analysis.
        self._reporter: Reporter | None = None
        self._announcer: AnnouncerPort | None = None
        self._announcer_unsubscribe: Callable[[], None] | None = None
        self._analysis: AnalysisPort | None = None
        self.controls = ControlsController(self, blocklist)
        self.music = LibraryController(self, library_factory)
        self.mood = MoodController(self)
        self.playback = PlaybackController(self)

    @property
    def window(self) -> MoodWindow:
        return self.mood.window

    @property
    def policy(self) -> Policy:
        return self.mood.policy

    @property
    def blocklist(self) -> BlockList:
        return self.controls.blocklist

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

    # -- plumbing (for the controllers) -----------------------------------------------------

    @contextmanager
    def _locked(self) -> Iterator[None]:
        with self._lock:
            yield
        self._flush()

    def _emit(self, kind: EventKind, data: EventData) -> None:
        """Queue an event (``data``: the kind's payload of ``kiosk.core.events``)."""
        self._pending.append(Event(kind, data, self.clock.time()))

    def _flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
        for event in pending:
            self.events.emit(event)

    # -- the daemon -------------------------------------------------------------------------

    def start(self) -> None:
        """Scan the library and start the default music."""
        with self._locked():
            self.music.refresh(force=False)
            self.mood.decide_now()
            self._emit("state", self._status().to_dict())

    def add_sample(self, faces: Sequence[FaceLike], inference_ms: float = 0.0) -> MoodState:
        """Feed one sample's faces (``Face`` objects of the vision pipeline)."""
        return self.mood.add_sample(faces, inference_ms)

    def camera_fault(self, message: str) -> None:
        self.mood.camera_fault(message)

    def camera_recovered(self) -> None:
        self.mood.camera_recovered()

    def poll(self) -> None:
        """Call every ~0.5 s: player housekeeping, override expiry, schedule changes."""
        with self._locked():
            self.playback.poll_player()
            self.mood.expire()
            self.playback.watch()

    def refresh_library(self) -> bool:
        """Cheap periodic check for changed music folders; True when something changed."""
        return self.music.refresh_library()

    def poll_announcements(self) -> None:
        self.controls.poll_announcements()

    def shutdown(self, fade_s: float) -> None:
        """Fade out and stop the player (the caller closes it)."""
        self.playback.shutdown(fade_s)

    def player_track_callback(self, *args: Any, **kwargs: Any) -> None:
        self.playback.track_callback(*args, **kwargs)

    def player_error_callback(self, *args: Any, **kwargs: Any) -> None:
        self.playback.error_callback(*args, **kwargs)

    def attach_player_hooks(self) -> None:
        self.music.attach_player_hooks()

    def analysis_result(self, *args: Any) -> None:
        self.music.analysis_result(*args)

    # -- KioskApi ---------------------------------------------------------------------------

    def status(self) -> Status:
        with self._lock:
            return self._status()

    def set_volume(self, level: int) -> None:
        self.playback.set_volume(level)

    def next_track(self, limited: bool = False) -> None:
        """Skip. ``limited`` (staff) obeys ``player.skip_limit_per_hour``."""
        self.playback.next_track(limited)

    def pause(self) -> None:
        self.playback.pause()

    def resume(self) -> None:
        self.playback.resume()

    def override(self, mood: str, ttl_s: float) -> None:
        self.mood.override(mood, ttl_s)

    def clear_override(self) -> None:
        self.mood.clear_override()

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
        self.music.rescan_library()

    def report(self, date: str | None = None, plays: bool = False) -> dict[str, Any]:
        if self._reporter is None:
            raise CommandError("history is off (history.enabled: false)")
        try:
            return self._reporter(date, plays)  # reads the file; no core lock needed
        except (ValueError, OSError) as exc:  # a bad date, a missing or unreadable file
            raise CommandError(str(exc)) from None

    def retag(self, track: str, playlist: str | None) -> dict[str, Any]:
        return self.music.retag(track, playlist)

    def block(self, kind: str, value: str, limited: bool = False) -> dict[str, str]:
        return self.controls.block(kind, value, limited)

    def unblock(self, kind: str, value: str) -> None:
        self.controls.unblock(kind, value)

    def blocks(self) -> list[dict[str, str]]:
        return self.controls.blocks()

    def announce(self, file: str) -> dict[str, str]:
        return self.controls.announce(file)

    def skip_allowance(self) -> dict[str, Any]:
        return self.controls.skip_allowance()

    def playlists(self) -> list[str]:
        return self.music.playlists()

    def import_progress(self) -> dict[str, Any] | None:
        return self.music.import_progress()

    def track_estimate(self, track: Any) -> dict[str, Any] | None:
        """The analysis of a track, or None (see ``LibraryController.track_estimate``)."""
        return self.music.track_estimate(track)

    # -- internals (lock held) --------------------------------------------------------------

    def _apply_config(self, loaded: LoadedConfig) -> None:
        cfg = loaded.config
        self.mood.reconfigure(cfg)
        self.controls.reconfigure(cfg)
        if isinstance(self.player, ReconfigurablePlayer):
            self.player.reconfigure(cfg.player)
        elif cfg.player != self.loaded.config.player:
            log.warning("player settings changed; they take effect after a restart")
        self.loaded = loaded
        self.generation += 1
        self.music.refresh(force=True)
        log.info("config applied", extra=fields(path=str(loaded.path or "(built-in)")))
        self.mood.decide_now()

    def _status(self) -> Status:
        s = self.mood.state
        override = self.policy.override
        track = self.playback.track
        return Status(
            mood=s.mood,
            confidence=round(s.confidence, 4),
            faces=s.faces,
            distribution={k: round(v, 4) for k, v in s.distribution.items()},
            playlist=self.policy.playlist,
            track=dict(track) if track else None,
            volume=self.playback.volume(),
            paused=self.playback.user_paused,
            override=override.to_dict() if override else None,
            camera=dict(self.mood.camera),
            version=__version__,
            uptime_s=round(self.clock.monotonic() - self._started_mono, 1),
            music_analysis=self.music.analysis_progress(),
        )
