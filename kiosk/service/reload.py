"""Reloads while the daemon runs: SIGHUP re-reads the config, and any new config (SIGHUP or
a ``reload`` command) reopens the camera, rebuilds the vision pipeline and reconnects MQTT
when their sections changed."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from kiosk.core.api import OPERATOR, Origin
from kiosk.core.dispatch import Dispatcher
from kiosk.service.notify import status_text

if TYPE_CHECKING:
    from kiosk.core.core import Core
    from kiosk.service.app import Daemon

log = logging.getLogger("kiosk.service.daemon")


def handle_hup(daemon: Daemon, core: Core) -> None:
    """SIGHUP: reload the config file (a bad one is refused and the old one kept)."""
    daemon.reload_requested = False
    daemon.wake.clear()
    daemon.notifier.reloading()
    log.info("reload requested (SIGHUP)")
    # Through the one dispatcher, so the history records it like any command (source signal).
    dispatcher = daemon.dispatcher or Dispatcher(core)
    result = dispatcher.dispatch("reload", {}, Origin("signal", OPERATOR))
    if not result["ok"]:
        log.error("config reload refused; keeping the running config: %s", result["error"])
    core.rescan_library()
    daemon.notifier.ready(status_text(core))


def apply_reload(daemon: Daemon, core: Core, seen: tuple[Any, ...]) -> tuple[Any, ...]:
    """Reopen camera, rebuild the pipeline, reconnect MQTT when their sections changed."""
    cfg = core.loaded.config
    now = (cfg.camera, cfg.vision, cfg.mqtt)
    daemon.loaded = core.loaded
    if now[0] != seen[0]:
        log.info("camera config changed; reopening")
        daemon.camera.reopen_now()
    if now[1] != seen[1]:
        try:
            from kiosk.vision.pipeline import Pipeline

            daemon.pipeline = Pipeline.from_config(core.loaded)
            log.info("vision models reloaded")
        except Exception as exc:
            log.error("new vision config failed; keeping the old models: %s", exc)
    if now[2] != seen[2]:
        log.info("mqtt config changed; reconnecting")
        daemon.front_ends.restart_mqtt(core)
    return now
