"""The staff page's HTTP contract over a real socket: login, sessions, CSRF, roles, privacy."""

from __future__ import annotations

import http.client as httpclient
import json
import logging
import shutil
import ssl
import subprocess
import sys

import pytest
from web_helpers import OPERATOR_PW, STAFF_PW, http, login

from kiosk.web.auth import Auth, hash_password, read_password_file
from kiosk.web.server import WebError, start_web

POST_PATHS = ["/", "/login/../api/cmd/next", "/api/cmd/next", "/api/cmd/volume", "/api/cmd/pause",
              "/api/cmd/block", "/logout", "/api/state", "/api/events", "/nowhere"]  # fmt: skip


@pytest.fixture
def kiosk(kiosk_factory):
    return kiosk_factory()


def post(k, path, body, cookie=None, csrf=None, **headers):
    h = {"Content-Type": "application/json", **headers}
    if cookie:
        h["Cookie"] = cookie
    if csrf:
        h["X-CSRF-Token"] = csrf
    status, _h, raw = http("POST", k.url + path, body, h)
    return status, json.loads(raw) if raw.startswith(b"{") else raw


def test_root_serves_the_login_page_then_the_staff_page(kiosk):
    status, headers, body = http("GET", kiosk.url + "/")
    assert status == 200 and b'id="login-form"' in body and b'id="skip"' not in body
    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    _s, _h, body = http("GET", kiosk.url + "/", headers={"Cookie": cookie})
    assert b'id="skip"' in body
    for name in ("app.js", "app.css"):
        assert http("GET", f"{kiosk.url}/static/{name}")[0] == 200
    assert b"http" not in http("GET", kiosk.url + "/static/app.css")[2]  # no outside assets


def test_every_post_without_a_session_is_refused(kiosk):
    before = kiosk.core.status()
    for path in POST_PATHS:
        status, _body = post(kiosk, path, {"level": 20})
        assert status in (401, 403), path
        status, _body = post(kiosk, path, {}, cookie="kiosk_session=forged-token")
        assert status in (401, 403), path
    after = kiosk.core.status()
    assert (after.volume, after.track) == (before.volume, before.track)


def test_cookie_is_httponly_and_samesite_strict(kiosk):
    status, headers, _ = http("POST", kiosk.url + "/login", {"password": STAFF_PW})
    assert status == 200
    cookie = headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back


def test_forged_cross_site_posts_are_refused(kiosk):
    cookie, csrf = login(kiosk.url, STAFF_PW)
    volume = kiosk.core.status().volume
    cases = [
        {},  # no token
        {"csrf": "wrong"},
        {"csrf": csrf, "Origin": "http://evil.example"},
        {"csrf": csrf, "Sec-Fetch-Site": "cross-site"},
        {"csrf": csrf, "Origin": "null"},
    ]
    for case in cases:
        case = dict(case)
        status, body = post(kiosk, "/api/cmd/volume", {"level": 20}, cookie, case.pop("csrf", None),
                            **case)  # fmt: skip
        assert status == 403, (case, body)
    assert kiosk.core.status().volume == volume
    status, body = post(kiosk, "/api/cmd/volume", {"level": 20}, cookie, csrf,
                        Origin=kiosk.url)  # fmt: skip
    assert status == 200 and body["ok"] and kiosk.core.status().volume == 20
    status, _ = post(kiosk, "/login", {"password": STAFF_PW}, Origin="http://evil.example")
    assert status == 403


def test_staff_role_is_limited_and_operator_is_not(kiosk):
    cookie, csrf = login(kiosk.url, STAFF_PW)
    _s, body = post(kiosk, "/api/cmd/pause", {}, cookie, csrf)
    assert body == {"id": None, "command": "pause", "ok": False,
                    "error": "pause needs the operator role"}  # fmt: skip
    _s, body = post(kiosk, "/api/cmd/volume", {"level": 500}, cookie, csrf)
    assert body["ok"] is False and "less than or equal to 100" in body["error"]  # same as MQTT
    cookie, csrf = login(kiosk.url, OPERATOR_PW)
    _s, body = post(kiosk, "/api/cmd/pause", {}, cookie, csrf)
    assert body["ok"] and kiosk.core.status().paused


