"""Hostile-review findings for the history: hostile report dates, a history file that is
damaged, locked, read-only, full or from a newer kiosk, and DST days in the report."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest
from history_helpers import T0, recorder, sample
from test_report_command import kiosk

from kiosk.core.dispatch import Dispatcher
from kiosk.history import store
from kiosk.history.summary import RangeError, day_range, span_range, summarize


def run_report(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "report", "--config", str(cfg), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_the_first_and_last_days_python_knows_are_range_errors(day):
    with pytest.raises(RangeError, match="out of range"):
        day_range(day)
    with pytest.raises(RangeError):
        span_range("0001-01-01", day)


def test_hostile_report_payloads_get_error_replies(tmp_path):
    core, rec = kiosk(tmp_path)
    disp = Dispatcher(core)
    try:
        for payload in ({"date": "9999-12-31"}, {"date": "0001-01-01"}):
            r = disp.dispatch("report", payload)
            assert not r["ok"] and "out of range" in r["error"], r
        for raw in (b'{"date": "\xff\xfe"}', b'{"date": "\\ud800"}', b'{"date": ["x"]}'):
            assert not disp.dispatch("report", raw)["ok"]
        assert disp.dispatch("report", {"date": "2026-11-20"})["report"]["samples"] == 90
    finally:
        rec.close()


def test_report_cli_out_of_range_date_is_bad_usage(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"service:\n  state_dir: {tmp_path}\n")
    store.connect(tmp_path / "history.sqlite3").close()
    proc = run_report(cfg, "--date", "9999-12-31")
    assert proc.returncode == 2 and "out of range" in proc.stderr, proc.stderr
    proc = run_report(cfg, "--date", "2026-11-20")
    assert proc.returncode == 0 and "nothing recorded" in proc.stdout, proc.stdout


def test_damaged_history_is_an_error_reply_and_a_clear_exit(tmp_path):
    core, rec = kiosk(tmp_path)
    rec.close()
    path = tmp_path / "history.sqlite3"
    data = path.read_bytes()
    path.write_bytes(data[:100] + b"\0" * 4000 + data[4100:])
    for suffix in ("-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    r = Dispatcher(core).dispatch("report", {"date": "2026-11-20"})
    assert not r["ok"] and "cannot read the history" in r["error"], r


def test_a_locked_history_is_never_moved_aside(tmp_path, monkeypatch):
    path = tmp_path / "history.sqlite3"
    store.connect(path).close()
    real = store.connect

    def locked(p, readonly=False):
        raise sqlite3.OperationalError("database is locked")

    monkeypatch.setattr(store, "connect", locked)
    with pytest.raises(sqlite3.OperationalError):
        store.open_for_writing(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]
    monkeypatch.setattr(store, "connect", real)
    store.open_for_writing(path).close()


def test_a_history_from_a_newer_kiosk_is_left_untouched(tmp_path):
    path = tmp_path / "history.sqlite3"
    db = store.connect(path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(store.SCHEMA_VERSION + 1),))
    db.close()
    before = path.read_bytes()
    rec = recorder(tmp_path)
    rec.on_event(sample(T0))
    rec.close()
    assert rec.counters["commits"] == 0 and rec.counters["errors"] >= 1
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.sqlite3"]
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"service:\n  state_dir: {tmp_path}\n")
    proc = run_report(cfg, "--date", "2026-11-26")
    assert proc.returncode == 1 and "newer kiosk" in proc.stderr, proc.stderr


@pytest.fixture
def small_fs(tmpfs):
    return tmpfs("1m")


def test_a_read_only_file_system_keeps_the_history(small_fs, tmp_path):
    rec = recorder(small_fs)
    rec.on_event(sample(T0))
    rec.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_fs)], check=True)
    rec = recorder(small_fs)
    rec.on_event(sample(T0 + 60))
    rec.close()
    subprocess.run(["mount", "-o", "remount,rw", str(small_fs)], check=True)
    assert not [p for p in small_fs.iterdir() if "corrupt" in p.name]
    rec = recorder(small_fs)
    rec.on_event(sample(T0 + 120))
    rec.close()
    db = sqlite3.connect(small_fs / "history.sqlite3")
    assert [r[0] for r in db.execute("SELECT t FROM minutes ORDER BY t")] == [T0, T0 + 120]
    db.close()


def test_a_full_disk_says_so_and_writes_once_there_is_room(small_fs, caplog):
    rec = recorder(small_fs, commit_s=1)
    rec.on_event(sample(T0))
    assert rec.flush()
    fill = small_fs / "fill"
    fd = os.open(fill, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"x" * 65536)
    except OSError:
        pass
    finally:
        os.close(fd)
    for i in range(3000):
        rec.on_event(sample(T0 + 60 + 2 * i))
    rec.flush()
    assert rec.counters["errors"] >= 1
    assert "cannot rollback" not in caplog.text and "full" in caplog.text
    fill.unlink()
    deadline = time.monotonic() + 10
    while rec.counters["samples"] < 3001 and time.monotonic() < deadline:
        rec.flush(1.0)
    rec.close()
    assert rec.counters["samples"] == 3001


def test_dst_fall_back_day_has_25_hours_in_time_order(monkeypatch):
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    try:
        start, end = day_range("2026-10-25")
        assert end - start == 25 * 3600
        minutes = [
            {"t": start + h * 3600, "samples": 1, "seconds": 2.0, "audience_s": 2.0,
             "faces_sum": 1, "faces_max": 1, **dict.fromkeys(store.LABELS, 0), "happy": 1}
            for h in range(25)
        ]  # fmt: skip
        data = {"minutes": minutes, **{k: [] for k in ("switches", "plays", "commands")}}
        s = summarize({**data, "faults": [], "decisions": []}, start, end, 10)
        hours = [datetime.fromisoformat(h["hour"]).timestamp() for h in s["hourly"]]
        assert len(hours) == 25 and hours == sorted(hours)
        from kiosk.history import charts

        summer = datetime(2026, 7, 1, 12, 0).astimezone().timestamp()
        import matplotlib.dates as mdates

        label = mdates.DateFormatter("%H:%M", tz=charts._tz())(mdates.date2num(charts._dt(summer)))
        assert label == "12:00"  # not 11:00 (today's winter offset)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_no_box_crop_or_identity_reaches_the_history(tmp_path):
    _core, rec = kiosk(tmp_path)
    rec.close()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    cols = {
        c[1].lower()
        for (t,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for c in db.execute(f"PRAGMA table_info({t})")
    }
    dump = "\n".join(db.iterdump()).lower()
    db.close()
    for word in ("box", "crop", "frame", "identity", "embedding", "face_id", "score", "bbox"):
        assert not any(word in c for c in cols), word
    assert "100.0, 100.0, 80.0" not in dump and "0.95" not in dump  # Face.box / Face.score


def test_a_day_flooded_with_commands_is_read_in_bounded_rows(tmp_path, monkeypatch):
    from kiosk.history import attach as history
    from kiosk.history.summary import report

    core, rec = kiosk(tmp_path)
    rec.close()
    path = tmp_path / "history.sqlite3"
    t0 = day_range("2026-11-20")[0]
    db = store.connect(path)
    db.executemany(
        "INSERT INTO commands (t, source, command, args, ok, error) VALUES (?, ?, ?, ?, 0, ?)",
        [
            (t0 + 30000 + i, "mqtt", "volume", '{"x": "' + "y" * 900 + '"}', "bad")
            for i in range(3000)
        ],
    )
    db.close()
    body = report(path, t0, t0 + 86400, 10, plays=True, max_rows=100)
    assert len(body["commands"]) == 100 and "commands" in body["truncated"]
    assert body["plays_count"] == len(report(path, t0, t0 + 86400, 10)["plays"])
    seen = []
    real = store.read_range
    monkeypatch.setattr(store, "read_range", lambda *a: seen.append(a[-1]) or real(*a))
    r = Dispatcher(core).dispatch("report", {"date": "2026-11-20", "plays": True})
    assert r["ok"] and "commands" in r["report"]["truncated"]
    assert seen == [history.MQTT_MAX_ROWS] and history.MQTT_MAX_ROWS <= 5000


def test_a_clock_stepping_back_never_gives_a_negative_play(tmp_path):
    from kiosk.core.events import Event

    rec = recorder(tmp_path)
    track = {"path": "a.mp3", "title": "a", "artist": None, "playlist": "happy"}
    rec.on_event(Event("track", track, T0 + 600))
    rec.on_event(sample(T0 + 602))
    rec.on_event(Event("track", {**track, "path": "b.mp3"}, T0))  # NTP stepped back 10 min
    rec.on_event(sample(T0 + 2))
    rec.close()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    plays = db.execute("SELECT path, start, end FROM plays ORDER BY id").fetchall()
    db.close()
    assert [p[0] for p in plays] == ["a.mp3", "b.mp3"]
    assert all(end is not None and end >= start for _path, start, end in plays), plays


def test_a_camera_password_in_a_fault_never_reaches_the_history(tmp_path):
    from kiosk.core.events import Event

    rec = recorder(tmp_path)
    message = "cannot open camera 'rtsp://admin:s3cret@10.0.0.5:554/stream1'"
    rec.on_event(Event("fault", {"component": "camera", "message": message, "ok": False}, T0))
    rec.close()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    (stored,) = db.execute("SELECT message FROM faults").fetchone()
    db.close()
    assert "s3cret" not in stored and "admin" not in stored
    assert stored == "cannot open camera 'rtsp://***@10.0.0.5:554/stream1'"


def test_a_fifo_or_device_in_place_of_the_history_never_hangs(tmp_path):
    import threading

    from kiosk.history.summary import report

    def refused(path: Path) -> str:
        out: list[str] = []

        def read() -> None:
            try:
                report(path, T0, T0 + 86400, 10)
                out.append("read")
            except store.HistoryError as exc:
                out.append(str(exc))

        t = threading.Thread(target=read, daemon=True)  # an open() of a FIFO blocks for ever
        t.start()
        t.join(5)
        assert out, "the report hung"
        return out[0]

    path = tmp_path / "history.sqlite3"
    os.mkfifo(path)
    assert "not a plain file" in refused(path)
    rec = recorder(tmp_path)
    rec.on_event(sample(T0))
    rec.close(timeout=5)
    assert rec.counters["errors"] >= 1 and rec.counters["commits"] == 0
    os.close(os.open(path, os.O_RDONLY | os.O_NONBLOCK))  # frees a reader stuck before the fix
    path.unlink()
    path.symlink_to("/dev/zero")
    assert "not a plain file" in refused(path)


def test_csv_cells_from_stick_tags_are_never_formulas(tmp_path):
    import csv

    from kiosk.commands.report import write_csv

    raw = [{"start": T0, "end": T0 + 60}]
    play = {"start": "a", "end": "b", "title": '=HYPERLINK("http://x","y")', "artist": "@SUM(1)",
            "path": "-1+2.mp3", "playlist": "+calm", "skipped": False, "failed": False}  # fmt: skip
    write_csv(tmp_path / "plays.csv", [play], raw)
    with open(tmp_path / "plays.csv", newline="", encoding="utf-8") as fh:
        row = list(csv.reader(fh))[1]
    assert row[3:7] == ['\'=HYPERLINK("http://x","y")', "'@SUM(1)", "'-1+2.mp3", "'+calm"]


def test_a_garbled_command_row_does_not_break_the_report(tmp_path):
    from kiosk.history.summary import report

    path = tmp_path / "history.sqlite3"
    db = store.connect(path)
    db.execute(
        "INSERT INTO commands (t, source, command, args, ok) VALUES (?, 'mqtt', 'x', ?, 1)",
        (T0, '{"mood": "cut sho'),
    )
    db.close()
    body = report(path, T0 - 60, T0 + 60, 10)
    assert body["commands"][0]["args"] == {"unreadable": '{"mood": "cut sho'}


def test_rows_of_the_wrong_type_are_exit_1_not_a_traceback(tmp_path):
    path = tmp_path / "history.sqlite3"
    db = store.connect(path)
    labels = ", ".join(store.LABELS)
    zeros = ", ".join("0" * len(store.LABELS))
    db.execute(
        f"INSERT INTO minutes (t, samples, seconds, audience_s, faces_sum, faces_max, {labels}) "
        f"VALUES (?, 'many', 2.0, 2.0, 1, 1, {zeros})",
        (int(day_range("2026-11-20")[0]) + 600,),
    )
    db.close()
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"service:\n  state_dir: {tmp_path}\n")
    proc = run_report(cfg, "--date", "2026-11-20")
    assert proc.returncode == 1 and "cannot read" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_command_flood_cannot_push_the_mood_out_of_the_size_cap(tmp_path):
    from kiosk.core.events import Event
    from kiosk.history.recorder import MAX_COMMANDS_PER_MIN

    rec = recorder(tmp_path)
    rec.on_event(sample(T0))
    for i in range(5000):  # one MQTT client sending as fast as it can for a minute
        cmd = {"command": "volume", "source": "mqtt", "ok": True, "args": {"level": i % 100}}
        rec.on_event(Event("command", cmd, T0 + i / 100.0))
    rec.on_event(Event("command", {"command": "pause", "source": "mqtt", "ok": True}, T0 + 61))
    rec.close()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    per_minute = db.execute(
        "SELECT CAST(t / 60 AS INTEGER), COUNT(*) FROM commands GROUP BY 1 ORDER BY 1"
    ).fetchall()
    db.close()
    assert all(n <= MAX_COMMANDS_PER_MIN for _m, n in per_minute), per_minute
    assert per_minute[-1][1] >= 1  # the next minute records again
    assert rec.counters["dropped"] >= 5000 - 2 * MAX_COMMANDS_PER_MIN
