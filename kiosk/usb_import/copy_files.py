"""Writing into a staging folder: copy to a temp name, check, then rename over.

All writes are relative to folder fds opened with ``O_NOFOLLOW``, new files are created
``O_EXCL`` under a fresh short temp name (so a long library name never grows past the
255-byte limit), and an existing file (a hard link to the previous version in merge mode)
is only ever replaced by ``rename(2)`` after the new copy passed its checks: a damaged
incoming file never costs the good one, and nothing is written through a link.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from kiosk.usb_import.scan import MB, SkipFile
from kiosk.usb_import.version_store import DIR_FLAGS

CHUNK = 1 << 20
PART = ".part"
# The library's file system refuses this name (too long for it, bad encoding): skip it.
NAME_ERRNOS = (errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL)


class Throttle:
    def __init__(self, mb_s: float, stopped: Callable[[], None] = lambda: None):
        self.rate = mb_s * MB
        self.start = time.monotonic()
        self.done = 0
        self.stopped = stopped

    def wait(self, n: int) -> None:
        if self.rate <= 0:
            return
        self.done += n
        ahead = self.done / self.rate - (time.monotonic() - self.start)
        while ahead > 0:  # in slices, so a stop request is seen within 0.1 s
            time.sleep(min(ahead, 0.1))
            self.stopped()
            ahead = self.done / self.rate - (time.monotonic() - self.start)


def open_parent(root_fd: int, parts: list[str]) -> int:
    """The fd of ``parts[:-1]`` below ``root_fd``, created as needed, never via a link."""
    fd = os.dup(root_fd)
    try:
        for part in parts[:-1]:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                nfd = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise SkipFile(f"{part!r} is a file in the library, not a folder") from None
                raise
            os.close(fd)
            fd = nfd
    except BaseException:
        os.close(fd)
        raise
    return fd


@dataclass
class Incoming:
    """A copied file under its temp name, waiting for ``keep`` or ``drop``."""

    dir_fd: int
    tmp: str
    name: str
    path: str  # for the content check (reads only)
    digest: str

    def keep(self) -> None:
        """Rename over the final name: replaces an older file (or link), never writes it."""
        os.replace(self.tmp, self.name, src_dir_fd=self.dir_fd, dst_dir_fd=self.dir_fd)

    def had_old(self) -> bool:
        try:
            os.stat(self.name, dir_fd=self.dir_fd, follow_symlinks=False)
            return True
        except OSError:
            return False

    def drop(self) -> None:
        with contextlib.suppress(OSError):
            os.unlink(self.tmp, dir_fd=self.dir_fd)

    def close(self) -> None:
        os.close(self.dir_fd)


def _name_error(exc: OSError, name: str) -> SkipFile | None:
    if exc.errno in NAME_ERRNOS:
        return SkipFile(
            f"the library's file system refuses the name {name!r}: {exc.strerror or exc}"
        )
    return None


def copy_in(
    src_fd: int,
    staging_fd: int,
    staging_path: str,
    dest_parts: list[str],
    limit: int,
    throttle: Throttle,
    stopped: Callable[[], None],
) -> Incoming:
    """Copy the open source file into staging under a temp name; hash what was copied."""
    if not stat.S_ISREG(os.fstat(src_fd).st_mode):
        raise SkipFile("not a regular file")
    try:
        dir_fd = open_parent(staging_fd, dest_parts)
    except OSError as exc:
        raise _name_error(exc, "/".join(dest_parts[:-1])) or exc from None
    tmp = f".{secrets.token_hex(6)}{PART}"
    h = hashlib.sha256()
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        out = os.open(tmp, flags, 0o644, dir_fd=dir_fd)
        try:
            os.fchmod(out, 0o644)  # whatever the umask: the daemon must read it
            copied = 0
            while True:
                stopped()
                try:
                    buf = os.read(src_fd, CHUNK)
                except OSError as exc:
                    if exc.errno in (errno.EACCES, errno.EPERM, errno.EISDIR, errno.EINVAL):
                        raise SkipFile(f"unreadable: {exc.strerror or exc}") from None
                    raise
                if not buf:
                    break
                copied += len(buf)
                if copied > limit:
                    raise SkipFile("grew past max_file_mb while copying")
                h.update(buf)
                view = memoryview(buf)
                while view:
                    view = view[os.write(out, view) :]
                throttle.wait(len(buf))
            os.fsync(out)
        finally:
            os.close(out)
        sub = "/".join(dest_parts[:-1])
        path = os.path.join(staging_path, sub, tmp) if sub else os.path.join(staging_path, tmp)
        return Incoming(dir_fd, tmp, dest_parts[-1], path, h.hexdigest())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        os.close(dir_fd)
        raise


def walk_files(top_fd: int, prefix: str = "") -> Iterator[tuple[str, int]]:
    """(relative path, size) of every plain file below ``top_fd``; links are not followed."""
    with os.scandir(top_fd) as it:
        entries = list(it)
    for e in entries:
        st = e.stat(follow_symlinks=False)
        rel = f"{prefix}{e.name}"
        if stat.S_ISDIR(st.st_mode):
            fd = os.open(e.name, DIR_FLAGS, dir_fd=top_fd)
            try:
                yield from walk_files(fd, rel + "/")
            finally:
                os.close(fd)
        elif stat.S_ISREG(st.st_mode):
            yield rel, st.st_size


def link_tree(src_fd: int, dst_fd: int) -> int:
    """Hard-link a library version into staging (merge mode: no bytes copied)."""
    total = 0
    with os.scandir(src_fd) as it:
        entries = list(it)
    for e in entries:
        st = e.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(FileExistsError):
                os.mkdir(e.name, 0o755, dir_fd=dst_fd)
            s = os.open(e.name, DIR_FLAGS, dir_fd=src_fd)
            try:
                d = os.open(e.name, DIR_FLAGS, dir_fd=dst_fd)
                try:
                    total += link_tree(s, d)
                finally:
                    os.close(d)
            finally:
                os.close(s)
        elif stat.S_ISREG(st.st_mode):
            try:
                os.link(e.name, e.name, src_dir_fd=src_fd, dst_dir_fd=dst_fd, follow_symlinks=False)
            except OSError as exc:
                if exc.errno not in (errno.EMLINK, errno.EPERM, errno.EXDEV):
                    raise
                _copy_at(src_fd, dst_fd, e.name)  # too many links, or not ours to link
            total += st.st_size
    return total


def _copy_at(src_fd: int, dst_fd: int, name: str) -> None:
    s = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=src_fd)
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        d = os.open(name, flags, 0o644, dir_fd=dst_fd)
        try:
            while buf := os.read(s, CHUNK):
                view = memoryview(buf)
                while view:
                    view = view[os.write(d, view) :]
        finally:
            os.close(d)
    finally:
        os.close(s)


def _below(top_fd: int, visit: Callable[[int, str, int], None]) -> None:
    """Depth first over the folders below ``top_fd``, never via a link: ``visit(parent_fd,
    name, fd)`` once a folder's own subfolders are done."""
    with os.scandir(top_fd) as it:
        dirs = [e.name for e in it if e.is_dir(follow_symlinks=False)]
    for name in dirs:
        fd = os.open(name, DIR_FLAGS, dir_fd=top_fd)
        try:
            _below(fd, visit)
            visit(top_fd, name, fd)
        finally:
            os.close(fd)


def fsync_tree(top_fd: int) -> None:
    _below(top_fd, lambda _parent, _name, fd: os.fsync(fd))
    os.fsync(top_fd)


def remove_empty_dirs(top_fd: int) -> None:
    def rmdir(parent: int, name: str, _fd: int) -> None:
        with contextlib.suppress(OSError):  # not empty: it holds music
            os.rmdir(name, dir_fd=parent)

    _below(top_fd, rmdir)
