"""The hostile corpus (tests/comms/hostile.py) against a real ``kiosk run`` (demo camera,
null player, real models) and a real mosquitto: every message the README says is answered
is answered, nothing else is, nothing leaks onto the kiosk's own topics, and afterwards
``status`` still answers and stats keep flowing."""

from __future__ import annotations

import json
import signal
import subprocess
import time

import pytest
from hostile import GROUP, KIOSK, corpus
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from test_kiosk_run_mqtt import start_kiosk, write_config

pytestmark = pytest.mark.slow

RESULT = f"kiosk/{KIOSK}/cmd/result"


def kiosk_results(w) -> list[dict]:
    out = []
    for m in w.seen:
        if m.topic == RESULT:
            body = json.loads(m.payload)
            if body.get("kiosk_id") == KIOSK:  # not the corpus's own posts on cmd/result
                out.append(body)
    return out


def wait_results(w, n: int, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while len(got := kiosk_results(w)) < n:
        assert time.monotonic() < deadline, f"{len(got)} of {n} answered"
        w.drain(0.05)
    return got


def send(w, msg) -> None:
    props = None
    if msg.response_topic is not None:
        props = Properties(PacketTypes.PUBLISH)
        props.ResponseTopic = msg.response_topic
        props.CorrelationData = b"c"
    w.publish(msg.topic, msg.payload, retain=msg.retain, properties=props)


def test_hostile_corpus_against_kiosk_run(broker, watch, tmp_path):
    cfg = tmp_path / "kiosk.yaml"
    write_config(
        cfg,
        broker.port,
        KIOSK,
        f"  groups: [{GROUP}]\n  stats_interval_s: 1\n"
        "  rate_limit_per_s: 100\n  rate_limit_burst: 100\n",
    )
    w = watch(broker.port, ["kiosk/#", "homeassistant/#", "reply/#"])
    log = (tmp_path / "kiosk.log").open("wb")
    proc = start_kiosk(cfg, log)
    try:
        w.wait(lambda m: m.topic == f"kiosk/{KIOSK}/availability" and m.payload == b"online", 30)
        w.wait(lambda m: m.topic == f"kiosk/{KIOSK}/state")
        w.publish(f"kiosk/{KIOSK}/cmd/volume", b'{"level": 33, "id": "before"}')
        expected = 1
        wait_results(w, expected, 10)
        msgs = corpus()
        for i in range(0, len(msgs), 50):  # in batches: the refusals, not "busy", are tested
            batch = msgs[i : i + 50]
            for m in batch:
                send(w, m)
            expected += sum(m.answered for m in batch)
            wait_results(w, expected, 20)
        # A flood past the rate limit and the queue, with lone surrogates in it.
        for i in range(600):
            body = b'{"id":"\\ud800"}' if i % 3 == 0 else json.dumps({"id": f"f{i}"}).encode()
            w.publish(f"kiosk/{KIOSK}/cmd/status", body)
        expected += 600
        got = wait_results(w, expected, 30)
        assert sum("rate limited" in (r["error"] or "") for r in got) > 0
        time.sleep(1.5)  # tokens come back
        end = time.time()
        w.publish(f"kiosk/{KIOSK}/cmd/status", b'{"id": "after"}')
        got = wait_results(w, expected + 1, 10)
        assert got[-1]["id"] == "after" and got[-1]["ok"] is True
        # retained and response-topic-refused volume commands (level 1) never ran
        assert got[-1]["status"]["volume"] == 33
        stats = w.wait(
            lambda m: m.topic == f"kiosk/{KIOSK}/stats" and json.loads(m.payload)["ts"] > end + 1,
            timeout=10,
        )
        body = json.loads(stats.payload)
        assert body["samples"] >= 1 and body["mqtt"]["errors"] == 0, body["mqtt"]
        assert body["mqtt"]["retained_ignored"] == sum(m.retain for m in msgs)
        w.drain(0.5)
        assert len(kiosk_results(w)) == expected + 1  # nothing answered twice or unasked
        replies = [m for m in w.seen if m.topic.startswith("reply/")]
        assert len(replies) == sum(m.answered_on_response_topic for m in msgs)
        assert all(m.properties.CorrelationData == b"c" for m in replies)
        for m in w.seen:  # nothing the kiosk sent landed on a refused response topic
            if m.topic in (f"kiosk/{KIOSK}/availability",):
                assert m.payload in (b"online", b"offline")
            elif m.topic.startswith("homeassistant/") or m.topic.startswith("kiosk/other"):
                assert b'"command"' not in m.payload, m.topic
            elif m.topic in (f"kiosk/{KIOSK}/state", f"kiosk/{KIOSK}/stats"):
                assert b'"command"' not in m.payload
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        log.close()
        for m in corpus():  # clear what the broker retained
            if m.retain:
                w.publish(m.topic, b"", retain=True)
    text = (tmp_path / "kiosk.log").read_text(errors="replace")
    assert "Traceback" not in text, text[-3000:]
