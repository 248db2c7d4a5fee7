"""`kiosk import` as a process: kill -9 mid-copy, JSON output, MQTT progress on a real broker."""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import pytest
from audiofiles import make_wav, tree
from real_tools import missing

from kiosk.music.import_config import ImportConfig
from kiosk.music.importer import Paths, run_import


def write_config(tmp_path: Path, lib: Paths, extra: str = "") -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "usb_import:\n"
        f"  music_root: {lib.music_root}\n"
        f"  library_dir: {lib.library_dir}\n"
        "  min_free_mb: 0\n"
        "  notify_service: ''\n" + extra
    )
    return cfg


def kiosk(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_cli_json_and_exit_codes(tmp_path, stick, lib):
    cfg = write_config(tmp_path, lib)
    r = kiosk("import", str(stick.parent), "--json", "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["ok"] and out["files"] == 3 and out["mode"] == "replace"
    # No kiosk-music folder: an error by hand, a quiet no-op for the udev unit.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert kiosk("import", str(empty), "-c", str(cfg)).returncode == 1
    assert kiosk("import", str(empty), "--if-present", "-c", str(cfg)).returncode == 0
    r = kiosk("import", "--rollback", "--json", "-c", str(cfg))
    assert r.returncode == 0 and json.loads(r.stdout)["action"] == "rollback"
    assert kiosk("import", "-c", str(cfg)).returncode == 2


def test_sigkill_mid_copy_leaves_old_library_and_next_run_recovers(tmp_path, stick, lib):
    big = stick / "happy" / "big.wav"
    with wave.open(str(big), "wb") as w:  # 4 MB of noise: real, valid PCM
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(os.urandom(4_000_000))
    before = tree(lib.music_root)
    cfg = write_config(tmp_path, lib, "  throttle_mb_s: 2\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "import", str(stick), "-c", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    staging: list[Path] = []
    while time.monotonic() < deadline:
        if lib.library_dir.is_dir():
            staging = [p for p in lib.library_dir.iterdir() if p.name.startswith(".staging-")]
            if staging and any(staging[0].rglob("*.part")):
                break
        time.sleep(0.02)
    else:
        proc.kill()
        pytest.fail("the import never started copying")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(10)
    assert staging[0].exists()  # the kill really hit mid-copy
    assert tree(lib.music_root) == before  # old library live and intact

    result = run_import(stick, lib, ImportConfig(min_free_mb=0, notify_service=""))
    assert result.ok, result.error
    assert any("half-done" in n for n in result.notes)
    assert not staging[0].exists()
    assert "happy/big.wav" in tree(lib.music_root)


def test_sigterm_cleans_staging_at_once(tmp_path, stick, lib):
    make_wav(stick / "happy" / "long.wav", seconds=120, rate=16000)  # ~3.8 MB
    cfg = write_config(tmp_path, lib, "  throttle_mb_s: 1\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "import", str(stick), "-c", str(cfg)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lib.library_dir.is_dir() and any(lib.library_dir.glob(".staging-*/**/*.part")):
            break
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # what systemd does when the stick is pulled
    assert proc.wait(10) != 0
    assert not list(lib.library_dir.glob(".staging-*"))
    assert "neutral/old.wav" in tree(lib.music_root)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def broker(tmp_path):
    exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not os.path.exists(exe):
        missing("mosquitto")
    port = _free_port()
    conf = tmp_path / "mosquitto.conf"
    # As root mosquitto would switch to user "mosquitto", who cannot read pytest's tmp dirs.
    user = pwd.getpwuid(os.geteuid()).pw_name
    conf.write_text(f"listener {port} 127.0.0.1\nuser {user}\nallow_anonymous true\n")
    proc = subprocess.Popen([exe, "-c", str(conf)], stderr=subprocess.DEVNULL)
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield port
    proc.terminate()
    proc.wait(5)


def test_progress_and_result_go_to_mqtt(tmp_path, stick, lib, broker):
    import paho.mqtt.client as mqtt

    got: list[dict] = []
    done = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="test-sub")
    sub.on_message = lambda _c, _u, m: (got.append(json.loads(m.payload)), done.set())
    sub.connect("127.0.0.1", broker)
    sub.subscribe("shop/k1/import", qos=1)
    sub.loop_start()
    try:
        time.sleep(0.2)
        cfg = write_config(
            tmp_path,
            lib,
            f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {broker}\n"
            "  topic_prefix: shop\n  kiosk_id: k1\n",
        )
        r = kiosk("import", str(stick), "-c", str(cfg))
        assert r.returncode == 0, r.stderr
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not any(g.get("state") == "done" for g in got):
            time.sleep(0.05)
    finally:
        sub.loop_stop()
        sub.disconnect()
    states = [g["state"] for g in got]
    assert states[0] == "started" and states[-1] == "done"
    assert got[-1]["files"] == 3 and got[-1]["ok"] is True


def test_broker_down_does_not_stop_the_import(tmp_path, stick, lib):
    cfg = write_config(
        tmp_path, lib, f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {_free_port()}\n"
    )
    r = kiosk("import", str(stick), "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "will not go to MQTT" in r.stderr
