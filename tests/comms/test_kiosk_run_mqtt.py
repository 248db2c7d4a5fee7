"""`kiosk run` (null player, demo camera, real models) driven over a real broker."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from kiosk.config import load_config


def test_kiosk_run_obeys_commands_and_its_will_says_offline(broker, watch, tmp_path):
    defaults = load_config(None)
    vision = defaults.config.vision
    cfg = tmp_path / "kiosk.yaml"
    cfg.write_text(
        f"mqtt:\n  enabled: true\n  host: 127.0.0.1\n  port: {broker.port}\n"
        "  kiosk_id: run1\n  stats_interval_s: 1\n"
        f"  outbox_path: {tmp_path / 'outbox.sqlite'}\n"
        f"vision:\n  detector:\n    model: {defaults.resolve(vision.detector.model)}\n"
        f"  classifier:\n    model: {defaults.resolve(vision.classifier.model)}\n"
        "camera:\n  interval_s: 0.2\n"
    )
    w = watch(broker.port, ["kiosk/run1/#"])
    log = (tmp_path / "kiosk.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk", "run", "-c", str(cfg), "--player", "null"],
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
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
