"""Hostile-client checks of the staff page over a real uvicorn on a loopback port.

Each test is one attack that once worked: it fails against the code before its fix.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from web_helpers import OPERATOR_PW, STAFF_PW, http, login

from kiosk.web.auth import MAX_CREDENTIALS, Auth, PasswordFileError, hash_password


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


def port_of(k) -> int:
    return int(k.url.rsplit(":", 1)[1])


def open_stream(k, cookie: str) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port_of(k)), timeout=5)
    s.sendall(f"GET /api/events HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode())
    return s


def test_live_streams_opened_at_once_stay_capped(kiosk):
    from kiosk.web.app import MAX_OWN, MAX_STREAMS

    cookies = [login(kiosk.url, STAFF_PW)[0] for _ in range(6)]
    socks = [open_stream(kiosk, c) for c in cookies for _ in range(8)]  # all before any answer
    try:
        firsts = [s.recv(64).split(b"\r\n")[0] for s in socks]
        ok = [i for i, f in enumerate(firsts) if f == b"HTTP/1.1 200 OK"]
        assert len(ok) == MAX_STREAMS and firsts.count(b"HTTP/1.1 503 Service Unavailable") == 28
        for n in range(6):  # one login cannot take them all
            assert sum(1 for i in ok if i // 8 == n) <= MAX_OWN
    finally:
        for s in socks:
            s.close()
    deadline = time.monotonic() + 5  # closed streams give their places back
    while time.monotonic() < deadline and kiosk.web.app.state.live.clients():
        time.sleep(0.05)
    s = open_stream(kiosk, cookies[0])
    assert s.recv(64).startswith(b"HTTP/1.1 200 OK")
    s.close()


def test_slow_and_idle_connections_are_capped_and_dropped(kiosk, monkeypatch):
    from kiosk.web import server

    monkeypatch.setattr(server, "HEADER_TIMEOUT_S", 1.0)
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    stream = open_stream(kiosk, cookie)  # a live page answered in full before the attack
    assert stream.recv(64).startswith(b"HTTP/1.1 200 OK")
    held = []
    for _ in range(100):  # slowloris: a request head that never ends
        s = socket.create_connection(("127.0.0.1", port_of(kiosk)), timeout=3)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        held.append(s)
    try:
        time.sleep(0.3)
        open_now = 0
        for s in held:
            s.settimeout(0.01)
            try:
                open_now += s.recv(1) != b""
            except TimeoutError:
                open_now += 1
            except OSError:
                pass
        assert open_now <= server.MAX_CONNECTIONS - 1, open_now  # the stream holds one
        time.sleep(1.5)
        for s in held:  # all dropped by the deadline
            s.settimeout(1)
            with contextlib.suppress(ConnectionResetError):
                assert s.recv(1) == b""
        assert http("GET", kiosk.url + "/")[0] == 200
        kiosk.core.set_volume(41)  # the live stream outlived the deadline
        stream.settimeout(5)
        got = b""
        while b'"volume": 41' not in got:
            chunk = stream.recv(65536)
            assert chunk, "the live stream was closed"
            got += chunk
    finally:
        for s in held:
            s.close()
        stream.close()


def test_cross_site_form_bodies_are_refused_even_without_origin(kiosk):
    h = staff_headers(kiosk)
    body = json.dumps({"password": STAFF_PW}).encode()
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        headers = {"Content-Type": ctype} if ctype else {}
        assert http("POST", kiosk.url + "/login", body, headers)[0] == 415, ctype
        cmd_h = {**h, **headers} if ctype else {k: v for k, v in h.items() if k != "Content-Type"}
        status, _h, _ = http("POST", kiosk.url + "/api/cmd/volume", b'{"level": 20}', cmd_h)
        assert status == 415, ctype
    assert kiosk.core.status().volume == 60
    h["Content-Type"] = "Application/JSON; charset=utf-8"
    assert cmd(kiosk, "volume", {"level": 20}, h)["ok"] and kiosk.core.status().volume == 20


def test_every_answer_has_the_security_headers(kiosk):
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    for method, path in (("GET", "/nowhere"), ("GET", "/static/x.js"), ("POST", "/api/state"),
                         ("DELETE", "/"), ("GET", "/api/state"), ("POST", "/nowhere")):  # fmt: skip
        _s, headers, _ = http(method, kiosk.url + path, headers={"Cookie": cookie})
        h = {k.lower(): v for k, v in headers.items()}
        assert "frame-ancestors 'none'" in h.get("content-security-policy", ""), (method, path)
        assert h.get("x-content-type-options") == "nosniff", (method, path)
        assert h.get("cache-control") == "no-store", (method, path)
        assert h.get("referrer-policy") == "no-referrer", (method, path)


def test_a_changed_password_ends_that_roles_sessions(kiosk, tmp_path):
    staff_cookie = login(kiosk.url, STAFF_PW)[0]
    op_cookie = login(kiosk.url, OPERATOR_PW)[0]
    new = tmp_path / "pw.new"
    new.write_text(f"staff:{hash_password('fresh-staff-pw')}\noperator:{OPERATOR_PW}\n")
    new.chmod(0o600)
    os.replace(new, tmp_path / "pw")  # how `kiosk web passwd` writes it

    def state(cookie):
        return http("GET", kiosk.url + "/api/state", headers={"Cookie": cookie})[0]

    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and state(staff_cookie) == 200:
        time.sleep(0.2)
    assert state(staff_cookie) == 401  # the old staff login is over
    assert state(op_cookie) == 200  # the operator's password did not change
    assert http("POST", kiosk.url + "/login", {"password": STAFF_PW})[0] == 401
    assert http("POST", kiosk.url + "/login", {"password": "fresh-staff-pw"})[0] == 200


@pytest.mark.parametrize("kind", ["fifo", "device", "huge", "world-writable", "garbage", "empty"])
def test_bad_password_files_are_refused_quickly(tmp_path, kind):
    pw = tmp_path / "pw"
    if kind == "fifo":
        os.mkfifo(pw)  # a plain read would wait for a writer for ever
    elif kind == "device":
        pw.symlink_to("/dev/zero")  # a plain read would fill the memory
    elif kind == "huge":
        pw.write_text(f"staff:{STAFF_PW}\n" + "#" * 100 + "\n" * 100_000)
    elif kind == "world-writable":
        pw.write_text(f"staff:{STAFF_PW}\n")
        pw.chmod(0o666)
    elif kind == "garbage":
        pw.write_bytes(b"\xff\xfe\x00garbage\n:::\nstaff\n")
    else:
        pw.write_text("")
    t0 = time.monotonic()
    with pytest.raises(PasswordFileError) as info:
        Auth(pw, 3600, 5)
    assert time.monotonic() - t0 < 5
    assert STAFF_PW not in str(info.value)


def test_a_password_file_with_many_plain_lines_is_cut_short(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("".join(f"staff:plain-{i}\n" for i in range(500)))  # 500 scrypts at load
    pw.chmod(0o600)
    auth = Auth(pw, 3600, 5)
    assert len(auth._creds) == MAX_CREDENTIALS


def test_a_cookie_chosen_before_login_is_not_kept(kiosk):
    fixed = "kiosk_session=attacker-chose-this-token"
    status, headers, _ = http("POST", kiosk.url + "/login", {"password": STAFF_PW},
                              {"Cookie": fixed})  # fmt: skip
    assert status == 200 and fixed not in headers["set-cookie"]
    assert http("GET", kiosk.url + "/api/state", headers={"Cookie": fixed})[0] == 401


def test_spoofed_forwarded_for_does_not_reset_the_limit(kiosk):
    for i in range(8):
        h = {
            "X-Forwarded-For": f"10.9.8.{i}",
            "X-Real-IP": f"10.9.7.{i}",
            "Forwarded": f"for=1.2.3.{i}",
        }
        http("POST", kiosk.url + "/login", {"password": "guess"}, h)
    assert http("POST", kiosk.url + "/login", {"password": STAFF_PW},
                {"X-Forwarded-For": "10.1.1.1"})[0] == 429  # fmt: skip


def test_gets_change_nothing(kiosk):
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    before = kiosk.core.status()
    for path in ("/api/cmd/next", "/api/cmd/volume?level=20", "/logout", "/login?password=x"):
        for method in ("GET", "HEAD"):
            status = http(method, kiosk.url + path, headers={"Cookie": cookie})[0]
            assert status in (404, 405), (method, path, status)
    after = kiosk.core.status()
    assert (after.track, after.volume) == (before.track, before.volume)
    assert http("GET", kiosk.url + "/api/state", headers={"Cookie": cookie})[0] == 200


def test_concurrent_skips_cannot_pass_the_skip_limit(kiosk_factory):
    k = kiosk_factory(player={"backend": "null", "crossfade_s": 0.2, "skip_limit_per_hour": 3})
    h = staff_headers(k)
    with ThreadPoolExecutor(20) as ex:
        results = list(ex.map(lambda _i: cmd(k, "next", {}, h), range(20)))
    assert sum(r["ok"] for r in results) == 3
    assert all("skip limit: 3 per hour" in r["error"] for r in results if not r["ok"])


def test_a_huge_request_head_is_cut_off_before_it_is_parsed(kiosk):
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"h" * 100_000 + b"\r\n\r\n"
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", port_of(kiosk)), timeout=5) as s:
            with contextlib.suppress(OSError):
                s.sendall(head)
            try:
                answer = s.recv(64)
            except ConnectionResetError:
                answer = b""
            assert not answer.startswith(b"HTTP/1.1 200"), answer
    cookie, csrf = login(kiosk.url, STAFF_PW)  # a full-size command still goes through
    h = {"Cookie": cookie + "; other=" + "c" * 3000, "X-CSRF-Token": csrf,
         "Content-Type": "application/json", "User-Agent": "u" * 2000}  # fmt: skip
    body = json.dumps({"level": 20, "id": "i" * 100}).encode() + b" " * 3500
    assert cmd(kiosk, "volume", body, h)["ok"]


def test_malformed_requests_cannot_flood_the_log(kiosk):
    lines: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = lines.append  # type: ignore[method-assign]
    logging.getLogger("uvicorn.error").addHandler(handler)
    for _ in range(40):
        with socket.create_connection(("127.0.0.1", port_of(kiosk)), timeout=5) as s:
            s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            with contextlib.suppress(OSError):
                s.recv(64)
    logging.getLogger("uvicorn.error").removeHandler(handler)
    assert len(lines) <= 5, len(lines)  # the filter is per process: earlier tests count


def test_a_password_file_owned_by_another_user_is_refused(tmp_path, monkeypatch):
    pw = tmp_path / "pw"
    pw.write_text(f"staff:{STAFF_PW}\n")
    pw.chmod(0o600)
    if os.geteuid() == 0:
        os.chown(pw, 65534, 65534)  # nobody: could rewrite the operator's password
    else:
        monkeypatch.setattr(os, "geteuid", lambda: os.getuid() + 1)  # the daemon's user
    with pytest.raises(PasswordFileError, match="belongs to user"):
        Auth(pw, 3600, 5)


def test_staff_volume_stays_inside_the_limits(kiosk):
    h = staff_headers(kiosk)
    for level, want in ((0, 10), (100, 90), (55, 55)):  # player.min_volume..max_volume
        assert cmd(kiosk, "volume", {"level": level}, h)["ok"]
        assert kiosk.core.status().volume == want
    for bad in (-1, 101, 1e9, "90", True, None):
        assert cmd(kiosk, "volume", {"level": bad}, h)["ok"] is False
    assert kiosk.core.status().volume == 55


def test_text_that_is_not_utf8_cannot_break_the_page(kiosk_factory, tmp_path):
    """A track copied with a Latin-1 name reaches Python as lone surrogates; so does an id
    sent as ``"\\ud800"``. Either one used to turn the answer into a 500, and while such a
    track played ``/api/state`` (and so the page's CSRF token) was gone for everyone."""
    folder = tmp_path / "music" / "background"
    folder.mkdir(parents=True)
    (folder / os.fsdecode(b"00 - Caf\xe9 Band - Tune\xff.ogg")).write_bytes(b"x" * 64)
    k = kiosk_factory(tracks=0)
    deadline = time.monotonic() + 5
    while (k.core.status().track or {}).get("title") is None:
        assert time.monotonic() < deadline, "the track never started"
        time.sleep(0.05)
    headers = staff_headers(k)  # GET /api/state answers
    status, _h, raw = http("GET", k.url + "/api/state", headers={"Cookie": headers["Cookie"]})
    assert status == 200
    assert json.loads(raw)["track"] == {"title": "Tune\ufffd", "artist": "Caf\ufffd Band"}
    status, _h, raw = http("POST", k.url + "/api/cmd/status", b'{"id": "\\ud800"}', headers)
    assert status == 200
    answer = json.loads(raw)
    assert answer["ok"] and answer["id"] == "\ufffd"
    assert "\ufffd" in answer["status"]["track"]["path"]
