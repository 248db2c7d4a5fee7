"""USB music import: scan a stick, copy and check every file, then switch the library atomically.

The rule for bad input: a file that is not audio, too big, oddly named beyond repair, a
symlink or a device is *skipped* and reported, and the rest is imported (``strict`` fails
instead). The whole import fails and nothing changes when the manifest is broken or does
not match, the stick cannot be read (pulled out), the target is full, or no valid music is
left. Only the final symlink rename makes the new library live.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import logging
import os
import re
import stat
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from kiosk.music.audio_probe import probe
from kiosk.music.import_config import ImportConfig
from kiosk.music.library_store import LibraryError, LibraryStore, fsync_dir, remove_tree

log = logging.getLogger(__name__)

CHUNK = 1 << 20
MB = 1_000_000
# Folders that file managers and OSes put on sticks; skipped without a report line.
SYSTEM_NAMES = {"system volume information", "$recycle.bin", "lost+found", "thumbs.db"}
_BAD_CHARS = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]')
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class ImportFailed(Exception):
    """The import was refused or aborted; the live library is unchanged."""


@dataclass
class Skipped:
    path: str
    reason: str


@dataclass
class ImportResult:
    ok: bool
    action: str  # import | rollback
    mode: str = ""
    source: str = ""
    version: str = ""
    previous: str = ""
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    skipped: list[Skipped] = field(default_factory=list)
    error: str = ""
    notes: list[str] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def mb_per_s(self) -> float:
        return self.bytes / MB / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict:
        d = asdict(self)
        d["mb_per_s"] = round(self.mb_per_s, 2)
        d["seconds"] = round(self.seconds, 3)
        return d

    def summary(self) -> str:
        if not self.ok:
            return f"{self.action} failed: {self.error} (live library unchanged)"
        if self.action == "rollback":
            return f"rolled back: live library is {self.version} (previous {self.previous})"
        if self.files == 0:
            return f"nothing to do: this stick already made the live library {self.version}"
        return (
            f"imported {self.files} file(s), {self.bytes / MB:.1f} MB in {self.seconds:.1f} s "
            f"({self.mb_per_s:.1f} MB/s), mode {self.mode}, version {self.version}, "
            f"{len(self.skipped)} skipped"
        )


@dataclass
class Paths:
    music_root: Path
    library_dir: Path


def resolve_paths(loaded) -> Paths:
    """Where the live library and its versions are, from a ``LoadedConfig``."""
    cfg: ImportConfig = loaded.config.usb_import
    root = cfg.music_root
    if not root:
        music = loaded.config.music
        # The music section names its folder; accept the spellings it may use.
        for name in ("root", "library", "dir", "path", "folder"):
            value = getattr(music, name, None)
            if isinstance(value, str | os.PathLike) and str(value):
                root = os.fspath(value)
                break
    music_root = loaded.resolve(root or "music")
    library_dir = (
        loaded.resolve(cfg.library_dir) if cfg.library_dir else music_root.parent / ".kiosk-library"
    )
    return Paths(music_root, library_dir)


# -- names ------------------------------------------------------------------------------------
def sanitize_name(name: str, max_len: int) -> str:
    """A safe single path component, or "" when nothing usable is left."""
    name = unicodedata.normalize("NFC", name)
    name = _BAD_CHARS.sub("_", name).strip(" .")
    if name in ("", ".", ".."):
        return ""
    if len(name) > max_len:
        stem, dot, ext = name.rpartition(".")
        if dot and 0 < len(ext) <= 8:
            name = stem[: max_len - len(ext) - 1].rstrip(" .") + "." + ext
        else:
            name = name[:max_len].rstrip(" .")
    return name


def _decode(raw: bytes) -> str:
    # Sticks written on other systems may carry non-UTF-8 names; keep them readable.
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


# -- manifest ---------------------------------------------------------------------------------
def parse_manifest(text: str) -> dict[str, str]:
    """``sha256sum`` output -> {relative path: hex}. Raises ImportFailed on any bad line."""
    sums: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        escaped = line.startswith("\\")
        if escaped:
            line = line[1:]
        digest, sep, name = line.partition(" ")
        if not sep or not _HEX64.match(digest) or len(name) < 2 or name[0] not in " *":
            raise ImportFailed(f"manifest line {n} is not '<sha256>  <path>': {line[:80]!r}")
        name = name[1:]
        if escaped:
            name = name.replace("\\\\", "\0").replace("\\n", "\n").replace("\0", "\\")
        if name.startswith("./"):
            name = name[2:]
        parts = name.split("/")
        if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
            raise ImportFailed(f"manifest line {n} names a path outside the music folder: {name!r}")
        sums[name] = digest.lower()
    return sums


# -- scanning ---------------------------------------------------------------------------------
@dataclass
class Candidate:
    src: Path
    rel: str  # as on the stick, for reports and the manifest
    dest: str  # sanitised, relative to the library root
    size: int
    mtime_ns: int = 0


def scan(top: Path, cfg: ImportConfig) -> tuple[list[Candidate], list[Skipped]]:
    """Walk the stick folder without following anything; decide what may be copied."""
    found: list[Candidate] = []
    skipped: list[Skipped] = []
    taken: dict[str, str] = {}  # casefolded dest -> stick path, so FAT-style clashes show

    def walk(d: Path, rel_parts: list[str], dest_parts: list[str]) -> None:
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError as exc:
            raise ImportFailed(f"cannot read {d}: {exc.strerror or exc}") from exc
        for e in entries:
            raw = os.fsencode(e.name)
            name = _decode(raw)
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
                walk(Path(e.path), [*rel_parts, name], [*dest_parts, clean])
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
            key = dest.casefold()
            if key in taken:
                skipped.append(Skipped(rel, f"same name as {taken[key]} after cleaning"))
                continue
            taken[key] = rel
            found.append(Candidate(Path(e.path), rel, dest, st.st_size, st.st_mtime_ns))

    walk(top, [], [])
    return found, skipped


# -- copying ----------------------------------------------------------------------------------
class _Throttle:
    def __init__(self, mb_s: float):
        self.rate = mb_s * MB
        self.start = time.monotonic()
        self.done = 0

    def wait(self, n: int) -> None:
        if self.rate <= 0:
            return
        self.done += n
        ahead = self.done / self.rate - (time.monotonic() - self.start)
        if ahead > 0:
            time.sleep(ahead)


def _copy_one(c: Candidate, dest: Path, limit: int, throttle: _Throttle) -> str:
    """Copy one file without following links; returns the sha256 of the bytes copied."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(c.src, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _SkipFile("became a symlink while importing") from None
        raise
    h = hashlib.sha256()
    part = dest.with_name(dest.name + ".part")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise _SkipFile("not a regular file")
        dest.parent.mkdir(parents=True, exist_ok=True)
        # A merge may have hard-linked the old file here: never write through that link.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(part)
        out = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            copied = 0
            while True:
                buf = os.read(fd, CHUNK)
                if not buf:
                    break
                copied += len(buf)
                if copied > limit:
                    raise _SkipFile("grew past max_file_mb while copying")
                h.update(buf)
                view = memoryview(buf)
                while view:
                    view = view[os.write(out, view) :]
                throttle.wait(len(buf))
            os.fsync(out)
        finally:
            os.close(out)
        os.replace(part, dest)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(part)
        raise
    finally:
        os.close(fd)
    return h.hexdigest()


