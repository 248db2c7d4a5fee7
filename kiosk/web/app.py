"""The staff page's routes (Starlette).

``GET /`` is the login page without a session and the staff page with one. Every change
is ``POST /api/cmd/<command>`` with a JSON body, and runs through the kiosk's one
``Dispatcher`` with the origin ``web``, the login's role and its login name. A POST needs
the session cookie (else 401), the session's CSRF token in ``X-CSRF-Token`` and, when the
browser sends one, an ``Origin`` equal to the page's own (else 403). The login itself is
rate-limited per address.

Just over 300 lines: each route keeps its security checks next to it, where a reviewer
reads them together.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from kiosk.core.api import Origin
from kiosk.core.dispatch import Dispatcher, parse_payload
from kiosk.web.auth import Auth, Session, Throttled
from kiosk.web.live import Live, snapshot

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
COOKIE = "kiosk_session"
MAX_BODY = 4096
MAX_STREAMS = 20
MAX_OWN = 4  # live streams of one login (tabs of one phone)
KEEPALIVE_S = 15.0
COALESCE_S = 0.25
HEADERS = {
    # Everything is served from here; nothing inline, nothing from elsewhere.
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
FILES = {
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
# A lone surrogate (a track file name that is not UTF-8, a hostile "\ud800" id) has no
# UTF-8 form: encoding it raised, and the answer became a 500.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _json(data: Any) -> bytes:
    """``data`` as UTF-8 JSON that always encodes: a lone surrogate becomes U+FFFD."""
    text = json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return _SURROGATE.sub("\ufffd", text).encode("utf-8")


class _JSONResponse(JSONResponse):
    def render(self, content: Any) -> bytes:
        return _json(content)


class _CountedStream(StreamingResponse):
    """A streaming response that calls ``release`` once it ends, however it ends."""

    def __init__(self, release: Callable[[], None], *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._release = release

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


def _with_headers(send: Callable[..., Any]) -> Callable[..., Any]:
    """``send`` that adds the security headers to a response that lacks them."""
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in HEADERS.items()]

    async def wrapped(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            present = {k.lower() for k, _v in headers}
            headers += [(k, v) for k, v in extra if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def _is_json(request: Request) -> bool:
    """A JSON body by its type. A cross-site form (text/plain, urlencoded) cannot send this
    type without a CORS preflight, which the page never grants."""
    ctype = request.headers.get("content-type", "")
    return ctype.split(";")[0].strip().lower() == "application/json"


def _file(name: str) -> bytes:
    return (STATIC / name).read_bytes()


def create_app(
    api: Any,
    auth: Auth,
    player_cfg: Any,
    tls: bool = False,
    today: Callable[[], Any] | None = None,
    dispatcher: Dispatcher | None = None,
) -> Callable[..., Any]:
    """The ASGI app. ``today`` returns today's mood history (None: no history module);
    ``dispatcher`` is the kiosk's one dispatcher (a fresh one over ``api`` if None)."""
    dispatcher = dispatcher or Dispatcher(api, "web")
    live = Live(api)
    open_streams: dict[str, int] = {"all": 0}  # live streams: all, and per session (csrf)
    pages = {n: _file(n) for n in ("login.html", "app.html", *FILES)}

    def respond(body: bytes | dict[str, Any], status: int = 200, media: str = "") -> Response:
        if isinstance(body, dict):
            return _JSONResponse(body, status_code=status, headers=HEADERS)
        return Response(body, status_code=status, media_type=media, headers=HEADERS)

    def current(request: Request) -> Session | None:
        return auth.session(request.cookies.get(COOKIE))

    def foreign(request: Request) -> bool:
        """A cross-site request: an Origin that is not ours, or a cross-site fetch."""
        origin = request.headers.get("origin")
        if origin is not None:
            own = f"{request.url.scheme}://{request.headers.get('host', '')}"
            return origin != own
        site = request.headers.get("sec-fetch-site")
        return site is not None and site not in ("same-origin", "none")

    async def body_json(request: Request) -> dict[str, Any]:
        """The body as a JSON object, parsed like an MQTT payload; ValueError says why not."""
        raw = b""
        async for chunk in request.stream():
            raw += chunk
            if len(raw) > MAX_BODY:
                raise ValueError(f"body must be a JSON object under {MAX_BODY // 1024} KB")
        return parse_payload(raw)

    async def index(request: Request) -> Response:
        page = "app.html" if current(request) else "login.html"
        return respond(pages[page], media="text/html; charset=utf-8")

    async def static(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in FILES:
            return respond({"error": "not found"}, 404)
        return respond(pages[name], media=FILES[name])

    async def login(request: Request) -> Response:
        if foreign(request):
            return respond({"ok": False, "error": "cross-site request refused"}, 403)
        if not _is_json(request):
            return respond(
                {"ok": False, "error": "send JSON (Content-Type: application/json)"}, 415
            )
        ip = request.client.host if request.client else "?"
        wait = auth.throttled(ip)
        if wait <= 0:
            try:
                password = (await body_json(request)).get("password")
            except ValueError:
                password = None
            try:  # scrypt: off the loop
                result = await run_in_threadpool(auth.login, ip, password)
            except Throttled as exc:
                wait = exc.wait
        if wait > 0:
            r = respond(
                {"ok": False, "error": f"too many attempts; try again in {wait:.0f} s"}, 429
            )
            r.headers["Retry-After"] = str(int(wait) + 1)
            return r
        if result is None:
            await asyncio.sleep(0.5)  # a guesser gets no faster answer than a person
            return respond({"ok": False, "error": "wrong password"}, 401)
        token, session = result
        r = respond({"ok": True, "role": session.role})
        r.set_cookie(
            COOKIE,
            token,
            max_age=int(auth.session_s),
            httponly=True,
            samesite="strict",
            secure=tls,
            path="/",
        )
        return r

    def guard(request: Request) -> tuple[Session | None, Response | None]:
        session = current(request)
        if session is None:
            return None, respond({"ok": False, "error": "log in first"}, 401)
        if foreign(request):
            return None, respond({"ok": False, "error": "cross-site request refused"}, 403)
        if request.headers.get("x-csrf-token") != session.csrf:
            return None, respond({"ok": False, "error": "missing or wrong CSRF token"}, 403)
        return session, None

    async def logout(request: Request) -> Response:
        _session, refusal = guard(request)
        if refusal is not None:
            return refusal
        auth.logout(request.cookies.get(COOKIE))
        r = respond({"ok": True})
        r.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=tls)
        return r

    async def command(request: Request) -> Response:
        session, refusal = guard(request)
        if refusal is not None or session is None:
            return refusal or respond({"ok": False}, 401)
        if not _is_json(request):
            return respond(
                {"ok": False, "error": "send JSON (Content-Type: application/json)"}, 415
            )
        try:
            data = await body_json(request)
        except ValueError as exc:
            return respond({"ok": False, "error": str(exc)}, 400)
        name = request.path_params["name"]
        # The password file names each login by its role, so the role is also the user.
        origin = Origin("web", session.role, session.role)
        result = await run_in_threadpool(dispatcher.dispatch, name, data, origin)
        return respond(result)

    async def state(request: Request) -> Response:
        session = current(request)
        if session is None:
            return respond({"ok": False, "error": "log in first"}, 401)
        snap = await run_in_threadpool(snapshot, api, session.role, player_cfg)
        return respond({**snap, "csrf": session.csrf})

    async def today_route(request: Request) -> Response:
        if current(request) is None:
            return respond({"ok": False, "error": "log in first"}, 401)
        data = await run_in_threadpool(today) if today is not None else None
        if data is None:
            return respond({"ok": False, "error": "no mood history on this kiosk"}, 404)
        return respond({"ok": True, **data})

    async def events(request: Request) -> Response:
        session = current(request)
        if session is None:
            return respond({"ok": False, "error": "log in first"}, 401)
        # Counted here, with no await between the check and the count: counting when the
        # stream starts let many requests opened at once all pass the check.
        if open_streams["all"] >= MAX_STREAMS or open_streams.get(session.csrf, 0) >= MAX_OWN:
            return respond({"ok": False, "error": "too many open pages"}, 503)
        for k in ("all", session.csrf):
            open_streams[k] = open_streams.get(k, 0) + 1
        role = session.role
        token = request.cookies.get(COOKIE)

        async def stream() -> AsyncIterator[bytes]:
            wake = live.register()
            try:
                while True:
                    snap = await run_in_threadpool(snapshot, api, role, player_cfg)
                    yield f"event: state\ndata: {json.dumps(snap)}\n\n".encode()
                    try:
                        await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
                    except asyncio.TimeoutError:  # not the builtin one on Python 3.10
                        yield b": keepalive\n\n"
                    if live.closed:
                        return
                    if auth.session(token) is None:  # logged out or expired: end the stream
                        yield b"event: logout\ndata: {}\n\n"
                        return
                    await asyncio.sleep(COALESCE_S)  # many events, one snapshot
                    wake.clear()
            finally:
                live.unregister(wake)

        def release() -> None:
            for k in ("all", session.csrf):
                open_streams[k] -= 1
                if open_streams[k] <= 0 and k != "all":
                    del open_streams[k]

        headers = {**HEADERS, "X-Accel-Buffering": "no"}
        return _CountedStream(release, stream(), media_type="text/event-stream", headers=headers)

    routes = [
        Route("/", index, methods=["GET"]),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Route("/api/state", state, methods=["GET"]),
        Route("/api/events", events, methods=["GET"]),
        Route("/api/today", today_route, methods=["GET"]),
        Route("/api/cmd/{name}", command, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    app.state.live = live

    async def refuse_unauthenticated(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            send = _with_headers(send)  # Starlette's own 404/405 answers get them too
        # Any change without a session is refused before routing, whatever the path.
        if (
            scope["type"] == "http"
            and scope["method"] not in ("GET", "HEAD")
            and scope["path"] != "/login"
            and current(Request(scope)) is None
        ):
            await respond({"ok": False, "error": "log in first"}, 401)(scope, receive, send)
            return
        await app(scope, receive, send)

    refuse_unauthenticated.state = app.state  # type: ignore[attr-defined]
    return refuse_unauthenticated  # type: ignore[return-value]
