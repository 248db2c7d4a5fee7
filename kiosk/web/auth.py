"""Sessions and login throttling for the staff page.

The password file (``staff:<secret>``/``operator:<secret>`` lines) is read by
``kiosk.web.passwords``; no plain password is kept longer than its hashing, and none is
ever logged. Sessions live in memory only (a restart logs everyone out); the cookie holds
a random token and the server keys sessions by its hash.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.service.logs import fields
from kiosk.web.passwords import (
    MAX_CREDENTIALS,
    ROLES,
    Credential,
    PasswordFileError,
    hash_password,
    keep_big_blocks_mapped,
    read_password_file,
)

__all__ = [
    "MAX_CREDENTIALS",
    "Auth",
    "Credential",
    "PasswordFileError",
    "Session",
    "Throttled",
    "hash_password",
    "keep_big_blocks_mapped",
    "read_password_file",
]

log = logging.getLogger(__name__)

MAX_SESSIONS = 200
MAX_PASSWORD = 1024
# Login checks running or queued at once; more are refused (429), so a flood of logins
# neither queues unbounded scrypt work nor holds the server's worker threads.
MAX_CHECKING = 4
RELOAD_CHECK_S = 1.0  # how often a request looks whether the password file changed


class Throttled(Exception):
    """Too many login tries; ``wait`` is the seconds until the next one is allowed."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many attempts; try again in {wait:.0f} s")
        self.wait = wait


@dataclass
class Session:
    role: str
    csrf: str
    expires: float


@dataclass
class _Failures:
    times: deque[float] = field(default_factory=deque)


class Auth:
    """Checks passwords, keeps sessions, throttles failed logins. Thread-safe."""

    def __init__(
        self,
        path: Path,
        session_s: float,
        attempts_per_minute: int,
        clock=time.monotonic,
    ) -> None:
        self.path = path
        self.session_s = session_s
        self.per_ip = attempts_per_minute
        self.clock = clock
        self._lock = threading.Lock()
        self._checking = threading.Lock()  # one scrypt at a time: bounded memory and CPU
        self._reloading = threading.Lock()
        self._mtime = self._stat()
        self._creds = read_password_file(path)
        self._checked_at = clock()
        self._sessions: dict[str, Session] = {}
        self._fails: dict[str, deque[float]] = {}
        self._all_fails: deque[float] = deque()
        self._pending = 0

    def _stat(self) -> tuple[int, int, int, int] | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_ctime_ns, st.st_size, st.st_ino)

    def _reload_if_changed(self) -> None:
        """Re-read a changed file, and end the sessions of each role whose lines changed
        (a password changed because someone left must not leave them logged in)."""
        if not self._reloading.acquire(blocking=False):
            return  # another thread is at it
        try:
            mtime = self._stat()
            if mtime is None or mtime == self._mtime:
                return
            try:
                creds = read_password_file(self.path)
            except PasswordFileError as exc:
                self._mtime = mtime  # said once, not at every request
                log.error("%s; keeping the passwords read before", exc)
                return
            with self._lock:
                changed = {
                    role
                    for role in ROLES
                    if {c.line for c in creds if c.role == role}
                    != {c.line for c in self._creds if c.role == role}
                }
                self._creds = creds
                self._mtime = mtime
                ended = [k for k, v in self._sessions.items() if v.role in changed]
                for k in ended:
                    del self._sessions[k]
            log.info(
                "web password file reloaded",
                extra=fields(changed=",".join(sorted(changed)) or "-", sessions_ended=len(ended)),
            )
        finally:
            self._reloading.release()

    def throttled(self, ip: str) -> float:
        """Seconds this address must wait before another try (0: it may try now)."""
        with self._lock:
            return self._wait(ip, self.clock())

    def _wait(self, ip: str, now: float) -> float:
        waits = []
        for q, limit in (
            (self._fails.get(ip), self.per_ip),
            (self._all_fails, 4 * self.per_ip),
        ):
            if q is None:
                continue
            while q and now - q[0] >= 60.0:
                q.popleft()
            if len(q) >= limit:
                waits.append(q[0] + 60.0 - now)
        return max(waits, default=0.0)

    def login(self, ip: str, password: str) -> tuple[str, Session] | None:
        """(cookie token, session) for a right password; None (and a counted failure).

        Raises ``Throttled`` when this address (or everyone together) used up the minute's
        tries, or when MAX_CHECKING checks are already running or waiting. Each try counts
        as a failure from the start and is taken back when it succeeds, so many tries sent
        at once cannot all slip past the limit before the first one is counted.
        """
        now = self.clock()
        with self._lock:
            wait = self._wait(ip, now)
            if wait > 0:
                raise Throttled(wait)
            if self._pending >= MAX_CHECKING:
                raise Throttled(1.0)
            self._pending += 1
            self._fails.setdefault(ip, deque()).append(now)
            self._all_fails.append(now)
            if len(self._fails) > 10_000:  # a flood of addresses must not grow memory
                self._fails = {ip: self._fails[ip]}
        try:
            role = self._check(password)
        finally:
            with self._lock:
                self._pending -= 1
        with self._lock:
            if role is None:
                log.warning("web login failed from %s", ip)
                return None
            for q in (self._fails.get(ip), self._all_fails):  # a success is no failure
                if q is not None and now in q:
                    q.remove(now)
            token = secrets.token_urlsafe(32)
            session = Session(role, secrets.token_urlsafe(32), self.clock() + self.session_s)
            if len(self._sessions) >= MAX_SESSIONS:
                oldest = min(self._sessions, key=lambda k: self._sessions[k].expires)
                del self._sessions[oldest]
            self._sessions[_key(token)] = session
            log.info("web login", extra=fields(role=role, client=ip))
            return token, session

    def _check(self, password: object) -> str | None:
        """The role of a password, or None."""
        if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
            return None
        self._reload_if_changed()
        with self._lock:
            creds = list(self._creds)
        with self._checking:
            role = next((c.role for c in creds if c.check(password)), None)
            # operator wins when one password is listed for both roles
            if role == "staff" and any(c.role == "operator" and c.check(password) for c in creds):
                role = "operator"
        return role

    def session(self, token: str | None) -> Session | None:
        """The live session of a cookie token, or None (unknown, logged out, expired)."""
        if not token or len(token) > 100:
            return None
        now = self.clock()
        if now - self._checked_at >= RELOAD_CHECK_S:
            self._checked_at = now
            self._reload_if_changed()
        with self._lock:
            key = _key(token)
            s = self._sessions.get(key)
            if s is None:
                return None
            if now >= s.expires:
                del self._sessions[key]
                return None
            return s

    def logout(self, token: str | None) -> None:
        if token:
            with self._lock:
                self._sessions.pop(_key(token), None)


def _key(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()
