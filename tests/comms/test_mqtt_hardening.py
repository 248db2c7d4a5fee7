"""Issue 10 §1/§2: no input kills a thread, replies always encode, the network thread never
blocks, response topics stay out of the kiosk's own space, refusals are kept."""

from __future__ import annotations

import json
import logging
import socket
import threading
import time

from broker import Broker
from comms_helpers import FakeApi, wait_until

from kiosk.core.events import Event

SURROGATE_ID = b'{"id":"\\ud800"}'  # JSON-escaped lone surrogate: valid JSON, no valid UTF-8
SURROGATE_KEY = b'{"\\ud800":1}'


def results(w, n: int, timeout: float = 10.0) -> list[dict]:
    """The first n results on kiosk/k1/cmd/result, parsed (they must all be valid JSON)."""
    wait_until(lambda: sum(m.topic == "kiosk/k1/cmd/result" for m in w.drain(0.02)) >= n, timeout)
    return [json.loads(m.payload) for m in w.seen if m.topic == "kiosk/k1/cmd/result"]


def threads_alive(fe) -> bool:
    return all(t.is_alive() for t in fe._threads) and fe._client._thread.is_alive()


def test_lone_surrogates_are_answered_and_the_worker_lives_on(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    w.publish("kiosk/k1/cmd/status", SURROGATE_ID)
    w.publish("kiosk/k1/cmd/status", SURROGATE_KEY)
    w.publish("kiosk/k1/cmd/volume", b'{"level": 5, "id": "\\udfff\\u0000"}')
    w.publish("kiosk/k1/cmd/status", b'{"id": "after"}')
    got = results(w, 4)
    assert got[0]["id"] == "\ud800" and got[0]["ok"] is True
    assert got[1]["ok"] is False and got[1]["error"].startswith("invalid status payload")
    assert got[2]["id"] == "\udfff\x00" and got[2]["ok"] is True
    assert got[3]["id"] == "after" and got[3]["ok"] is True
    assert api.status().volume == 5 and threads_alive(fe)
    assert all(m.payload.isascii() for m in w.seen)  # always encodable, whatever came in


def test_surrogate_on_the_rate_limited_path_keeps_mqtt_alive(broker, watch, frontend):
    """The issue's repro: default 2/s burst 10, 12 status commands, then the surrogate. It
    used to raise on paho's network thread: no stats, state or replies ever again."""
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result", "kiosk/k1/stats"])
    fe = frontend(api, broker.port, rate_limit_per_s=2, rate_limit_burst=10)
    wait_until(lambda: fe.ready)
    for i in range(20):  # the 12, and a margin for a slow machine
        w.publish("kiosk/k1/cmd/status", json.dumps({"id": i}))
    w.publish("kiosk/k1/cmd/status", SURROGATE_ID)
    got = results(w, 21)
    limited = [r for r in got if "rate limited" in (r["error"] or "")]
    assert {"\ud800"} <= {r["id"] for r in limited} and len(limited) >= 5
    time.sleep(1.0)  # tokens come back
    w.publish("kiosk/k1/cmd/status", b'{"id": "later"}')
    assert results(w, 22)[-1]["id"] == "later"
    fe.publish_stats()
    w.wait(lambda m: m.topic == "kiosk/k1/stats")
    assert threads_alive(fe) and fe.connected


class GatedApi(FakeApi):
    """``next`` blocks until released, so the command queue fills up behind it."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()

    def next_track(self) -> None:
        self.entered.set()
        self.gate.wait(20)
        super().next_track()


def test_surrogate_on_the_busy_path_is_answered(broker, watch, frontend):
    api = GatedApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    w.publish("kiosk/k1/cmd/next", b'{"id": "slow"}')
    assert api.entered.wait(5)  # the worker is busy with it; the queue is empty
    for i in range(70):  # 64 fit the queue, the rest are busy
        w.publish("kiosk/k1/cmd/status", json.dumps({"id": i}))
    w.publish("kiosk/k1/cmd/status", SURROGATE_ID)
    busy = results(w, 7)
    assert all("busy" in r["error"] for r in busy) and busy[-1]["id"] == "\ud800"
    api.gate.set()
    got = results(w, 72)
    assert [r["id"] for r in got if r["ok"]] == ["slow", *range(64)]
    assert fe.counters["busy"] == 7 and threads_alive(fe)


def test_nul_bytes_huge_and_broken_payloads_are_answered(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(api, broker.port, max_payload_bytes=8192)
    wait_until(lambda: fe.ready)
    cases = [
        (b"\x00", "not valid JSON"),
        (b'{"id": "n\\u0000", "\x00": 1}', "not valid JSON"),  # raw NUL: JSON forbids it
        (b'{"id": "a", "level": "\\u0000"}', "unknown field"),
        (b"\xff\xfe", "not UTF-8"),
        (b'{"id": 1' + b"A" * (1 << 20), "payload too large"),
        (b"[" * 2000 + b"]" * 2000, "nested too deeply (limit 32)"),
        (b'{"id": 1e999}', "id.str: Input should be"),  # inf is no id
        (b'{"id": ' + b"9" * 4400 + b"}", ""),  # beyond int parsing's digit limit
    ]
    for payload, _ in cases:
        w.publish("kiosk/k1/cmd/status", payload)
    got = results(w, len(cases), timeout=20)
    assert len(got) == len(cases) and not any(r["ok"] for r in got)
    errors = [r["error"] for r in got]  # refusals before the queue overtake queued ones
    for _, text in sorted(cases, key=lambda c: -len(c[1])):
        match = next((e for e in errors if text in e), None)
        assert match is not None, (text, errors)
        errors.remove(match)
    assert threads_alive(fe)


def test_empty_command_name_is_answered_like_an_unknown_one(broker, watch, frontend):
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(FakeApi(), broker.port)
    wait_until(lambda: fe.ready)
    w.publish("kiosk/k1/cmd/", b'{"id": "empty"}')
    w.publish("kiosk/all/cmd/", b'{"id": "empty-all"}')
    got = results(w, 2)
    assert [r["id"] for r in got] == ["empty", "empty-all"]
    assert all(r["ok"] is False and "unknown command ''" in r["error"] for r in got)


def test_response_topics_inside_the_kiosks_own_space_are_refused(broker, watch, frontend):
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    api = FakeApi()
    w = watch(broker.port, ["kiosk/#", "homeassistant/#", "reply/#"])
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    w.drain(0.3)
    bad = [
        "kiosk/k1/availability",
        "kiosk/k1/state",
        "kiosk/k1/cmd/result",
        "kiosk/all/cmd/pause",
        "kiosk/k2/state",
        "kiosk",
        "homeassistant/status",
        "$SYS/x",
    ]
    for i, topic in enumerate([*bad, "reply/op-1"]):
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = topic
        w.publish("kiosk/k1/cmd/volume", json.dumps({"level": 60 + i, "id": i}), properties=props)
    got = results(w, len(bad) + 1)
    assert all(r["ok"] is False and "response topic refused" in r["error"] for r in got[:-1])
    assert got[-1]["ok"] is True and api.status().volume == 60 + len(bad)
    w.drain(0.3)
    elsewhere = [m for m in w.seen if m.topic != "kiosk/k1/cmd/result" and b'"id"' in m.payload]
    assert [m.topic for m in elsewhere if b'"command"' in m.payload] == ["reply/op-1"]
    assert fe.counters["response_topic_refused"] == len(bad)


def test_a_broker_refusal_keeps_the_rows_and_warns_once(tmp_path, watch, frontend, caplog):
    acl = tmp_path / "acl"
    acl.write_text(  # stats and mood may not be published: the ACL mistake from the issue
        "topic read kiosk/#\ntopic write kiosk/k1/availability\ntopic write kiosk/k1/state\n"
        "topic readwrite kiosk/k1/cmd/#\ntopic readwrite homeassistant/#\n"
    )
    strict = Broker(tmp_path / "strict", f"allow_anonymous true\nacl_file {acl}").start()
    caplog.set_level(logging.WARNING, logger="kiosk.comms")
    try:
        api = FakeApi()
        fe = frontend(api, strict.port)
        wait_until(lambda: fe.ready)
        for n in range(5):
            api.events.emit(Event("stats", {"n": n}, time.time()))
            fe.publish_stats()
        wait_until(lambda: fe.outbox.refused == 5 and fe.queued() == 0)
        assert fe.outbox.dead == 5 and fe.counters["refused"] == 5
        warnings = [r.getMessage() for r in caplog.records if "refused a message" in r.getMessage()]
        assert len(warnings) == 1 and "Not authorized" in warnings[0]
        fe.publish_stats()
        wait_until(lambda: fe.outbox.refused == 6)
        fe.stop()
    finally:
        strict.stop()
    # The ACL is fixed: the next start retries the dead letters and delivers them.
    fixed = Broker(tmp_path / "fixed").start()
    try:
        w = watch(fixed.port, ["kiosk/k1/stats"])
        fe2 = frontend(FakeApi(), fixed.port)
        wait_until(lambda: len(w.drain(0.05)) >= 6, timeout=10)
        got = [json.loads(m.payload) for m in w.seen]
        assert [g["core"]["n"] for g in got[:5]] == list(range(5))
        assert got[5]["outbox"]["refused"] == 5  # stats.outbox shows the refusals
        wait_until(lambda: fe2.outbox.dead == 0 and fe2.queued() == 0)
        fe2.stop()
    finally:
        fixed.stop()


def test_the_network_thread_never_probes_or_calls_the_core(tmp_path, frontend, monkeypatch):
    import kiosk.comms.mqtt as mqtt_mod

    calls: list[str] = []

    class RecordingApi(FakeApi):
        def status(self):
            calls.append(threading.current_thread().name)
            return super().status()

    probed = threading.Event()

    def slow_probe(*args, **kwargs):
        calls.append(threading.current_thread().name)
        time.sleep(1.0)  # a real probe can block up to 5 s (DNS, SYN timeout)
        probed.set()
        return "probe says no"

    monkeypatch.setattr(mqtt_mod, "probe", slow_probe)
    b = Broker(tmp_path / "b")  # not started: the first attempt fails and is probed
    fe = frontend(RecordingApi(), b.port)
    assert probed.wait(10)
    b.start()
    try:
        wait_until(lambda: fe.ready, timeout=10)
        fe.api.set_volume(20)
        wait_until(lambda: len(calls) >= 3, timeout=5)
    finally:
        fe.stop()
        b.stop()
    assert calls and not [c for c in calls if c.startswith("paho")], calls


class DbSpy:
    """Wraps the outbox's sqlite3 connection and records which thread uses it."""

    def __init__(self, db, seen: set[str]) -> None:
        self._db, self._seen = db, seen

    def __getattr__(self, name):
        self._seen.add(threading.current_thread().name)
        return getattr(self._db, name)


def test_mood_listeners_only_enqueue(broker, frontend):
    api = FakeApi()
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    seen: set[str] = set()
    fe.outbox._db = DbSpy(fe.outbox._db, seen)

    def core_thread() -> None:
        for mood in ("happy", "sad", "happy", "neutral"):
            data = {"mood": mood, "confidence": 0.9, "faces": 1, "audience": True}
            api.events.emit(Event("mood", data, time.time()))

    t = threading.Thread(target=core_thread, name="core")
    t.start()
    t.join()
    wait_until(lambda: len(fe.outbox) == 0 and seen)
    time.sleep(0.3)
    assert fe.counters["published_queued"] == 4 and seen == {"mqtt-drain"}, seen


def test_counters_have_one_owner():
    import sys

    from kiosk.comms.limits import Counters

    c = Counters(["n"])
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        ts = [
            threading.Thread(target=lambda: [c.bump("n") for _ in range(20000)]) for _ in range(4)
        ]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    finally:
        sys.setswitchinterval(old)
    assert c["n"] == 80000


def test_stop_is_bounded_when_the_broker_hangs(broker, frontend):
    import signal

    api = FakeApi()
    fe = frontend(api, broker.port, keepalive_s=60)
    wait_until(lambda: fe.ready)
    broker.send(signal.SIGSTOP)
    try:
        for n in range(3):
            api.events.emit(Event("stats", {"n": n}, time.time()))
            fe.publish_stats()
        wait_until(lambda: fe.drain.sent_seq >= 3)  # handed to paho, never acknowledged
        t0 = time.monotonic()
        fe.stop(timeout=3.0)
        took = time.monotonic() - t0
    finally:
        broker.send(signal.SIGCONT)
    assert took < 3.5, took
    assert len(fe.outbox) == 3  # kept for the next start


def test_password_without_user_name_is_sent(tmp_path):
    """The factory speaks MQTT 5 and never drops a password (paho would without a user)."""
    from kiosk.comms.client import new_client
    from kiosk.comms.config import MqttConfig

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(5)
    cfg = MqttConfig(password="tok-en-123")
    client = new_client(cfg, "factory-test", lambda p: p)
    client.connect_async("127.0.0.1", srv.getsockname()[1])
    client.loop_start()
    try:
        conn, _ = srv.accept()
        conn.settimeout(5)
        packet = conn.recv(4096)
        conn.close()
    finally:
        client.loop_stop()
        srv.close()
    assert packet[0] == 0x10  # CONNECT
    name_len = int.from_bytes(packet[2:4], "big") if packet[1] < 0x80 else None
    assert name_len == 4 and packet[4:8] == b"MQTT" and packet[8] == 5  # MQTT 5
    flags = packet[9]
    assert flags & 0x40 and b"tok-en-123" in packet


def failing_once(fn, exc: Exception):
    state = {"failed": False}

    def run(*args, **kwargs):
        if not state["failed"]:
            state["failed"] = True
            raise exc
        return fn(*args, **kwargs)

    return run


def test_a_failing_step_anywhere_is_counted_and_everything_goes_on(broker, watch, frontend, caplog):
    """A bug in a callback, the command worker or the outbox step: logged, counted, and
    the thread carries on (the outbox retries the write, so nothing is lost)."""
    import sqlite3

    caplog.set_level(logging.ERROR, logger="kiosk.comms")
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result", "kiosk/k1/stats"])
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    fe.intake.handle = failing_once(fe.intake.handle, RuntimeError("callback bug"))
    fe.intake.dispatcher.dispatch = failing_once(
        fe.intake.dispatcher.dispatch, RuntimeError("worker bug")
    )
    fe.outbox.put_many = failing_once(fe.outbox.put_many, sqlite3.OperationalError("disk I/O"))
    w.publish("kiosk/k1/cmd/status", b'{"id": "lost-in-callback"}')
    w.publish("kiosk/k1/cmd/status", b'{"id": "lost-in-worker"}')
    w.publish("kiosk/k1/cmd/status", b'{"id": "fine"}')
    got = results(w, 2)
    assert [(r["id"], r["ok"]) for r in got] == [("lost-in-worker", False), ("fine", True)]
    assert got[0]["error"] == "internal error"
    for n in range(3):
        api.events.emit(Event("stats", {"n": n}, time.time()))
        fe.publish_stats()
    wait_until(lambda: sum(m.topic.endswith("/stats") for m in w.drain(0.05)) >= 3, timeout=10)
    got = [json.loads(m.payload)["core"]["n"] for m in w.seen if m.topic.endswith("/stats")]
    assert got == [0, 1, 2]  # the failed write was retried, in order
    assert fe.counters["errors"] == 3 and threads_alive(fe)
    for text in ("on_message failed", "command worker step failed", "outbox step failed"):
        assert text in caplog.text