def test_bad_bodies_get_the_same_reasons_as_mqtt(kiosk):
    cookie, csrf = login(kiosk.url, STAFF_PW)
    before = kiosk.core.status().volume
    cases = [
        (b"[" * 2000 + b"]" * 2000, "payload is nested too deeply (limit 32)"),
        (b'{"level": 20, "x": ' + b"[" * 32 + b"]" * 32 + b"}", "payload is nested too deeply"),
        (b"[20]", "payload must be a JSON object, got list"),
        (b'{"level": ', "payload is not valid JSON"),
        (b" " * 4097, "body must be a JSON object under 4 KB"),
    ]
    for body, error in cases:
        status, answer = post(kiosk, "/api/cmd/volume", body, cookie, csrf)
        assert status == 400 and answer["error"].startswith(error), (body[:40], answer)
    _s, answer = post(kiosk, "/api/cmd/volume", {"level": 20, "id": "[" * 100}, cookie, csrf)
    assert answer["ok"] and kiosk.core.status().volume == 20 != before


def test_logins_are_rate_limited(kiosk):
    for _ in range(5):
        assert post(kiosk, "/login", {"password": "guess"})[0] == 401
    status, body = post(kiosk, "/login", {"password": STAFF_PW})
    assert status == 429 and "too many attempts" in body["error"]


def test_logout_ends_the_session(kiosk):
    cookie, csrf = login(kiosk.url, STAFF_PW)
    assert post(kiosk, "/logout", {}, cookie, csrf)[0] == 200
    assert post(kiosk, "/api/cmd/next", {}, cookie, csrf)[0] == 401
    assert http("GET", kiosk.url + "/api/state", headers={"Cookie": cookie})[0] == 401


def test_state_is_aggregates_only_and_no_picture_is_served(kiosk):
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    _s, _h, raw = http("GET", kiosk.url + "/api/state", headers={"Cookie": cookie})
    text = raw.decode()
    for word in ("box", "frame", "image", "crop", "jpeg", "png"):
        assert word not in text.lower(), word
    for path in ("/static/frame.jpg", "/static/../../etc/passwd", "/frame", "/snapshot.png"):
        assert http("GET", kiosk.url + path, headers={"Cookie": cookie})[0] == 404, path


def test_today_chart_comes_from_the_history_and_needs_a_login(kiosk_factory, tmp_path):
    from kiosk.history.store import open_for_writing

    history = tmp_path / "history.sqlite3"
    open_for_writing(history).close()  # an empty history of this kiosk's own
    kiosk = kiosk_factory(history={"path": str(history)})
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    status, _h, raw = http("GET", kiosk.url + "/api/today", headers={"Cookie": cookie})
    assert status == 200, raw
    data = json.loads(raw)
    assert data["ok"] is True and isinstance(data["points"], list)
    for p in data["points"]:  # aggregates only: a time, a mood word and a share
        assert set(p) == {"t", "mood", "confidence"}
    assert http("GET", kiosk.url + "/api/today")[0] == 401


def test_big_and_bad_bodies_are_refused(kiosk):
    cookie, csrf = login(kiosk.url, STAFF_PW)
    status, _ = post(kiosk, "/api/cmd/volume", b'{"level": 1, "x": "' + b"a" * 9000 + b'"}',
                     cookie, csrf)  # fmt: skip
    assert status == 400
    _s, body = post(kiosk, "/api/cmd/volume", b"\xff\xfe", cookie, csrf)
    assert body["ok"] is False
    _s, body = post(kiosk, "/api/cmd/block", {"track": "current", "artist": "x"}, cookie, csrf)
    assert body["ok"] is False and "exactly one" in body["error"]


def test_live_events_carry_changes(kiosk):
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    host, port = kiosk.url.removeprefix("http://").split(":")
    conn = httpclient.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/api/events", headers={"Cookie": cookie})
    resp = conn.getresponse()
    assert resp.status == 200 and resp.getheader("content-type").startswith("text/event-stream")

    def next_state():
        while True:
            line = resp.fp.readline().decode()
            if line.startswith("data: "):
                return json.loads(line[6:])

    assert next_state()["volume"] == 60
    kiosk.core.set_volume(42)
    assert next_state()["volume"] == 42
    conn.close()


def test_a_quiet_live_stream_gets_keepalives_and_stays_open(kiosk, monkeypatch):
    from kiosk.web import app as web_app

    monkeypatch.setattr(web_app, "KEEPALIVE_S", 0.1)
    cookie, _csrf = login(kiosk.url, STAFF_PW)
    host, port = kiosk.url.removeprefix("http://").split(":")
    conn = httpclient.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/api/events", headers={"Cookie": cookie})
    resp = conn.getresponse()
    lines = [resp.fp.readline().decode() for _ in range(40)]  # raw: chunk sizes between
    assert sum(line == ": keepalive\n" for line in lines) >= 2, lines
    assert sum(line.startswith("data: ") for line in lines) >= 2, lines  # one per wake-up
    conn.close()


