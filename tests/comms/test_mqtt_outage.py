"""Broker outages and kiosk crashes: nothing queued is lost, order holds, the Will fires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from comms_helpers import Broker, FakeApi, wait_until

from kiosk.api import Event


def produce(api, fe, n: int) -> None:
    """One stats message carrying sequence number n (via the core's free-form stats)."""
    api.events.emit(Event("stats", {"n": n}, time.time()))
    fe.publish_stats()


def numbers(msgs) -> list[int]:
    return [json.loads(m.payload)["core"]["n"] for m in msgs if m.topic.endswith("/stats")]


def first_seen(ns: list[int]) -> list[int]:
    out, seen = [], set()
    for n in ns:  # QoS 1 is at-least-once: a redelivered duplicate is allowed, a gap is not
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out


def test_broker_restart_loses_nothing_and_keeps_order(broker, watch, frontend):
    api = FakeApi()
    # A persistent session (broker saves it on SIGTERM) so the watcher misses nothing
    # the kiosk sends before the watcher itself has reconnected.
    w = watch(broker.port, ["kiosk/k1/stats"], session="watch-stats")
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    for n in range(20):
        produce(api, fe, n)
    wait_until(lambda: len(w.drain(0.05)) >= 20)

    broker.stop(signal.SIGTERM)
    wait_until(lambda: not fe.connected)
    for n in range(20, 60):
        produce(api, fe, n)
        time.sleep(0.005)
    assert len(fe.outbox) >= 40
    broker.start()
    for n in range(60, 80):
        produce(api, fe, n)
    wait_until(lambda: set(numbers(w.drain(0.05))) >= set(range(80)), timeout=15)
    assert first_seen(numbers(w.seen)) == list(range(80))
    wait_until(lambda: len(fe.outbox) == 0)
    assert fe.counters["connects"] == 2


def test_retained_state_republished_after_broker_loss(broker, watch, frontend):
    api = FakeApi()
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    api.set_volume(33)
    broker.stop(signal.SIGKILL)
    broker.start(fresh=True)  # a new broker that has never seen this kiosk
    wait_until(lambda: fe.ready, timeout=10)
    w = watch(broker.port, ["kiosk/k1/state", "kiosk/k1/availability"])
    st = w.wait(lambda m: m.topic == "kiosk/k1/state" and m.retain)
    assert json.loads(st.payload)["volume"] == 33
    w.wait(lambda m: m.topic == "kiosk/k1/availability" and m.retain and m.payload == b"online")


def test_outbox_survives_kiosk_restart_with_original_timestamps(tmp_path, watch, frontend):
    from comms_helpers import MOSQUITTO

    if MOSQUITTO is None:
        from real_tools import missing

        missing("mosquitto")
    (tmp_path / "b").mkdir()
    broker = Broker(tmp_path / "b")  # not started: the kiosk runs with no broker at all
    api = FakeApi()
    fe = frontend(api, broker.port)
    stamps = []
    for n in range(5):
        produce(api, fe, n)
        stamps.append(time.time())
        time.sleep(0.05)
    assert not fe.connected and len(fe.outbox) == 5
    fe.stop()
    try:
        broker.start()
        w = watch(broker.port, ["kiosk/k1/stats"])
        fe2 = frontend(FakeApi(), broker.port)  # same outbox file
        wait_until(lambda: len(w.drain(0.05)) >= 5, timeout=10)
        got = [json.loads(m.payload) for m in w.seen]
        assert [g["core"]["n"] for g in got] == list(range(5))
        for g, stamp in zip(got, stamps, strict=True):
            assert stamp - 0.5 < g["ts"] <= stamp  # produced then, not when delivered
        wait_until(lambda: len(fe2.outbox) == 0)
        fe2.stop()  # before the broker goes, or it waits out a reconnect attempt
    finally:
        broker.stop()


KIOSK_SCRIPT = """
import sys, time
from comms_helpers import FakeApi, loaded_for
from kiosk.comms.mqtt import MqttFrontend
from pathlib import Path
fe = MqttFrontend(FakeApi(), loaded_for(Path(sys.argv[1]), int(sys.argv[2]), kiosk_id="kw"))
fe.start()
while not fe.ready:
    time.sleep(0.02)
print("ready", flush=True)
time.sleep(60)
"""


def test_last_will_marks_a_killed_kiosk_offline(broker, watch, tmp_path):
    w = watch(broker.port, ["kiosk/kw/availability"])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KIOSK_SCRIPT, str(tmp_path), str(broker.port)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        w.wait(lambda m: m.payload == b"online")
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
        m = w.wait(lambda m: m.payload == b"offline", timeout=10)
        assert m.topic == "kiosk/kw/availability"
    finally:
        if proc.poll() is None:
            proc.kill()


def test_stop_sends_the_unfinished_interval(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/stats", "kiosk/k1/availability"])
    fe = frontend(api, broker.port)  # stats_interval_s is an hour
    wait_until(lambda: fe.ready)
    api.events.emit(Event("sample", {"faces": 3, "emotions": {"happy": 3}}, time.time()))
    fe.stop()
    m = w.wait(lambda m: m.topic.endswith("/stats"))
    assert json.loads(m.payload)["faces"] == 3 and len(fe.outbox) == 0
    w.wait(lambda m: m.payload == b"offline")


def test_broker_dies_while_messages_are_in_flight(broker, watch, frontend):
    """Producing ~1,000 msg/s through the outage: paho's unacknowledged messages and the
    outbox's backlog must still arrive in one unbroken order."""
    import threading

    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/stats"], session="watch-inflight")
    fe = frontend(api, broker.port)
    wait_until(lambda: fe.ready)
    stop, count = threading.Event(), [0]

    def producer() -> None:
        while not stop.is_set():
            produce(api, fe, count[0])
            count[0] += 1
            time.sleep(0.0005)

    t = threading.Thread(target=producer)
    t.start()
    try:
        time.sleep(0.3)
        broker.stop(signal.SIGTERM)
        time.sleep(0.5)
        broker.start()
        wait_until(lambda: fe.ready, timeout=10)
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    n = count[0]
    wait_until(lambda: len(set(numbers(w.drain(0.05)))) >= n, timeout=20)
    assert first_seen(numbers(w.seen)) == list(range(n))
