"""No-follow file operations on folder fds, for the library store.

Everything in ``library_dir`` may have been planted by the service user while the import
runs as root: these helpers open folders with ``O_NOFOLLOW``, work on names relative to
those fds, create files ``O_EXCL``, and refuse links, FIFOs, hard links and strangers' files.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import shutil
import stat
import sys
from pathlib import Path

TMP_MARK = ".tmp-"
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
MAX_SMALL_FILE = 1 << 16


class LibraryError(Exception):
    """The library cannot be changed as asked; the message says why and what to do."""


class Busy(LibraryError):
    """Another import or rollback holds the lock."""


class SwitchError(LibraryError):
    """The final switch failed; the old library is still live."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, DIR_FLAGS)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def open_dir(path: Path | str, dir_fd: int | None = None) -> int:
    """A folder fd; a symlink at ``path`` is refused with a clear message."""
    try:
        return os.open(path, DIR_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):
            raise LibraryError(
                f"{path} is a symlink or not a folder; refusing to follow it (remove it, or "
                "fix usb_import.library_dir / music_root)"
            ) from None
        raise


def open_top_dir(path: Path) -> int:
    """Like ``open_dir`` for ``library_dir`` and the music root's folder, which an admin may
    have made symlinks (e.g. onto an SSD): followed only when root owns the link and its
    folder, so nobody else can have planted or swapped it."""
    try:
        return open_dir(path)
    except LibraryError:
        try:
            link, parent = os.lstat(path), os.lstat(path.parent)
        except OSError:
            raise LibraryError(f"{path} is not a folder") from None
        trusted = (
            stat.S_ISLNK(link.st_mode)
            and link.st_uid == 0
            and parent.st_uid == 0
            and not parent.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
        )
        if not trusted:
            raise
        return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def remove_at(dir_fd: int, name: str) -> None:
    """Delete ``name`` below ``dir_fd``: a folder tree, or just the link/file itself."""
    st = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not stat.S_ISDIR(st.st_mode):
        os.unlink(name, dir_fd=dir_fd)
    elif sys.version_info >= (3, 11):
        shutil.rmtree(name, dir_fd=dir_fd)  # novermin (fd-based: never follows links inside)
    else:
        rmtree_at(dir_fd, name)


def rmtree_at(dir_fd: int, name: str) -> None:
    """``shutil.rmtree(name, dir_fd=dir_fd)`` for Python 3.10, which lacks ``dir_fd``: the
    same walk relative to folder fds. A folder swapped for a link meanwhile is refused
    (O_NOFOLLOW), never followed."""
    fd = os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    try:
        with os.scandir(fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
        for entry, is_dir in entries:
            if is_dir:
                rmtree_at(fd, entry)
            else:
                os.unlink(entry, dir_fd=fd)
    finally:
        os.close(fd)
    os.rmdir(name, dir_fd=dir_fd)


def replace_symlink_at(dir_fd: int, name: str, target: str) -> None:
    """Point ``name`` at ``target`` atomically (temp symlink + rename), durable on return."""
    tmp = f".{name}{TMP_MARK}{secrets.token_hex(4)}"
    os.symlink(target, tmp, dir_fd=dir_fd)  # fails on any existing name; never follows
    try:
        os.replace(tmp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dir_fd)
        raise
    os.fsync(dir_fd)


def remove_tree(path: Path) -> None:
    """Path-based removal for callers outside the store (tests, tools)."""
    fd = open_dir(path.parent)
    try:
        with contextlib.suppress(FileNotFoundError):
            remove_at(fd, path.name)
    finally:
        os.close(fd)


def check_owner(st: os.stat_result, what: Path | str) -> None:
    """Refuse a file or folder that belongs to neither this user nor root."""
    if st.st_uid not in (0, os.geteuid()):
        raise LibraryError(
            f"{what} belongs to uid {st.st_uid}, not to this user (uid {os.geteuid()}) or "
            "root; refusing to use it"
        )


def open_lock(dfd: int, name: str, where: Path) -> int:
    """Open (creating) the lock file ``name`` below ``dfd`` without following anything."""
    # flock needs no write access: a lock file left by root still works for kiosk.
    # O_NONBLOCK: a planted FIFO must not hang the open.
    flags = os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(name, flags, 0o644, dir_fd=dfd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise LibraryError(
                f"{where} is a symlink; refusing to follow it (someone planted it: remove "
                "it and check who can write to the library)"
            ) from None
        raise
    st = os.fstat(fd)
    try:
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            raise LibraryError(
                f"{where} is not a plain file (a device, FIFO or hard link); refusing it"
            )
        check_owner(st, where)
    except BaseException:
        os.close(fd)
        raise
    return fd


def read_small_at(dfd: int, name: str) -> bytes | None:
    """A plain file's bytes, or None when missing, a link, special, or too big."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(name, flags, dir_fd=dfd)
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > MAX_SMALL_FILE:
            return None
        return os.read(fd, MAX_SMALL_FILE)
    finally:
        os.close(fd)


def write_small_at(dfd: int, name: str, data: bytes) -> None:
    """Replace ``name`` atomically with a fresh file (a planted link is replaced, never
    written through)."""
    tmp = f"{name}{TMP_MARK}{secrets.token_hex(4)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    fd = os.open(tmp, flags, 0o644, dir_fd=dfd)
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, name, src_dir_fd=dfd, dst_dir_fd=dfd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dfd)
        raise
