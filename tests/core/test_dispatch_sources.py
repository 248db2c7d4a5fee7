"""Every front end's command reaches the history with its true source and role.

The staff page, a signal and the CLI each go through the kiosk's one dispatcher; these
tests drive the real web app, the real daemon and the real correction store.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "history"))
from web_helpers import STAFF_PW, http, login, start_kiosk

from kiosk.history.attach import attach


def _commands(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT command, source, role, ok FROM commands ORDER BY id").fetchall()
    finally:
        db.close()


def test_staff_page_skip_and_block_are_recorded_as_web_staff(tmp_path: Path) -> None:
    k = start_kiosk(tmp_path, tracks=8, player={"skip_limit_per_hour": 5})
    rec = attach(k.core, k.core.loaded, tmp_path)
    assert rec is not None
    try:
        cookie, csrf = login(k.url, STAFF_PW)
        headers = {"Cookie": cookie, "X-CSRF-Token": csrf}
        deadline = time.monotonic() + 5
        while k.core.status().track is None and time.monotonic() < deadline:
            time.sleep(0.05)
        status, _h, body = http("POST", k.url + "/api/cmd/next", {}, headers)
        assert status == 200 and json.loads(body)["ok"], body
        status, _h, body = http("POST", k.url + "/api/cmd/block", {"artist": "Band 1"}, headers)
        assert status == 200 and json.loads(body)["ok"], body
    finally:
        k.close()
        rec.close()
    assert _commands(tmp_path / "history.sqlite3") == [
        ("next", "web", "staff", 1),
        ("block", "web", "staff", 1),
    ]


def test_sighup_reload_goes_through_the_dispatcher(tmp_path: Path) -> None:
    from history_helpers import built_daemon

    from kiosk.service.reload import handle_hup

    daemon, core = built_daemon(tmp_path)
    seen: list[dict] = []
    core.events.subscribe(lambda e: seen.append(dict(e.data)), {"command"})
    handle_hup(daemon, core)
    # The dispatcher's record: the same shape as any other front end's command.
    assert seen == [
        {
            "command": "reload",
            "source": "signal",
            "role": "operator",
            "user": None,
            "ok": True,
            "args": {},
            "error": None,
        }
    ]


def test_cli_and_daemon_corrections_never_erase_each_other(tmp_path: Path) -> None:
    """Two stores on one state directory, as the daemon's views and `kiosk music retag`
    build them: each write keeps what the other wrote in the meantime."""
    from kiosk.library.sorting import Corrections

    daemon_side, cli_side = Corrections(tmp_path), Corrections(tmp_path)
    cli_side.set("k-cli", "calm", "unsorted/a.wav")
    daemon_side.set("k-daemon", "happy", "unsorted/b.wav")
    cli_side.set("k-cli2", "upbeat", "unsorted/c.wav")
    assert set(Corrections(tmp_path).all()) == {"k-cli", "k-daemon", "k-cli2"}
    # Each side also reads what the other wrote.
    assert daemon_side.get("k-cli2") == "upbeat" and cli_side.get("k-daemon") == "happy"
    # Removing one correction keeps the other side's.
    daemon_side.set("k-cli", None, "unsorted/a.wav")
    assert set(Corrections(tmp_path).all()) == {"k-daemon", "k-cli2"}
