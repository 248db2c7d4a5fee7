"""The recorder on its own: events in, aggregate rows out, bounded, never dies."""

from __future__ import annotations

import json
import sqlite3

from history_helpers import T0, query, recorder, sample, wait_for

from kiosk.core.events import Event, EventBus
from kiosk.history import store


def test_samples_fold_into_minutes_and_events_into_rows(tmp_path):
    rec = recorder(tmp_path)
    bus = EventBus()
    rec.attach(bus)
    for i in range(30):  # one minute at 2 s: 20 happy samples with 2 faces, 10 empty
        bus.emit(sample(T0 + 2 * i, faces=2 if i < 20 else 0))
    bus.emit(sample(T0 + 60, faces=1, mood="sad"))
    bus.emit(Event("playlist", {"from": None, "to": "happy", "reason": "startup"}, T0 + 1))
    bus.emit(Event("track", {"playlist": "happy", "path": "/m/a.mp3", "title": "A",
                             "artist": "X"}, T0 + 1))  # fmt: skip
    bus.emit(Event("command", {"command": "next", "source": "mqtt", "ok": True,
                               "args": {}, "error": None}, T0 + 5))  # fmt: skip
    bus.emit(Event("track", {"playlist": "happy", "path": "/m/b.mp3", "title": "B",
                             "artist": None}, T0 + 6))  # fmt: skip
    bus.emit(Event("fault", {"component": "player", "message": "gone", "ok": False}, T0 + 7))
    bus.emit(Event("playlist", {"from": "happy", "to": None, "reason": "closed"}, T0 + 9))
    bus.emit(Event("fault", {"component": "camera", "message": "unplugged", "ok": False}, T0 + 9))
    bus.emit(Event("state", {"volume": 3}, T0 + 9))  # not a kind the history keeps
    rec.close()
    path = tmp_path / "history.sqlite3"
    minutes = query(path, "SELECT t, samples, seconds, audience_s, faces_sum, faces_max, "
                          "happy, sad FROM minutes ORDER BY t")  # fmt: skip
    assert minutes == [(T0, 30, 60.0, 40.0, 40, 2, 40, 0), (T0 + 60, 1, 2.0, 2.0, 1, 1, 0, 1)]
    assert query(path, "SELECT src, dst, reason FROM switches ORDER BY t") == [
        (None, "happy", "startup"), ("happy", None, "closed"),
    ]  # fmt: skip
    assert query(path, "SELECT path, start, end, skipped, failed FROM plays ORDER BY start") == [
        ("/m/a.mp3", T0 + 1, T0 + 6, 1, 0),  # skipped by the next command
        ("/m/b.mp3", T0 + 6, T0 + 9, 0, 1),  # the player failed on it; ended by "closed"
    ]
    assert query(path, "SELECT command, source, ok FROM commands") == [("next", "mqtt", 1)]
    assert query(path, "SELECT component, message, ok FROM faults ORDER BY t") == [
        ("player", "gone", 0), ("camera", "unplugged", 0),
    ]  # fmt: skip
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # aggregates only: no column could hold a frame, a box or an identity
    for table in store.TIME_COLUMNS:
        for col in db.execute(f"PRAGMA table_info({table})").fetchall():
            assert col[2] in ("INTEGER", "REAL", "TEXT"), (table, col)
            assert not any(w in col[1] for w in ("box", "image", "frame", "crop", "face_id"))
    db.close()


def test_a_restart_within_a_minute_adds_to_its_row(tmp_path):
    for start in (0, 10):
        rec = recorder(tmp_path)
        for i in range(5):
            rec.on_event(sample(T0 + start + i))
        rec.close()
    assert query(tmp_path / "history.sqlite3", "SELECT samples, faces_sum FROM minutes") == [
        (10, 10)
    ]


