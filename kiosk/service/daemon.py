"""The daemon loop: sample → detect → classify → window → policy → player.

One thread does everything time-critical in order; libvlc plays on its own threads, and
the MQTT front end calls into the thread-safe core. Between samples the loop sleeps on an
event that the signal handlers set, so SIGTERM/SIGHUP are handled within milliseconds.

Camera faults never stop the music (``camera_feed.py``): every camera call has a deadline,
a fault is reported and the camera reopened with back-off. No loop step can end the loop:
an exception is logged, counted and survived, so the watchdog keeps being fed only while
the loop itself runs. Start-up failures are one line and exit 2 (``startup.py``).

``--simulate`` runs the same core on a simulated clock: no sleeping, the clock advances by
``camera.interval_s`` per sample, the source plays once, and switches are printed as JSON
lines for tuning.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from kiosk.config import LoadedConfig
from kiosk.core.api import OPERATOR, Origin
from kiosk.core.core import Core
from kiosk.core.dispatch import Dispatcher
from kiosk.core.events import Event
from kiosk.library.config import music_root
from kiosk.paths import state_dir
from kiosk.service.camera_feed import CameraFeed, CameraStartError
from kiosk.service.clock import Clock, RealClock, SimClock
from kiosk.service.logs import fields
from kiosk.service.notify import Notifier
from kiosk.service.startup import StartupError, player_config, startup_failed

log = logging.getLogger(__name__)


LOOP_ERROR_LOG_EVERY_S = 60.0


def with_demo_music(loaded: LoadedConfig) -> LoadedConfig:
    """Built-in config: generate one demo tune per playlist in the state dir, use it."""
    from kiosk.library.demo import ensure_demo_library

    root = state_dir(loaded) / "demo-music"
    try:
        root.mkdir(parents=True, exist_ok=True)
        ensure_demo_library(root, loaded.config.policy.playlist_names())
    except OSError as exc:
        raise StartupError(f"cannot create demo music in {root}: {exc}") from None
    from kiosk.camera.demo import with_demo_timing

    cfg = with_demo_timing(loaded.config)  # a demo day fits in little more than a minute
    cfg.music.root = str(root)
    log.info("demo music ready", extra=fields(root=str(root)))
    return replace(loaded, config=cfg)


def _pipeline(loaded: LoadedConfig) -> Any:
    from kiosk.vision.runtime import ModelError, RuntimeUnavailable

    try:
        from kiosk.vision.pipeline import Pipeline

        return Pipeline.from_config(loaded)
    except (ModelError, RuntimeUnavailable) as exc:
        raise StartupError(str(exc)) from None


def _create_player(loaded: LoadedConfig, backend: str | None, core: Core) -> Any:
    try:
        from kiosk.player.player import PlayerError, create_player
    except ImportError as exc:
        raise StartupError(f"the music player cannot load: {exc}") from None

    pcfg = player_config(loaded, backend)
    try:
        return create_player(
            pcfg,
            on_track=core.player_track_callback,
            on_error=core.player_error_callback,
            clock=core.clock.monotonic,
            base_dir=loaded.base_dir,
        )
    except PlayerError as exc:
        raise StartupError(str(exc)) from None


def _library(loaded: LoadedConfig, required: bool) -> Any | None:
    try:
        from kiosk.library.library import Library
    except ImportError as exc:
        raise StartupError(f"the music library cannot load: {exc}") from None

    from kiosk.usb_import.importer import recover_library

    recover_library(loaded)  # a killed import may have left music/ missing (see importer)
    root = music_root(loaded)
    if not root.is_dir():
        if not required:
            return None  # simulation without music: every playlist counts as available
        log.warning(
            "music folder missing; playing nothing until it appears", extra=fields(root=str(root))
        )
    if required:  # the daemon: self-sorting views when music.analysis is on
        from kiosk.service.analysis_feed import open_library

        return open_library(loaded, root)
    library = Library(root, loaded.config.music.extensions)
    if not required and not any(library.playlists().values()):
        return None  # simulation over an empty music folder: the same
    return library


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
        self._wake = threading.Event()
        self._stop = False
        self._reload = False
        self.camera = CameraFeed(lambda: self.loaded, self.clock, simulate)
        self.loop_errors: dict[str, int] = {}  # loop step -> exceptions survived
        self._loop_error_log_at: dict[str, float] = {}
        self._pipeline: Any = None
        self._first_sample_logged = False
        self._t0 = self.clock.monotonic()
        self.core: Core | None = None
        self.dispatcher: Dispatcher | None = None  # the one every front end shares
        self._mqtt: Any = None
        self._mqtt_lock = threading.Lock()
        self._mqtt_swap: threading.Thread | None = None
        self._mqtt_restart = False
        self._web: Any = None
        self._make_player = make_player or _create_player
        self._make_library = make_library or _library
        self._make_pipeline = make_pipeline or _pipeline

    # -- signals ----------------------------------------------------------------------------

    def request_stop(self, *_: Any) -> None:
        self._stop = True
        self._wake.set()

    def request_reload(self, *_: Any) -> None:
        self._reload = True
        self._wake.set()

    def _install_signals(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, self.request_reload)

    # -- setup ------------------------------------------------------------------------------

    def _build(self) -> Core:
        player_config(self.loaded, self.player_backend)  # a bad --player fails before models load
        if self.demo:
            self.loaded = with_demo_music(self.loaded)
        self._pipeline = self._make_pipeline(self.loaded)
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
            self._start_announcer(core)
        core.attach_player_hooks()
        self.dispatcher = Dispatcher(core)
        return core

    def _start_announcer(self, core: Core) -> None:
        cfg = self.loaded.config
        if not cfg.announcements.rules:
            return
        from kiosk.announcements.announcer import MessageAnnouncer
        from kiosk.announcements.voice import NullVoice, VlcVoice

        try:
            if getattr(core.player, "backend", "") == "vlc":
                voice: Any = VlcVoice(cfg.player, cfg.announcements.wav_path, self.loaded.base_dir)
            else:
                voice = NullVoice()
        except Exception as exc:  # the music plays on without announcements
            log.error("announcements are off: their player cannot start: %s", exc)
            return
        core.attach_announcer(
            MessageAnnouncer(cfg.announcements, core.player, voice, self.loaded.resolve)
        )

    def _start_mqtt(self, core: Core) -> None:
        if self.simulate or not getattr(self.loaded.config.mqtt, "enabled", False):
            return
        try:
            from kiosk.comms.mqtt import MqttFrontend
        except ImportError as exc:
            log.error("MQTT is enabled but its front end cannot load: %s", exc)
            return
        try:
            self._mqtt = MqttFrontend(core, self.loaded, self.dispatcher)
            self._mqtt.start()
        except Exception:
            log.exception("MQTT front end failed to start; the kiosk runs without it")
            self._mqtt = None

    def _start_web(self, core: Core) -> None:
        if self.simulate or not self.loaded.config.web.enabled:
            return
        try:
            from kiosk.web.server import WebError, start_web
        except ImportError as exc:
            log.error("the staff page is enabled but cannot load: %s", exc)
            return
        try:
            self._web = start_web(core, self.loaded, self.dispatcher)
        except WebError as exc:
            log.error("staff page not started; the kiosk runs without it: %s", exc)
        except Exception:
            log.exception("staff page failed to start; the kiosk runs without it")

    def _stop_web(self) -> None:
        if self._web is not None:
            try:
                self._web.stop()
            except Exception:
                log.exception("staff page stop failed")
        self._web = None

    def _restart_mqtt(self, core: Core) -> None:
        """Swap the MQTT client for one with the new settings, off the main loop: with a
        hung broker the old client's goodbye takes seconds. The new one starts after the
        old one said ``offline``, so that message can never follow the new ``online``."""
        with self._mqtt_lock:
            self._mqtt_restart = True
            if self._mqtt_swap is None:  # a running swap picks the newest settings up
                self._mqtt_swap = threading.Thread(
                    target=self._swap_mqtt, args=(core,), name="mqtt-reload", daemon=True
                )
                self._mqtt_swap.start()

    def _swap_mqtt(self, core: Core) -> None:
        while True:
            with self._mqtt_lock:
                if not self._mqtt_restart or self._stop:
                    self._mqtt_swap = None
                    return
                self._mqtt_restart = False
            self._stop_mqtt(join_swap=False)
            self._start_mqtt(core)

    def _stop_mqtt(self, join_swap: bool = True) -> None:
        swap = self._mqtt_swap
        if join_swap and swap is not None:
            swap.join(10.0)
        if self._mqtt is not None:
            try:
                self._mqtt.stop()
            except Exception:
                log.exception("MQTT stop failed")
        self._mqtt = None

    # -- camera -----------------------------------------------------------------------------

    def _sample(self, core: Core) -> bool:
        """One sample. False when a finite source ended in simulate mode."""
        from kiosk.camera.base import EndOfStream

        try:
            frame = self.camera.read(core.camera_fault)
        except EndOfStream:
            return False  # simulation: the source has played
        except CameraStartError as exc:
            raise StartupError(str(exc)) from None
        if frame is None:
            return True
        try:
            result = self._pipeline.process(frame)
        except Exception as exc:  # a bad frame or model hiccup: skip the sample
            log.exception("vision failed on a frame")
            core.camera_fault(f"vision failed: {exc}")
            return True
        finally:
            del frame  # privacy: no frame outlives its sample
        self.camera.delivered()
        core.camera_recovered()
        core.add_sample(result.faces, sum(result.timing_ms.values()))
        if not self._first_sample_logged:
            self._first_sample_logged = True
            log.info(
                "first sample",
                extra=fields(
                    faces=len(result.faces),
                    after_start_s=round(self.clock.monotonic() - self._t0, 3),
                    since_process_start_s=_process_age(),
                ),
            )
        return True

    def _apply_reload(self, core: Core, seen: tuple[Any, ...]) -> tuple[Any, ...]:
        """Reopen camera, rebuild the pipeline, reconnect MQTT when their sections changed."""
        cfg = core.loaded.config
        now = (cfg.camera, cfg.vision, cfg.mqtt)
        self.loaded = core.loaded
        if now[0] != seen[0]:
            log.info("camera config changed; reopening")
            self.camera.reopen_now()
        if now[1] != seen[1]:
            try:
                from kiosk.vision.pipeline import Pipeline

                self._pipeline = Pipeline.from_config(core.loaded)
                log.info("vision models reloaded")
            except Exception as exc:
                log.error("new vision config failed; keeping the old models: %s", exc)
        if now[2] != seen[2]:
            log.info("mqtt config changed; reconnecting")
            self._restart_mqtt(core)
        return now

    def _handle_hup(self, core: Core) -> None:
        self._reload = False
        self._wake.clear()
        self.notifier.reloading()
        log.info("reload requested (SIGHUP)")
        dispatcher = self.dispatcher or Dispatcher(core)
        result = dispatcher.dispatch("reload", {}, Origin("signal", OPERATOR))
        if not result["ok"]:
            log.error("config reload refused; keeping the running config: %s", result["error"])
        core.rescan_library()
        self.notifier.ready(self._status_text(core))

    # -- loops ------------------------------------------------------------------------------

    def run(self) -> int:
        """Exit code: 0 stopped, 2 bad config or set-up (one line on stderr: systemd's
        RestartPreventExitStatus=2 stops restarting), 1 any other start-up failure."""
        try:
            core = self._build()
        except Exception as exc:
            return startup_failed(exc)
        self.core = core
        self._install_signals()
        history = _attach_history(core, self.loaded) if self._record else None
        try:
            return self._simulate(core) if self.simulate else self._serve(core)
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

    def _simulate(self, core: Core) -> int:
        t0 = self.clock.monotonic()

        def emit(event: Event) -> None:
            t = round(self.clock.monotonic() - t0, 3)
            if event.kind == "mood":
                d = event.data
                rec = {
                    "t": t,
                    "event": "mood",
                    "mood": d["mood"],
                    "confidence": d["confidence"],
                    "faces": d["faces"],
                    "audience": d["audience"],
                }
            else:
                d = event.data
                rec = {
                    "t": t,
                    "event": "switch",
                    "from": d["from"],
                    "to": d["to"],
                    "reason": d["reason"],
                }
            self.out.write(json.dumps(rec) + "\n")
            self.out.flush()

        core.events.subscribe(emit, {"mood", "playlist"})
        core.start()
        interval = self.loaded.config.camera.interval_s
        assert isinstance(self.clock, SimClock)
        while not self._stop:
            if self.duration_s is not None and self.clock.monotonic() - t0 >= self.duration_s:
                break
            if not self._sample(core):
                break
            core.poll()
            self.clock.advance(interval)
        core.shutdown(0.0)
        return 0

    def _serve(self, core: Core) -> int:
        from kiosk.service.analysis_feed import start_analysis

        svc = self.loaded.config.service
        core.start()
        analysis = start_analysis(core, self.loaded)
        try:
            return self._serve_loop(core, svc)
        finally:
            if analysis is not None:
                analysis.stop()

    def _serve_loop(self, core: Core, svc: Any) -> int:
        self._start_mqtt(core)
        self._start_web(core)
        self.notifier.ready(self._status_text(core))
        log.info(
            "kiosk running",
            extra=fields(
                camera=self.loaded.config.camera.backend,
                interval_s=self.loaded.config.camera.interval_s,
                music=str(music_root(self.loaded)),
                notify=self.notifier.enabled,
            ),
        )
        wd = self.notifier.watchdog_interval_s if svc.watchdog else None
        now = self.clock.monotonic()
        next_sample, next_poll = now, now + svc.poll_interval_s
        next_refresh, next_wd = now + svc.library_refresh_s, now
        seen = (core.loaded.config.camera, core.loaded.config.vision, core.loaded.config.mqtt)
        generation = core.generation
        end = now + self.duration_s if self.duration_s is not None else None
        while not self._stop:
            if self._reload:
                self._step("reload", self._handle_hup, core)
            if core.generation != generation:
                generation = core.generation
                seen = self._step("apply reload", self._apply_reload, core, seen) or seen
                svc = self.loaded.config.service
            now = self.clock.monotonic()
            if end is not None and now >= end:
                break
            if now >= next_sample:
                self._step("sample", self._sample, core)
                interval = self.loaded.config.camera.interval_s
                next_sample += interval
                if next_sample <= now:  # fell behind (slow camera): don't burst
                    next_sample = now + interval
                self._step("status", lambda: self.notifier.status(self._status_text(core)))
            if now >= next_poll:
                self._step("poll", core.poll)
                self._step("announcements", core.poll_announcements)
                next_poll = now + svc.poll_interval_s
            if now >= next_refresh:
                self._step("library refresh", core.refresh_library)
                next_refresh = now + svc.library_refresh_s
            if wd is not None and now >= next_wd:
                self.notifier.watchdog()
                next_wd = now + wd
            wake_at = min(next_sample, next_poll, next_refresh, next_wd if wd else next_poll)
            if end is not None:
                wake_at = min(wake_at, end)
            self.clock.sleep(wake_at - self.clock.monotonic(), self._wake)
            if self._wake.is_set() and not self._stop and not self._reload:
                self._wake.clear()
        log.info("stopping", extra=fields(fade_s=svc.stop_fade_s))
        self.notifier.stopping()
        self._stop_mqtt()
        self._stop_web()
        core.shutdown(svc.stop_fade_s)
        return 0

    def _step(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """One step of the loop. An exception is logged (once a minute per step), counted in
        ``loop_errors`` and survived: the loop must go on feeding the music and the watchdog."""
        try:
            return fn(*args)
        except Exception:
            n = self.loop_errors[what] = self.loop_errors.get(what, 0) + 1
            now = time.monotonic()
            if now >= self._loop_error_log_at.get(what, 0.0):
                self._loop_error_log_at[what] = now + LOOP_ERROR_LOG_EVERY_S
                log.exception("daemon loop: %s failed (%d time(s)); carrying on", what, n)
            return None

    def _status_text(self, core: Core) -> str:
        st = core.status()
        mood = f"{st.mood} {st.confidence:.0%}" if st.mood else "no audience"
        cam = "ok" if st.camera.get("ok") else f"error: {st.camera.get('error')}"
        playing = st.playlist or "silence"
        if st.paused:
            playing += " (paused)"
        if st.override:
            playing += " (override)"
        return f"mood: {mood}, {st.faces} face(s); music: {playing}; camera: {cam}"


def _attach_history(core: Core, loaded: LoadedConfig) -> Any:
    """The history recorder (kiosk.history), or None when it is off or cannot start."""
    try:
        from kiosk.history.attach import attach

        return attach(core, loaded, state_dir(loaded))
    except Exception:  # the music must play without its memory
        log.exception("history cannot start; running without it")
        return None


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), for the first-sample log line."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None
