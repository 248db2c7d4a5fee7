"""The staff page in a real headless Chromium, against a real core and the real server."""

from __future__ import annotations

import os
from pathlib import Path

from web_helpers import OPERATOR_PW, STAFF_PW

SHOTS = Path(os.environ.get("KIOSK_SCREENSHOTS", "/tmp"))


def log_in(page, url: str, password: str) -> None:
    page.goto(url + "/")
    page.fill("#password", password)
    page.click("#login")
    page.wait_for_selector("#skip")
    page.wait_for_function("() => document.getElementById('track-title').textContent.length > 1")
    page.wait_for_selector("#live.on")  # the live stream is open


def title(page) -> str:
    return page.inner_text("#track-title")


def test_login_then_skip_changes_the_track_on_the_page(phone, kiosk_factory):
    k = kiosk_factory()
    phone.goto(k.url + "/")
    assert phone.is_visible("#password") and not phone.is_visible("#skip")
    phone.fill("#password", "not it")
    phone.click("#login")
    phone.wait_for_selector("#msg.bad")
    assert "wrong password" in phone.inner_text("#msg")
    log_in(phone, k.url, STAFF_PW)
    assert phone.inner_text("#role") == "staff"
    assert phone.inner_text("#skip-info") == "6 of 6 skips left this hour."
    assert not phone.is_visible("#operator")  # staff cannot pause or override
    before = title(phone)
    assert before == k.core.status().track["title"]
    phone.click("#skip")
    phone.wait_for_function(
        "t => document.getElementById('track-title').textContent !== t", arg=before
    )
    assert title(phone) == k.core.status().track["title"]
    phone.wait_for_function(
        "() => document.getElementById('skip-info').textContent.startsWith('5 of 6')"
    )
    # A change made elsewhere (MQTT, the daemon) shows up without a reload.
    k.core.set_volume(33)
    phone.wait_for_function("() => document.getElementById('volume-value').textContent === '33'")
    phone.screenshot(path=str(SHOTS / "kiosk-staff-page.png"), full_page=True)


def test_skip_past_the_limit_shows_the_refusal(phone, kiosk_factory):
    k = kiosk_factory(player={"backend": "null", "crossfade_s": 0.2, "skip_limit_per_hour": 2})
    log_in(phone, k.url, STAFF_PW)
    for left in (1, 0):
        before = title(phone)
        phone.click("#skip")
        phone.wait_for_function(
            "t => document.getElementById('track-title').textContent !== t", arg=before
        )
        phone.wait_for_function(
            f"() => document.getElementById('skip-info').textContent.startsWith('{left} of 2')"
        )
    before = title(phone)
    phone.click("#skip")
    phone.wait_for_selector("#msg.bad")
    msg = phone.inner_text("#msg")
    assert msg.startswith("skip limit: 2 per hour, next at "), msg
    assert title(phone) == before == k.core.status().track["title"]
    phone.screenshot(path=str(SHOTS / "kiosk-staff-refusal.png"), full_page=True)


def test_blocked_track_never_returns_in_a_50_track_shuffle(phone, kiosk_factory):
    k = kiosk_factory(tracks=50)
    log_in(phone, k.url, STAFF_PW)
    blocked = title(phone)
    phone.click("#block")  # the first tap only asks
    assert phone.inner_text("#block") == "Tap again to block"
    assert k.core.blocks() == []
    phone.click("#block")
    phone.wait_for_function(
        "t => document.getElementById('track-title').textContent !== t", arg=blocked
    )
    phone.wait_for_function(
        "t => document.getElementById('blocks').textContent.includes(t)", arg=blocked
    )
    seen = set()
    for _ in range(100):  # two whole shuffle cycles, skipped by the operator (no limit)
        k.core.next_track()
        k.core.poll()
        seen.add(k.core.status().track["title"])
    assert blocked not in seen and len(seen) == 49
    phone.wait_for_function(
        "t => document.getElementById('track-title').textContent === t",
        arg=k.core.status().track["title"],
    )
    assert (k.core.blocklist.path).exists()


def test_operator_pauses_and_overrides(phone, kiosk_factory):
    k = kiosk_factory()
    log_in(phone, k.url, OPERATOR_PW)
    assert phone.is_visible("#operator")
    assert phone.inner_text("#skip-info") == "Skips are not limited for you."
    phone.click("#pause")
    phone.wait_for_selector("#paused-tag:not([hidden])")
    assert k.core.status().paused
    phone.click("#resume")
    phone.wait_for_selector("#paused-tag[hidden]", state="attached")
    phone.select_option("#ov-mood", "background")
    phone.select_option("#ov-minutes", "30")
    phone.click("#ov-go")
    phone.wait_for_selector("#override-tag:not([hidden])")
    assert k.core.status().override["mood"] == "background"
    phone.click("#vol-up")
    phone.wait_for_function("() => document.getElementById('volume-value').textContent === '65'")
    phone.click("#logout")
    phone.wait_for_selector("#password")