def test_commits_while_running_not_only_at_close(tmp_path):
    commits = []
    rec = recorder(tmp_path, commit_s=1)
    rec.on_commit = commits.append
    rec.on_event(sample(T0))
    wait_for(lambda: commits and commits[-1]["samples"] == 1, timeout=5)
    assert query(tmp_path / "history.sqlite3", "SELECT samples FROM minutes") == [(1,)]
    rec.close()


def test_retention_is_enforced_while_running(tmp_path):
    rec = recorder(tmp_path, retention_days=2)
    rec.wall = lambda: T0 + 4 * 86400  # the real now: the newest row
    for day in range(5):
        rec.on_event(sample(T0 + day * 86400))
        rec.on_event(
            Event("playlist", {"from": None, "to": "x", "reason": "mood"}, T0 + day * 86400)
        )
    assert rec.flush()
    assert rec._guard(rec._commit, True)  # the hourly sweep, now
    kept = query(tmp_path / "history.sqlite3", "SELECT t FROM minutes ORDER BY t")
    assert [t for (t,) in kept] == [T0 + 2 * 86400, T0 + 3 * 86400, T0 + 4 * 86400]
    assert len(query(tmp_path / "history.sqlite3", "SELECT * FROM switches")) == 3
    rec.close()


def test_size_cap_is_enforced_while_running(tmp_path):
    rec = recorder(tmp_path, max_mb=0.1)
    path = tmp_path / "history.sqlite3"
    for i in range(20_000):  # ~14 days of minutes, far more than 100 kB
        rec.on_event(Event("fault", {"component": "camera", "message": "x" * 40, "ok": False},
                           T0 + 60 * i))  # fmt: skip
        if i % 2000 == 0:
            rec.flush()
    assert rec.flush()
    db = sqlite3.connect(path)
    assert store.used_bytes(db) <= 0.1 * 1024 * 1024
    oldest, newest = db.execute("SELECT MIN(t), MAX(t) FROM faults").fetchone()
    db.close()
    assert newest == T0 + 60 * 19_999  # the newest rows stay, the oldest went
    assert oldest > T0
    assert path.stat().st_size < 0.5 * 1024 * 1024  # pages went back to the file system
    rec.close()


def test_the_writer_survives_bad_events_and_a_broken_file(tmp_path, caplog):
    rec = recorder(tmp_path)
    rec.on_event(Event("playlist", {"to": "x"}, T0))  # no reason: a bug upstream
    rec.on_event(Event("sample", {"faces": "many", "emotions": [1]}, T0))
    rec.on_event(Event("sample", {"faces": 1, "emotions": {"happy": 1}}, "not a time"))  # type: ignore[arg-type]
    assert rec.flush()
    assert rec.counters["errors"] >= 2
    # the file becomes unwritable: errors are counted, rows wait, the thread goes on
    real = rec._db
    rec._db = sqlite3.connect(":memory:")  # no tables: every insert fails
    rec.on_event(sample(T0 + 1))
    assert rec.flush()
    assert rec._thread.is_alive() and rec.counters["errors"] >= 3
    rec._db.close()
    rec._db = real
    rec.on_event(sample(T0 + 2))
    rec.close()
    rows = query(tmp_path / "history.sqlite3", "SELECT samples FROM minutes")
    assert rows == [(3,)]  # the malformed sample counted as 0 faces, then both good ones
    assert "history write failed" in caplog.text


def test_a_corrupt_file_is_moved_aside(tmp_path):
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not a database" * 100)
    rec = recorder(tmp_path)
    rec.on_event(sample(T0))
    rec.close()
    assert query(path, "SELECT samples FROM minutes") == [(1,)]
    assert list(tmp_path.glob("history.sqlite3.corrupt-*"))


def test_a_full_queue_drops_and_counts_instead_of_blocking(tmp_path, monkeypatch):
    from kiosk.history import recorder as mod

    monkeypatch.setattr(mod, "QUEUE_MAX", 3)
    rec = mod.Recorder(tmp_path / "h.sqlite3", mod.HistoryConfig(), 2.0)  # not started
    for i in range(5):
        rec.on_event(sample(T0 + i))
    assert rec.counters["dropped"] == 2
    json.dumps(rec.counters)


