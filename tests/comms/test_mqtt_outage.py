"""Broker outages and kiosk crashes: nothing queued is lost, order holds, the Will fires."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from broker import Broker
from comms_helpers import FakeApi, wait_until

from kiosk.core.events import Event


def produce(api, fe, n: int) -> None:
    """One stats message carrying sequence number n (via the core's free-form stats)."""
    api.events.emit(Event("stats", {"n": n}, time.time()))
    fe.publish_stats()


def numbers(msgs) -> list[int]:
    bodies = [json.loads(m.payload) for m in msgs if m.topic.endswith("/stats")]
    return [b["core"]["n"] for b in bodies if "n" in (b.get("core") or {})]


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
    wait_until(lambda: len(fe.outbox) >= 40)  # the drainer stores them
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
    broker = Broker(tmp_path / "b")  # not started: the kiosk runs with no broker at all
    api = FakeApi()
    fe = frontend(api, broker.port)
    stamps = []
    for n in range(5):
        produce(api, fe, n)
        stamps.append(time.time())
        time.sleep(0.05)
    wait_until(lambda: len(fe.outbox) == 5)
    assert not fe.connected
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
    env = {**os.environ, "PYTHONPATH": f"{Path(__file__).parent}:{Path(__file__).parents[1]}"}
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


PRODUCER_SCRIPT = """
import sys, time
from comms_helpers import FakeApi, loaded_for
from kiosk.core.events import Event
from kiosk.comms.mqtt import MqttFrontend
from pathlib import Path
api = FakeApi()
fe = MqttFrontend(api, loaded_for(Path(sys.argv[1]), int(sys.argv[2]), kiosk_id="kk",
                                  keepalive_s=60))
fe.start()
while not fe.ready:
    time.sleep(0.02)
print("ready", flush=True)
sys.stdin.readline()  # the broker is stopped now
n = int(sys.argv[3])
for i in range(n):
    api.events.emit(Event("stats", {"n": i}, time.time()))
    fe.publish_stats()
while fe.drain.sent_seq < n:  # every message handed to paho, none acknowledged
    time.sleep(0.01)
time.sleep(0.3)  # and written to the socket by paho's thread
print("handed", flush=True)
time.sleep(60)
"""


def test_sigkill_with_unacknowledged_messages_loses_nothing(broker, watch, frontend, tmp_path):
    """Rows must live until their PUBACK, not until paho took them: paho's memory dies with
    the process. The broker is SIGSTOPped so nothing is acknowledged, then the kiosk is
    SIGKILLed and the broker too (a SIGCONT would let it read the PUBLISH packets still in
    its socket buffer, which hides a kiosk that forgot them)."""
    n = 20
    w = watch(broker.port, ["kiosk/kk/stats"])
    env = {**os.environ, "PYTHONPATH": f"{Path(__file__).parent}:{Path(__file__).parents[1]}"}
    proc = subprocess.Popen(
        [sys.executable, "-c", PRODUCER_SCRIPT, str(tmp_path), str(broker.port), str(n)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        broker.send(signal.SIGSTOP)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        assert proc.stdout.readline().strip() == "handed"
        proc.send_signal(signal.SIGKILL)
        proc.wait(5)
    finally:
        if proc.poll() is None:
            proc.kill()
    broker.stop(signal.SIGKILL)
    w.ready = False
    broker.start(fresh=True)
    wait_until(lambda: w.ready, timeout=10)  # the watcher is back and subscribed
    fe = frontend(FakeApi(), broker.port, kiosk_id="kk")  # same outbox file, new process
    wait_until(lambda: set(numbers(w.drain(0.05))) >= set(range(n)), timeout=10)
    assert first_seen(numbers(w.seen)) == list(range(n))
    wait_until(lambda: len(fe.outbox) == 0)


def test_broker_sigkilled_for_15_s_loses_no_stats(tmp_path, watch, frontend):
    """A broker crash (no clean save) and 15 s of outage: every numbered stats message and
    every ticker interval arrives; the intervals tile the time without a gap."""
    broker = Broker(tmp_path / "b", persistence="autosave_interval 1\n").start()
    try:
        api = FakeApi()
        w = watch(broker.port, ["kiosk/k1/stats"], session="watch-15s")
        time.sleep(1.5)  # the broker's autosave now holds the watcher's session
        fe = frontend(api, broker.port, stats_interval_s=1)
        wait_until(lambda: fe.ready)
        n = 0

        def produce_for(seconds: float) -> None:
            nonlocal n
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                produce(api, fe, n)
                n += 1
                time.sleep(0.1)

        produce_for(2)
        broker.stop(signal.SIGKILL)
        produce_for(15)
        broker.start()
        produce_for(2)
        wait_until(lambda: set(numbers(w.drain(0.05))) >= set(range(n)), timeout=30)
        assert first_seen(numbers(w.seen)) == list(range(n))
        ticks = [json.loads(m.payload) for m in w.seen if "samples" in json.loads(m.payload)]
        ticks = sorted({(t["ts"], t["interval_s"]) for t in ticks})
        assert len(ticks) >= 30
        for (prev_ts, _), (ts, interval) in itertools.pairwise(ticks):
            assert abs((ts - interval) - prev_ts) < 0.2, (prev_ts, ts, interval)
        wait_until(lambda: fe.queued() == 0, timeout=10)
        fe.stop()
    finally:
        broker.stop()
