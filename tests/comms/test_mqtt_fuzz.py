"""1,000 hostile payloads on the command topics: every one refused, nothing changes."""

from __future__ import annotations

import json
import random

from comms_helpers import FakeApi, wait_until

from kiosk.core.api import EMOTIONS

N = 1000
JUNK = "\u0000\u200b\u202e\ud7ff\U0001f600\u00e9\u4e2d\ufffd'\"\\{}[]:,/"


def junk_text(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(JUNK + "abc123") for _ in range(n))


def junk_name(rng: random.Random) -> str:
    # valid topic level: no '/', '+', '#', NUL
    name = "".join(c for c in junk_text(rng, rng.randint(1, 12)) if c not in "/+#\x00")
    return name or "x"


def wrong_value(rng: random.Random):
    return rng.choice(
        [
            "50",
            50.5,
            True,
            None,
            [],
            {},
            -1,
            101,
            10**30,
            -(10**20),
            float("inf"),
            junk_text(rng, 5),
        ]
    )


def hostile(rng: random.Random, max_bytes: int) -> tuple[str, bytes]:
    """(command name, payload) that must be refused by the dispatcher or the front end."""
    kind = rng.randrange(10)
    noarg = ["pause", "resume", "next", "clear_override", "reload", "rescan", "status"]
    if kind == 0:  # random bytes, mostly not UTF-8 / not JSON
        return rng.choice([*noarg, "volume"]), rng.randbytes(rng.randint(1, 200)) + b"\xff"
    if kind == 1:  # truncated or broken JSON
        return rng.choice(noarg), json.dumps({"id": 1, "x": junk_text(rng, 10)})[:-1].encode()
    if kind == 2:  # huge
        return rng.choice([*noarg, "volume"]), b'{"level": 1, "pad": "' + b"A" * (
            max_bytes + rng.randint(1, 60000)
        ) + b'"}'
    if kind == 3:  # wrong types / out of range volume
        return "volume", json.dumps({"level": wrong_value(rng), "id": rng.random()}).encode()
    if kind == 4:  # unknown command, unicode junk name
        return junk_name(rng) + "?", json.dumps({"level": 5}).encode()
    if kind == 5:  # JSON that is not an object
        return rng.choice(noarg), json.dumps(rng.choice([[1], "pause", 5, None, True])).encode()
    if kind == 6:  # unexpected fields on no-argument commands
        return rng.choice(noarg), json.dumps({junk_text(rng, 4): wrong_value(rng)}).encode()
    if kind == 7:  # override with a mood no playlist has, or bad minutes
        if rng.random() < 0.5:
            mood = junk_text(rng, rng.randint(0, 80))
            while mood in EMOTIONS:
                mood += "!"
            return "override", json.dumps({"mood": mood}).encode()
        minutes = rng.choice([0, -5, "10", None, 10**9, float("nan")])
        return "override", json.dumps({"mood": "happy", "minutes": minutes}).encode()
    if kind == 8:  # deep nesting
        depth = rng.randint(500, 1500)
        return rng.choice(noarg), b"[" * depth + b"]" * depth
    return "volume", rng.choice([b"50", b'{"level":}', b"{'level': 5}", b"\x00", b"NaN"])


def test_hostile_payloads_are_refused_and_change_nothing(broker, watch, frontend):
    api = FakeApi()
    w = watch(broker.port, ["kiosk/k1/cmd/result"])
    fe = frontend(api, broker.port, max_payload_bytes=4096)
    wait_until(lambda: fe.ready)
    before = api.snapshot()
    rng = random.Random(20261122)
    roots = ["kiosk/k1", "kiosk/all", "kiosk/group/north"]
    expected = 0
    retained_sent = 0
    for i in range(N):
        name, payload = hostile(rng, 4096)
        retain = rng.random() < 0.05
        w.publish(f"{rng.choice(roots)}/cmd/{name}", payload, retain=retain)
        if retain:
            retained_sent += 1
        else:
            expected += 1
        if i % 25 == 24:  # stay inside the command queue; measure refusals, not "busy"
            wait_until(lambda e=expected: len(w.drain(0.01)) >= e, timeout=10)
    wait_until(lambda: len(w.drain(0.05)) >= expected, timeout=10)
    w.drain(0.3)
    results = [json.loads(m.payload) for m in w.seen]
    assert len(results) == expected
    assert all(r["ok"] is False and r["error"] for r in results)
    assert not any("busy" in r["error"] or "rate" in r["error"] for r in results)
    assert fe.counters["retained_ignored"] == retained_sent
    assert api.snapshot() == before and api.calls == []
    assert all(t.is_alive() for t in fe._threads)
    # still obeys a good command afterwards
    w.publish("kiosk/k1/cmd/volume", '{"level": 12, "id": "after"}')
    wait_until(lambda: api.status().volume == 12)
