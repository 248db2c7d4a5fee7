"""Hang the history recorder off a running core (see ``attach``)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Rows per list an MQTT report reads: a day flooded with commands stays a few MB in memory
# (the reply is cut to history.report_max_bytes anyway).
MQTT_MAX_ROWS = 2000


def attach(core: Any, loaded: Any, state_dir: Path) -> Any | None:
    """Start recording ``core``'s events; returns the recorder (close it) or None when off."""
    from kiosk.history.recorder import Recorder, history_path
    from kiosk.history.summary import day_range, fit, report
    from kiosk.service.logs import fields

    cfg = loaded.config
    if not cfg.history.enabled:
        return None
    path = history_path(cfg.history, state_dir, loaded.resolve)
    rec = Recorder(path, cfg.history, cfg.camera.interval_s, cfg.mood.min_faces)
    rec.attach(core.events)
    rec.start()

    def reporter(day: str | None, plays: bool) -> dict[str, Any]:
        rec.flush(2.0)
        start, end = day_range(day, core.clock.local())
        hcfg = core.loaded.config.history
        body = report(path, start, end, hcfg.effect_minutes, plays, MQTT_MAX_ROWS)
        return fit(body, hcfg.report_max_bytes)

    core.attach_reporter(reporter)
    log.info("history on", extra=fields(path=str(path)))
    return rec
