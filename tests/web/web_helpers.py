"""A real kiosk core (real library, null player, real clock) behind the real staff page."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from broker import free_port

from kiosk.config import load_config, parse_config
from kiosk.core.core import Core
from kiosk.library.blocklist import BlockList
from kiosk.library.library import Library
from kiosk.player.null import NullPlayer
from kiosk.web.server import WebServer, start_web

STAFF_PW = "staff-secret-1"
OPERATOR_PW = "operator-secret-2"


def missing(reason: str) -> None:
    """Skip for want of a real component; under CI=true fail instead, never skip silently."""
    import os

    import pytest

    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (required under CI=true)")
    pytest.skip(reason)


def make_music(root: Path, tracks: int, playlist: str = "background") -> Path:
    folder = root / playlist
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(tracks):
        (folder / f"{i:02d} - Band {i % 4} - Tune {i:02d}.ogg").write_bytes(b"x" * 64)
    return root


@dataclass
class Kiosk:
    core: Core
    player: NullPlayer
    web: WebServer
    url: str
    stop: threading.Event

    def close(self) -> None:
        self.stop.set()
        self.web.stop()
        self.player.close()


def start_kiosk(
    tmp: Path,
    tracks: int = 8,
    tls: tuple[Path, Path] | None = None,
    web: dict[str, Any] | None = None,
    **config: Any,
) -> Kiosk:
    (tmp / "pw").write_text(f"staff:{STAFF_PW}\noperator:{OPERATOR_PW}\n", encoding="utf-8")
    (tmp / "pw").chmod(0o600)
    root = make_music(tmp / "music", tracks)
    port = free_port()
    raw = {
        "music": {"root": str(root)},
        "player": {"backend": "null", "crossfade_s": 0.2},
        "web": {"enabled": True, "host": "127.0.0.1", "port": port, "password_file": f"{tmp}/pw"},
        "usb_import": {"library_dir": str(tmp / "lib")},
        **config,
    }
    raw["web"] = {**raw["web"], **(web or {})}
    if tls:
        raw["web"].update(tls_certfile=str(tls[0]), tls_keyfile=str(tls[1]))
    cfg = parse_config(raw)
    loaded = replace(load_config(None), config=cfg)
    player = NullPlayer(cfg.player)
    core = Core(loaded, player, Library(root), blocklist=BlockList(tmp / "blocklist.json"))
    core.start()
    stop = threading.Event()

    def loop() -> None:  # the daemon's poll loop, faster
        while not stop.wait(0.05):
            core.poll()

    threading.Thread(target=loop, daemon=True).start()
    web = start_web(core, loaded)
    scheme = "https" if tls else "http"
    return Kiosk(core, player, web, f"{scheme}://127.0.0.1:{port}", stop)


def http(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    headers = dict(headers or {})
    if body is not None and not isinstance(body, bytes):
        headers.setdefault("Content-Type", "application/json")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def login(url: str, password: str) -> tuple[str, str]:
    """(cookie header value, csrf token) of a fresh session."""
    status, headers, _ = http("POST", url + "/login", {"password": password})
    assert status == 200, status
    cookie = headers["set-cookie"].split(";")[0]
    _s, _h, body = http("GET", url + "/api/state", headers={"Cookie": cookie})
    return cookie, json.loads(body)["csrf"]
