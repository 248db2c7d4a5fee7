"""The staff page's "today" chart reads 5-minute mood steps from the real history file."""

from __future__ import annotations

from datetime import datetime

from kiosk.history.store import connect
from kiosk.history.today import today_points


def _minute(db, t: int, **counts: int) -> None:
    cols = ["t", "samples", "seconds", "audience_s", "faces_sum", "faces_max", *counts]
    vals = [t, 30, 60.0, 60.0 if counts else 0.0, sum(counts.values()), 1, *counts.values()]
    db.execute(
        f"INSERT INTO minutes ({', '.join(cols)}) VALUES ({', '.join('?' * len(vals))})", vals
    )


def test_today_points_dominant_mood_per_five_minutes(tmp_path):
    now = datetime(2026, 11, 20, 12, 0).astimezone()
    t0 = int(datetime(2026, 11, 20, 9, 0).astimezone().timestamp())
    path = tmp_path / "history.sqlite3"
    db = connect(path)
    _minute(db, t0, happy=3, sad=1)
    _minute(db, t0 + 60, happy=3)  # same 5-minute step: happy 6 of 7
    _minute(db, t0 + 300, sad=2, neutral=1)
    _minute(db, t0 + 600)  # nobody in view
    _minute(db, t0 - 86400, angry=5)  # yesterday: not today's chart
    db.close()
    pts = today_points(path, now)["points"]
    assert pts == [
        {"t": t0, "mood": "happy", "confidence": round(6 / 7, 3)},
        {"t": t0 + 300, "mood": "sad", "confidence": round(2 / 3, 3)},
        {"t": t0 + 600, "mood": None, "confidence": 0.0},
    ]


def test_no_history_file_or_a_garbled_one_is_none(tmp_path):
    assert today_points(tmp_path / "missing.sqlite3") is None
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"not a database" * 100)
    assert today_points(bad) is None
