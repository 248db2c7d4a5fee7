"""The ``report`` command through the one dispatcher, and over a real MQTT broker."""

from __future__ import annotations

import json
import sys
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from fakes import FakePlayer, sure_face

from kiosk.config import KioskConfig, LoadedConfig, parse_config
from kiosk.core.core import Core
from kiosk.core.dispatch import Dispatcher
from kiosk.history.attach import attach
from kiosk.service.clock import SimClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "comms"))
from comms_helpers import Broker, Watcher, loaded_for, wait_until

DAY = datetime(2026, 11, 20, 9, 0)


def kiosk(tmp_path, loaded: LoadedConfig | None = None, **history):
    cfg = parse_config(
        {"camera": {"interval_s": 2}, "service": {"state_dir": str(tmp_path)}, "history": history}
    )
    if loaded is not None:
        keep = {"camera": cfg.camera, "service": cfg.service, "history": cfg.history}
        cfg = loaded.config.model_copy(update=keep)
        loaded = replace(loaded, config=cfg)
    else:
        loaded = LoadedConfig(cfg, tmp_path, None)
    clock = SimClock(start_wall=DAY.astimezone().timestamp())
    core = Core(loaded, FakePlayer(), None, clock)
    rec = attach(core, loaded, tmp_path)
    core.start()
    for i in range(90):
        core.add_sample([sure_face("happy")] * (2 if i < 60 else 0))
        core.poll()
        clock.advance(2.0)
    return core, rec


def test_report_command_replies_with_the_day(tmp_path):
    core, rec = kiosk(tmp_path)
    disp = Dispatcher(core)
    try:
        r = disp.dispatch("report", {"date": "2026-11-20", "id": 7})
        assert r["ok"] and r["id"] == 7, r
        body = r["report"]
        assert body["samples"] == 90 and body["mood_minutes"]["happy"] == 2.0
        assert "plays" not in body and body["plays_count"] == 0  # only when asked for
        assert [s["reason"] for s in body["switches"]] == ["startup", "mood", "no_audience"]
        assert "plays" in disp.dispatch("report", {"date": "2026-11-20", "plays": True})["report"]
        assert disp.dispatch("report", {})["report"]["samples"] == 90  # today (simulated)
        assert disp.dispatch("report", {"date": "2026-11-21"})["report"]["samples"] == 0
        bad = disp.dispatch("report", {"date": "2026-02-30"})
        assert not bad["ok"] and "not a real day" in bad["error"]
        for payload in ({"date": "20.11.2026"}, {"date": 5}, {"plays": "yes"}, {"x": 1}):
            assert not disp.dispatch("report", payload)["ok"], payload
    finally:
        rec.close()
    # closed recorder: the file is still there to read
    assert Dispatcher(core).dispatch("report", {"date": "2026-11-20"})["report"]["samples"] == 90


def test_reply_is_cut_to_report_max_bytes(tmp_path):
    core, rec = kiosk(tmp_path, report_max_bytes=1024)
    try:
        r = Dispatcher(core).dispatch("report", {"plays": True})
        assert r["ok"]
        assert len(json.dumps(r["report"])) <= 1024 or r["report"]["truncated"]
        assert "switches" in r["report"]["truncated"] or "plays" in r["report"]["truncated"]
    finally:
        rec.close()


def test_history_off_is_a_clear_refusal(tmp_path):
    core = Core(LoadedConfig(KioskConfig(), tmp_path, None), FakePlayer(), None)
    core.start()
    r = Dispatcher(core).dispatch("report", {})
    assert not r["ok"] and "history is off" in r["error"]


def test_commands_are_recorded_with_their_source(tmp_path):
    core, rec = kiosk(tmp_path)
    disp = Dispatcher(core)
    disp.dispatch("volume", {"level": 40})
    disp.dispatch("override", {"mood": "nope"})
    disp.dispatch("report", {"date": "2026-11-20"})
    rec.close()
    import sqlite3

    db = sqlite3.connect(tmp_path / "history.sqlite3")
    rows = db.execute("SELECT command, source, ok, args FROM commands ORDER BY id").fetchall()
    db.close()
    assert rows[:2] == [("volume", "mqtt", 1, '{"level": 40}'),
                        ("override", "mqtt", 0, '{"minutes": 60, "mood": "nope"}')]  # fmt: skip


def test_report_over_a_real_broker(tmp_path):
    from kiosk.comms.mqtt import MqttFrontend

    broker = Broker(tmp_path / "broker")  # fails under CI=true when mosquitto is missing
    broker.start()
    core, rec = kiosk(tmp_path, loaded_for(tmp_path, broker.port))
    fe = MqttFrontend(core, core.loaded)
    w = Watcher(broker.port, ["kiosk/k1/cmd/result"])
    try:
        fe.start()
        wait_until(lambda: fe.ready and w.ready)
        w.publish("kiosk/k1/cmd/report", '{"date": "2026-11-20", "id": "r1"}')
        msg = w.wait(lambda m: json.loads(m.payload).get("id") == "r1", timeout=10)
        r = json.loads(msg.payload)
        assert r["ok"] and r["report"]["samples"] == 90 and "plays" not in r["report"]
    finally:
        w.close()
        fe.stop()
        rec.close()
        broker.stop()


def test_sighup_reload_is_recorded_with_source_signal(tmp_path):
    import sqlite3

    from history_helpers import built_daemon

    from kiosk.service.reload import handle_hup

    daemon, core = built_daemon(tmp_path)
    rec = attach(core, core.loaded, tmp_path)
    handle_hup(daemon, core)
    # A broken edit: refused, and still recorded.
    (tmp_path / "config.yaml").write_text("camera: {interval_s: -1}\n")
    handle_hup(daemon, core)
    rec.close()
    db = sqlite3.connect(tmp_path / "history.sqlite3")
    rows = db.execute("SELECT command, source, ok FROM commands ORDER BY id").fetchall()
    db.close()
    assert rows == [("reload", "signal", 1), ("reload", "signal", 0)]
