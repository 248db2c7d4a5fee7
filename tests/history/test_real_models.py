"""End to end through the real thing: ``kiosk run --simulate --start`` with the real TFLite
models on the real astronaut photo (a happy face), then ``kiosk report`` as a user runs it,
in a time zone that is not UTC."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import cv2

from kiosk.camera.compose import background

MODELS = Path(__file__).resolve().parents[2] / "models"
SCRIPT = ["empty"] * 15 + ["face"] * 45 + ["empty"] * 30  # 2 s each: 90 s of a happy face


def test_real_models_day_into_report(tmp_path, astronaut):
    frames = tmp_path / "frames"
    frames.mkdir()
    blank = background(640, 480, seed=3)
    for i, kind in enumerate(SCRIPT):
        cv2.imwrite(str(frames / f"{i:03d}.png"), astronaut if kind == "face" else blank)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "camera:\n  backend: folder\n  source: frames\n  interval_s: 2\n"
        "mood:\n  window_s: 10\npolicy:\n  min_dwell_s: 8\n"
        f"service:\n  state_dir: {tmp_path / 'state'}\n"
        f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
        f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
    )
    env = {**os.environ, "TZ": "Europe/Berlin"}
    kiosk = [sys.executable, "-m", "kiosk"]
    run = subprocess.run(
        [*kiosk, "run", "--simulate", "--start", "2026-11-20T09:00", "--config", str(cfg)],
        capture_output=True, text=True, timeout=180, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    printed = [json.loads(x) for x in run.stdout.splitlines()]
    switches = [r for r in printed if r["event"] == "switch"]
    assert [(r["to"], r["reason"]) for r in switches] == [
        ("background", "startup"), ("happy", "mood"), ("background", "no_audience"),
    ]  # fmt: skip
    rep = subprocess.run(
        [*kiosk, "report", "--config", str(cfg), "--date", "2026-11-20", "--json"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    assert rep.returncode == 0, rep.stderr
    r = json.loads(rep.stdout)
    assert r["from"] == "2026-11-20T00:00:00+01:00"  # local midnight in Berlin
    assert r["samples"] == len(SCRIPT)
    truth_happy = SCRIPT.count("face") * 2 / 60
    assert abs(r["mood_minutes"]["happy"] - truth_happy) <= 1.0
    assert r["mood_minutes"]["happy"] >= 0.9 * truth_happy  # it is really seen as happy
    assert r["faces"]["max"] == 1
    start = datetime.fromisoformat("2026-11-20T09:00:00+01:00")
    assert [(s["t"], s["to"], s["reason"]) for s in r["switches"]] == [
        ((start + timedelta(seconds=round(s["t"]))).isoformat(), s["to"], s["reason"])
        for s in switches
    ]
    assert [h["hour"] for h in r["hourly"]] == ["2026-11-20T09:00:00+01:00"]
    assert r["plays"] == []  # no music folder in this simulation: nothing played


def test_live_daemon_records_and_commits_on_stop(tmp_path, astronaut):
    """``kiosk run`` on the real clock (no simulation) writes the history it is asked for."""
    frames = tmp_path / "frames"
    frames.mkdir()
    cv2.imwrite(str(frames / "000.png"), astronaut)
    from kiosk.library.demo import ensure_demo_library

    ensure_demo_library(tmp_path / "music", ["background", "happy"])
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "camera:\n  backend: folder\n  source: frames\n  loop: true\n  interval_s: 0.25\n"
        'player:\n  backend: "null"\nmusic:\n  root: music\n'
        f"service:\n  state_dir: {tmp_path / 'state'}\n"
        f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
        f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
    )
    kiosk = [sys.executable, "-m", "kiosk"]
    run = subprocess.run(
        [*kiosk, "run", "--config", str(cfg), "--duration", "4"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    rep = subprocess.run(
        [*kiosk, "report", "--config", str(cfg), "--json"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert rep.returncode == 0, rep.stderr
    r = json.loads(rep.stdout)
    assert 8 <= r["samples"] <= 17  # 4 s at 4 samples a second
    assert r["faces"]["max"] == 1 and r["mood_minutes"]["happy"] > 0
    assert r["switches"][0]["reason"] == "startup"
    assert r["plays"] and r["plays"][-1]["playlist"] == "happy"
