"""Who a root-run import acts as: the owner of the library, never root.

The service user owns ``library_dir`` and the folder holding the ``music`` symlink, so it can
plant symlinks and hard links there. A root process that followed one could overwrite or
take ownership of any file. So when ``kiosk import`` starts as root it switches its
effective ids to that owner before it touches the library: whatever was planted, the
import can then only write where the service user could write anyway. Only reading the
stick (which root named on the command line) goes back to root, for sticks mounted for
another user; those reads never follow links either (see ``scan``).

Effective ids, not all three: the saved uid stays 0 so the stick can still be read and the
daemon still signalled. Nothing else runs in the process meanwhile (paho's network thread
only does network I/O).
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


class OwnershipError(Exception):
    """The library's folders belong to several users, or are writable by anyone."""


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    groups: tuple[int, ...]
    name: str


def _existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor (nothing below it exists yet)."""
    p = Path(os.path.abspath(path))
    while not os.path.lexists(p) and p != p.parent:
        p = p.parent
    return p


def library_owner(paths: list[Path]) -> Identity | None:
    """The one non-root user who can change anything on these paths, or None (root only).

    Looks at each path (or its nearest existing ancestor) and every folder above it.
    Raises OwnershipError when two users could, or a folder is writable by a group or
    everybody without the sticky bit: nobody could then say whose files these are.
    """
    owners: dict[int, Path] = {}
    seen: set[Path] = set()
    for start in paths:
        p = _existing(start)
        for q in [p, *p.parents]:
            if q in seen:
                continue
            seen.add(q)
            st = os.lstat(q)
            if st.st_uid != 0:
                owners.setdefault(st.st_uid, q)
            if (
                stat.S_ISDIR(st.st_mode)
                and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
                and not st.st_mode & stat.S_ISVTX
            ):
                raise OwnershipError(
                    f"{q} is writable by its group or by everybody; the library path must be "
                    "writable only by the service user (chmod go-w)"
                )
    if not owners:
        return None
    if len(owners) > 1:
        listed = ", ".join(f"{p} (uid {u})" for u, p in owners.items())
        raise OwnershipError(
            f"the library's folders belong to different users: {listed}; chown them to the "
            "service user (e.g. chown -R kiosk:kiosk /var/lib/kiosk)"
        )
    uid, where = next(iter(owners.items()))
    try:
        pw = pwd.getpwuid(uid)
        name, gid = pw.pw_name, pw.pw_gid
        groups = tuple(sorted(set(os.getgrouplist(name, gid))))
    except KeyError:  # a uid without a passwd entry: its folder's group, nothing else
        name, gid = str(uid), os.lstat(where).st_gid
        groups = (gid,)
    return Identity(uid, gid, groups, name)


class Privileges:
    """Switch a root process to ``target`` for library work; no-op when not root."""

    def __init__(self, target: Identity | None):
        self.target = target if os.geteuid() == 0 else None
        self._saved: tuple[int, int, list[int]] | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def drop(self) -> None:
        if self.target is None or self._saved is not None:
            return
        t = self.target
        self._saved = (os.getegid(), os.geteuid(), os.getgroups())
        os.setgroups(list(t.groups))
        os.setegid(t.gid)
        os.seteuid(t.uid)
        log.info("running the import as %s (uid %d), the owner of the library", t.name, t.uid)

    def restore(self) -> None:
        if self._saved is None:
            return
        gid, uid, groups = self._saved
        os.seteuid(uid)
        os.setegid(gid)
        os.setgroups(groups)
        self._saved = None

    @contextlib.contextmanager
    def as_root(self) -> Iterator[None]:
        """Read the stick with root's rights (it may be mounted for another user)."""
        if self._saved is None:
            yield
            return
        os.seteuid(0)
        try:
            yield
        finally:
            os.seteuid(self.target.uid)  # type: ignore[union-attr]

    def __enter__(self) -> Privileges:
        self.drop()
        return self

    def __exit__(self, *_exc) -> None:
        self.restore()
