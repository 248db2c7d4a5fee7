"""Dispatcher, outbox, stats, topics and config without a broker."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from comms_helpers import FakeApi

from kiosk.comms.config import MqttConfig, PasswordError, read_password, sanitise_id
from kiosk.comms.outbox import Outbox
from kiosk.comms.stats import StatsAggregator, soc_temperature_c
from kiosk.comms.topics import Topics, target_root
from kiosk.config import ConfigError, parse_config
from kiosk.core.commands import COMMANDS
from kiosk.core.dispatch import Dispatcher, parse_payload
from kiosk.core.events import Event

# -- dispatcher -------------------------------------------------------------------------


@pytest.fixture
def disp():
    return Dispatcher(FakeApi())


def test_every_command_runs(disp):
    api = disp.api
    assert disp.dispatch("volume", b'{"level": 0, "id": "v"}') == {
        "id": "v",
        "command": "volume",
        "ok": True,
        "error": None,
    }
    assert api.status().volume == 0
    for name in ("pause", "resume", "next", "clear_override", "reload", "rescan"):
        assert disp.dispatch(name, b"")["ok"], name
    assert disp.dispatch("override", {"mood": "happy", "minutes": 1.5})["ok"]
    assert 85 < api.status().override["expires_at"] - __import__("time").time() <= 90
    assert disp.dispatch("status", None)["status"]["volume"] == 0
    assert set(COMMANDS) == {
        "volume", "pause", "resume", "next", "override", "clear_override", "reload",
        "rescan", "status", "report", "block", "unblock", "blocks", "announce", "retag",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("name", "payload", "error"),
    [
        ("volume", b'{"level": -1}', "greater than or equal to 0"),
        ("volume", b'{"level": 100.0}', "valid integer"),
        ("volume", b'{"level": true}', "valid integer"),
        ("volume", b"[50]", "must be a JSON object, got list"),
        ("volume", b"\xff\xfe", "not UTF-8"),
        ("pause", b"{", "not valid JSON"),
        ("pause", b'{"force": 1}', "force: unknown field"),
        ("override", b'{"mood": "a/b"}', "mood: String should match"),
        ("override", b'{"mood": "happy", "minutes": 0}', "greater than 0"),
        ("override", b'{"mood": "disco"}', "no playlist for 'disco'"),
        ("shutdown", b"{}", "unknown command 'shutdown'; known: volume"),
        ("status", b"[" * 5000 + b"]" * 5000, "nested too deeply (limit 32)"),
    ],
)
def test_refusals_are_clear_and_change_nothing(disp, name, payload, error):
    before = disp.api.snapshot()
    r = disp.dispatch(name, payload)
    assert r["ok"] is False and error in r["error"], r
    assert disp.api.snapshot() == before


def test_request_id_is_echoed_even_when_refused(disp):
    assert disp.dispatch("volume", b'{"level": 500, "id": 9}')["id"] == 9
    assert disp.dispatch("volume", json.dumps({"level": 500, "id": "x" * 500}))["id"] is None
    assert disp.dispatch("volume", b'{"level": 500, "id": true}')["id"] is None


def test_core_crash_is_an_error_result(disp, monkeypatch):
    monkeypatch.setattr(disp.api, "next_track", lambda: 1 / 0)
    r = disp.dispatch("next")
    assert r["ok"] is False and r["error"] == "internal error: ZeroDivisionError"


def test_parse_payload_empty_means_no_arguments():
    assert parse_payload(b"  ") == {} and parse_payload(None) == {}


# -- outbox -----------------------------------------------------------------------------


def test_outbox_is_ordered_bounded_and_durable(tmp_path):
    path = tmp_path / "q.sqlite"
    box = Outbox(path, max_messages=10)
    for i in range(15):
        box.put("stats", str(i).encode(), created=1000.0 + i)
    assert len(box) == 10 and box.dropped == 5
    box.close()
    box = Outbox(path, max_messages=10)  # a restart
    rows = box.peek(limit=100)
    assert [p for _, _, p in rows] == [str(i).encode() for i in range(5, 15)]
    box.ack([rows[0][0], rows[1][0]])
    assert len(box) == 8 and box.peek(after_seq=rows[5][0], limit=2)[0][2] == b"11"
    box.put("mood", b"x")
    assert box.dropped == 5 and box.durable
    box.close()


def test_corrupt_outbox_is_moved_aside(tmp_path, caplog):
    path = tmp_path / "q.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    box = Outbox(path, 10)
    box.put("stats", b"1")
    assert box.durable and len(box) == 1
    assert list(tmp_path.glob("q.sqlite.corrupt-*")) and "unreadable" in caplog.text
    box.close()
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1


def test_unwritable_outbox_falls_back_to_memory(tmp_path, caplog):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    box = Outbox(blocker / "sub" / "q.sqlite", 10)  # parent is a file
    box.put("stats", b"1")
    assert not box.durable and len(box) == 1 and "falls back to memory" in caplog.text


# -- stats ------------------------------------------------------------------------------


def test_stats_aggregate_one_interval_then_reset(monkeypatch):
    import kiosk.comms.stats as stats_mod

    clock = [1000.0]
    monkeypatch.setattr(stats_mod.time, "monotonic", lambda: clock[0])
    agg = StatsAggregator()
    clock[0] += 12.5
    agg.add({"faces": 2, "emotions": {"happy": 2}, "inference_ms": 10.0, "camera_ok": True})
    agg.add({"faces": 1, "emotions": {"sad": 1, "happy": 0}, "inference_ms": 30.0})
    agg.add({"faces": "many", "emotions": ["junk"], "inference_ms": -1, "camera_ok": False})
    agg.add_camera_error()
    s = agg.take()
    assert s["samples"] == 3 and s["faces"] == 3 and s["max_faces"] == 2
    assert s["emotions"]["happy"] == 2 and s["emotions"]["sad"] == 1
    assert s["emotions"]["neutral"] == 0 and s["camera_errors"] == 2
    assert s["inference_ms"] == {"mean": 20.0, "max": 30.0}
    assert len(s["cpu"]["load"]) == 3 and s["uptime_s"] == 12.5 and s["interval_s"] == 12.5
    json.dumps(s)
    clock[0] += 2.0
    again = agg.take()
    assert again["samples"] == 0 and again["inference_ms"]["mean"] is None
    assert again["uptime_s"] == 14.5 and again["interval_s"] == 2.0  # uptime keeps counting


def test_soc_temperature_prefers_the_cpu_zone(tmp_path: Path):
    for i, (kind, milli) in enumerate([("acpitz", "27800"), ("cpu-thermal", "51234")]):
        z = tmp_path / f"thermal_zone{i}"
        z.mkdir()
        (z / "type").write_text(kind + "\n")
        (z / "temp").write_text(milli + "\n")
    assert soc_temperature_c(tmp_path) == 51.2
    assert soc_temperature_c(tmp_path / "missing") is None


# -- topics and config ------------------------------------------------------------------


def test_topics_route_only_our_commands():
    t = Topics("acme/kiosk", "k1", ("north",))
    assert t.command_name("acme/kiosk/k1/cmd/pause") == "pause"
    assert t.command_name("acme/kiosk/all/cmd/next") == "next"
    assert t.command_name("acme/kiosk/group/north/cmd/volume") == "volume"
    assert t.command_name("acme/kiosk/group/south/cmd/volume") is None
    assert t.command_name("acme/kiosk/k2/cmd/pause") is None
    assert t.command_name("acme/kiosk/k1/cmd/result") is None  # our own results
    assert t.command_name("acme/kiosk/k1/cmd/a/b") is None
    assert t.command_name("acme/kiosk/k1/cmd/") == ""  # answered as an unknown command
    assert t.command_name("acme/kiosk/k1/cmdx") is None
    assert target_root("kiosk", "group:north") == "kiosk/group/north"
    assert target_root("kiosk", "all") == "kiosk/all"


def test_kiosk_id_defaults_to_a_sanitised_hostname():
    assert sanitise_id("Shop 12.local") == "shop-12"
    assert sanitise_id("all") == "kiosk-all"
    assert sanitise_id("...") == "kiosk"
    assert MqttConfig().effective_client_id().startswith("kiosk-")


@pytest.mark.parametrize(
    ("mqtt", "text"),
    [
        ({"kiosk_id": "a/b"}, "kiosk_id may only use"),
        ({"kiosk_id": "all"}, "reserved"),
        ({"groups": ["ok", "no way"]}, "group names may only use"),
        ({"topic_prefix": "kiosk/#"}, "wildcards"),
        ({"topic_prefix": "/kiosk"}, "leading/trailing"),
        ({"password": "x", "password_env": "PW"}, "only one of password, password_env"),
        ({"tls": {"enabled": True, "certfile": "c.pem"}}, "given together"),
        ({"port": 0}, "mqtt.port"),
    ],
)
def test_bad_mqtt_config_is_named(mqtt, text):
    with pytest.raises(ConfigError) as exc:
        parse_config({"mqtt": mqtt})
    assert text in str(exc.value)


def test_password_sources_and_redaction(tmp_path, monkeypatch):
    f = tmp_path / "pw"
    f.write_text("s3cret-file\nignored\n")
    assert read_password(MqttConfig(password_file=str(f))) == "s3cret-file"
    monkeypatch.setenv("PW", "s3cret-env")
    assert read_password(MqttConfig(password_env="PW")) == "s3cret-env"
    cfg = MqttConfig(password="s3cret-plain")
    assert read_password(cfg) == "s3cret-plain"
    assert "s3cret" not in repr(cfg) + json.dumps(cfg.model_dump(mode="json"))
    with pytest.raises(PasswordError, match="cannot read") as exc:
        read_password(MqttConfig(password_file=str(tmp_path / "none")))
    monkeypatch.delenv("PW")
    with pytest.raises(PasswordError, match="PW unset"):
        read_password(MqttConfig(password_env="PW"))
    assert "s3cret" not in str(exc.value)


def test_config_show_redacts_a_plain_password(tmp_path):
    import subprocess
    import sys

    p = tmp_path / "c.yaml"
    p.write_text("mqtt:\n  enabled: true\n  password: hunter2-secret\n")
    out = subprocess.run(
        [sys.executable, "-m", "kiosk", "config", "show", str(p)],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "hunter2" not in out.stdout + out.stderr and "password: '**********'" in out.stdout


def test_default_outbox_lives_in_the_state_directory(tmp_path, monkeypatch):
    from kiosk.comms.mqtt import MqttFrontend
    from kiosk.config import KioskConfig, LoadedConfig

    monkeypatch.setenv("STATE_DIRECTORY", str(tmp_path / "state"))
    loaded = LoadedConfig(KioskConfig(mqtt={"enabled": True}), tmp_path, None)
    fe = MqttFrontend(FakeApi(), loaded)
    assert fe._outbox_path() == tmp_path / "state" / "mqtt-outbox.sqlite"


def test_unusable_tls_or_password_disables_mqtt_but_not_the_kiosk(tmp_path, caplog):
    from kiosk.comms.mqtt import MqttFrontend
    from kiosk.config import KioskConfig, LoadedConfig

    for mqtt, text in (
        ({"tls": {"enabled": True, "ca": "missing-ca.crt"}}, "mqtt.tls.ca: cannot load"),
        ({"password_file": "no-such-file"}, "mqtt.password_file: cannot read"),
    ):
        box = str(tmp_path / f"{len(text)}.sqlite")
        settings = {"enabled": True, "outbox_path": box, **mqtt}
        fe = MqttFrontend(FakeApi(), LoadedConfig(KioskConfig(mqtt=settings), tmp_path, None))
        fe.start()  # logs, does not raise
        fe.api.events.emit(Event("sample", {"faces": 1}, 0.0))
        fe.stop()
        assert text in caplog.text and "MQTT disabled until restart" in caplog.text
        assert len(fe.outbox) == 1  # the stats still went to the outbox for later
        caplog.clear()


def test_comms_never_imports_the_service():
    """Data flows one way: the daemon imports comms, never the reverse (no import cycle)."""
    import ast

    root = Path(__file__).resolve().parents[2] / "kiosk" / "comms"
    bad = []
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            bad += [f"{path.name}: {n}" for n in names if n.startswith("kiosk.service")]
    assert bad == []
