"""The daemon loop: sample → detect → classify → window → policy → player.

One thread does everything time-critical in order; libvlc plays on its own threads, and
the MQTT front end calls into the thread-safe core. Between samples the loop sleeps on an
event that the signal handlers set, so SIGTERM/SIGHUP are handled within milliseconds.

Camera faults never stop the music (``camera_feed.py``): every camera call has a deadline,
a fault is reported and the camera reopened with back-off. No loop step can end the loop:
an exception is logged, counted and survived, so the watchdog keeps being fed only while
the loop itself runs.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.library.config import music_root
from kiosk.service.camera_feed import CameraStartError
from kiosk.service.logs import fields
from kiosk.service.notify import status_text
from kiosk.service.reload import apply_reload, handle_hup
from kiosk.service.startup import StartupError

if TYPE_CHECKING:
    from kiosk.core.core import Core
    from kiosk.service.app import Daemon

log = logging.getLogger("kiosk.service.daemon")

LOOP_ERROR_LOG_EVERY_S = 60.0


class Loop:
    """The main loop of one daemon, and the one sample step that simulate mode shares."""

    def __init__(self, daemon: Daemon) -> None:
        self.daemon = daemon
        self.errors: dict[str, int] = {}  # loop step -> exceptions survived
        self._error_log_at: dict[str, float] = {}
        self.first_sample_logged = False
        self._t0 = daemon.clock.monotonic()

    def sample(self, core: Core) -> bool:
        """One sample. False when a finite source ended in simulate mode."""
        from kiosk.camera.base import EndOfStream

        d = self.daemon
        try:
            frame = d.camera.read(core.camera_fault)
        except EndOfStream:
            return False  # simulation: the source has played
        except CameraStartError as exc:
            raise StartupError(str(exc)) from None
        if frame is None:
            return True
        try:
            result = d.pipeline.process(frame)
        except Exception as exc:  # a bad frame or model hiccup: skip the sample
            log.exception("vision failed on a frame")
            core.camera_fault(f"vision failed: {exc}")
            return True
        finally:
            del frame  # privacy: no frame outlives its sample
        d.camera.delivered()
        core.camera_recovered()
        core.add_sample(result.faces, sum(result.timing_ms.values()))
        if not self.first_sample_logged:
            self.first_sample_logged = True
            log.info(
                "first sample",
                extra=fields(
                    faces=len(result.faces),
                    after_start_s=round(d.clock.monotonic() - self._t0, 3),
                    since_process_start_s=_process_age(),
                ),
            )
        return True

    def serve(self, core: Core) -> int:
        from kiosk.service.analysis_feed import start_analysis

        d = self.daemon
        svc = d.loaded.config.service
        core.start()
        analysis = start_analysis(core, d.loaded)
        try:
            return self._serve(core, svc)
        finally:
            if analysis is not None:
                analysis.stop()

    def _serve(self, core: Core, svc: Any) -> int:
        d = self.daemon
        d.front_ends.start(core)
        d.notifier.ready(status_text(core))
        log.info(
            "kiosk running",
            extra=fields(
                camera=d.loaded.config.camera.backend,
                interval_s=d.loaded.config.camera.interval_s,
                music=str(music_root(d.loaded)),
                notify=d.notifier.enabled,
            ),
        )
        wd = d.notifier.watchdog_interval_s if svc.watchdog else None
        now = d.clock.monotonic()
        next_sample, next_poll = now, now + svc.poll_interval_s
        next_refresh, next_wd = now + svc.library_refresh_s, now
        seen = (core.loaded.config.camera, core.loaded.config.vision, core.loaded.config.mqtt)
        generation = core.generation
        end = now + d.duration_s if d.duration_s is not None else None
        while not d.stop_requested:
            if d.reload_requested:
                self.step("reload", handle_hup, d, core)
            if core.generation != generation:
                generation = core.generation
                seen = self.step("apply reload", apply_reload, d, core, seen) or seen
                svc = d.loaded.config.service
            now = d.clock.monotonic()
            if end is not None and now >= end:
                break
            if now >= next_sample:
                self.step("sample", self.sample, core)
                interval = d.loaded.config.camera.interval_s
                next_sample += interval
                if next_sample <= now:  # fell behind (slow camera): don't burst
                    next_sample = now + interval
                self.step("status", lambda: d.notifier.status(status_text(core)))
            if now >= next_poll:
                self.step("poll", core.poll)
                self.step("announcements", core.poll_announcements)
                next_poll = now + svc.poll_interval_s
            if now >= next_refresh:
                self.step("library refresh", core.refresh_library)
                next_refresh = now + svc.library_refresh_s
            if wd is not None and now >= next_wd:
                d.notifier.watchdog()
                next_wd = now + wd
            wake_at = min(next_sample, next_poll, next_refresh, next_wd if wd else next_poll)
            if end is not None:
                wake_at = min(wake_at, end)
            d.clock.sleep(wake_at - d.clock.monotonic(), d.wake)
            if d.wake.is_set() and not d.stop_requested and not d.reload_requested:
                d.wake.clear()
        log.info("stopping", extra=fields(fade_s=svc.stop_fade_s))
        d.notifier.stopping()
        d.front_ends.stop()
        core.shutdown(svc.stop_fade_s)
        return 0

    def step(self, what: str, fn: Callable[..., Any], *args: Any) -> Any:
        """One step of the loop. An exception is logged (once a minute per step), counted in
        ``errors`` and survived: the loop must go on feeding the music and the watchdog."""
        try:
            return fn(*args)
        except Exception:
            n = self.errors[what] = self.errors.get(what, 0) + 1
            now = time.monotonic()
            if now >= self._error_log_at.get(what, 0.0):
                self._error_log_at[what] = now + LOOP_ERROR_LOG_EVERY_S
                log.exception("daemon loop: %s failed (%d time(s)); carrying on", what, n)
            return None


def _process_age() -> float | None:
    """Seconds since this process started (Linux /proc), for the first-sample log line."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return round(uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 3)
    except (OSError, ValueError, IndexError):
        return None
