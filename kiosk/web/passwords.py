"""The staff page's password file: reading it safely, and scrypt hashes.

The file holds one line per role, ``staff:<secret>`` or ``operator:<secret>``. A secret is
a hash made by ``kiosk web passwd`` (``scrypt$N$r$p$salt$hash``) or a plain password,
hashed as soon as it is read. Nothing here ever logs a secret.
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
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("kiosk.web.auth")

ROLES = ("staff", "operator")
# scrypt at N=2^14, r=8: ~16 MB and some tens of ms per check; slow for a guesser.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MAX_FILE = 64 * 1024
MAX_CREDENTIALS = 16  # a plain password costs a scrypt when read
_LINE_KEY = secrets.token_bytes(32)


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
    first login (scripts/bench/bench_web.py), and malloc_trim does not get it back. A fixed
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
