"""Regression tests for the USB import defects of issue 11 §3 (merge loss, long names,
orphan versions, Latin-1 manifests, unreadable files)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from audiofiles import make_mp3, make_wav, tree

from kiosk.usb_import import version_store
from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.importer import Paths, run_import, sanitize_name
from kiosk.usb_import.version_store import LibraryStore

CFG = ImportConfig(min_free_mb=0, notify_service="")


def du(top: Path) -> int:
    return sum(os.lstat(p).st_size for p in top.rglob("*") if p.is_file() and not p.is_symlink())


# -- 2. merge never replaces a good file with a damaged one ------------------------------------
def test_merge_keeps_good_file_when_incoming_same_name_is_damaged(tmp_path, lib):
    first = tmp_path / "one" / "kiosk-music"
    make_wav(first / "happy" / "sun.wav", freq=523)
    make_wav(first / "sad" / "rain.wav", freq=220)
    assert run_import(first, lib, CFG).ok
    good = (first / "happy" / "sun.wav").read_bytes()

    second = tmp_path / "two" / "kiosk-music"
    (second / "happy").mkdir(parents=True)
    (second / "happy" / "sun.wav").write_bytes(good[:60])  # header, audio cut off
    make_wav(second / "happy" / "new.wav", freq=700)
    result = run_import(second, lib, CFG, mode="merge")
    assert result.ok, result.error
    live = tree(lib.music_root)
    assert sorted(live) == ["happy/new.wav", "happy/sun.wav", "sad/rain.wav"]
    assert live["happy/sun.wav"] == good
    [why] = [s.reason for s in result.skipped if s.path == "happy/sun.wav"]
    assert "kept the library's copy" in why
    store = LibraryStore(lib.music_root, lib.library_dir)
    assert (store.previous() / "happy" / "sun.wav").read_bytes() == good  # not written through


# -- 3. long names are limited in bytes --------------------------------------------------------
def test_long_utf8_names_import_and_the_rest_too(stick, lib):
    cjk = "漢" * 83 + ".wav"  # 253 bytes, 87 characters
    emoji = "😀" * 62 + ".mp3"  # 252 bytes
    assert len(cjk.encode()) == 253 and len(emoji.encode()) == 252
    make_wav(stick / "happy" / cjk)
    make_mp3(stick / "happy" / emoji)
    folder = "曲" * 84  # 252 bytes: a long playlist sub-folder
    make_wav(stick / "sad" / folder / "deep.wav")
    result = run_import(stick, lib, CFG)
    assert result.ok, result.error
    names = tree(lib.music_root)
    assert {"happy/sun.wav", "happy/beach.wav", "sad/rain.wav"} <= set(names)
    assert f"happy/{cjk}" in names and f"happy/{emoji}" in names
    assert f"sad/{folder}/deep.wav" in names
    assert not result.skipped


def test_sanitize_name_limits_bytes_on_character_boundaries():
    a = sanitize_name("漢" * 100 + "A.flac", 120)
    b = sanitize_name("漢" * 100 + "B.flac", 120)
    for n in (a, b):
        assert len(n.encode()) <= 255 and n.endswith(".flac") and n.startswith("漢")
        n.encode().decode("utf-8")  # whole characters only
    assert a != b  # two long names that start alike stay two files
    e = sanitize_name("🎵" * 70 + ".mp3", 250)
    assert len(e.encode()) <= 255 and e.endswith(".mp3")
    assert sanitize_name("short.wav", 120) == "short.wav"


def test_name_the_library_refuses_is_skipped(stick, lib, monkeypatch):
    real_replace = os.replace

    def picky(src, dst, *a, **kw):  # a file system with a shorter name limit (ecryptfs...)
        if isinstance(dst, str) and dst.startswith("beach"):
            raise OSError(errno.ENAMETOOLONG, "File name too long")
        return real_replace(src, dst, *a, **kw)

    monkeypatch.setattr(os, "replace", picky)
    result = run_import(stick, lib, CFG)
    monkeypatch.undo()
    assert result.ok, result.error
    assert [s.path for s in result.skipped] == ["happy/beach.wav"]
    assert "refuses" in result.skipped[0].reason
    assert sorted(tree(lib.music_root)) == ["happy/sun.wav", "sad/rain.wav"]


# -- 4. a version that never went live ---------------------------------------------------------
KILL_AT_SWITCH = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from kiosk.usb_import import version_store
    from kiosk.usb_import.config import ImportConfig
    from kiosk.usb_import.importer import Paths, run_import

    def die(self, version):  # power cut after rename(staging -> version), before the switch
        os._exit(137)

    version_store.LibraryStore._link_root = die
    run_import(Path(sys.argv[1]), Paths(Path(sys.argv[2]), Path(sys.argv[3])),
               ImportConfig(min_free_mb=0, notify_service=""), force=True)
    """
)


