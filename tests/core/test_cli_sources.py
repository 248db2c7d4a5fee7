"""`kiosk music retag` and `kiosk ctl` change a running kiosk through its one dispatcher.

A real broker, the real MQTT front end over a real core with self-sorting views, the real
history and the real command line: each command lands in the history with its true
source, and the CLI's correction reaches the running kiosk's playlists at once.
"""

from __future__ import annotations

import json
import sqlite3
import sys
from pathlib import Path

import pytest
from music_helpers import write_tone

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "comms"))
from comms_helpers import Broker, Watcher, wait_until

from kiosk.cli import main
from kiosk.config import load_config
from kiosk.core.core import Core
from kiosk.history.attach import attach
from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.library.views import CachedEstimates, MusicViews
from kiosk.player.null import NullPlayer


def _inject(state: Path, path: Path, valence: float, arousal: float) -> None:
    est = CachedEstimates(state)
    assert est.cache is not None
    row = {"duration_s": 1.0, "lufs": -20.0, "peak_db": -6.0, "tempo_bpm": 120.0}
    row |= {"valence": valence, "arousal": arousal, "quadrant": "Q1", "confidence": 0.5}
    est.cache.put(est.cache.key_for(path), row)
    est.close()


@pytest.fixture
def running(tmp_path: Path):
    broker = Broker(tmp_path / "broker")  # fails under CI=true when mosquitto is missing
    broker.start()
    root, state = tmp_path / "music", tmp_path / "state"
    write_tone(root / "happy" / "h1.wav", 300)
    write_tone(root / "calm" / "c1.wav", 310)
    _inject(state, write_tone(root / "unsorted" / "u1.wav", 320), 0.3, -0.7)  # calm
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        json.dumps(
            {
                "music": {"root": str(root), "analysis": True},
                "service": {"state_dir": str(state)},
                "player": {"backend": "null"},
                "mqtt": {
                    "enabled": True,
                    "host": "127.0.0.1",
                    "port": broker.port,
                    "kiosk_id": "k1",
                    "outbox_path": str(tmp_path / "outbox.sqlite"),
                    "rate_limit_per_s": 1000,
                    "rate_limit_burst": 1000,
                },
            }
        )
    )
    loaded = load_config(cfg)
    from kiosk.comms.mqtt import MqttFrontend

    player = NullPlayer(loaded.config.player)
    core = Core(loaded, player, MusicViews(root, AUDIO_EXTENSIONS, state))
    rec = attach(core, loaded, state)
    core.start()
    fe = MqttFrontend(core, loaded)
    fe.start()
    try:
        wait_until(lambda: fe.ready, 10)
        yield core, cfg, broker.port, state, rec
    finally:
        fe.stop()
        if rec is not None:
            rec.close()
        player.close()
        broker.stop()


def _commands(state: Path) -> list[tuple]:
    db = sqlite3.connect(state / "history.sqlite3")
    try:
        return db.execute("SELECT command, source, role, ok FROM commands ORDER BY id").fetchall()
    finally:
        db.close()


def test_cli_retag_goes_through_the_running_kiosk(running, capsys) -> None:
    core, cfg, _port, state, rec = running
    names = lambda name: sorted(t.path.name for t in core.library.tracks(name))  # noqa: E731
    assert names("calm") == ["c1.wav", "u1.wav"]
    assert main(["music", "retag", "-c", str(cfg), "unsorted/u1.wav", "happy"]) == 0
    assert names("happy") == ["h1.wav", "u1.wav"]  # the running kiosk's views, at once
    assert names("calm") == ["c1.wav"]
    # A retag in the daemon afterwards keeps the CLI's correction.
    assert core.retag("calm/c1.wav", "happy")["playlist"] == "happy"
    data = json.loads((state / "music-corrections.json").read_text())
    assert sorted(e["playlist"] for e in data.values()) == ["happy", "happy"]
    # A refusal is the kiosk's own answer.
    assert main(["music", "retag", "-c", str(cfg), "unsorted/u1.wav", "nope"]) == 1
    assert "unknown playlist 'nope'" in capsys.readouterr().err
    assert rec.flush(5.0)
    assert _commands(state) == [("retag", "cli", "operator", 1), ("retag", "cli", "operator", 0)]


def test_ctl_and_plain_mqtt_are_told_apart(running) -> None:
    core, cfg, port, state, rec = running
    rc = main(["ctl", "-c", str(cfg), "--timeout", "5", "k1", "volume", '{"level": 30}'])
    assert rc == 0 and core.status().volume == 30
    w = Watcher(port, ["kiosk/k1/cmd/result"])
    try:
        w.publish("kiosk/k1/cmd/volume", '{"level": 35, "id": "ha"}')  # e.g. Home Assistant
        w.wait(lambda m: json.loads(m.payload).get("id") == "ha", timeout=10)
    finally:
        w.close()
    assert rec.flush(5.0)
    assert _commands(state) == [("volume", "ctl", "operator", 1), ("volume", "mqtt", "operator", 1)]


def test_ctl_help_lists_every_command(capsys) -> None:
    from kiosk.core.commands import COMMANDS

    with pytest.raises(SystemExit):
        main(["ctl", "--help"])
    out = capsys.readouterr().out
    missing = [name for name in COMMANDS if f"  {name} " not in out]
    assert missing == [] and "retag" in COMMANDS
