"""Each play's mood estimate and order mode in the history: recorded, migrated into an old
file without losing its rows, and compared in the report's effect table."""

from __future__ import annotations

import sqlite3

from history_helpers import T0, query, recorder, sample

from kiosk.core.events import Event, EventBus
from kiosk.history import store
from kiosk.history.summary import report

OLD_PLAYS = (
    "CREATE TABLE plays (id INTEGER PRIMARY KEY, start REAL NOT NULL, end REAL, path TEXT "
    "NOT NULL, title TEXT, artist TEXT, playlist TEXT, skipped INTEGER NOT NULL DEFAULT 0, "
    "failed INTEGER NOT NULL DEFAULT 0)"
)


def track(ts: float, path: str, order: str, valence=0.5, arousal=-0.5) -> Event:
    data = {"playlist": "calm", "path": path, "title": None, "artist": None}
    return Event("track", data | {"valence": valence, "arousal": arousal, "order": order}, ts)


def test_plays_keep_estimate_and_order(tmp_path) -> None:
    rec = recorder(tmp_path)
    bus = EventBus()
    rec.attach(bus)
    bus.emit(track(T0, "/m/a.wav", "trajectory"))
    bus.emit(track(T0 + 60, "/m/b.wav", "shuffle", valence=None, arousal="x"))
    rec.close()
    rows = query(tmp_path / "history.sqlite3",
                 "SELECT path, valence, arousal, order_mode FROM plays ORDER BY start")  # fmt: skip
    assert rows == [("/m/a.wav", 0.5, -0.5, "trajectory"), ("/m/b.wav", None, None, "shuffle")]


def test_version_1_file_is_migrated_additively(tmp_path) -> None:
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.execute(OLD_PLAYS)
    db.execute("INSERT INTO plays (start, path, playlist) VALUES (?, '/m/old.mp3', 'happy')", (T0,))
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('schema', '1')")
    db.commit()
    db.close()
    store.connect(path).close()
    store.connect(path).close()  # twice: the migration is idempotent
    assert query(path, "SELECT path, valence, order_mode FROM plays") == [
        ("/m/old.mp3", None, None)
    ]
    # 3: the commands table gained role and user
    assert query(path, "SELECT value FROM meta WHERE key = 'schema'") == [("3",)]


def test_report_compares_trajectory_with_shuffle(tmp_path) -> None:
    rec = recorder(tmp_path)
    bus = EventBus()
    rec.attach(bus)
    # Each track start: 3 sad minutes before; after a trajectory track the crowd smiles,
    # after a shuffled one it stays sad.
    t = T0
    for i in range(4):
        for m in range(3):
            bus.emit(sample(t + 60 * m, mood="sad"))
        start = t + 180 + 30
        mode = "trajectory" if i % 2 == 0 else "shuffle"
        bus.emit(track(start, f"/m/{i}.wav", mode))
        for m in range(4, 7):
            bus.emit(sample(t + 60 * m, mood="happy" if mode == "trajectory" else "sad"))
        t += 600
    rec.close()
    s = report(tmp_path / "history.sqlite3", T0 - 600, T0 + 3600, effect_minutes=3)
    by = {o["order"]: o for o in s["effect_by_order"]["orders"]}
    assert by["trajectory"]["count"] == 2 and by["shuffle"]["count"] == 2
    assert by["trajectory"]["mean_change"] == 2.0 and by["shuffle"]["mean_change"] == 0.0
    assert s["effect_by_order"]["trajectory_minus_shuffle"] == 2.0
    assert {p["order"] for p in s["plays"]} == {"trajectory", "shuffle"}
