"""USB music import: scan a stick, copy and check every file, then switch the library atomically.

The rule for bad input: a file that is not audio, too big, unreadable, oddly named beyond
repair, a symlink or a device is *skipped* and reported, and the rest is imported
(``strict`` fails instead). The whole import fails and nothing changes when the manifest is
broken or does not match, the stick cannot be read (pulled out), the target is full, the
import is stopped (SIGTERM/SIGINT), or no valid music is left. Only the final symlink
rename makes the new library live.

Started as root, the import acts as the library's owner (``privileges``); the stick is
read in ``scan``, staging is written in ``copy_files``, versions live in
``version_store``.

Its size: the import is one transaction (scan, copy, check, switch, roll back on any
failure) that reads best in one place; the steps it calls already live in those modules.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import signal
import stat
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kiosk.usb_import.audio_probe import probe
from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.copy_files import (
    NAME_ERRNOS,
    Throttle,
    copy_in,
    fsync_tree,
    link_tree,
    remove_empty_dirs,
    walk_files,
)
from kiosk.usb_import.privileges import OwnershipError, Privileges, library_owner
from kiosk.usb_import.result import (
    ImportResult,
    Interrupted,
    Paths,
    StopRequest,
    find_music_folder,
    resolve_paths,
)
from kiosk.usb_import.scan import (
    GONE_ERRNOS,
    MB,
    Candidate,
    ImportFailed,
    SkipFile,
    Skipped,
    exists_at,
    open_source,
    parse_manifest,
    sanitize_name,
    scan,
)
from kiosk.usb_import.version_store import Busy, LibraryError, LibraryStore, Staging, open_dir

__all__ = [
    "ImportFailed",
    "ImportResult",
    "Interrupted",
    "Paths",
    "Skipped",
    "StopRequest",
    "find_music_folder",
    "parse_manifest",
    "recover_library",
    "resolve_paths",
    "run_import",
    "run_rollback",
    "sanitize_name",
]

log = logging.getLogger(__name__)

FINGERPRINT = ".last-import.json"
Progress = Callable[[dict], None]


def _privileges(paths: Paths) -> Privileges:
    if os.geteuid() != 0:
        return Privileges(None)
    return Privileges(library_owner([paths.library_dir, paths.music_root.parent]))


# -- the import -------------------------------------------------------------------------------


@dataclass
class _Run:
    """What one import carries around."""

    cfg: ImportConfig
    store: LibraryStore
    privs: Privileges
    top_fd: int
    source: Path
    mode: str
    strict: bool
    result: ImportResult
    emit: Progress
    stopped: Callable[[], None]
    phase: str = "preparing"


def run_import(
    source: Path,
    paths: Paths,
    cfg: ImportConfig,
    mode: str | None = None,
    strict: bool | None = None,
    progress: Progress | None = None,
    disk_free: Callable[[Path], int] | None = None,
    force: bool = False,
    stop: StopRequest | None = None,
) -> ImportResult:
    """Import ``source`` (a kiosk-music folder). Never raises for bad input: see ``.ok``.

    A stick whose files (names, sizes, times) and mode match the import that made the live
    library is not copied again unless ``force``: a stick left plugged in is seen again at
    every boot.
    """
    mode = mode or cfg.mode
    strict = cfg.strict if strict is None else strict
    result = ImportResult(ok=False, action="import", mode=mode, source=str(source))
    started = time.monotonic()
    emit = progress or (lambda _e: None)
    free_of = disk_free or (lambda p: os.statvfs(p).f_bavail * os.statvfs(p).f_frsize)
    stopped = stop.check if stop is not None else (lambda: None)
    run = None
    try:
        stopped()
        store = LibraryStore(paths.music_root, paths.library_dir)
        with _privileges(paths) as privs:
            with privs.as_root():
                top_fd = _open_source_dir(source)
            try:
                run = _Run(cfg, store, privs, top_fd, source, mode, strict, result, emit, stopped)
                with store.locked():
                    result.notes += store.recover()
                    staging = _prepare_and_copy(run, free_of, force)
                    if staging is None:
                        result.ok = True
                    else:
                        run.phase = "switching the live library"
                        result.seconds = time.monotonic() - started
                        version, previous = store.commit(staging, cfg.keep_previous)
                        _write_fingerprint(store, version.name, result.fingerprint)
                        result.version = version.name
                        result.previous = previous.name if previous else ""
                        result.ok = True
            finally:
                os.close(top_fd)
    except Interrupted as exc:
        result.error = str(exc)
        result.signal = signal.Signals(exc.signum).name
    except (ImportFailed, LibraryError, OwnershipError) as exc:
        result.error = str(exc)
    except OSError as exc:
        phase = run.phase if run is not None else "preparing"
        if exc.errno == errno.ENOSPC:
            result.error = f"the target ran out of space while {phase}"
        elif exc.errno in GONE_ERRNOS and phase == "copying":
            result.error = f"the stick could not be read (pulled out?): {exc}"
        else:
            where = f" ({exc.filename})" if exc.filename else ""
            result.error = f"{exc.strerror or exc}{where} while {phase}"
    if not result.ok or not result.seconds:
        result.seconds = time.monotonic() - started
    emit({"state": "done" if result.ok else "failed", **result.to_dict()})
    return result


def _open_source_dir(source: Path) -> int:
    if not os.path.lexists(source):
        raise ImportFailed(f"{source}: path does not exist")
    try:
        return os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    except NotADirectoryError:
        raise ImportFailed(f"{source} is not a folder") from None
    except OSError as exc:
        raise ImportFailed(f"cannot read {source}: {exc.strerror or exc}") from None


def _read_manifest(run: _Run) -> tuple[dict[str, str] | None, bytes]:
    name = run.cfg.manifest
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        with run.privs.as_root():
            fd = os.open(name, flags, dir_fd=run.top_fd)
    except FileNotFoundError:
        if run.cfg.require_manifest:
            raise ImportFailed(f"no {name} on the stick and usb_import.require_manifest") from None
        return None, b""
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ImportFailed(f"manifest {name} is a symlink") from None
        raise ImportFailed(f"cannot read manifest {name}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ImportFailed(f"manifest {name} is not a plain file")
        if st.st_size > 16 * MB:
            raise ImportFailed(f"manifest {name} is implausibly large")
        data = b""
        while chunk := os.read(fd, 1 << 20):
            data += chunk
    finally:
        os.close(fd)
    return parse_manifest(data), data


def _prepare_and_copy(run: _Run, free_of: Callable[[Path], int], force: bool) -> Staging | None:
    cfg, store, result = run.cfg, run.store, run.result
    sums, manifest_bytes = _read_manifest(run)
    with run.privs.as_root():
        found, skipped = scan(run.top_fd, cfg, run.stopped)
        missing = sorted(n for n in sums or {} if not exists_at(run.top_fd, n))
    result.skipped = skipped
    if sums is not None:
        # Listed files that are present but skipped or ignored (hidden) are not "missing".
        if missing:
            raise ImportFailed(
                f"manifest lists {len(missing)} file(s) missing from the stick, e.g. "
                f"{os.fsencode(missing[0]).decode('utf-8', 'replace')}"
            )
        for c in found:
            if c.key not in sums:
                skipped.append(Skipped(c.rel, f"not listed in {cfg.manifest}"))
        found = [c for c in found if c.key in sums]
    if len(found) > cfg.max_files:
        raise ImportFailed(f"{len(found)} files is more than max_files={cfg.max_files}")

    result.fingerprint = _fingerprint(run.mode, found, manifest_bytes if sums is not None else None)
    current = store.current()
    if (
        not force
        and current is not None
        and _read_fingerprint(store)
        == (
            current.name,
            result.fingerprint,
        )
    ):
        result.version = current.name
        result.notes.append(
            f"stick unchanged since it made the live library {current.name}; nothing to do "
            "(kiosk import --force copies it again)"
        )
        return None

    store.adopt_plain_root()
    current = store.current()
    elsewhere = store.root_points_elsewhere()
    if elsewhere:
        result.notes.append(
            f"{store.root} pointed outside the library ({elsewhere}); that folder is left "
            "alone and not merged"
        )
    new_bytes = sum(c.size for c in found)
    kept_bytes = 0
    current_fd = open_dir(current.name, dir_fd=store.held_dir_fd()) if current else None
    try:
        if run.mode == "merge" and current_fd is not None:
            replaced = {c.dest.casefold() for c in found}
            kept_bytes = sum(
                size for rel, size in walk_files(current_fd) if rel.casefold() not in replaced
            )
        if new_bytes + kept_bytes > cfg.max_total_mb * MB:
            raise ImportFailed(
                f"library would be {(new_bytes + kept_bytes) / MB:.0f} MB, more than "
                f"max_total_mb={cfg.max_total_mb:g}"
            )
        free = free_of(store.dir)
        need = new_bytes + int(cfg.min_free_mb * MB)
        if free < need:
            raise ImportFailed(
                f"not enough space on {store.dir}: {new_bytes / MB:.0f} MB to copy plus "
                f"{cfg.min_free_mb:g} MB margin needed, {free / MB:.0f} MB free"
            )
        staging = store.new_staging()
        try:
            if run.mode == "merge" and current_fd is not None:
                link_tree(current_fd, staging.fd)
            _copy_all(run, staging, found, sums, new_bytes)
            return staging
        except BaseException:
            store.discard(staging)
            raise
    finally:
        if current_fd is not None:
            os.close(current_fd)


def _copy_all(
    run: _Run, staging: Staging, found: list[Candidate], sums: dict | None, new_bytes: int
) -> None:
    cfg, result, skipped = run.cfg, run.result, run.result.skipped
    run.phase = "copying"
    run.emit({"state": "copying", "files_total": len(found), "bytes_total": new_bytes})
    log.info("importing %d file(s), %.1f MB from %s", len(found), new_bytes / MB, run.source)
    throttle = Throttle(cfg.throttle_mb_s, run.stopped)
    limit = int(cfg.max_file_mb * MB)
    last_report = time.monotonic()
    done_bytes = 0
    for i, c in enumerate(found, 1):
        run.stopped()
        why = _copy_checked(run, staging, c, sums, limit, throttle)
        if why:
            skipped.append(Skipped(c.rel, why))
            continue
        result.files += 1
        result.bytes += c.size
        done_bytes += c.size
        now = time.monotonic()
        if now - last_report >= 2.0 or i == len(found):
            last_report = now
            pct = 100.0 * done_bytes / new_bytes if new_bytes else 100.0
            log.info("import %d/%d files, %.0f%%", i, len(found), pct)
            run.emit({"state": "copying", "files_done": i, "files_total": len(found),
                      "percent": round(pct, 1)})  # fmt: skip
    for s in skipped:
        log.warning("skipped %s: %s", s.path, s.reason)
    if result.skipped_count > len(skipped):
        log.warning("skipped %d more file(s), not listed", result.skipped_count - len(skipped))
    if run.strict and skipped:
        raise ImportFailed(
            f"{result.skipped_count} bad file(s) and strict mode, first: "
            f"{skipped[0].path}: {skipped[0].reason}"
        )
    if result.files == 0:
        raise ImportFailed(
            f"no valid music found in {run.source} (expected <playlist>/<audio files>; "
            f"{result.skipped_count} file(s) skipped)"
        )
    run.phase = "finishing the new library"
    remove_empty_dirs(staging.fd)
    fsync_tree(staging.fd)


def _copy_checked(
    run: _Run, staging: Staging, c: Candidate, sums: dict | None, limit: int, throttle: Throttle
) -> str:
    """Copy one file to a temp name, check it, rename it into place. "" or why it was skipped."""
    try:
        with run.privs.as_root():
            src = open_source(run.top_fd, c.parts)
        try:
            incoming = copy_in(
                src, staging.fd, str(staging.path), c.dest_parts, limit, throttle, run.stopped
            )
        finally:
            os.close(src)
    except SkipFile as exc:
        return str(exc)
    try:
        if sums is not None and sums[c.key] != incoming.digest:
            raise ImportFailed(f"checksum of {c.rel} does not match {run.cfg.manifest}")
        kind, why = probe(Path(incoming.path))
        if kind is None:
            incoming.drop()
            # Merge: the library's own copy of this name stays (never replaced by a bad one).
            return f"{why}; kept the library's copy" if incoming.had_old() else why
        try:
            incoming.keep()
        except OSError as exc:
            incoming.drop()
            if exc.errno in NAME_ERRNOS:
                return f"the library's file system refuses this name: {exc.strerror or exc}"
            raise
        return ""
    except BaseException:
        incoming.drop()
        raise
    finally:
        incoming.close()


def _fingerprint(mode: str, found: list[Candidate], manifest: bytes | None) -> str:
    h = hashlib.sha256(mode.encode())
    for c in sorted(found, key=lambda c: c.key):
        h.update(f"\0{c.key}\0{c.size}\0{c.mtime_ns}".encode("utf-8", "surrogateescape"))
    if manifest is not None:
        h.update(manifest)
    return h.hexdigest()


def _read_fingerprint(store: LibraryStore) -> tuple[str, str] | None:
    try:
        data = json.loads(store.read_small(FINGERPRINT) or b"")
        return str(data["version"]), str(data["fingerprint"])
    except (ValueError, KeyError, TypeError):
        return None


def _write_fingerprint(store: LibraryStore, version: str, fingerprint: str) -> None:
    data = json.dumps({"version": version, "fingerprint": fingerprint}).encode()
    try:
        store.write_small(FINGERPRINT, data)
    except OSError as exc:  # only costs a repeat copy next time
        log.warning("could not record the import fingerprint: %s", exc)


# -- rollback and start-up repair -------------------------------------------------------------
def run_rollback(paths: Paths, cfg: ImportConfig) -> ImportResult:
    result = ImportResult(ok=False, action="rollback")
    started = time.monotonic()
    try:
        store = LibraryStore(paths.music_root, paths.library_dir)
        with _privileges(paths), store.locked(create=False):
            result.notes += store.recover()
            now, prev = store.rollback()
            result.version, result.previous = now.name, prev.name
            result.ok = True
    except (LibraryError, OwnershipError) as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = f"{exc.strerror or exc}: {exc.filename or ''}".strip()
    result.seconds = time.monotonic() - started
    return result


def recover_library(loaded) -> list[str]:
    """Daemon start-up: repair what a killed import left (e.g. ``music/`` missing after a
    kill while a plain folder was being adopted). Never raises; a running import is left
    to repair itself."""
    try:
        paths = resolve_paths(loaded)
        if not os.path.isdir(paths.library_dir):
            return []
        store = LibraryStore(paths.music_root, paths.library_dir)
        # No privilege switch here: it would apply to every daemon thread. The store's own
        # operations never follow a planted link.
        with store.locked(create=False):
            return store.recover()
    except Busy:
        pass
    except (LibraryError, OSError, OwnershipError) as exc:
        log.warning("music library check at start-up failed: %s", exc)
    return []