def test_the_daemon_side_never_loads_matplotlib():
    import subprocess
    import sys

    code = (
        "import sys, kiosk.service.app, kiosk.history, kiosk.history.recorder, "
        "kiosk.history.summary, kiosk.core.dispatch, kiosk.cli\n"
        "kiosk.cli.build_parser()\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib loaded'\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_an_unwritable_history_keeps_bounded_memory_and_the_kiosk_going(tmp_path, monkeypatch):
    from kiosk.history import recorder as mod

    monkeypatch.setattr(mod, "MAX_BUFFERED", 100)
    blocked = tmp_path / "file"
    blocked.write_text("a file where the state directory should be")
    rec = mod.Recorder(blocked / "history.sqlite3", mod.HistoryConfig(), 2.0)
    rec.start()
    for i in range(500):
        rec.on_event(Event("fault", {"component": "camera", "message": "x", "ok": False}, T0 + i))
    assert rec.flush()
    assert rec._thread.is_alive()
    assert len(rec._rows) <= 100 and rec.counters["dropped"] >= 400
    assert rec.counters["errors"] >= 1
    rec.close()


def test_a_simulated_future_day_never_trims_the_real_record(tmp_path):
    rec = recorder(tmp_path, retention_days=2)
    rec.wall = lambda: T0 + 60  # the real now: just after the real row
    rec.on_event(sample(T0))  # the real record
    rec.on_event(sample(T0 + 400 * 86400))  # a replay dated next year
    assert rec.flush()
    assert rec._guard(rec._commit, True)
    rows = query(tmp_path / "history.sqlite3", "SELECT t FROM minutes ORDER BY t")
    assert rows == [(T0,), (T0 + 400 * 86400,)]
    rec.close()


def test_a_file_name_that_is_not_utf8_cannot_stop_the_history(tmp_path):
    """A track copied with a Latin-1 name reaches Python as lone surrogates (``\\udcff``),
    which SQLite refuses to bind: that one play must not fail every later commit."""
    rec = recorder(tmp_path)
    bus = EventBus()
    rec.attach(bus)
    bad = "/m/caf\udce9/Band\udcff - Tune\ud800.mp3"  # undecodable bytes, and a lone escape
    bus.emit(Event("playlist", {"from": None, "to": "caf\udce9", "reason": "startup"}, T0))
    bus.emit(Event("track", {"playlist": "caf\udce9", "path": bad, "title": "Tune\ud800",
                             "artist": "Band\udcff"}, T0 + 1))  # fmt: skip
    bus.emit(Event("fault", {"component": "player", "message": f"cannot play {bad}",
                             "ok": False}, T0 + 2))  # fmt: skip
    bus.emit(Event("command", {"command": "next", "source": "web", "ok": False, "args": {},
                               "error": f"refused {bad}", "role": "staff",
                               "user": "staff"}, T0 + 3))  # fmt: skip
    assert rec.flush()
    bus.emit(sample(T0 + 4))
    rec.close()
    path = tmp_path / "history.sqlite3"
    assert rec.counters["errors"] == 0
    assert query(path, "SELECT samples FROM minutes") == [(1,)]
    (play,) = query(path, "SELECT path, title, artist, playlist FROM plays")
    assert play == ("/m/caf\ufffd/Band\ufffd - Tune\ufffd.mp3", "Tune\ufffd", "Band\ufffd",
                    "caf\ufffd")  # fmt: skip
    assert query(path, "SELECT dst FROM switches") == [("caf\ufffd",)]
    assert query(path, "SELECT count(*) FROM faults") == [(1,)]
    assert query(path, "SELECT error FROM commands") == [(f"refused {play[0]}",)]
