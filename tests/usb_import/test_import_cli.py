"""`kiosk import` as a process: kill -9 mid-copy, JSON output, MQTT progress on a real broker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path

import pytest
from audiofiles import make_wav, tree
from broker import free_port

from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.importer import Paths, run_import


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


@pytest.fixture
def broker(tmp_path):
    from broker import Broker

    b = Broker(tmp_path / "broker").start()
    yield b.port
    b.stop()


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
    assert states[0] == "running" and states[-1] == "done"
    assert got[-1]["files"] == 3 and got[-1]["ok"] is True


def test_broker_down_does_not_stop_the_import(tmp_path, stick, lib):
    cfg = write_config(
        tmp_path, lib, f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {free_port()}\n"
    )
    r = kiosk("import", str(stick), "-c", str(cfg))
    assert r.returncode == 0, r.stderr
    assert "will not go to MQTT" in r.stderr


def first_retained(port: int, topic: str, timeout: float = 5.0) -> dict:
    """What a subscriber that connects now sees first on ``topic`` (the retained message)."""
    import paho.mqtt.client as mqtt

    got: list[dict] = []
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"late-{time.monotonic_ns()}")
    sub.on_message = lambda _c, _u, m: got.append({**json.loads(m.payload), "_retain": m.retain})
    sub.connect("127.0.0.1", port)
    sub.subscribe(topic, qos=1)
    sub.loop_start()
    try:
        deadline = time.monotonic() + timeout
        while not got and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        sub.loop_stop()
        sub.disconnect()
    assert got, f"nothing retained on {topic}"
    return got[0]


def wait_for_copy(lib: Paths, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if lib.library_dir.is_dir() and any(lib.library_dir.glob(".staging-*/**/*.part")):
            return
        time.sleep(0.02)
    proc.kill()
    pytest.fail("the import never started copying")


def test_sigterm_mid_copy_logs_publishes_failed_and_keeps_library(tmp_path, stick, lib, broker):
    mqtt_cfg = (
        f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {broker}\n"
        "  topic_prefix: shop\n  kiosk_id: k1\n"
    )
    cfg = write_config(tmp_path, lib, "  throttle_mb_s: 1\n" + mqtt_cfg)
    assert kiosk("import", str(stick), "-c", str(cfg)).returncode == 0
    assert first_retained(broker, "shop/k1/import")["state"] == "done"
    before = tree(lib.music_root)
    make_wav(stick / "happy" / "long.wav", seconds=120, rate=16000)  # ~3.8 MB at 1 MB/s
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "import", str(stick), "-c", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_copy(lib, proc)
    # A subscriber arriving now sees this import running, not the last one's "done".
    assert first_retained(broker, "shop/k1/import")["state"] in ("running", "copying")
    proc.send_signal(signal.SIGTERM)  # what systemd does when the stick is pulled
    _out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM" in err  # the journal says why
    late = first_retained(broker, "shop/k1/import")
    assert late["state"] == "failed" and late["signal"] == "SIGTERM" and late["_retain"]
    assert tree(lib.music_root) == before
    assert not list(lib.library_dir.glob(".staging-*"))


def test_sigint_mid_copy_exits_130_and_changes_nothing(tmp_path, stick, lib):
    make_wav(stick / "happy" / "long.wav", seconds=120, rate=16000)
    cfg = write_config(tmp_path, lib, "  throttle_mb_s: 1\n")
    before = tree(lib.music_root)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "import", str(stick), "-c", str(cfg), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for_copy(lib, proc)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    assert json.loads(out)["signal"] == "SIGINT"
    assert tree(lib.music_root) == before
    assert not list(lib.library_dir.glob(".staging-*"))


def test_usage_errors_exit_2_with_clear_messages(tmp_path, stick, lib):
    inside = write_config(tmp_path, Paths(lib.music_root, lib.music_root / "lib"))
    r = kiosk("import", str(stick), "-c", str(inside))
    assert r.returncode == 2 and "must not be inside" in r.stderr

    bad = tmp_path / "bad.yaml"
    bad.write_text("usb_import:\n  no_such_key: 1\n")
    r = kiosk("import", str(stick), "--json", "-c", str(bad))
    assert r.returncode == 2
    out = json.loads(r.stdout)
    assert out["ok"] is False and "no_such_key" in out["error"]

    cfg = write_config(tmp_path, lib)
    r = kiosk("import", str(tmp_path / "nonexistent"), "-c", str(cfg))
    assert r.returncode == 2 and "path does not exist" in r.stderr


def test_rollback_without_config_creates_nothing(tmp_path):
    from kiosk.config import DEFAULT_BASE_DIR

    cwd = tmp_path / "here"
    cwd.mkdir()
    existed = (DEFAULT_BASE_DIR / ".kiosk-library").exists()
    for args in (["--rollback"], [str(tmp_path)]):
        r = subprocess.run(
            [sys.executable, "-m", "kiosk", "import", *args],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=cwd,
        )
        assert r.returncode == 2 and "--config" in r.stderr
    assert not list(cwd.iterdir())
    assert (DEFAULT_BASE_DIR / ".kiosk-library").exists() == existed


def test_daemon_start_up_relinks_music_after_a_kill_during_adoption(tmp_path, lib):
    from kiosk.config import load_config
    from kiosk.service.parts import open_library

    lib.library_dir.mkdir()
    # Killed between moving the plain folder into the store and linking it back.
    os.rename(lib.music_root, lib.library_dir / "20261101T000000Z-0000-adopted")
    assert not lib.music_root.exists()
    conf = tmp_path / "daemon.yaml"
    conf.write_text(
        f"music:\n  root: {lib.music_root}\nusb_import:\n  library_dir: {lib.library_dir}\n"
    )
    library = open_library(load_config(conf), True)
    assert lib.music_root.is_symlink()
    assert "neutral/old.wav" in tree(lib.music_root)
    assert library is not None
