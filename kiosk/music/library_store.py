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
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)

STAGING_PREFIX = ".staging-"
PREVIOUS_LINK = "previous"
LOCK_NAME = ".import.lock"


class LibraryError(Exception):
    """The library cannot be changed as asked; the message says why and what to do."""


class Busy(LibraryError):
    """Another import or rollback holds the lock."""


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def new_version_id() -> str:
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(2)


def _replace_symlink(link: Path, target: Path) -> None:
    """Point ``link`` at ``target`` atomically (temp symlink + rename), durable on return."""
    rel = os.path.relpath(target, link.parent)
    tmp = link.parent / f".{link.name}.tmp-{secrets.token_hex(4)}"
    os.symlink(rel, tmp)
    try:
        os.replace(tmp, link)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(link.parent)


def remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)


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

    # -- queries ---------------------------------------------------------------------------
    def current(self) -> Path | None:
        """The live version folder, or None when the root is missing or a plain folder."""
        if not self.root.is_symlink():
            return None
        target = Path(os.path.realpath(self.root))
        return target if target.is_dir() else None

    def previous(self) -> Path | None:
        link = self.dir / PREVIOUS_LINK
        if not link.is_symlink():
            return None
        target = Path(os.path.realpath(link))
        if not target.is_dir() or target == self.current():
            return None
        return target

    def versions(self) -> list[Path]:
        if not self.dir.is_dir():
            return []
        return sorted(
            p
            for p in self.dir.iterdir()
            if p.is_dir() and not p.is_symlink() and not p.name.startswith(".")
        )

    # -- locking and repair ----------------------------------------------------------------
    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        created = not self.dir.exists()
        self.dir.mkdir(parents=True, exist_ok=True)
        lock = self.dir / LOCK_NAME
        # flock needs no write access: a lock file left by root still works for kiosk.
        fd = os.open(lock, os.O_RDONLY | os.O_CREAT, 0o644)
        if os.geteuid() == 0:
            # Run by hand as root: keep the store owned by the service user, or its own
            # imports could not write here later.
            owner = os.stat(self.dir.parent)
            for p in [self.dir, lock] if created else [lock]:
                with contextlib.suppress(OSError):
                    os.chown(p, owner.st_uid, owner.st_gid)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise Busy("another import or rollback is running; wait for it to finish") from None
            yield
        finally:
            os.close(fd)  # closing drops the flock; a killed process drops it too

    def recover(self) -> list[str]:
        """Undo what a killed run left behind. Call with the lock held. Returns notes."""
        notes: list[str] = []
        for p in self.dir.iterdir() if self.dir.is_dir() else []:
            if p.name.startswith(STAGING_PREFIX) or p.name.startswith(".previous.tmp-"):
                remove_tree(p)
                notes.append(f"removed half-done import {p.name}")
        for p in self.root.parent.glob(f".{self.root.name}.tmp-*"):
            if p.is_symlink():
                p.unlink()
        # Killed between moving a plain folder into the store and linking it, or the live
        # version was deleted by hand: point the root at the newest complete version.
        missing = not self.root.exists() or (self.root.is_symlink() and self.current() is None)
        versions = self.versions()
        if missing and versions:
            _replace_symlink(self.root, versions[-1])
            notes.append(f"relinked {self.root} to {versions[-1].name}")
        for n in notes:
            log.warning("import recovery: %s", n)
        return notes

    def adopt_plain_root(self) -> None:
        """First import: turn a plain music folder into version one of the store."""
        if self.root.is_symlink() or not self.root.exists():
            return
        if not self.root.is_dir():
            raise LibraryError(f"music root {self.root} exists and is not a folder")
        self.dir.mkdir(parents=True, exist_ok=True)
        dest = self.dir / (new_version_id() + "-adopted")
        if os.stat(self.root).st_dev == os.stat(self.dir).st_dev:
            # Moving the folder leaves the root absent for a moment; recover() relinks it.
            os.rename(self.root, dest)
            fsync_dir(self.dir)
            _replace_symlink(self.root, dest)
        else:
            staging = self.dir / (STAGING_PREFIX + secrets.token_hex(4))
            shutil.copytree(self.root, staging, symlinks=True)
            os.rename(staging, dest)
            fsync_dir(self.dir)
            aside = self.root.with_name(self.root.name + ".before-import")
            n = 1
            while aside.exists():
                aside = self.root.with_name(f"{self.root.name}.before-import.{n}")
                n += 1
            os.rename(self.root, aside)
            _replace_symlink(self.root, dest)
            log.warning("music folder was on another file system; old copy kept at %s", aside)
        log.info("music folder %s now lives at %s", self.root, dest)

    # -- changes ---------------------------------------------------------------------------
    def new_staging(self) -> Path:
        self.dir.mkdir(parents=True, exist_ok=True)
        staging = self.dir / (STAGING_PREFIX + secrets.token_hex(6))
        staging.mkdir(mode=0o755)
        return staging

    def commit(self, staging: Path, keep_previous: bool) -> tuple[Path, Path | None]:
        """Make a finished staging folder the live library. Returns (new, previous)."""
        version = self.dir / new_version_id()
        os.rename(staging, version)
        fsync_dir(self.dir)
        old = self.current()
        if old is not None:
            _replace_symlink(self.dir / PREVIOUS_LINK, old)
        _replace_symlink(self.root, version)
        self.prune(keep_previous)
        return version, old if keep_previous else None

    def rollback(self) -> tuple[Path, Path]:
        """Swap the live library and the previous one. Returns (now live, now previous)."""
        prev = self.previous()
        cur = self.current()
        if prev is None or cur is None:
            raise LibraryError(
                "no previous library to go back to (none was kept, or there was no import yet)"
            )
        _replace_symlink(self.dir / PREVIOUS_LINK, cur)
        _replace_symlink(self.root, prev)
        return prev, cur

    def prune(self, keep_previous: bool) -> list[str]:
        keep = {self.current()}
        if keep_previous:
            keep.add(self.previous())
        else:
            link = self.dir / PREVIOUS_LINK
            if link.is_symlink():
                link.unlink()
        removed = []
        for v in self.versions():
            if v not in keep:
                remove_tree(v)
                removed.append(v.name)
        return removed