def test_password_file_hashes_and_never_logs_secrets(tmp_path, caplog):
    pw = tmp_path / "pw"
    pw.write_text(
        f"# comment\nstaff:{STAFF_PW}\nbogus line\noperator:{hash_password(OPERATOR_PW)}\n"
    )
    caplog.set_level(logging.DEBUG)
    creds = read_password_file(pw)
    assert [c.role for c in creds] == ["staff", "operator"]
    auth = Auth(pw, 3600, 5)
    assert auth.login("1.2.3.4", "wrong") is None
    assert auth.login("1.2.3.4", STAFF_PW)[1].role == "staff"
    assert auth.login("1.2.3.4", OPERATOR_PW)[1].role == "operator"
    logged = caplog.text
    assert STAFF_PW not in logged and OPERATOR_PW not in logged and "wrong" not in logged
    assert "readable by others" in logged  # mode 644 from write_text
    assert all(STAFF_PW.encode() not in c.digest for c in creds)


def test_kiosk_web_passwd_writes_a_hash_that_logs_in(tmp_path):
    pw = tmp_path / "etc" / "web-password"
    for role, secret in (("staff", STAFF_PW), ("operator", OPERATOR_PW), ("staff", "new-staff-pw")):
        out = subprocess.run(
            [sys.executable, "-m", "kiosk", "web", "passwd", "--role", role, "--file", str(pw),
             "--stdin"], input=secret + "\n", capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
    text = pw.read_text()
    assert STAFF_PW not in text and OPERATOR_PW not in text and text.count("scrypt$") == 2
    assert pw.stat().st_mode & 0o777 == 0o600
    auth = Auth(pw, 3600, 5)
    assert auth.login("ip", STAFF_PW) is None  # replaced
    assert auth.login("ip", "new-staff-pw")[1].role == "staff"
    cmd = [sys.executable, "-m", "kiosk", "web", "passwd", "--file", str(pw), "--stdin"]
    short = subprocess.run(cmd, input="short\n", capture_output=True, text=True, timeout=60)
    assert short.returncode == 2


def test_missing_password_file_is_a_clear_error(tmp_path, default_loaded):
    cfg = default_loaded.config.model_copy(deep=True)
    cfg.web.password_file = str(tmp_path / "nope")
    from dataclasses import replace

    with pytest.raises(WebError, match="kiosk web passwd"):
        start_web(object(), replace(default_loaded, config=cfg))


def test_tls_serves_https_with_a_secure_cookie(tmp_path, kiosk_factory):
    if not shutil.which("openssl"):
        pytest.fail("openssl is needed for the TLS test (apt-get install openssl)")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
         "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"],
        check=True, capture_output=True, cwd=tmp_path,
    )  # fmt: skip
    k = kiosk_factory(tls=(tmp_path / "cert.pem", tmp_path / "key.pem"))
    assert k.url.startswith("https://")
    ctx = ssl.create_default_context(cafile=str(tmp_path / "cert.pem"))
    ctx.check_hostname = False
    host, port = k.url.removeprefix("https://").split(":")
    conn = httpclient.HTTPSConnection(host, int(port), context=ctx, timeout=10)
    conn.request("POST", "/login", json.dumps({"password": STAFF_PW}),
                 {"Content-Type": "application/json"})  # fmt: skip
    resp = conn.getresponse()
    assert resp.status == 200
    cookie = resp.getheader("set-cookie")
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_sessions_expire_and_throttling_ends_after_a_minute(tmp_path):
    pw = tmp_path / "pw"
    pw.write_text(f"staff:{STAFF_PW}\n")
    now = [1000.0]
    auth = Auth(pw, 3600, 2, clock=lambda: now[0])
    token, _session = auth.login("a", STAFF_PW)
    now[0] += 3599
    assert auth.session(token) is not None
    now[0] += 2
    assert auth.session(token) is None  # a login lasts session_hours, used or not
    assert auth.login("b", "x") is None and auth.login("b", "y") is None
    assert auth.throttled("b") > 59 and auth.throttled("c") == 0  # per address
    now[0] += 60
    assert auth.throttled("b") == 0


def test_a_missing_browser_fails_under_ci(monkeypatch):
    from web_helpers import missing

    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="required under CI=true"):
        missing("chromium not installed")
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception):
        missing("chromium not installed")
