"""Fixtures for the staff page tests: a real kiosk behind the page, and Debian's chromium."""

from __future__ import annotations

import os
import shutil

import pytest
from web_helpers import missing, start_kiosk

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def chromium():
    path = shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        missing("chromium not installed: apt-get install --no-install-recommends chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright not installed: pip install -e '.[dev]'")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def phone(chromium):
    """A fresh phone-sized browser context (no cookies from other tests)."""
    ctx = chromium.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=1)
    ctx.set_default_timeout(10_000)
    page = ctx.new_page()
    yield page
    ctx.close()


@pytest.fixture
def kiosk_factory(tmp_path):
    started = []

    def make(**kw):
        k = start_kiosk(tmp_path, **kw)
        started.append(k)
        return k

    yield make
    for k in started:
        k.close()
