"""``kiosk run``: wires the kiosk together and starts it.

``Daemon`` builds the core from its parts (``parts.py``: vision, player, library, demo
music, announcements, history), installs the signal handlers and hands over to the main
loop (``loop.py``) or, with ``--simulate``, to the simulated clock (``simulate.py``). The
front ends (``front_ends.py``) start with the loop; reloads are ``reload.py``. Start-up
failures are one line and exit 2 (``startup.py``).
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import Any, TextIO

from kiosk.config import LoadedConfig
from kiosk.core.core import Core
from kiosk.core.dispatch import Dispatcher
from kiosk.paths import state_dir
from kiosk.service.camera_feed import CameraFeed
from kiosk.service.clock import Clock, RealClock, SimClock
from kiosk.service.front_ends import FrontEnds
from kiosk.service.loop import Loop
from kiosk.service.notify import Notifier
from kiosk.service.parts import (
    attach_history,
    build_pipeline,
    build_player,
    open_library,
    start_announcer,
    with_demo_music,
)
from kiosk.service.simulate import simulate
from kiosk.service.startup import StartupError, player_config, startup_failed

log = logging.getLogger("kiosk.service.daemon")


class Daemon:
    """``kiosk run``. Construct with a loaded config, call ``run()`` → exit code."""

    def __init__(
        self,
        loaded: LoadedConfig,
        simulate: bool = False,
        player_backend: str | None = None,
        duration_s: float | None = None,
        out: TextIO | None = None,
        clock: Clock | None = None,
        make_player: Callable[[LoadedConfig, str | None, Core], Any] | None = None,
        make_library: Callable[[LoadedConfig, bool], Any] | None = None,
        make_pipeline: Callable[[LoadedConfig], Any] | None = None,
    ) -> None:
        """The ``make_*`` factories replace the real player/library/vision (tests)."""
        self.simulate = simulate
        self.player_backend = player_backend or ("null" if simulate else None)
        self.duration_s = duration_s
        self.out = out or sys.stdout
        self.clock: Clock = clock or (SimClock() if simulate else RealClock())
        # A simulation records history only at a clock it was given (--start): one that
        # runs from "now" would mix simulated samples into today's real record.
        self._record = not simulate or clock is not None
        self.demo = loaded.path is None and not simulate
        if simulate:
            cfg = loaded.config.model_copy(deep=True)
            cfg.camera.loop = False  # the source plays once, then the simulation ends
            loaded = replace(loaded, config=cfg)
        self.loaded = loaded
        self.notifier = Notifier()
        # The signal handlers set these and wake the loop.
        self.wake = threading.Event()
        self.stop_requested = False
        self.reload_requested = False
        self.camera = CameraFeed(lambda: self.loaded, self.clock, simulate)
        self.pipeline: Any = None
        self.core: Core | None = None
        self.dispatcher: Dispatcher | None = None  # the one every front end shares
        self.front_ends = FrontEnds(
            lambda: self.loaded, lambda: self.stop_requested, simulate, lambda: self.dispatcher
        )
        self.loop = Loop(self)
        self._make_player = make_player or build_player
        self._make_library = make_library or open_library
        self._make_pipeline = make_pipeline or build_pipeline

    # -- signals ----------------------------------------------------------------------------

    def request_stop(self, *_: Any) -> None:
        self.stop_requested = True
        self.wake.set()

    def request_reload(self, *_: Any) -> None:
        self.reload_requested = True
        self.wake.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    # -- wiring -----------------------------------------------------------------------------

    def _build(self) -> Core:
        player_config(self.loaded, self.player_backend)  # a bad --player fails before models load
        if self.demo:
            self.loaded = with_demo_music(self.loaded)
        self.pipeline = self._make_pipeline(self.loaded)
        library = self._make_library(self.loaded, not self.simulate)
        hook = with_demo_music if self.demo else None
        from kiosk.library.blocklist import BlockList

        # A simulation never touches the shop's real block list file.
        block_file = None if self.simulate else state_dir(self.loaded) / "blocklist.json"
        core = Core(
            self.loaded,
            None,
            library,
            self.clock,
            reload_hook=hook,
            library_factory=lambda loaded: self._make_library(loaded, not self.simulate),
            blocklist=BlockList(block_file, self.loaded.config.music.blocked),
        )
        core.player = self._make_player(self.loaded, self.player_backend, core)
        if not self.simulate:
            start_announcer(core, self.loaded)
        core.attach_player_hooks()
        self.dispatcher = Dispatcher(core)
        return core

    def run(self) -> int:
        """Exit code: 0 stopped, 2 bad config or set-up (one line on stderr: systemd's
        RestartPreventExitStatus=2 stops restarting), 1 any other start-up failure."""
        try:
            core = self._build()
        except Exception as exc:
            return startup_failed(exc)
        self.core = core
        self._install_signals()
        history = attach_history(core, self.loaded) if self._record else None
        try:
            return simulate(self, core) if self.simulate else self.loop.serve(core)
        except StartupError as exc:
            return startup_failed(exc)
        finally:
            if history is not None:
                history.close()  # commits the last rows
            self.camera.close()
            if core.announcer is not None:
                core.announcer.close()
            try:
                core.player.close()
            except Exception:
                log.exception("player close failed")