class _SkipFile(Exception):
    pass


def _link_tree(src: Path, dst: Path) -> int:
    """Hard-link a whole library version into staging (merge mode: no bytes copied)."""
    total = 0
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        target = dst / rel if rel != "." else dst
        target.mkdir(parents=True, exist_ok=True)
        dirnames[:] = [d for d in dirnames if not Path(dirpath, d).is_symlink()]
        for f in filenames:
            s = Path(dirpath, f)
            if s.is_symlink() or not s.is_file():
                continue
            try:
                os.link(s, target / f)
            except OSError:
                import shutil

                shutil.copy2(s, target / f)
            total += s.stat().st_size
    return total


def _fsync_tree(top: Path) -> None:
    for dirpath, _dirs, _files in os.walk(top, topdown=False):
        fsync_dir(Path(dirpath))


def _chown_like(top: Path, ref: Path) -> None:
    """Run as root (by hand): hand the files to the library's owner so the daemon can prune."""
    if os.geteuid() != 0:
        return
    st = os.stat(ref)
    if st.st_uid == 0:
        return
    for dirpath, _dirs, files in os.walk(top):
        os.chown(dirpath, st.st_uid, st.st_gid)
        for f in files:
            os.chown(os.path.join(dirpath, f), st.st_uid, st.st_gid)


