"""``kiosk report --out``: a PNG figure and a self-contained HTML page that a real headless
Chromium renders without network."""

from __future__ import annotations

import os
import re
import shutil
import subprocess

import cv2
import numpy as np
import pytest
from test_replay import make_day, replay, report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("day")
    cfg = make_day(tmp)
    replay(cfg)
    return tmp, cfg


def test_png_is_the_main_figure(day):
    tmp, cfg = day
    out = tmp / "report.png"
    proc = report(cfg, "--date", "2026-11-20", "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    img = cv2.imread(str(out))
    assert img is not None and img.shape[1] >= 1000
    happy = np.all(np.abs(img.astype(int) - (38, 192, 246)) < 12, axis=2).mean()  # BGR
    sad = np.all(np.abs(img.astype(int) - (167, 121, 78)) < 12, axis=2).mean()
    assert happy > 0.02 and sad > 0.02, (happy, sad)  # both moods are drawn


def test_html_is_self_contained_and_renders_in_chromium(day):
    tmp, cfg = day
    page = tmp / "report.html"
    proc = report(cfg, "--date", "2026-11-20", "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert "http://" not in html and "https://" not in html
    assert re.findall(r'src="([^"]{0,22})', html) == ["data:image/png;base64,"] * 3
    for words in ("Mood over the day", "Visitors", "top tracks", "Does the music help",
                  "not proof", "Mellow tune"):  # fmt: skip
        assert words in html or words in html.replace("&#x27;", "'"), words
    if CHROMIUM is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (scripts/bootstrap.sh installs it)")
        pytest.skip("chromium not installed (apt install chromium)")
    shot = tmp / "shot.png"
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--host-resolver-rules=MAP * ~NOTFOUND",
         "--window-size=1280,2200", f"--screenshot={shot}", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert shot.is_file(), proc.stderr[-2000:]
    img = cv2.imread(str(shot))
    assert img is not None and img.shape[:2] == (2200, 1280)
    not_white = (img < 235).any(axis=2).mean()
    assert not_white > 0.05, not_white  # the figures were drawn, not a blank page
    happy = np.all(np.abs(img.astype(int) - (38, 192, 246)) < 16, axis=2).mean()
    assert happy > 0.005, happy  # the mood chart's colours made it onto the screen


def test_odd_tags_are_text_not_markup(tmp_path):
    from history_helpers import T0, recorder

    from kiosk.core.events import Event
    from kiosk.history import store
    from kiosk.history.page import render
    from kiosk.history.summary import summarize

    rec = recorder(tmp_path)
    rec.on_event(Event("playlist", {"from": None, "to": "<b>x</b>", "reason": "startup"}, T0))
    for i, title in enumerate(["<script>alert(1)</script>", "$\\nosuchcommand$ hits", None]):
        rec.on_event(Event("track", {"playlist": "<b>x</b>", "path": f"/m/{i}.mp3",
                                     "title": title, "artist": "A & B"}, T0 + i))  # fmt: skip
    rec.close()
    data = store.read_range(tmp_path / "history.sqlite3", T0 - 60, T0 + 3600, 0)
    html = render(summarize(data, T0 - 60, T0 + 3600, 10), data, T0 - 60, T0 + 3600)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>x</b>" not in html and "A &amp; B" in html


def test_playlist_bars_stop_where_the_kiosk_was_off():
    from kiosk.history.charts import _segments

    seen = [float(t) for t in range(0, 3600, 60)] + [float(t) for t in range(36000, 39600, 60)]
    switches = [{"ts": 0.0, "to": "a"}, {"ts": 1800.0, "to": "b"}, {"ts": 36000.0, "to": "c"}]
    assert _segments(switches, 39600.0, seen) == [
        (0.0, 1800.0, "a"),  # up to the next switch
        (1800.0, 3600.0, "b"),  # the samples stop at 01:00: the night is not "b"
        (36000.0, 39600.0, "c"),
    ]
