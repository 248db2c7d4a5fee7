"""``kiosk run`` with web.enabled serves the page; a page that cannot start harms nothing."""

from __future__ import annotations

import threading
import time

from web_helpers import STAFF_PW, free_port, http

from kiosk.config import load_config
from kiosk.service.app import Daemon


def run_daemon(tmp_path, web_yaml: str) -> tuple[Daemon, threading.Thread, list[int]]:
    music = tmp_path / "music" / "background"
    music.mkdir(parents=True)
    (music / "a.ogg").write_bytes(b"x" * 64)
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        f"camera: {{backend: demo, interval_s: 1}}\nmusic: {{root: {tmp_path}/music}}\n"
        f'player: {{backend: "null"}}\nservice: {{state_dir: {tmp_path}/state}}\n' + web_yaml
    )
    daemon = Daemon(load_config(cfg))
    rc: list[int] = []
    t = threading.Thread(target=lambda: rc.append(daemon.run()), daemon=True)
    t.start()
    return daemon, t, rc


def test_daemon_serves_the_page_and_stops_it(tmp_path):
    (tmp_path / "pw").write_text(f"staff:{STAFF_PW}\n")
    port = free_port()
    daemon, t, rc = run_daemon(
        tmp_path, f"web: {{enabled: true, host: 127.0.0.1, port: {port}, password_file: pw}}\n"
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    status = None
    while time.monotonic() < deadline:
        try:
            status = http("GET", url + "/")[0]
            break
        except OSError:
            time.sleep(0.2)
    assert status == 200
    assert http("POST", url + "/login", {"password": STAFF_PW})[0] == 200
    daemon.request_stop()
    t.join(30)
    assert rc == [0]
    try:
        http("GET", url + "/")
        raise AssertionError("the page still answers after the daemon stopped")
    except OSError:
        pass


def test_missing_password_file_leaves_the_kiosk_playing(tmp_path, caplog):
    port = free_port()
    daemon, t, rc = run_daemon(
        tmp_path, f"web: {{enabled: true, host: 127.0.0.1, port: {port}, password_file: nope}}\n"
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "staff page not started" not in caplog.text:
        time.sleep(0.1)
    assert "staff page not started" in caplog.text and "kiosk web passwd" in caplog.text
    assert daemon.core is not None and daemon.core.status().playlist == "background"
    daemon.request_stop()
    t.join(30)
    assert rc == [0]
