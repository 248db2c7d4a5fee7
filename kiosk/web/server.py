"""Runs the staff page in a daemon thread: uvicorn with its own asyncio loop.

The daemon calls ``start_web`` after the core started and ``WebServer.stop`` before the
music fades out. A page that cannot start (port taken, no password file, bad TLS files)
logs one clear line and the kiosk plays on without it.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

START_TIMEOUT_S = 10.0


class WebError(Exception):
    """The staff page cannot start; the message says why (never with a password in it)."""


TICK_S = 0.5
# Connections the page keeps open at once; more are closed as they arrive. Every one costs
# the daemon a file descriptor, and the music, the camera and the history need theirs.
MAX_CONNECTIONS = 64
# A connection must send a whole request head this soon after it opens or after its last
# answer (slowloris: uvicorn itself waits for ever for the rest of a request's headers).
HEADER_TIMEOUT_S = 10.0
# Bytes a connection may send while no request is being answered: a request head and a
# small body (the page's own are under 4 KB). uvicorn's h11 takes a 100 KB head that comes
# in one piece, and a few such requests at once grew the daemon by 300 MB.
MAX_HEAD_BYTES = 32 * 1024


class _FewPerMinute(logging.Filter):
    """At most ``n`` records a minute through a logger: every malformed request from the
    LAN made uvicorn log a warning, so anyone could flood the journal."""

    def __init__(self, n: int = 5) -> None:
        super().__init__()
        self.n, self.start, self.count = n, 0.0, 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.created - self.start >= 60.0:
            if self.count > self.n:
                log.warning("the staff page left out %d log lines", self.count - self.n)
            self.start, self.count = record.created, 0
        self.count += 1
        return self.count <= self.n


def _guarded_protocol() -> type:
    """uvicorn's h11 protocol with a cap on connections and a deadline for request heads."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class GuardedH11(H11Protocol):  # type: ignore[misc]
        _head_timer: Any = None

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > MAX_CONNECTIONS:
                transport.abort()
                return
            self._arm()

        _head_bytes = 0

        def data_received(self, data: bytes) -> None:
            if self.cycle is None or self.cycle.response_complete:
                self._head_bytes += len(data)
                if self._head_bytes > MAX_HEAD_BYTES:
                    self.transport.close()
                    return
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                self._head_bytes = 0  # a request began; the next one counts afresh

        def _arm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            self._head_timer = self.loop.call_later(HEADER_TIMEOUT_S, self._deadline, self.cycle)

        def _deadline(self, cycle: Any) -> None:
            # Still no new request since the timer was set, and none being answered.
            if self.cycle is cycle and (cycle is None or cycle.response_complete):
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing():
                self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
            super().connection_lost(exc)

    return GuardedH11


def _quiet_server(uvicorn: Any) -> type:
    """uvicorn's Server, waking every TICK_S instead of every 0.1 s when idle.

    Its housekeeping tick (date header, exit flag) cost 0.15 % of a core on an idle page,
    ~1/10 of the daemon's whole budget; at 0.5 s it is lost in the noise, and a stop takes
    at most that much longer.
    """
    import asyncio

    class QuietServer(uvicorn.Server):  # type: ignore[misc,name-defined]
        async def main_loop(self) -> None:
            if not hasattr(self, "on_tick"):  # another uvicorn: keep its own loop
                await super().main_loop()
                return
            while not await self.on_tick(0):  # counter 0: it refreshes the date every tick
                await asyncio.sleep(TICK_S)

    return QuietServer


class WebServer:
    def __init__(self, app: Any, host: str, port: int, certfile: Path | None, keyfile: Path | None):
        import uvicorn

        self.app = app
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # request lines would show client addresses for every poll
            lifespan="off",
            ws="none",
            http=_guarded_protocol(),
            proxy_headers=False,
            server_header=False,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
            timeout_graceful_shutdown=2,
        )
        self.server = _quiet_server(uvicorn)(config)
        noisy = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, _FewPerMinute) for f in noisy.filters):
            noisy.addFilter(_FewPerMinute())
        self.thread = threading.Thread(target=self._run, name="kiosk-web", daemon=True)
        self.error: str | None = None

    def _run(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # uvicorn exits via SystemExit when it cannot bind
            self.error = f"{type(exc).__name__}: {exc}"
        if not self.server.started and self.error is None:
            self.error = "the server stopped before it started (see the log line above)"
        elif self.server.started and not self.server.should_exit:
            log.error("the staff page stopped unexpectedly (%s); the kiosk plays on", self.error)

    def start(self) -> None:
        self.thread.start()
        deadline = threading.Event()
        for _ in range(int(START_TIMEOUT_S / 0.05)):
            if self.server.started or not self.thread.is_alive():
                break
            deadline.wait(0.05)
        if not self.server.started:
            self.stop()
            raise WebError(self.error or "the server did not start in time")

    @property
    def port(self) -> int:
        """The bound port (useful with port 0 in tests)."""
        for server in getattr(self.server, "servers", []) or []:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return int(self.server.config.port)

    def stop(self) -> None:
        live = getattr(getattr(self.app, "state", None), "live", None)
        if live is not None:
            live.close()  # open live streams end, so the shutdown is clean and quick
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=5.0)


def history_today(loaded: Any) -> Any:
    """Today's mood history from kiosk.history when that module exists, else None.

    The contract the page expects: ``kiosk.history.today.web_today(loaded)`` returns
    ``{"points": [{"t": epoch_s, "mood": str|None, "confidence": 0..1}, ...]}`` or None.
    """
    try:
        from kiosk.history.today import web_today
    except ImportError:
        return None
    return lambda: web_today(loaded)


def start_web(api: Any, loaded: Any, dispatcher: Any = None) -> WebServer:
    """Build and start the page from ``loaded.config.web``. Raises ``WebError``.
    ``dispatcher``: the kiosk's one dispatcher (a fresh one over ``api`` if None)."""
    try:
        from kiosk.web.app import create_app
        from kiosk.web.auth import Auth, PasswordFileError, keep_big_blocks_mapped
    except ImportError as exc:
        raise WebError(f"the staff page needs starlette and uvicorn: {exc}") from None
    cfg = loaded.config.web
    keep_big_blocks_mapped()  # before the first scrypt (see auth.py)
    try:
        auth = Auth(
            loaded.resolve(cfg.password_file),
            cfg.session_hours * 3600,
            cfg.login_attempts_per_minute,
        )
    except PasswordFileError as exc:
        raise WebError(f"{exc} (make one with `kiosk web passwd`)") from None
    cert = loaded.resolve(cfg.tls_certfile) if cfg.tls_certfile else None
    key = loaded.resolve(cfg.tls_keyfile) if cfg.tls_keyfile else None
    for p in (cert, key):
        if p is not None and not p.is_file():
            raise WebError(f"TLS file {p} does not exist")
    app = create_app(
        api,
        auth,
        loaded.config.player,
        tls=cert is not None,
        today=history_today(loaded),
        dispatcher=dispatcher,
    )
    server = WebServer(app, cfg.host, cfg.port, cert, key)
    server.start()
    scheme = "https" if cert else "http"
    log.info("staff page on %s://%s:%d/", scheme, cfg.host, server.port)
    return server
