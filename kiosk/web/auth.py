"""Passwords, sessions and login throttling for the staff page.

The password file holds one line per role, ``staff:<secret>`` or ``operator:<secret>``.
A secret is a hash made by ``kiosk web passwd`` (``scrypt$N$r$p$salt$hash``) or a plain
password, which is hashed as soon as it is read: no plain password is kept in memory
longer than that, and none is ever logged. Sessions live in memory only (a restart logs
everyone out); the cookie holds a random token and the server keys sessions by its hash.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import logging
import os
import secrets
import stat
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.service.logs import fields

log = logging.getLogger(__name__)

ROLES = ("staff", "operator")
# scrypt at N=2^14, r=8: ~16 MB and some tens of ms per check; slow for a guesser.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_SESSIONS = 200
MAX_PASSWORD = 1024
# Login checks running or queued at once; more are refused (429), so a flood of logins
# neither queues unbounded scrypt work nor holds the server's worker threads.
MAX_CHECKING = 4
MAX_FILE = 64 * 1024
MAX_CREDENTIALS = 16  # a plain password costs a scrypt when read
RELOAD_CHECK_S = 1.0  # how often a request looks whether the password file changed
_LINE_KEY = secrets.token_bytes(32)


class Throttled(Exception):
    """Too many login tries; ``wait`` is the seconds until the next one is allowed."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"too many attempts; try again in {wait:.0f} s")
        self.wait = wait


class PasswordFileError(Exception):
    """The password file is missing, unreadable or has no usable line."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=128 * 1024 * 1024, dklen=32
    )


def keep_big_blocks_mapped() -> None:
    """Make glibc hand blocks of 8 MB and more straight back to the OS when freed.

    scrypt needs a 16 MB work area per check. Once glibc's adaptive mmap threshold has grown
    past that, a freed work area stays in the heap: +17 MB RSS for the daemon after the
    first login (scripts/bench_web.py), and malloc_trim does not get it back. A fixed
    threshold keeps such blocks mmapped. Smaller allocations are unaffected. Called once
    when the staff page starts; a libc without mallopt (musl) just keeps its default.
    """
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(-3, 8 * 1024 * 1024)  # M_MMAP_THRESHOLD
        # Fixing it also fixes the trim threshold at 128 KB, and the heap would then shrink
        # and grow again around every camera frame; 2x, as glibc's own adaptive rule sets it.
        libc.mallopt(-1, 16 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` for the password file."""
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


@dataclass(frozen=True)
class Credential:
    role: str
    n: int
    r: int
    p: int
    salt: bytes
    digest: bytes
    # Keyed by a per-process secret, so it says only "same line as before", nothing about
    # the password: a reload ends the sessions of a role whose lines changed.
    line: bytes = b""

    @classmethod
    def parse(cls, role: str, secret: str) -> Credential:
        if secret.startswith("scrypt$"):
            parts = secret.split("$")
            if len(parts) != 6:
                raise ValueError("a scrypt hash has 6 $-separated fields")
            n, r, p = (int(x) for x in parts[1:4])
            if not (2 <= n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
                raise ValueError("scrypt parameters out of range")
            return cls(role, n, r, p, base64.b64decode(parts[4]), base64.b64decode(parts[5]))
        if not secret:
            raise ValueError("empty password")
        salt = secrets.token_bytes(16)
        digest = _scrypt(secret, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P)
        return cls(role, SCRYPT_N, SCRYPT_R, SCRYPT_P, salt, digest)

    def check(self, password: str) -> bool:
        try:
            got = _scrypt(password, self.salt, self.n, self.r, self.p)
        except (ValueError, MemoryError):
            return False
        return hmac.compare_digest(got, self.digest)


def _read_small(path: Path) -> tuple[str, int, int]:
    """(text, mode, owner) of a regular file of at most MAX_FILE bytes. Never blocks on a FIFO and
    never reads a device or a huge file into memory."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ValueError("not a regular file")
        data = os.read(fd, MAX_FILE + 1)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE:
        raise ValueError(f"bigger than {MAX_FILE} bytes")
    return data.decode("utf-8"), st.st_mode, st.st_uid


def read_password_file(path: Path) -> list[Credential]:
    """Every usable line of the file. Raises ``PasswordFileError`` (never with a secret in
    the message) when there is none."""
    try:
        text, mode, uid = _read_small(path)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise PasswordFileError(f"cannot read the web password file {path}: {exc}") from None
    if mode & 0o002:  # anyone on the machine could give themselves the operator role
        raise PasswordFileError(f"web password file {path} is writable by everyone; chmod 600 it")
    if uid not in (0, os.geteuid()):  # nor may another user who owns it
        raise PasswordFileError(
            f"web password file {path} belongs to user {uid}, not to root or this user; chown it"
        )
    if mode & 0o077:
        log.warning("web password file %s is readable by others; chmod 600 it", path)
    creds: list[Credential] = []
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        role, sep, secret = line.partition(":")
        if not sep or role not in ROLES:
            log.warning("%s line %d: expected 'staff:...' or 'operator:...'; ignored", path, number)
            continue
        try:
            cred = Credential.parse(role, secret.strip())
            tag = hmac.new(_LINE_KEY, line.encode("utf-8"), "sha256").digest()
            creds.append(dataclasses.replace(cred, line=tag))
            if len(creds) >= MAX_CREDENTIALS:
                log.warning("%s: only the first %d lines are used", path, MAX_CREDENTIALS)
                break
        except (ValueError, TypeError) as exc:
            log.warning("%s line %d: %s; ignored", path, number, exc)
    if not creds:
        raise PasswordFileError(f"web password file {path} has no staff: or operator: line")
    return creds


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