def test_kill_between_rename_and_switch_leaves_no_orphan(stick, lib):
    assert run_import(stick, lib, CFG).ok
    live_before = tree(lib.music_root)
    store = LibraryStore(lib.music_root, lib.library_dir)
    known = store.versions()
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_AT_SWITCH,
            str(stick),
            *map(str, (lib.music_root, lib.library_dir)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 137, r.stderr
    orphans = [v for v in store.versions() if v not in known]
    assert len(orphans) == 1  # the kill really hit between the two steps
    assert tree(lib.music_root) == live_before

    # A nearly full disk: room for one more copy of the stick, not for the orphan too.
    stick_bytes = du(stick)
    capacity = du(lib.library_dir) - du(orphans[0]) + stick_bytes + stick_bytes // 2
    make_wav(stick / "sad" / "more.wav")
    result = run_import(stick, lib, CFG, disk_free=lambda _p: capacity - du(lib.library_dir))
    assert result.ok, result.error
    assert any("never went live" in n for n in result.notes)
    assert not orphans[0].exists()
    assert "sad/more.wav" in tree(lib.music_root)


def test_error_at_the_switch_is_reported_as_such(stick, lib, monkeypatch):
    assert run_import(stick, lib, CFG).ok
    before = tree(lib.music_root)
    store = LibraryStore(lib.music_root, lib.library_dir)
    versions = store.versions()
    real = version_store.replace_symlink_at

    def full(dir_fd, name, target):
        if name == lib.music_root.name:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(dir_fd, name, target)

    monkeypatch.setattr(version_store, "replace_symlink_at", full)
    result = run_import(stick, lib, CFG, force=True)
    monkeypatch.undo()
    assert not result.ok
    assert "switch" in result.error and "while copying" not in result.error
    assert "No space left" in result.error
    assert tree(lib.music_root) == before
    assert store.versions() == versions  # the half-made version is gone at once


# -- 5. the README's manifest recipe with Latin-1 names ----------------------------------------
def test_readme_manifest_recipe_with_latin1_names(stick, lib):
    latin = os.fsencode(stick / "happy") + b"/caf\xe9 d\xe9j\xe0.wav"
    shutil.copyfile(stick / "happy" / "sun.wav", latin)
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    recipe = readme.split("SHA256SUMS            (optional: `", 1)[1].split("`)", 1)[0]
    assert "sha256sum" in recipe
    subprocess.run(["bash", "-c", recipe], cwd=stick.parent, check=True)
    assert b"caf\xe9" in (stick / "SHA256SUMS").read_bytes()
    result = run_import(stick, lib, ImportConfig(min_free_mb=0, require_manifest=True))
    assert result.ok, result.error
    assert result.files == 4 and not result.skipped
    assert "happy/café déjà.wav" in tree(lib.music_root)


# -- 7. an unreadable file is skipped ----------------------------------------------------------
def _shared_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="kiosk-unreadable-", dir="/tmp"))
    os.chmod(d, 0o755)
    return d


def _as_service_user(fn):
    """Run ``fn()`` in a forked child that has fully become uid 65534, as the udev unit's
    import runs; returns what it returned. The code is already loaded, so nothing under
    root's home needs to be readable."""
    import pickle

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            os.close(r)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(w, pickle.dumps(fn()))
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    return pickle.loads(data)


def test_unreadable_file_is_skipped_not_fatal(stick, lib):
    if os.geteuid() != 0:
        (stick / "happy" / "beach.wav").chmod(0)
        result = run_import(stick, lib, CFG)
    else:
        # Root reads everything: import as the unprivileged service user, as the udev unit
        # does, from a stick with one file it may not read (root's, mode 0600).
        from kiosk.usb_import.audio_probe import probe

        probe(stick / "happy" / "sun.wav")  # loads the WAV parser before the fork
        base = _shared_dir()
        try:
            top = base / "stick" / "kiosk-music"
            shutil.copytree(stick, top)
            (top / "happy" / "beach.wav").chmod(0o600)
            var = base / "var"
            make_wav(var / "music" / "neutral" / "old.wav")
            for p in [var, *var.rglob("*")]:
                os.lchown(p, 65534, 65534)
            lib = Paths(var / "music", var / "library")
            result = _as_service_user(lambda: run_import(top, lib, CFG))
            live = sorted(tree(lib.music_root))
        finally:
            shutil.rmtree(base)
        assert live == ["happy/sun.wav", "sad/rain.wav"]
    assert result.ok, result.error
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("happy/beach.wav", "unreadable: Permission denied")
    ]


def test_unreadable_folder_is_skipped(stick, lib):
    if os.geteuid() != 0:
        (stick / "sad").chmod(0)
        try:
            result = run_import(stick, lib, CFG)
        finally:
            (stick / "sad").chmod(0o755)
    else:
        from kiosk.usb_import.audio_probe import probe

        probe(stick / "happy" / "sun.wav")  # loads the WAV parser before the fork
        base = _shared_dir()
        try:
            top = base / "stick" / "kiosk-music"
            shutil.copytree(stick, top)
            (top / "sad").chmod(0o700)  # root's folder: the service user may not list it
            var = base / "var"
            make_wav(var / "music" / "neutral" / "old.wav")
            for p in [var, *var.rglob("*")]:
                os.lchown(p, 65534, 65534)
            lib = Paths(var / "music", var / "library")
            result = _as_service_user(lambda: run_import(top, lib, CFG))
        finally:
            shutil.rmtree(base)
    assert result.ok, result.error
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("sad", "folder unreadable: Permission denied")
    ]


@pytest.fixture
def tmpfs_3m(tmpfs):
    """A real 3 MB tmpfs."""
    return tmpfs("3m")


def test_orphan_version_does_not_fill_a_real_small_disk(tmpfs_3m, tmp_path):
    top = tmp_path / "s" / "kiosk-music"
    make_wav(top / "happy" / "big.wav", seconds=69, rate=8000)  # 1.1 MB
    lib = Paths(tmpfs_3m / "music", tmpfs_3m / "library")
    make_wav(lib.music_root / "calm" / "old.wav", seconds=0.1)
    assert run_import(top, lib, CFG).ok
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            KILL_AT_SWITCH,
            str(top),
            *map(str, (lib.music_root, lib.library_dir)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 137, r.stderr
    assert len(LibraryStore(lib.music_root, lib.library_dir).versions()) == 3  # one orphan
    make_wav(top / "happy" / "big.wav", seconds=69, rate=8000, freq=500)  # changed stick
    result = run_import(top, lib, CFG)  # the real statvfs: only room once the orphan is gone
    assert result.ok, result.error
    assert any("never went live" in n for n in result.notes)
