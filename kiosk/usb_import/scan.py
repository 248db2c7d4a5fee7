"""Reading a stick: clean names, the SHA256SUMS manifest, and the walk that picks files.

Names are handled as the bytes the stick holds: the manifest is matched on those bytes
(so a Latin-1 name in ``sha256sum`` output matches the file), and the library name is a
cleaned UTF-8 version that fits the file system's 255-byte limit.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field

from kiosk.usb_import.config import ImportConfig

MB = 1_000_000
NAME_MAX_BYTES = 255  # ext4, tmpfs, btrfs, f2fs: one path component
# Folders that file managers and OSes put on sticks; skipped without a report line.
SYSTEM_NAMES = {"system volume information", "$recycle.bin", "lost+found", "thumbs.db"}
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]')
_HEX64 = re.compile(rb"^[0-9a-fA-F]{64}$")
# The stick went away or its medium failed: the whole import fails, never "skipped".
GONE_ERRNOS = (errno.EIO, errno.ENODEV, errno.ENXIO, errno.ESTALE, errno.ENOTCONN)


class ImportFailed(Exception):
    """The import was refused or aborted; the live library is unchanged."""


MAX_LISTED = 200  # skipped files named in the result, log and MQTT; the rest only counted


@dataclass
class Skipped:
    path: str
    reason: str


class SkipList(list):
    """The skipped files: the first ``MAX_LISTED`` kept, all counted in ``total``, so a
    stick of a million junk files gives a short result, log and MQTT message."""

    def __init__(self, items=()):
        super().__init__()
        self.total = 0
        for item in items:
            self.append(item)

    def append(self, item) -> None:
        self.total += 1
        if len(self) < MAX_LISTED:
            super().append(item)


# -- names ------------------------------------------------------------------------------------
def _cut_utf8(text: str, max_bytes: int) -> str:
    """``text`` shortened to at most ``max_bytes`` of UTF-8, never inside a character."""
    raw = text.encode("utf-8")
    return text if len(raw) <= max_bytes else raw[:max_bytes].decode("utf-8", "ignore")


def sanitize_name(name: str, max_len: int, max_bytes: int = NAME_MAX_BYTES) -> str:
    """A safe single path component, or "" when nothing usable is left.

    At most ``max_len`` characters and ``max_bytes`` bytes of UTF-8. A shortened name keeps
    its extension and gets ``~`` plus 6 hex digits of the full name, so two long names that
    share a beginning stay two files.
    """
    name = unicodedata.normalize("NFC", name)
    name = _BAD_CHARS.sub("_", name).strip(" .")
    if name in ("", ".", ".."):
        return ""
    if len(name) <= max_len and len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 0 < len(ext) <= 8 and ext.isalnum():
        ext = "." + ext
    else:
        stem, ext = name, ""
    tag = "~" + hashlib.sha1(name.encode("utf-8")).hexdigest()[:6]
    stem = stem[: max(0, max_len - len(ext) - len(tag))]
    stem = _cut_utf8(stem, max_bytes - len(ext.encode("utf-8")) - len(tag)).rstrip(" .")
    return stem + tag + ext


def display_name(raw: bytes) -> str:
    # Sticks written on other systems may carry non-UTF-8 names; keep them readable.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# -- manifest ---------------------------------------------------------------------------------
def parse_manifest(data: bytes | str) -> dict[str, str]:
    """``sha256sum`` output -> {path as os.fsdecode gives it: hex}. ImportFailed on bad lines.

    Read as bytes: a path is the stick's bytes, whatever their encoding, so it matches the
    scan (which keys files the same way).
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    sums: dict[str, str] = {}
    for n, line in enumerate(data.split(b"\n"), 1):
        line = line[:-1] if line.endswith(b"\r") else line
        if not line.strip() or line.lstrip().startswith(b"#"):
            continue
        escaped = line.startswith(b"\\")
        if escaped:
            line = line[1:]
        digest, sep, name = line.partition(b" ")
        if not sep or not _HEX64.match(digest) or len(name) < 2 or name[:1] not in b" *":
            shown = line[:80].decode("utf-8", "replace")
            raise ImportFailed(f"manifest line {n} is not '<sha256>  <path>': {shown!r}")
        name = name[1:]
        if escaped:
            name = name.replace(b"\\\\", b"\0").replace(b"\\n", b"\n").replace(b"\0", b"\\")
        if name.startswith(b"./"):
            name = name[2:]
        parts = name.split(b"/")
        if name.startswith(b"/") or any(p in (b"", b".", b"..") for p in parts):
            raise ImportFailed(
                f"manifest line {n} names a path outside the music folder: {display_name(name)!r}"
            )
        sums[os.fsdecode(name)] = digest.decode("ascii").lower()
    return sums


# -- scanning ---------------------------------------------------------------------------------
@dataclass
class Candidate:
    parts: list[bytes]  # the stick's names, top to bottom
    rel: str  # readable, for reports
    dest: str  # sanitised, relative to the library root
    size: int
    mtime_ns: int = 0
    key: str = field(default="")  # os.fsdecode of the stick path: the manifest's key

    @property
    def dest_parts(self) -> list[str]:
        return self.dest.split("/")


