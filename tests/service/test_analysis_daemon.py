"""The daemon runs the music analysis in the background: real worker, real child analyser,
real views; progress in status, the MQTT stats payload and the log; stopped on shutdown."""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from fakes import FakePlayer

from kiosk.config import load_config
from kiosk.core.dispatch import Dispatcher
from kiosk.service.app import Daemon

MODELS = Path(__file__).resolve().parents[2] / "models"
VISION = (
    f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
    f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
)
SR = 22050


def tone(path: Path, freq: float, seconds: float = 3.0, level: float = 0.3) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * SR)) / SR
    sf.write(path, (level * np.sin(2 * np.pi * freq * t)).astype(np.float32), SR)
    return path


def wait_for(pred, timeout: float = 90.0, step: float = 0.1) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return False


@pytest.fixture
def daemon_setup(tmp_path: Path):
    music = tmp_path / "music"
    tone(music / "happy" / "h.wav", 660)
    tone(music / "unsorted" / "u1.wav", 220)
    tone(music / "unsorted" / "u2.wav", 440, level=0.05)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "camera:\n  backend: folder\n  source: nothing-here\n  interval_s: 0.5\n"
        f"music:\n  root: {music}\n"
        f"service:\n  state_dir: {tmp_path / 'state'}\n  library_refresh_s: 0.5\n"
        "  poll_interval_s: 0.1\nhistory:\n  enabled: false\n" + VISION
    )
    return tmp_path, cfg


def test_daemon_analyses_library_and_sorts_unsorted(daemon_setup, caplog) -> None:
    tmp_path, cfg = daemon_setup
    caplog.set_level(logging.INFO)
    player = FakePlayer()
    daemon = Daemon(load_config(cfg), make_player=lambda loaded, backend, core: player)
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    assert wait_for(lambda: daemon.core is not None and daemon.core.analysis is not None, 30)
    core = daemon.core

    def idle() -> bool:
        p = core.status().music_analysis
        return bool(p) and p["done"] >= 3 and p["queued"] == 0 and not p["busy"]

    assert wait_for(idle), core.status().music_analysis
    st = core.status().to_dict()
    assert st["music_analysis"]["failed"] == 0 and st["music_analysis"]["internal_errors"] == 0
    # The estimates reach the views: both unsorted tracks now play in some playlist.
    u1, u2 = (tmp_path / "music" / "unsorted" / f"u{i}.wav" for i in (1, 2))
    assert wait_for(lambda: core.track_estimate(u1) and core.track_estimate(u2), 10)
    assert wait_for(
        lambda: (
            {p.name for ts in core.library.playlists().values() for p in (t.path for t in ts)}
            >= {"h.wav", "u1.wav", "u2.wav"}
        ),
        10,
    ), core.library.playlists()
    assert "unsorted" not in core.library.playlists()
    # The estimates carry loudness: the quiet tone is ~15.6 dB under the loud one.
    e1, e2 = core.track_estimate(u1), core.track_estimate(u2)
    assert e1["lufs"] - e2["lufs"] == pytest.approx(20 * np.log10(6), abs=0.3)
    # A library change is analysed too.
    tone(tmp_path / "music" / "unsorted" / "u3.wav", 330)
    assert wait_for(lambda: core.status().music_analysis["done"] >= 4, 60)
    # retag through the one dispatcher: validated, persisted, wins over the estimate.
    d = Dispatcher(core, source="test")
    bad = d.dispatch("retag", {"track": "unsorted/u1.wav", "playlist": "nope"})
    assert not bad["ok"] and "unknown playlist" in bad["error"]
    bad = d.dispatch("retag", {"track": "../config.yaml", "playlist": "calm"})
    assert not bad["ok"] and "not inside" in bad["error"]
    ok = d.dispatch("retag", {"track": "unsorted/u1.wav", "playlist": "energetic"})
    assert ok["ok"], ok
    assert [t.path.name for t in core.library.tracks("energetic")] == ["u1.wav"]
    assert (tmp_path / "state" / "music-corrections.json").is_file()
    assert any("music analysis" in r.getMessage() for r in caplog.records)
    daemon.request_stop()
    t.join(20)
    assert rc == [0]
    assert not any(th.name == "music-analysis" and th.is_alive() for th in threading.enumerate())


def test_analysis_off_gives_plain_folders(daemon_setup) -> None:
    _, cfg = daemon_setup

    text = cfg.read_text().replace("music:\n", "music:\n  analysis: false\n")
    cfg.write_text(text)
    daemon = Daemon(load_config(cfg), make_player=lambda loaded, backend, core: FakePlayer())
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    assert wait_for(lambda: daemon.core is not None and daemon.core.status().playlist, 30)
    time.sleep(1.0)
    assert daemon.core.status().music_analysis is None
    assert "unsorted" in daemon.core.library.playlists()  # a folder like any other
    daemon.request_stop()
    t.join(20)
    assert rc == [0]
