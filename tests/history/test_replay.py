"""A recorded day replayed with ``--simulate --start``, then ``kiosk report`` on it.

180 frames at 2 s: 15 of an empty shop, 60 happy, 60 sad, 45 empty again. The folder
camera, the history and the report CLI are real; the detector + classifier are a colour-coded fake
here because no sad face ships with the project (test_real_models.py runs the real models
on the real astronaut photo).
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
from history_helpers import COLOUR_MOOD, ColourPipeline

from kiosk.config import load_config
from kiosk.history.summary import local_iso
from kiosk.service.app import Daemon
from kiosk.service.clock import SimClock
from kiosk.service.parts import build_player

START = datetime(2026, 11, 20, 9, 0)
PHASES = [("empty", 15), ("happy", 60), ("sad", 60), ("empty", 45)]


def make_day(tmp: Path, extra: str = "") -> Path:
    frames = tmp / "frames"
    frames.mkdir()
    colour = {mood: c for c, mood in COLOUR_MOOD.items()}
    i = 0
    for mood, n in PHASES:
        img = np.zeros((120, 160, 3), np.uint8)
        if mood != "empty":
            img[:] = colour[mood]
        for _ in range(n):
            cv2.imwrite(str(frames / f"{i:03d}.png"), img)
            i += 1
    from kiosk.library.demo import ensure_demo_library

    music = tmp / "music"
    ensure_demo_library(music, load_config(None).config.policy.playlist_names())
    for wav in list(music.glob("*/*.wav")):  # two tracks per playlist: several plays
        shutil.copy(wav, wav.with_name(wav.stem + " 2.wav"))
    cfg = tmp / "config.yaml"
    cfg.write_text(
        "camera:\n  backend: folder\n  source: frames\n  interval_s: 2\n"
        "mood:\n  window_s: 10\npolicy:\n  min_dwell_s: 8\n"
        f"music:\n  root: music\nservice:\n  state_dir: {tmp / 'state'}\n" + extra
    )
    return cfg


def replay(cfg: Path) -> tuple[list[dict], list[dict]]:
    """Run the simulation in-process; (printed lines, the core's track events)."""
    tracks: list[dict] = []

    def player(loaded, backend, core):
        core.events.subscribe(lambda e: tracks.append({**e.data, "ts": e.ts}), {"track"})
        return build_player(loaded, backend, core)

    out = io.StringIO()
    daemon = Daemon(
        load_config(cfg),
        simulate=True,
        out=out,
        clock=SimClock(start_wall=START.astimezone().timestamp()),
        make_player=player,
        make_pipeline=lambda loaded: ColourPipeline(),
    )
    assert daemon.run() == 0
    return [json.loads(line) for line in out.getvalue().splitlines()], tracks


def report(cfg: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "report", "--config", str(cfg), *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_replayed_day_reports_what_happened(tmp_path):
    cfg = make_day(tmp_path)
    lines, tracks = replay(cfg)
    printed = [r for r in lines if r["event"] == "switch"]
    assert [(r["from"], r["to"], r["reason"]) for r in printed] == [
        (None, "background", "startup"),
        ("background", "happy", "mood"),
        ("happy", "mellow", "mood"),
        ("mellow", "background", "no_audience"),
    ]
    proc = report(cfg, "--date", "2026-11-20", "--json")
    assert proc.returncode == 0, proc.stderr
    rep = json.loads(proc.stdout)
    assert rep["from"] == local_iso(datetime(2026, 11, 20).astimezone().timestamp())
    assert rep["samples"] == sum(n for _, n in PHASES) == 180
    assert abs(rep["mood_minutes"]["happy"] - 2.0) <= 1.0
    assert abs(rep["mood_minutes"]["sad"] - 2.0) <= 1.0
    assert rep["mood_minutes"]["happy"] == 2.0 and rep["mood_minutes"]["sad"] == 2.0
    assert rep["audience_minutes"] == 4.0
    assert rep["faces"] == {"mean": round(120 / 180, 3), "max": 1}
    t0 = START.astimezone().timestamp()
    assert rep["switches"] == [
        {"t": local_iso(t0 + r["t"]), "from": r["from"], "to": r["to"], "reason": r["reason"]}
        for r in printed
    ]
    assert len(tracks) > 10
    assert [(p["start"], p["path"], p["playlist"]) for p in rep["plays"]] == [
        (local_iso(t["ts"]), t["path"], t["playlist"]) for t in tracks
    ]
    assert all(p["end"] and p["end"] >= p["start"] for p in rep["plays"])
    assert {p["title"] for p in rep["plays"]} >= {"Happy tune", "Mellow tune"}
    assert [h["hour"][11:16] for h in rep["hourly"]] == ["09:00"]
    assert rep["hourly"][0]["samples"] == 180
    # the effect table: the switch to mellow came with the sad phase (observational)
    (mellow,) = [e for e in rep["effect"] if e["playlist"] == "mellow"]
    assert mellow["count"] == 1 and mellow["mean_change"] < -1.5

    # the CSV play log for a music-licence return
    csv_path = tmp_path / "plays.csv"
    proc = report(cfg, "--date", "2026-11-20", "--csv", str(csv_path))
    assert proc.returncode == 0, proc.stderr
    rows = csv_path.read_text().splitlines()
    assert rows[0].split(",")[:5] == ["start", "end", "duration_s", "title", "artist"]
    assert len(rows) == 1 + len(tracks)

    # another day is empty, not an error; a bad date is a usage error
    empty = json.loads(report(cfg, "--date", "2026-11-21", "--json").stdout)
    assert empty["samples"] == 0 and empty["plays"] == [] and empty["switches"] == []
    assert report(cfg, "--date", "2026-13-01").returncode == 2
    assert report(cfg, "--from", "2026-11-20T09:00").returncode == 2
    span = json.loads(report(cfg, "--from", "2026-11-20T09:02", "--to", "2026-11-20T09:04",
                             "--json").stdout)  # fmt: skip
    assert span["samples"] == 60 and span["mood_minutes"]["sad"] == 1.5


def test_report_without_history_says_so(tmp_path):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(f"service:\n  state_dir: {tmp_path}\n")
    proc = report(cfg, "--json")
    assert proc.returncode == 1 and "no history" in proc.stderr
    cfg.write_text(f"service:\n  state_dir: {tmp_path}\nhistory:\n  enabled: false\n")
    assert report(cfg, "--out", "x.pdf").returncode == 2


def test_history_off_writes_nothing(tmp_path):
    cfg = make_day(tmp_path, "history:\n  enabled: false\n")
    replay(cfg)
    assert not (tmp_path / "state" / "history.sqlite3").exists()


def test_simulate_without_start_records_nothing(tmp_path):
    cfg = make_day(tmp_path)
    daemon = Daemon(
        load_config(cfg),
        simulate=True,
        out=io.StringIO(),
        make_pipeline=lambda loaded: ColourPipeline(),
    )
    assert daemon.run() == 0
    assert not (tmp_path / "state" / "history.sqlite3").exists()