# -- the import -------------------------------------------------------------------------------
Progress = Callable[[dict], None]


def find_music_folder(path: Path, cfg: ImportConfig) -> Path | None:
    """``PATH`` may be the stick's mount point or its kiosk-music folder itself."""
    inner = path / cfg.stick_folder
    if inner.is_dir() and not inner.is_symlink():
        return inner
    if path.name == cfg.stick_folder and path.is_dir():
        return path
    return None


def run_import(
    source: Path,
    paths: Paths,
    cfg: ImportConfig,
    mode: str | None = None,
    strict: bool | None = None,
    progress: Progress | None = None,
    disk_free: Callable[[Path], int] | None = None,
    force: bool = False,
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
    try:
        store = LibraryStore(paths.music_root, paths.library_dir)
        with store.locked():
            result.notes += store.recover()
            staging = None
            try:
                staging = _import_locked(
                    source, store, cfg, mode, strict, result, emit, free_of, started, force
                )
                if staging is None:
                    result.ok = True
                else:
                    version, previous = store.commit(staging, cfg.keep_previous)
                    staging = None
                    _write_fingerprint(store, version.name, result.fingerprint)
                    result.version = version.name
                    result.previous = previous.name if previous else ""
                    result.ok = True
            finally:
                if staging is not None:
                    remove_tree(staging)
    except (ImportFailed, LibraryError) as exc:
        result.error = str(exc)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            result.error = "the target ran out of space while copying"
        elif exc.errno in (errno.EIO, errno.ENODEV, errno.ENXIO, errno.ESTALE):
            result.error = f"the stick could not be read (pulled out?): {exc}"
        else:
            result.error = f"{exc.strerror or exc}: {exc.filename or ''}".strip()
    result.seconds = time.monotonic() - started
    emit({"state": "done" if result.ok else "failed", **result.to_dict()})
    return result


def _import_locked(
    source: Path,
    store: LibraryStore,
    cfg: ImportConfig,
    mode: str,
    strict: bool,
    result: ImportResult,
    emit: Progress,
    free_of: Callable[[Path], int],
    started: float,
    force: bool,
) -> Path | None:
    if not source.is_dir():
        raise ImportFailed(f"{source} is not a folder")
    manifest_path = source / cfg.manifest
    sums: dict[str, str] | None = None
    if manifest_path.is_symlink():
        raise ImportFailed(f"manifest {cfg.manifest} is a symlink")
    if manifest_path.is_file():
        if manifest_path.stat().st_size > 16 * MB:
            raise ImportFailed(f"manifest {cfg.manifest} is implausibly large")
        sums = parse_manifest(manifest_path.read_bytes().decode("utf-8", "replace"))
    elif cfg.require_manifest:
        raise ImportFailed(f"no {cfg.manifest} on the stick and usb_import.require_manifest")

    found, skipped = scan(source, cfg)
    result.skipped = skipped
    if sums is not None:
        # Listed files that are present but skipped or ignored (hidden) are not "missing".
        missing = sorted(n for n in sums if not os.path.lexists(source / n))
        if missing:
            raise ImportFailed(
                f"manifest lists {len(missing)} file(s) missing from the stick, e.g. {missing[0]}"
            )
        unlisted = [c for c in found if c.rel not in sums]
        for c in unlisted:
            skipped.append(Skipped(c.rel, f"not listed in {cfg.manifest}"))
        found = [c for c in found if c.rel in sums]
    if len(found) > cfg.max_files:
        raise ImportFailed(f"{len(found)} files is more than max_files={cfg.max_files}")

    result.fingerprint = _fingerprint(mode, found, manifest_path if sums is not None else None)
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
    new_bytes = sum(c.size for c in found)
    kept_bytes = 0
    if mode == "merge" and current is not None:
        replaced = {c.dest.casefold() for c in found}
        for p in current.rglob("*"):
            if p.is_file() and not p.is_symlink():
                rel = p.relative_to(current).as_posix()
                if rel.casefold() not in replaced:
                    kept_bytes += p.stat().st_size
    if new_bytes + kept_bytes > cfg.max_total_mb * MB:
        raise ImportFailed(
            f"library would be {(new_bytes + kept_bytes) / MB:.0f} MB, more than "
            f"max_total_mb={cfg.max_total_mb:g}"
        )
    store.dir.mkdir(parents=True, exist_ok=True)
    free = free_of(store.dir)
    need = new_bytes + int(cfg.min_free_mb * MB)
    if free < need:
        raise ImportFailed(
            f"not enough space on {store.dir}: {new_bytes / MB:.0f} MB to copy plus "
            f"{cfg.min_free_mb:g} MB margin needed, {free / MB:.0f} MB free"
        )

    staging = store.new_staging()
    try:
        if mode == "merge" and current is not None:
            _link_tree(current, staging)
        emit({"state": "copying", "files_total": len(found), "bytes_total": new_bytes})
        log.info("importing %d file(s), %.1f MB from %s", len(found), new_bytes / MB, source)
        throttle = _Throttle(cfg.throttle_mb_s)
        limit = int(cfg.max_file_mb * MB)
        last_report = time.monotonic()
        done_bytes = 0
        for i, c in enumerate(found, 1):
            dest = staging / c.dest
            try:
                digest = _copy_one(c, dest, limit, throttle)
            except _SkipFile as exc:
                skipped.append(Skipped(c.rel, str(exc)))
                continue
            if sums is not None and sums[c.rel] != digest:
                raise ImportFailed(f"checksum of {c.rel} does not match {cfg.manifest}")
            kind, why = probe(dest)
            if kind is None:
                os.unlink(dest)
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
                emit({"state": "copying", "files_done": i, "files_total": len(found),
                      "percent": round(pct, 1)})  # fmt: skip
        for s in skipped:
            log.warning("skipped %s: %s", s.path, s.reason)
        if strict and skipped:
            raise ImportFailed(
                f"{len(skipped)} bad file(s) and strict mode, first: "
                f"{skipped[0].path}: {skipped[0].reason}"
            )
        if result.files == 0:
            raise ImportFailed(
                f"no valid music found in {source} (expected <playlist>/<audio files>; "
                f"{len(skipped)} file(s) skipped)"
            )
        _remove_empty_dirs(staging)
        for dirpath, dirs, files in os.walk(staging):
            os.chmod(dirpath, 0o755)
            del dirs  # walked anyway
            for f in files:
                os.chmod(os.path.join(dirpath, f), 0o644)
        _chown_like(staging, store.dir)
        _fsync_tree(staging)
        result.seconds = time.monotonic() - started
        return staging
    except BaseException:
        remove_tree(staging)
        raise


FINGERPRINT = ".last-import.json"


def _fingerprint(mode: str, found: list[Candidate], manifest: Path | None) -> str:
    h = hashlib.sha256(mode.encode())
    for c in sorted(found, key=lambda c: c.rel):
        h.update(f"\0{c.rel}\0{c.size}\0{c.mtime_ns}".encode("utf-8", "surrogateescape"))
    if manifest is not None:
        h.update(manifest.read_bytes())
    return h.hexdigest()


def _read_fingerprint(store: LibraryStore) -> tuple[str, str] | None:
    try:
        data = json.loads((store.dir / FINGERPRINT).read_text())
        return str(data["version"]), str(data["fingerprint"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_fingerprint(store: LibraryStore, version: str, fingerprint: str) -> None:
    tmp = store.dir / (FINGERPRINT + ".tmp")
    try:
        tmp.write_text(json.dumps({"version": version, "fingerprint": fingerprint}))
        os.replace(tmp, store.dir / FINGERPRINT)
    except OSError as exc:  # only costs a repeat copy next time
        log.warning("could not record the import fingerprint: %s", exc)


def _remove_empty_dirs(top: Path) -> None:
    for dirpath, _dirs, _files in os.walk(top, topdown=False):
        if Path(dirpath) != top:
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)


def run_rollback(paths: Paths, cfg: ImportConfig) -> ImportResult:
    result = ImportResult(ok=False, action="rollback")
    started = time.monotonic()
    try:
        store = LibraryStore(paths.music_root, paths.library_dir)
        with store.locked():
            result.notes += store.recover()
            now, prev = store.rollback()
            result.version, result.previous = now.name, prev.name
            result.ok = True
    except LibraryError as exc:
        result.error = str(exc)
    except OSError as exc:
        result.error = f"{exc.strerror or exc}: {exc.filename or ''}".strip()
    result.seconds = time.monotonic() - started
    return result
