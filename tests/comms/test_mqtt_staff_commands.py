"""block / unblock / blocks and the skip limit over a real mosquitto, on a real core."""

from __future__ import annotations

import json
from dataclasses import replace

from comms_helpers import loaded_for

from kiosk.core.core import Core
from kiosk.core.dispatch import Dispatcher
from kiosk.library.library import Library
from kiosk.player.null import NullPlayer
from kiosk.service.clock import SimClock


def real_core(tmp_path, port):
    root = tmp_path / "music" / "background"
    root.mkdir(parents=True)
    for i in range(6):
        (root / f"{i:02d} - Band - Song {i}.ogg").write_bytes(b"x" * 64)
    loaded = loaded_for(tmp_path, port)
    cfg = loaded.config.model_copy(deep=True)
    cfg.music.root = str(tmp_path / "music")
    cfg.player.backend = "null"
    cfg.player.skip_limit_per_hour = 2
    loaded = replace(loaded, config=cfg)
    clock = SimClock()
    core = Core(
        loaded, NullPlayer(cfg.player, clock=clock.monotonic), Library(cfg.music.root), clock
    )
    core.start()
    core.poll()
    return core, loaded


def test_block_and_next_over_mqtt_match_the_dispatcher(tmp_path, broker, watch, frontend):
    core, _loaded = real_core(tmp_path, broker.port)
    w = watch(broker.port, ["kiosk/k1/cmd/result", "homeassistant/button/#"])
    frontend(core, broker.port)
    button = w.wait(lambda m: m.topic.endswith("/block/config"))
    assert json.loads(button.payload)["payload_press"] == '{"track": "current"}'

    def cmd(name, payload, rid):
        w.publish(f"kiosk/k1/cmd/{name}", json.dumps({**payload, "id": rid}))
        m = w.wait(lambda m: m.topic.endswith("/result") and json.loads(m.payload)["id"] == rid)
        return json.loads(m.payload)

    victim = core.status().track["path"]
    r = cmd("block", {"track": "current"}, "b1")
    assert r["ok"] and r["blocked"]["track"].endswith(victim.rsplit("/", 1)[1])
    assert core.status().track["path"] != victim
    for i in range(5):  # MQTT is the operator: past the staff limit of 2
        assert cmd("next", {}, f"n{i}")["ok"]
        core.poll()
        assert core.status().track["path"] != victim
    assert cmd("blocks", {}, "l1")["blocks"][0]["source"] == "command"
    bad = cmd("block", {"artist": 5}, "x1")
    local = Dispatcher(core).dispatch("block", {"artist": 5, "id": "x1"})
    assert bad["ok"] is False and bad["error"] == local["error"]
    assert cmd("unblock", {"track": r["blocked"]["track"]}, "u1")["ok"]
    assert core.blocks() == []


def test_kiosk_ctl_checks_block_payloads_like_the_kiosk():
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "ctl", "k1", "block", '{"artist": "a", "pattern": "b"}'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    local = Dispatcher(None).dispatch("block", {"artist": "a", "pattern": "b"})  # type: ignore[arg-type]
    assert local["error"] in out.stderr
