"""Versioned music library on disk with an atomic switch.

Layout (installed paths shown)::

    /var/lib/kiosk/music            -> library/20261122T070015Z-1a2b   (live: a symlink)
    /var/lib/kiosk/library/
        20261122T070015Z-1a2b/      live version
        20261101T120000Z-9f8e/      previous version (for rollback)
        previous                    -> 20261101T120000Z-9f8e
        .staging-<id>/              an import in progress (or a dead one, removed next run)
        .import.lock                flock: one import at a time

The live root changes only by ``rename(2)`` of a fresh symlink over the old one, so a reader
sees the old library or the new one, never a mix, and a power cut at any point leaves one
of the two complete.

Everything in ``library_dir`` and next to the live root may have been planted by the service
user, and the import may run as root: every change here goes through a folder fd opened with
``O_NOFOLLOW`` and names relative to it, files are created with ``O_EXCL``/``O_NOFOLLOW``,
and links are only followed to folders that are versions of this store.

Its size: every step of a switch and its undo must stay beside the others, with the same
fd discipline; splitting them would hide which step undoes which.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from kiosk.usb_import.store_fs import (
    DIR_FLAGS,
    TMP_MARK,
    Busy,
    LibraryError,
    SwitchError,
    check_owner,
    fsync_dir,
    open_dir,
    open_lock,
    open_top_dir,
    read_small_at,
    remove_at,
    remove_tree,
    replace_symlink_at,
    write_small_at,
)

__all__ = [
    "DIR_FLAGS",
    "Busy",
    "LibraryError",
    "LibraryStore",
    "Staging",
    "SwitchError",
    "fsync_dir",
    "open_dir",
    "remove_tree",
    "replace_symlink_at",
]

log = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"
PREVIOUS_LINK = "previous"
LOCK_NAME = ".import.lock"
# "<live>/<previous>" while a commit or rollback moves its two links: a kill between them
# would otherwise leave ``previous`` naming the live version, and recover() would delete
# the version it named before.
SWITCH_NOTE = ".switch-note"


def new_version_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


class Staging:
    """A staging folder being filled: its name in the store and an open fd."""

    def __init__(self, store: LibraryStore, name: str, fd: int):
        self.store, self.name, self.fd = store, name, fd
        self.path = store.dir / name

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class LibraryStore:
    """The live music root and its versions."""

    def __init__(self, music_root: Path, library_dir: Path):
        self.root = Path(os.path.abspath(music_root))
        self.dir = Path(os.path.abspath(library_dir))
        if self.dir == self.root or self.root in self.dir.parents:
            raise LibraryError(
                f"library_dir {self.dir} must not be inside music_root {self.root}; "
                "set usb_import.library_dir to a sibling folder"
            )
        self._dfd: int | None = None  # library_dir, while locked
        self._pfd: int | None = None  # the folder holding the live root, while locked

    # -- folder fds ------------------------------------------------------------------------
    @contextlib.contextmanager
    def _fds(self) -> Iterator[tuple[int, int] | None]:
        """(library fd, root's parent fd): the locked ones, or fresh ones for a query."""
        if self._dfd is not None and self._pfd is not None:
            yield self._dfd, self._pfd
            return
        try:
            dfd = open_top_dir(self.dir)
        except (OSError, LibraryError):
            yield None
            return
        try:
            pfd = open_top_dir(self.root.parent)
        except (OSError, LibraryError):
            os.close(dfd)
            yield None
            return
        try:
            yield dfd, pfd
        finally:
            os.close(dfd)
            os.close(pfd)

    def _is_version(self, dfd: int, name: str) -> bool:
        if not name or "/" in name or name.startswith(".") or name == PREVIOUS_LINK:
            return False
        try:
            st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except OSError:
            return False
        return stat.S_ISDIR(st.st_mode)

    def _live_name(self, dfd: int, pfd: int) -> str | None:
        try:
            target = os.readlink(self.root.name, dir_fd=pfd)
        except OSError:
            return None  # missing, or a plain folder
        full = os.path.normpath(os.path.join(self.root.parent, target))
        if os.path.realpath(os.path.dirname(full)) != os.path.realpath(self.dir):
            return None  # points somewhere else: not ours to manage
        name = os.path.basename(full)
        return name if self._is_version(dfd, name) else None

    def _previous_name(self, dfd: int, live: str | None) -> str | None:
        try:
            target = os.readlink(PREVIOUS_LINK, dir_fd=dfd)
        except OSError:
            return None
        if target == live or not self._is_version(dfd, target):
            return None
        return target

    # -- queries ---------------------------------------------------------------------------
    def current(self) -> Path | None:
        """The live version folder, or None when the root is missing, a plain folder, or a
        link to something that is not a version of this store."""
        with self._fds() as fds:
            name = self._live_name(*fds) if fds else None
        return self.dir / name if name else None

    def root_points_elsewhere(self) -> str:
        """The target when the live root is a symlink that is not one of our versions."""
        if self.root.is_symlink() and self.current() is None:
            return os.readlink(self.root)
        return ""

    def previous(self) -> Path | None:
        with self._fds() as fds:
            if not fds:
                return None
            name = self._previous_name(fds[0], self._live_name(*fds))
        return self.dir / name if name else None

    def versions(self) -> list[Path]:
        with self._fds() as fds:
            if not fds:
                return []
            with os.scandir(fds[0]) as it:
                names = [e.name for e in it if self._is_version(fds[0], e.name)]
        return [self.dir / n for n in sorted(names)]

    # -- locking and repair ----------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self, create: bool = True) -> Iterator[None]:
        """Hold the import lock. ``create=False``: a missing library is a LibraryError."""
        if create:
            self.dir.parent.mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(FileExistsError):
                os.mkdir(self.dir, 0o755)  # never through a planted link (mkdir won't)
        elif not os.path.lexists(self.dir):
            raise LibraryError(
                f"no previous library to go back to: nothing imported into {self.dir} yet"
            )
        dfd = open_top_dir(self.dir)
        fds = [dfd]
        try:
            check_owner(os.fstat(dfd), self.dir)
            pfd = open_top_dir(self.root.parent)
            fds.append(pfd)
            lock = open_lock(dfd, LOCK_NAME, self.dir / LOCK_NAME)
            fds.append(lock)
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy("another import or rollback is running; wait for it to finish") from None
            self._dfd, self._pfd = dfd, pfd
            yield
        finally:
            self._dfd = self._pfd = None
            for fd in reversed(fds):
                os.close(fd)  # closing drops the flock; a killed process drops it too

    def held_dir_fd(self) -> int:
        """The library folder's fd (inside ``locked()``)."""
        return self._held()[0]

    def _held(self) -> tuple[int, int]:
        if self._dfd is None or self._pfd is None:
            raise RuntimeError("LibraryStore: call inside locked()")
        return self._dfd, self._pfd

    def recover(self) -> list[str]:
        """Undo what a killed run left behind. Call with the lock held. Returns notes."""
        dfd, pfd = self._held()
        notes: list[str] = []
        with os.scandir(dfd) as it:
            leftovers = [
                e.name
                for e in it
                if e.name.startswith(STAGING_PREFIX)
                or (e.name.startswith(".") and TMP_MARK in e.name)
                or e.name == ".last-import.json.tmp"  # the name older versions used
            ]
        for name in sorted(leftovers):
            with contextlib.suppress(FileNotFoundError):
                remove_at(dfd, name)
            if name.startswith(STAGING_PREFIX):
                notes.append(f"removed half-done import {name}")
        prefix = f".{self.root.name}{TMP_MARK}"
        with os.scandir(pfd) as it:
            stale = [e.name for e in it if e.name.startswith(prefix) and e.is_symlink()]
        for name in stale:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name, dir_fd=pfd)
        notes += self._undo_switch(dfd, pfd)
        # Killed between moving a plain folder into the store and linking it, or the live
        # version was deleted by hand: point the root at the newest complete version.
        try:
            st = os.stat(self.root.name, dir_fd=pfd, follow_symlinks=False)
            missing = stat.S_ISLNK(st.st_mode) and not self.root.exists()
        except FileNotFoundError:
            missing = True
        versions = self.versions()
        if missing and versions:
            self._link_root(versions[-1].name)
            notes.append(f"relinked {self.root} to {versions[-1].name}")
        # Killed between renaming staging to a version and the switch: that version is
        # complete but was never live. Only when the root is ours: a folder put there by
        # hand says nothing about which versions are wanted.
        live = self._live_name(dfd, pfd)
        if live is not None:
            keep = {live, self._previous_name(dfd, live)}
            for v in self.versions():
                if v.name not in keep:
                    remove_at(dfd, v.name)
                    notes.append(f"removed version {v.name}, which never went live")
        for n in notes:
            log.warning("import recovery: %s", n)
        return notes

    def _begin_switch(self, dfd: int, live: str | None) -> None:
        """Note (live, previous) before a commit or rollback moves its two links."""
        note = f"{live or ''}/{self._previous_name(dfd, live) or ''}"
        replace_symlink_at(dfd, SWITCH_NOTE, note)

    def _undo_switch(self, dfd: int, pfd: int) -> list[str]:
        """A commit or rollback stopped before its switch: put ``previous`` back as noted,
        so no version is lost and the next rollback does what was asked."""
        try:
            live, _, prev = os.readlink(SWITCH_NOTE, dir_fd=dfd).partition("/")
        except OSError:
            return []
        notes = []
        if (self._live_name(dfd, pfd) or "") == live:  # the music link never moved
            current = self._previous_name(dfd, live or None) or ""
            if prev != current and (not prev or self._is_version(dfd, prev)):
                if prev:
                    replace_symlink_at(dfd, PREVIOUS_LINK, prev)
                else:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(PREVIOUS_LINK, dir_fd=dfd)
                notes.append(f"a switch was cut short; previous is {prev or 'none'} again")
        with contextlib.suppress(FileNotFoundError):
            os.unlink(SWITCH_NOTE, dir_fd=dfd)
        return notes

    def _link_root(self, version: str) -> None:
        _dfd, pfd = self._held()
        target = os.path.relpath(self.dir / version, self.root.parent)
        replace_symlink_at(pfd, self.root.name, target)

    def adopt_plain_root(self) -> None:
        """First import: turn a plain music folder into version one of the store."""
        dfd, pfd = self._held()
        try:
            st = os.stat(self.root.name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if stat.S_ISLNK(st.st_mode):
            return
        if not stat.S_ISDIR(st.st_mode):
            raise LibraryError(f"music root {self.root} exists and is not a folder")
        dest = new_version_id() + "-adopted"
        if st.st_dev == os.fstat(dfd).st_dev:
            # Moving the folder leaves the root absent for a moment; recover() relinks it.
            os.rename(self.root.name, dest, src_dir_fd=pfd, dst_dir_fd=dfd)
            os.fsync(dfd)
            self._link_root(dest)
        else:
            staging = STAGING_PREFIX + secrets.token_hex(4)
            shutil.copytree(self.root, self.dir / staging, symlinks=True)
            os.rename(staging, dest, src_dir_fd=dfd, dst_dir_fd=dfd)
            os.fsync(dfd)
            aside = self.root.name + ".before-import"
            n = 1
            while os.path.lexists(self.root.parent / aside):
                aside = f"{self.root.name}.before-import.{n}"
                n += 1
            os.rename(self.root.name, aside, src_dir_fd=pfd, dst_dir_fd=pfd)
            self._link_root(dest)
            log.warning("music folder was on another file system; old copy kept at %s", aside)
        log.info("music folder %s now lives at %s", self.root, self.dir / dest)

    # -- small files (the import fingerprint) ----------------------------------------------
    def read_small(self, name: str) -> bytes | None:
        with self._fds() as fds:
            return read_small_at(fds[0], name) if fds else None

    def write_small(self, name: str, data: bytes) -> None:
        write_small_at(self._held()[0], name, data)

    # -- changes ---------------------------------------------------------------------------
    def new_staging(self) -> Staging:
        dfd, _pfd = self._held()
        name = STAGING_PREFIX + secrets.token_hex(6)
        os.mkdir(name, 0o755, dir_fd=dfd)
        return Staging(self, name, open_dir(name, dir_fd=dfd))

    def discard(self, staging: Staging) -> None:
        staging.close()
        dfd, _pfd = self._held()
        with contextlib.suppress(FileNotFoundError):
            remove_at(dfd, staging.name)

    def commit(self, staging: Staging, keep_previous: bool) -> tuple[Path, Path | None]:
        """Make a finished staging folder the live library. Returns (new, previous).

        Raises SwitchError (old library still live, new version removed) when a step fails.
        """
        dfd, pfd = self._held()
        staging.close()
        version = new_version_id()
        while os.path.lexists(self.dir / version):
            version = new_version_id()
        step = "renaming the staging folder"
        try:
            os.rename(staging.name, version, src_dir_fd=dfd, dst_dir_fd=dfd)
            os.fsync(dfd)
            old = self._live_name(dfd, pfd)
            step = "pointing library/previous at the old version"
            self._begin_switch(dfd, old)
            if old is not None:
                replace_symlink_at(dfd, PREVIOUS_LINK, old)
            step = "switching the music symlink"
            self._link_root(version)
        except OSError as exc:
            if self._live_name(dfd, pfd) != version:
                with contextlib.suppress(OSError):
                    self._undo_switch(dfd, pfd)
                for name in (version, staging.name):
                    with contextlib.suppress(OSError):
                        remove_at(dfd, name)
            raise SwitchError(
                f"could not switch to the new library ({step}): {exc.strerror or exc}; "
                "the old library is still live"
            ) from None
        with contextlib.suppress(OSError):  # the switch is done; recover() drops a stale note
            os.unlink(SWITCH_NOTE, dir_fd=dfd)
        try:
            self.prune(keep_previous)
        except OSError as exc:  # the switch is done; old versions go next time
            log.warning("could not remove old library versions: %s", exc)
        prev = self.dir / old if old is not None and keep_previous else None
        return self.dir / version, prev

    def rollback(self) -> tuple[Path, Path]:
        """Swap the live library and the previous one. Returns (now live, now previous)."""
        dfd, pfd = self._held()
        cur = self._live_name(dfd, pfd)
        prev = self._previous_name(dfd, cur)
        if prev is None or cur is None:
            raise LibraryError(
                "no previous library to go back to (none was kept, or there was no import yet)"
            )
        self._begin_switch(dfd, cur)
        try:
            replace_symlink_at(dfd, PREVIOUS_LINK, cur)
            self._link_root(prev)
        except OSError:
            with contextlib.suppress(OSError):
                self._undo_switch(dfd, pfd)  # the old library stays live, previous too
            raise
        with contextlib.suppress(OSError):
            os.unlink(SWITCH_NOTE, dir_fd=dfd)
        return self.dir / prev, self.dir / cur

    def prune(self, keep_previous: bool) -> list[str]:
        dfd, pfd = self._held()
        live = self._live_name(dfd, pfd)
        keep = {live}
        if keep_previous:
            keep.add(self._previous_name(dfd, live))
        else:
            with contextlib.suppress(FileNotFoundError):
                st = os.stat(PREVIOUS_LINK, dir_fd=dfd, follow_symlinks=False)
                if stat.S_ISLNK(st.st_mode):
                    os.unlink(PREVIOUS_LINK, dir_fd=dfd)
        removed = []
        for v in self.versions():
            if v.name not in keep:
                remove_at(dfd, v.name)
                removed.append(v.name)
        return removed
