"""`kiosk run` (null player, demo camera, real models) driven over a real broker."""

from __future__ import annotations

import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from kiosk.config import load_config


def write_config(path, broker_port: int, kiosk_id: str, extra: str = "") -> None:
    """A kiosk config on the test broker with the bundled models and the demo camera."""
    defaults = load_config(None)
    vision = defaults.config.vision
    path.write_text(
        f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {broker_port}\n"
        f"  kiosk_id: {kiosk_id}\n{extra}"
        f"  outbox_path: {path.parent / 'outbox.sqlite'}\n"
        f"vision:\n  detector:\n    model: {defaults.resolve(vision.detector.model)}\n"
        f"  classifier:\n    model: {defaults.resolve(vision.classifier.model)}\n"
        "camera:\n  interval_s: 0.2\n"
    )


def start_kiosk(cfg, log, env=None) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "-c", str(cfg), "--player", "null"],
        stdout=subprocess.DEVNULL,
        stderr=log,
        env=env,
    )


def test_kiosk_run_obeys_commands_and_its_will_says_offline(broker, watch, tmp_path):
    cfg = tmp_path / "kiosk.yaml"
    write_config(cfg, broker.port, "run1", "  stats_interval_s: 1\n")
    w = watch(broker.port, ["kiosk/run1/#"])
    log = (tmp_path / "kiosk.log").open("wb")
    proc = start_kiosk(cfg, log)
    try:
        w.wait(lambda m: m.topic.endswith("/availability") and m.payload == b"online", 30)
        w.wait(lambda m: m.topic.endswith("/state"))
        w.publish("kiosk/run1/cmd/volume", '{"level": 40, "id": "v"}')
        r = w.wait(lambda m: m.topic.endswith("/cmd/result") and b'"v"' in m.payload)
        assert json.loads(r.payload)["ok"] is True
        w.wait(lambda m: m.topic.endswith("/state") and json.loads(m.payload)["volume"] == 40)
        w.publish("kiosk/run1/cmd/volume", '{"level": "loud", "id": "bad"}')
        r = w.wait(lambda m: m.topic.endswith("/cmd/result") and b'"bad"' in m.payload)
        assert json.loads(r.payload)["ok"] is False
        stats = w.wait(lambda m: m.topic.endswith("/stats"), timeout=10)
        assert json.loads(stats.payload)["samples"] >= 1  # demo frames went through the models
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        w.wait(lambda m: m.topic.endswith("/availability") and m.payload == b"offline", 10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        log.close()


def test_reload_applies_new_mqtt_settings(broker, watch, tmp_path):
    cfg = tmp_path / "kiosk.yaml"
    write_config(cfg, broker.port, "old")
    w = watch(broker.port, ["kiosk/old/#", "kiosk/new/#"])
    log = (tmp_path / "kiosk.log").open("wb")
    proc = start_kiosk(cfg, log)
    try:
        w.wait(lambda m: m.topic == "kiosk/old/availability" and m.payload == b"online", 30)
        write_config(cfg, broker.port, "new")
        w.publish("kiosk/old/cmd/reload", '{"id": "rl"}')
        r = w.wait(lambda m: m.topic == "kiosk/old/cmd/result" and b'"rl"' in m.payload)
        assert json.loads(r.payload)["ok"] is True
        w.wait(lambda m: m.topic == "kiosk/old/availability" and m.payload == b"offline", 15)
        w.wait(lambda m: m.topic == "kiosk/new/availability" and m.payload == b"online", 15)
        w.publish("kiosk/new/cmd/volume", '{"level": 30, "id": "v2"}')
        r = w.wait(lambda m: m.topic == "kiosk/new/cmd/result" and b'"v2"' in m.payload)
        assert json.loads(r.payload)["ok"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
    assert "mqtt config changed; reconnecting" in (tmp_path / "kiosk.log").read_text()


def test_reload_with_a_hung_broker_does_not_stall_the_main_loop(broker, watch, tmp_path):
    """The old client's goodbye waits for a PUBACK that a hung broker never sends; the
    main loop (samples, track changes, the watchdog) must go on meanwhile."""
    cfg = tmp_path / "kiosk.yaml"
    write_config(cfg, broker.port, "old", "  keepalive_s: 60\n")
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    env = {**os.environ, "NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"}  # ping each 0.2 s
    pings: list[float] = []
    done = threading.Event()

    def listen() -> None:
        while not done.is_set():
            try:
                if b"WATCHDOG=1" in sock.recv(4096):
                    pings.append(time.monotonic())
            except OSError:
                continue

    reader = threading.Thread(target=listen, daemon=True)
    reader.start()
    w = watch(broker.port, ["kiosk/old/availability"])
    log = (tmp_path / "kiosk.log").open("wb")
    proc = start_kiosk(cfg, log, env)
    try:
        w.wait(lambda m: m.payload == b"online", 30)
        broker.send(signal.SIGSTOP)
        write_config(cfg, broker.port, "new", "  keepalive_s: 60\n")
        t0 = time.monotonic()
        proc.send_signal(signal.SIGHUP)
        time.sleep(5)
        broker.send(signal.SIGCONT)
        stamps = [t0] + [t for t in pings if t > t0]
        gaps = [b - a for a, b in itertools.pairwise(stamps)]
        assert len(stamps) > 10 and max(gaps) < 1.5, gaps
    finally:
        done.set()
        broker.send(signal.SIGCONT)
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        sock.close()
    assert "mqtt config changed; reconnecting" in (tmp_path / "kiosk.log").read_text()
