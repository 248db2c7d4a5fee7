"""Today's mood in 5-minute steps, for the staff page's small chart.

Read-only and aggregate: per step the dominant mood among the faces counted and its share.
Steps with nobody in view have ``mood: None``. The page calls this through
``kiosk.web.server.history_today``; a kiosk without a history file answers None.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from kiosk.history.recorder import history_path
from kiosk.history.store import LABELS, connect, rows
from kiosk.history.summary import day_range
from kiosk.paths import state_dir

log = logging.getLogger(__name__)

STEP_S = 300


def today_points(path: Path, now: datetime | None = None) -> dict[str, Any] | None:
    """``{"points": [{"t", "mood", "confidence"}, ...]}`` for the local day of ``now``."""
    if not path.is_file():
        return None
    start, end = day_range(None, now)
    try:
        db = connect(path, readonly=True)
        try:
            minutes = rows(
                db, "SELECT * FROM minutes WHERE t >= ? AND t < ? ORDER BY t", (start, end)
            )
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.warning("history %s unreadable for the staff page: %s", path, exc)
        return None
    steps: dict[int, dict[str, float]] = {}
    for m in minutes:
        step = steps.setdefault(int(m["t"]) // STEP_S * STEP_S, dict.fromkeys(LABELS, 0.0))
        for label in LABELS:
            step[label] += m[label] or 0
    points = []
    for t, counts in sorted(steps.items()):
        total = sum(counts.values())
        if total <= 0:
            points.append({"t": t, "mood": None, "confidence": 0.0})
            continue
        mood = max(LABELS, key=lambda label: counts[label])
        points.append({"t": t, "mood": mood, "confidence": round(counts[mood] / total, 3)})
    return {"points": points}


def web_today(loaded: Any) -> dict[str, Any] | None:
    """Today's points from the configured history (None when it is off or not there)."""
    cfg = loaded.config.history
    if not cfg.enabled:
        return None
    return today_points(history_path(cfg, state_dir(loaded), loaded.resolve))