def scan(
    top_fd: int,
    cfg: ImportConfig,
    stopped: Callable[[], None] = lambda: None,
) -> tuple[list[Candidate], list[Skipped]]:
    """Walk the stick folder without following anything; decide what may be copied."""
    found: list[Candidate] = []
    skipped = SkipList()
    visited = 0
    max_entries = 10 * cfg.max_files  # bounds the walk's time and memory on a junk stick
    taken: dict[str, str] = {}  # casefolded dest -> stick path, so FAT-style clashes show

    def walk(fd: int, raw_parts: list[bytes], rel_parts: list[str], dest_parts: list[str]):
        stopped()
        try:
            with os.scandir(fd) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            where = "/".join(rel_parts) or "the stick folder"
            if exc.errno in GONE_ERRNOS or not rel_parts:
                raise ImportFailed(f"cannot read {where}: {exc.strerror or exc}") from exc
            skipped.append(Skipped(where, f"folder unreadable: {exc.strerror or exc}"))
            return
        nonlocal visited
        visited += len(entries)
        if visited > max_entries:
            raise ImportFailed(
                f"the stick folder holds more than {max_entries} entries (10 x max_files="
                f"{cfg.max_files}); put only the music on it"
            )
        for e in entries:
            raw = os.fsencode(e.name)
            name = display_name(raw)
            rel = "/".join([*rel_parts, name])
            if name.startswith(".") or name.lower() in SYSTEM_NAMES:
                continue  # hidden/system files (._foo, .Trashes): not music, not an error
            if not rel_parts and name == cfg.manifest:
                continue
            try:
                st = e.stat(follow_symlinks=False)
            except OSError as exc:
                raise ImportFailed(f"cannot read {rel}: {exc.strerror or exc}") from exc
            if stat.S_ISLNK(st.st_mode):
                skipped.append(Skipped(rel, "symlink (not followed)"))
                continue
            clean = sanitize_name(name, cfg.max_name_length)
            if not clean:
                skipped.append(Skipped(rel, "name has no usable characters"))
                continue
            if stat.S_ISDIR(st.st_mode):
                if len(rel_parts) + 1 >= cfg.max_depth + 1:
                    skipped.append(Skipped(rel, f"folder nested deeper than {cfg.max_depth}"))
                    continue
                try:
                    child = os.open(raw, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in GONE_ERRNOS:
                        raise ImportFailed(f"cannot read {rel}: {exc.strerror or exc}") from exc
                    skipped.append(Skipped(rel, f"folder unreadable: {exc.strerror or exc}"))
                    continue
                try:
                    walk(child, [*raw_parts, raw], [*rel_parts, name], [*dest_parts, clean])
                finally:
                    os.close(child)
                continue
            if not stat.S_ISREG(st.st_mode):
                skipped.append(Skipped(rel, "not a regular file (device, FIFO or socket)"))
                continue
            if not rel_parts:
                skipped.append(Skipped(rel, "not inside a playlist folder"))
                continue
            if os.path.splitext(clean)[1].lower() not in cfg.extensions:
                skipped.append(Skipped(rel, "file type not imported (by name ending)"))
                continue
            if st.st_size > cfg.max_file_mb * MB:
                skipped.append(Skipped(rel, f"larger than max_file_mb={cfg.max_file_mb:g}"))
                continue
            if st.st_size == 0:
                skipped.append(Skipped(rel, "empty file"))
                continue
            dest = "/".join([*dest_parts, clean])
            k = dest.casefold()
            if k in taken:
                skipped.append(Skipped(rel, f"same name as {taken[k]} after cleaning"))
                continue
            taken[k] = rel
            parts = [*raw_parts, raw]
            key = os.fsdecode(b"/".join(parts))
            found.append(Candidate(parts, rel, dest, st.st_size, st.st_mtime_ns, key))

    walk(top_fd, [], [], [])
    return found, skipped


def exists_at(top_fd: int, key: str) -> bool:
    """Does the stick hold ``key`` (a manifest path), without following links?"""
    try:
        os.stat(os.fsencode(key), dir_fd=top_fd, follow_symlinks=False)
        return True
    except OSError:
        return False


def open_source(top_fd: int, parts: list[bytes]) -> int:
    """Open a stick file read-only, walking folder by folder with O_NOFOLLOW.

    Raises SkipFile for a file that changed into a link or cannot be read (permission),
    OSError when the stick itself is failing.
    """
    fd = top_fd
    opened: list[int] = []
    try:
        for part in parts[:-1]:
            fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
            opened.append(fd)
        flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
        return os.open(parts[-1], flags, dir_fd=fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise SkipFile("became a symlink while importing") from None
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise SkipFile(f"unreadable: {exc.strerror}") from None
        if exc.errno == errno.ENOENT:
            raise SkipFile("disappeared while importing") from None
        raise
    finally:
        for o in opened:
            os.close(o)


class SkipFile(Exception):
    """This one file is skipped with the message as its reason; the import goes on."""
