"""``kiosk run --simulate`` on a scripted folder of real frames with the real models."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import cv2
from fakes import FakePlayer

from kiosk.camera.compose import background
from kiosk.config import load_config
from kiosk.service.app import Daemon

MODELS = Path(__file__).resolve().parents[2] / "models"
VISION = (
    f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
    f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
)
# 4 empty frames, 8 with the astronaut (a happy face), 8 empty again.
SCRIPT = ["empty"] * 4 + ["face"] * 8 + ["empty"] * 8


def write_config(tmp: Path, astronaut, extra: str = "") -> Path:
    frames = tmp / "frames"
    frames.mkdir()
    blank = background(640, 480, seed=3)
    for i, kind in enumerate(SCRIPT):
        cv2.imwrite(str(frames / f"{i:03d}.png"), astronaut if kind == "face" else blank)
    cfg = tmp / "config.yaml"
    cfg.write_text(
        "camera:\n  backend: folder\n  source: frames\n  interval_s: 2\n"
        "mood:\n  window_s: 10\n"
        "policy:\n  min_dwell_s: 8\n  hysteresis: 0.1\n" + VISION + extra
    )
    return cfg


def expected_switches(lines: list[dict]) -> list[tuple]:
    return [(r["from"], r["to"], r["reason"]) for r in lines if r["event"] == "switch"]


def check(lines: list[dict]) -> None:
    moods = [r for r in lines if r["event"] == "mood"]
    assert len(moods) == len(SCRIPT)
    assert [r["t"] for r in moods] == [2.0 * i for i in range(len(SCRIPT))]
    assert all(r["mood"] is None and r["faces"] == 0 for r in moods[:4])
    assert any(r["mood"] == "happy" and r["confidence"] > 0.5 for r in moods[4:12])
    assert all(r["faces"] == 1 for r in moods[4:12])
    assert expected_switches(lines) == [
        (None, "background", "startup"),
        ("background", "happy", "mood"),
        ("happy", "background", "no_audience"),
    ]
    switch = [r for r in lines if r["event"] == "switch"]
    # happy as soon as the audience is established (fraction 0.3 of the window), back to
    # background once the faces have left the window and the dwell has passed
    assert 8.0 <= switch[1]["t"] <= 12.0
    assert switch[2]["t"] >= switch[1]["t"] + 8.0
    assert switch[2]["t"] <= 2.0 * 12 + 10.0


def test_simulate_in_process(tmp_path, astronaut):
    cfg = write_config(tmp_path, astronaut)
    out = io.StringIO()
    daemon = Daemon(
        load_config(cfg),
        simulate=True,
        out=out,
        make_player=lambda loaded, backend, core: FakePlayer(),
        make_library=lambda loaded, required: None,
    )
    assert daemon.run() == 0
    check([json.loads(line) for line in out.getvalue().splitlines()])


def test_simulate_cli(tmp_path, astronaut):
    cfg = write_config(tmp_path, astronaut)
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--simulate", "--config", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    check([json.loads(line) for line in proc.stdout.splitlines()])


def test_simulate_duration_stops_early(tmp_path, astronaut):
    cfg = write_config(tmp_path, astronaut)
    out = io.StringIO()
    daemon = Daemon(
        load_config(cfg),
        simulate=True,
        out=out,
        duration_s=7,
        make_player=lambda loaded, backend, core: FakePlayer(),
        make_library=lambda loaded, required: None,
    )
    assert daemon.run() == 0
    moods = [json.loads(x) for x in out.getvalue().splitlines() if '"mood"' in x]
    assert [m["t"] for m in moods] == [0.0, 2.0, 4.0, 6.0]


def test_simulate_missing_source_is_a_clear_error(tmp_path, capsys):
    cfg = tmp_path / "config.yaml"
    cfg.write_text("camera:\n  backend: folder\n  source: nowhere\n" + VISION)
    daemon = Daemon(
        load_config(cfg),
        simulate=True,
        out=io.StringIO(),
        make_player=lambda loaded, backend, core: FakePlayer(),
        make_library=lambda loaded, required: None,
    )
    assert daemon.run() == 2
    assert "nowhere" in capsys.readouterr().err


def test_simulate_over_an_empty_music_folder_still_switches(tmp_path, astronaut):
    (tmp_path / "music" / "happy").mkdir(parents=True)  # folders, but no audio
    cfg = write_config(tmp_path, astronaut, "music:\n  root: music\n")
    out = io.StringIO()
    daemon = Daemon(load_config(cfg), simulate=True, out=out, make_player=lambda *a: FakePlayer())
    assert daemon.run() == 0
    check([json.loads(line) for line in out.getvalue().splitlines()])
