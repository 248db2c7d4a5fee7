"""Hostile-client checks of the staff page over a real uvicorn on a loopback port.

Each test is one attack that once worked: it fails against the code before its fix.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from web_helpers import STAFF_PW, http, login


@pytest.fixture
def kiosk(kiosk_factory):
    return kiosk_factory()


def staff_headers(k) -> dict[str, str]:
    cookie, csrf = login(k.url, STAFF_PW)
    return {"Cookie": cookie, "X-CSRF-Token": csrf, "Content-Type": "application/json"}


def cmd(k, name, body, headers) -> dict:
    _s, _h, raw = http("POST", f"{k.url}/api/cmd/{name}", body, headers)
    return json.loads(raw)


def test_staff_cannot_block_the_whole_library(kiosk):
    h = staff_headers(kiosk)
    for pattern in ("*", "e", "band", ".ogg"):
        body = cmd(kiosk, "block", {"pattern": pattern}, h)
        assert body["ok"] is False and "nothing to play" in body["error"], (pattern, body)
    assert kiosk.core.blocks() == []
    assert kiosk.core.status().playlist == "background"
    # One track at a time: the last playable one of a playlist stays.
    titles = set()
    for _ in range(20):
        body = cmd(kiosk, "block", {"track": "current"}, h)
        if not body["ok"]:
            break
        titles.add(body["blocked"]["track"])
    assert "nothing to play" in body["error"] and len(titles) == 7
    st = kiosk.core.status()
    assert st.playlist == "background" and st.track is not None
    # An operator still may (and can unblock again).
    assert kiosk.core.block("pattern", "*")["pattern"] == "*"


def test_concurrent_guesses_cannot_slip_past_the_login_limit(kiosk):
    def guess(i):
        return http("POST", kiosk.url + "/login", {"password": f"guess{i}"})[0]

    with ThreadPoolExecutor(40) as ex:
        statuses = list(ex.map(guess, range(40)))
    statuses += [guess(i) for i in range(40, 46)]  # then one by one
    assert statuses.count(401) == 5 and statuses.count(429) == 41, statuses
    assert http("POST", kiosk.url + "/login", {"password": STAFF_PW})[0] == 429


def test_a_login_flood_does_not_hold_up_the_page(kiosk_factory):
    k = kiosk_factory(web={"login_attempts_per_minute": 100})
    h = staff_headers(k)
    state_h = {"Cookie": h["Cookie"]}

    def guess(i):
        return http("POST", k.url + "/login", {"password": f"guess{i}"})[0]

    with ThreadPoolExecutor(48) as ex:
        flood = [ex.submit(guess, i) for i in range(96)]
        t0 = time.monotonic()
        assert http("GET", k.url + "/api/state", headers=state_h)[0] == 200
        took = time.monotonic() - t0
        statuses = [f.result() for f in flood]
    assert 429 in statuses  # only a few checks at once; the rest are turned away at once
    assert took < 2.0, took
