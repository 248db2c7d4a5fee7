"""MqttFrontend against a real mosquitto: state, commands, results, discovery, security."""

from __future__ import annotations

import json
import logging

from comms_helpers import FakeApi, wait_until


def result_for(w, rid, timeout=5.0):
    m = w.wait(
        lambda m: m.topic == "kiosk/k1/cmd/result" and json.loads(m.payload).get("id") == rid,
        timeout,
    )
    return json.loads(m.payload)


def test_online_state_and_commands(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/#"])
    fe = frontend(api, broker.port)
    w.wait(lambda m: m.topic == "kiosk/k1/availability" and m.payload == b"online")
    st = w.wait(lambda m: m.topic == "kiosk/k1/state")
    state = json.loads(st.payload)
    assert st.retain is False  # live delivery to an earlier subscriber clears the flag
    assert state["volume"] == 50 and state["kiosk_id"] == "k1" and state["version"]
    assert state["groups"] == ["north"]
    late = watch(broker.port, ["kiosk/k1/state", "kiosk/k1/availability"])
    assert late.wait(lambda m: m.topic == "kiosk/k1/state").retain is True  # kept for late comers
    assert late.wait(lambda m: m.topic.endswith("/availability")).retain is True

    w.publish("kiosk/k1/cmd/volume", json.dumps({"level": 30, "id": "a"}))
    r = result_for(w, "a")
    assert r == {**r, "command": "volume", "ok": True, "error": None, "kiosk_id": "k1"}
    assert api.status().volume == 30
    w.wait(lambda m: m.topic == "kiosk/k1/state" and json.loads(m.payload)["volume"] == 30)

    w.publish("kiosk/group/north/cmd/pause", '{"id": 2}')
    assert result_for(w, 2)["ok"] and api.status().paused
    w.publish("kiosk/all/cmd/resume", '{"id": 3}')
    assert result_for(w, 3)["ok"] and not api.status().paused
    w.publish("kiosk/group/south/cmd/pause", '{"id": 4}')  # not our group
    w.publish("kiosk/k1/cmd/override", '{"mood": "sad", "minutes": 5, "id": 5}')
    assert result_for(w, 5)["ok"] and api.status().override["mood"] == "sad"
    assert not api.status().paused  # the south command was never executed
    w.publish("kiosk/k1/cmd/override", '{"mood": "auto", "id": 6}')
    assert result_for(w, 6)["ok"] and api.status().override is None
    w.publish("kiosk/k1/cmd/status", '{"id": 7}')
    assert result_for(w, 7)["status"]["volume"] == 30
    for i, name in enumerate(("next", "reload", "rescan", "clear_override"), start=10):
        w.publish(f"kiosk/k1/cmd/{name}", json.dumps({"id": i}))
        assert result_for(w, i)["ok"], name
    assert [c for c in api.calls if c in ("next", "reload", "rescan")] == [
        "next",
        "reload",
        "rescan",
    ]
    assert fe.counters["commands"] == 10  # the south group command never arrived


def test_refused_commands_leave_state_unchanged(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    before = api.snapshot()
    cases = [
        ("volume", '{"level": 101, "id": "r1"}', "less than or equal to 100"),
        ("volume", '{"level": "50", "id": "r2"}', "valid integer"),
        ("volume", '{"id": "r3"}', "level: Field required"),
        ("override", '{"mood": "party", "id": "r4"}', "no playlist"),
        ("pause", '{"id": "r5", "now": true}', "unknown field"),
        ("dance", '{"id": "r6"}', "unknown command"),
    ]
    for name, payload, _ in cases:
        w.publish(f"kiosk/k1/cmd/{name}", payload)
    for name, payload, text in cases:
        r = result_for(w, json.loads(payload)["id"])
        assert r["ok"] is False and text in r["error"], (name, r)
    w.publish("kiosk/k1/cmd/pause", "{not json")
    r = json.loads(w.wait(lambda m: b"not valid JSON" in m.payload).payload)
    assert r["ok"] is False and r["id"] is None and r["command"] == "pause"
    assert api.snapshot() == before


def test_retained_commands_are_ignored(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    w.publish("kiosk/k1/cmd/pause", '{"id": "stale"}', retain=True)
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    w.publish("kiosk/all/cmd/pause", '{"id": "live-retained"}', retain=True)
    wait_until(lambda: fe.counters["retained_ignored"] == 1)
    w.publish("kiosk/k1/cmd/status", '{"id": "live"}')
    result_for(w, "live")
    assert not api.status().paused
    assert not any(b"stale" in m.payload or b"retained" in m.payload for m in w.drain())
    for t in ("kiosk/k1/cmd/pause", "kiosk/all/cmd/pause"):
        w.publish(t, b"", retain=True)  # clear them, as an operator should


def test_rate_limit_and_payload_size(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(api, broker.port, rate_limit_per_s=0.5, rate_limit_burst=3, max_payload_bytes=100)
    wait_until(lambda: fe.ready)
    w.publish("kiosk/k1/cmd/volume", json.dumps({"level": 1, "id": "x" * 200}))
    for i in range(6):
        w.publish("kiosk/k1/cmd/status", json.dumps({"id": i}))
    wait_until(lambda: len(w.drain(0.05)) >= 7)
    seen = [json.loads(m.payload) for m in w.seen]
    assert len(seen) == 7
    (big,) = [r for r in seen if r["id"] is None]  # the id was too long to echo
    assert "payload too large (" in big["error"] and not big["ok"]
    # burst 3: the oversize message took one token, two status commands run, four wait
    assert sorted(r["ok"] for r in seen if r["id"] is not None) == [False] * 4 + [True] * 2
    assert sum("rate limited" in (r["error"] or "") for r in seen) == 4
    assert api.status().volume == 50


def test_mqtt5_response_topic_and_correlation(broker, watch, frontend):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    api = FakeApi()
    w = watch(broker.port, ["reply/me"])
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    props = Properties(PacketTypes.PUBLISH)
    props.ResponseTopic = "reply/me"
    props.CorrelationData = b"\x01corr"
    w.publish("kiosk/k1/cmd/volume", '{"level": 7}', properties=props)
    m = w.wait(lambda m: m.topic == "reply/me")
    assert json.loads(m.payload)["ok"] is True
    assert m.properties.CorrelationData == b"\x01corr"
    assert api.status().volume == 7


def test_discovery_and_birth_message(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["homeassistant/#", "kiosk/k1/state"])
    frontend(api, broker.port)
    w.wait(lambda m: m.topic == "kiosk/k1/state")
    w.drain()
    configs = {m.topic: json.loads(m.payload) for m in w.seen if m.topic.endswith("/config")}
    components = sorted(t.split("/")[1] for t in configs)
    assert components == ["button"] * 4 + ["number", "select"] + ["sensor"] * 4
    required = {
        "sensor": {"state_topic"},
        "number": {"command_topic", "state_topic", "min", "max"},
        "button": {"command_topic", "payload_press"},
        "select": {"command_topic", "options", "state_topic"},
    }
    ids = set()
    for topic, cfg in configs.items():
        comp = topic.split("/")[1]
        assert required[comp] <= cfg.keys(), topic
        assert cfg["availability_topic"] == "kiosk/k1/availability"
        assert cfg["device"]["identifiers"] == ["kiosk_k1"] and cfg["device"]["name"]
        ids.add(cfg["unique_id"])
        assert cfg["default_entity_id"] == f"{comp}.{cfg['unique_id']}"
        if "command_topic" in cfg:
            assert cfg["command_topic"].startswith("kiosk/k1/cmd/")
    assert len(ids) == len(configs)
    assert "happy" in configs["homeassistant/select/k1/override/config"]["options"]
    n_before = len(w.seen)
    w.publish("homeassistant/status", "online")
    w.wait(lambda m: m.topic == "kiosk/k1/state" and w.seen.index(m) >= n_before)
    w.drain()
    assert sum(m.topic.endswith("/config") for m in w.seen[n_before:]) == 10


def test_discovery_can_be_switched_off(broker, watch, frontend):
    w = watch(broker.port, ["homeassistant/#", "kiosk/k1/state"])
    frontend(FakeApi(), broker.port, discovery=False)
    w.wait(lambda m: m.topic == "kiosk/k1/state")
    assert not [m for m in w.drain() if m.topic.startswith("homeassistant/")]


def test_wrong_password_logs_clearly_and_keeps_retrying(
    make_broker, tmp_path, frontend, caplog, monkeypatch
):
    from broker import password_file

    pw = password_file(tmp_path / "passwd", {"kiosk": "Rt7-pw"})
    b = make_broker(f"allow_anonymous false\npassword_file {pw}")
    (tmp_path / "wrong").write_text("wrong-secret\n")
    caplog.set_level(logging.DEBUG, logger="kiosk.comms")
    fe = frontend(FakeApi(), b.port, username="kiosk", password_file=str(tmp_path / "wrong"))
    wait_until(lambda: fe.counters["connect_failures"] >= 2, timeout=8)
    assert not fe.connected
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1, errors  # repeats go to DEBUG
    assert "refused" in errors[0] and ("password" in errors[0] or "authorized" in errors[0])
    assert "wrong-secret" not in caplog.text

    monkeypatch.setenv("KIOSK_MQTT_PW", "Rt7-pw")
    fe2 = frontend(
        FakeApi(),
        b.port,
        username="kiosk",
        password_env="KIOSK_MQTT_PW",
        kiosk_id="k2",
        outbox_path=str(tmp_path / "o2.sqlite"),
    )
    wait_until(lambda: fe2.connected)
    assert "rt7-pw" not in caplog.text.lower()  # not even inside another word


def test_two_kiosks_with_one_id_are_named_in_the_log(broker, frontend, tmp_path, caplog):
    caplog.set_level(logging.ERROR, logger="kiosk.comms")
    a = frontend(FakeApi(), broker.port)
    wait_until(lambda: a.ready)
    frontend(FakeApi(), broker.port, outbox_path=str(tmp_path / "twin.sqlite"))
    wait_until(lambda: "Is another device using client id kiosk-k1" in caplog.text, timeout=10)
