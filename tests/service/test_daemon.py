"""The daemon loop: systemd notify, signals, camera faults with back-off, reload."""

from __future__ import annotations

import itertools
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import cv2
import pytest
from fakes import FakeLibrary, FakePlayer

import kiosk.camera.factory as factory
from kiosk.camera.compose import photo
from kiosk.config import load_config
from kiosk.service.app import Daemon

MODELS = Path(__file__).resolve().parents[2] / "models"
VISION = (
    f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
    f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
)
LISTS = {"background": 1, "happy": 1}


@pytest.fixture
def notify_socket(tmp_path, monkeypatch):
    path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(30)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def messages(sock: socket.socket, until: str, timeout: float = 30.0) -> list[str]:
    """Datagrams received until one contains ``until``."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        got.append(sock.recv(4096).decode())
        if until in got[-1]:
            return got
    raise AssertionError(f"no {until!r} in {got}")


def start_in_thread(daemon: Daemon) -> tuple[threading.Thread, list[int]]:
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    return t, rc


def make_daemon(tmp_path: Path, yaml: str, player=None, library=None) -> Daemon:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(yaml + VISION)
    player = player or FakePlayer()
    return Daemon(
        load_config(cfg),
        make_player=lambda loaded, backend, core: player,
        make_library=lambda loaded, required: library or FakeLibrary(LISTS),
    )


def test_ready_status_watchdog_and_stop(tmp_path, notify_socket, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "200000")  # ping every 0.1 s
    player = FakePlayer()
    daemon = make_daemon(tmp_path, "camera:\n  interval_s: 0.2\n", player=player)
    t, rc = start_in_thread(daemon)
    got = messages(notify_socket, "READY=1")
    # READY comes before the first sample: nobody seen yet, the default music, camera fine
    assert got[-1] == (
        "READY=1\nSTATUS=mood: no audience, 0 face(s); music: background; camera: ok"
    )
    assert messages(notify_socket, "WATCHDOG=1")
    # samples flow through the real models: the demo script opens on an empty shop
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not daemon.loop.first_sample_logged:
        time.sleep(0.02)
    assert daemon.loop.first_sample_logged
    daemon.request_stop()
    got = messages(notify_socket, "STOPPING=1")
    t.join(10)
    assert rc == [0]
    assert ("stop", 2.0) in player.calls and ("close",) in player.calls
    st = daemon.core.status()
    assert st.camera["ok"] is True and st.playlist == "background"


def test_camera_fault_keeps_music_and_backs_off(tmp_path, monkeypatch):
    yaml = (
        "camera:\n  backend: folder\n  source: missing\n  interval_s: 0.05\n"
        "service:\n  camera_retry_initial_s: 0.1\n  camera_retry_max_s: 0.4\n"
        "  poll_interval_s: 0.05\n"
    )
    player = FakePlayer()
    daemon = make_daemon(tmp_path, yaml, player=player)
    attempts: list[float] = []
    real = factory.open_camera

    def counting(loaded):
        attempts.append(time.monotonic())
        return real(loaded)

    monkeypatch.setattr(factory, "open_camera", counting)
    t, rc = start_in_thread(daemon)
    time.sleep(1.6)
    (tmp_path / "missing").mkdir()
    cv2.imwrite(str(tmp_path / "missing" / "a.png"), photo())
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not daemon.core.status().camera["ok"]:
        time.sleep(0.05)
    st = daemon.core.status()
    daemon.request_stop()
    t.join(10)
    assert rc == [0]
    assert st.camera["ok"] is True
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    assert gaps[0] == pytest.approx(0.1, abs=0.08)
    assert max(gaps) < 0.4 + 0.15  # capped
    assert len(attempts) <= 8  # no busy retry loop
    assert player.calls[0][:2] == ("play", "background")  # music went on


def refusals(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if "reload refused" in r.getMessage()]


def test_sighup_reloads(tmp_path, caplog):
    player = FakePlayer()
    daemon = make_daemon(tmp_path, "camera:\n  interval_s: 0.1\n", player=player)
    t, rc = start_in_thread(daemon)
    while daemon.core is None:
        time.sleep(0.01)
    (tmp_path / "config.yaml").write_text(
        "camera:\n  interval_s: 0.1\npolicy:\n  default_playlist: happy\n" + VISION
    )
    daemon.request_reload()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and daemon.core.status().playlist != "happy":
        time.sleep(0.05)
    assert daemon.core.status().playlist == "happy"
    assert daemon.core.generation == 1
    (tmp_path / "config.yaml").write_text("camera:\n  interval_s: -1\n")
    with caplog.at_level(logging.ERROR, logger="kiosk.service.daemon"):
        daemon.request_reload()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not refusals(caplog):
            time.sleep(0.02)
    # refused with the key named, the old config kept and still playing
    assert len(refusals(caplog)) == 1 and "camera.interval_s" in refusals(caplog)[0]
    assert daemon.core.generation == 1
    assert daemon.core.status().playlist == "happy"
    assert daemon.loaded.config.camera.interval_s == 0.1
    daemon.request_stop()
    t.join(10)
    assert rc == [0]


def test_real_process_sigterm_exits_0_after_ready(tmp_path, notify_socket):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        'camera:\n  interval_s: 2\nplayer:\n  backend: "null"\nmusic:\n  root: music\n' + VISION
    )
    env = {**os.environ, "NOTIFY_SOCKET": notify_socket.getsockname()}
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "--config", str(cfg)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        got = messages(notify_socket, "READY=1")
        assert any("READY=1" in m for m in got)
        ready_after = time.monotonic() - started
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "STOPPING=1" in "".join(messages(notify_socket, "STOPPING=1", 5))
    assert ready_after < 20
    assert out == ""  # logs go to stderr


def test_state_dir_precedence(tmp_path, monkeypatch):
    from dataclasses import replace

    from kiosk.paths import state_dir

    loaded = load_config(None)
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    assert state_dir(loaded) == tmp_path / "xdg" / "kiosk"
    monkeypatch.setenv("STATE_DIRECTORY", f"{tmp_path}/sd:/other")
    assert state_dir(loaded) == tmp_path / "sd"
    cfg = loaded.config.model_copy(deep=True)
    cfg.service.state_dir = str(tmp_path / "mine")
    assert state_dir(replace(loaded, config=cfg)) == tmp_path / "mine"


def test_demo_generates_one_tune_per_playlist(tmp_path, monkeypatch):
    from kiosk.service.parts import with_demo_music

    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    loaded = with_demo_music(load_config(None))
    root = tmp_path / "kiosk" / "demo-music"
    assert loaded.config.music.root == str(root)
    names = sorted(p.name for p in root.iterdir())
    assert names == loaded.config.policy.playlist_names()
    assert all(len(list((root / n).glob("*.wav"))) == 1 for n in names)


def test_unwritable_state_dir_is_a_startup_error(tmp_path, monkeypatch):
    from kiosk.service.parts import with_demo_music
    from kiosk.service.startup import StartupError

    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.delenv("STATE_DIRECTORY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(blocker))
    with pytest.raises(StartupError, match="demo music"):
        with_demo_music(load_config(None))


def test_missing_models_exit_2_with_the_path(tmp_path, capsys):
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "camera:\n  interval_s: 1\n"
        "vision:\n  detector:\n    model: nowhere/face_detection_full_range.tflite\n"
    )
    daemon = Daemon(load_config(cfg), make_player=lambda *a: FakePlayer())
    assert daemon.run() == 2
    assert "face_detection_full_range.tflite" in capsys.readouterr().err


def test_a_failing_loop_step_is_survived_and_logged_once(
    tmp_path, notify_socket, monkeypatch, caplog
):
    """A bug in one step (here: the core refuses samples) must not end the loop."""
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    player = FakePlayer()
    daemon = make_daemon(
        tmp_path, "camera:\n  interval_s: 0.05\nservice:\n  poll_interval_s: 0.05\n", player
    )
    t, rc = start_in_thread(daemon)
    messages(notify_socket, "READY=1")
    real_add = daemon.core.add_sample
    calls: list[int] = []

    def flaky_add(faces, ms=0.0):
        calls.append(1)
        if len(calls) <= 5:
            raise RuntimeError("bug in add_sample")
        return real_add(faces, ms)

    monkeypatch.setattr(daemon.core, "add_sample", flaky_add)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(calls) < 8:
        time.sleep(0.02)
    got = messages(notify_socket, "WATCHDOG=1", 5)  # still fed after the failures
    daemon.request_stop()
    t.join(10)
    assert rc == [0]
    assert len(calls) >= 8  # samples went on after the 5 failures
    assert daemon.loop.errors == {"sample": 5}
    logged = [r for r in caplog.records if "sample failed" in r.getMessage()]
    assert len(logged) == 1 and logged[0].exc_info  # once, with the traceback
    assert any("WATCHDOG=1" in m for m in got)
