"""The importer on real files: good sticks, bad sticks, hostile sticks, full disks, rollback."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
from audiofiles import make_mp3, make_sox, make_wav, tree

from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.importer import Paths, parse_manifest, run_import, run_rollback, sanitize_name
from kiosk.usb_import.version_store import LibraryStore


def write_manifest(top: Path, extra: dict[str, str] | None = None) -> None:
    lines = []
    for p in sorted(top.rglob("*")):
        if p.is_file() and p.name != "SHA256SUMS":
            digest = hashlib.sha256(p.read_bytes()).hexdigest()
            lines.append(f"{digest}  {p.relative_to(top).as_posix()}")
    for name, digest in (extra or {}).items():
        lines.append(f"{digest}  {name}")
    (top / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def test_first_import_adopts_plain_folder_and_switches_atomically(stick, lib, cfg):
    before = tree(lib.music_root)
    result = run_import(stick, lib, cfg)
    assert result.ok, result.error
    assert result.files == 3 and not result.skipped
    assert lib.music_root.is_symlink()
    # Relative link: survives the tree being mounted elsewhere (install --root, bind mounts).
    assert not os.readlink(lib.music_root).startswith("/")
    assert tree(lib.music_root) == tree(stick)
    store = LibraryStore(lib.music_root, lib.library_dir)
    assert tree(store.previous()) == before
    assert not [p for p in lib.library_dir.iterdir() if p.name.startswith(".staging")]


def test_formats_by_content_not_name(tmp_path, lib, cfg):
    top = tmp_path / "s" / "kiosk-music"
    make_mp3(top / "pop" / "a.mp3")
    make_wav(top / "pop" / "b.wav")
    make_sox(top / "pop" / "c.ogg")
    make_sox(top / "pop" / "d.flac")
    # A FLAC named .mp3 is still audio: VLC plays by content, so it is kept.
    make_sox(top / "pop" / "e.flac").rename(top / "pop" / "e.mp3")
    result = run_import(top, lib, cfg)
    assert result.ok, result.error
    assert result.files == 5, result.skipped


def test_bad_files_are_skipped_and_reported(stick, lib, cfg):
    (stick / "happy" / "notes.mp3").write_text("this is not music")
    good = (stick / "happy" / "sun.wav").read_bytes()
    (stick / "happy" / "cut.wav").write_bytes(good[:44])  # header, no samples
    (stick / "happy" / "junk.flac").write_bytes(b"fLaC" + os.urandom(300))
    (stick / "happy" / "empty.ogg").write_bytes(b"")
    (stick / "happy" / "cover.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(100))
    (stick / "loose.wav").write_bytes(good)
    result = run_import(stick, lib, cfg)
    assert result.ok, result.error
    reasons = {s.path: s.reason for s in result.skipped}
    assert set(reasons) == {
        "happy/notes.mp3",
        "happy/cut.wav",
        "happy/junk.flac",
        "happy/empty.ogg",
        "happy/cover.jpg",
        "loose.wav",
    }
    assert "not an audio file" in reasons["happy/notes.mp3"]
    assert "playlist folder" in reasons["loose.wav"]
    assert sorted(tree(lib.music_root)) == ["happy/beach.wav", "happy/sun.wav", "sad/rain.wav"]


def test_strict_fails_on_any_bad_file_and_changes_nothing(stick, lib, cfg):
    (stick / "happy" / "notes.mp3").write_text("nope")
    before = tree(lib.music_root)
    result = run_import(stick, lib, cfg, strict=True)
    assert not result.ok and "strict" in result.error
    assert tree(lib.music_root) == before
    assert not [p for p in lib.library_dir.iterdir() if p.name.startswith(".staging")]


def test_nothing_valid_fails(tmp_path, lib, cfg):
    top = tmp_path / "s" / "kiosk-music"
    (top / "happy").mkdir(parents=True)
    (top / "happy" / "x.mp3").write_bytes(os.urandom(2000))
    before = tree(lib.music_root)
    result = run_import(top, lib, cfg)
    assert not result.ok and "no valid music" in result.error
    assert tree(lib.music_root) == before


def test_symlinks_and_fifos_are_never_followed(stick, lib, cfg, tmp_path):
    secret = tmp_path / "secret.wav"
    make_wav(secret)
    (stick / "happy" / "link.wav").symlink_to(secret)
    (stick / "evil").symlink_to(tmp_path)  # a folder link out of the stick
    os.mkfifo(stick / "happy" / "pipe.wav")
    result = run_import(stick, lib, cfg)
    assert result.ok, result.error
    reasons = {s.path: s.reason for s in result.skipped}
    assert "symlink" in reasons["happy/link.wav"] and "symlink" in reasons["evil"]
    assert "regular file" in reasons["happy/pipe.wav"]
    files = tree(lib.music_root)
    assert secret.read_bytes() not in files.values()
    assert not any(p.is_symlink() for p in lib.music_root.resolve().rglob("*"))


def test_hostile_names_are_cleaned_and_stay_inside(stick, lib, cfg):
    good = (stick / "happy" / "sun.wav").read_bytes()
    (stick / "happy" / "..\\..\\etc\\hidden.wav").write_bytes(good)  # dot first: hidden
    (stick / "happy" / "a\\..\\..\\evil.wav").write_bytes(good)
    (stick / "happy" / "bell\x07\x1b[31m.wav").write_bytes(good)
    (stick / "happy" / "Cafe\u0301.wav").write_bytes(good)  # NFD on the stick
    (stick / "happy" / "._sun.wav").write_bytes(b"\x00\x05\x16\x07")  # macOS junk: ignored
    (stick / ".Trashes").mkdir()
    (stick / "happy" / ("x" * 240 + ".wav")).write_bytes(good)
    result = run_import(stick, lib, cfg)
    assert result.ok, result.error
    live = lib.music_root.resolve()
    names = sorted(tree(lib.music_root))
    assert "happy/a_.._.._evil.wav" in names
    assert "happy/bell__[31m.wav" in names
    assert "happy/Caf\u00e9.wav" in names
    assert not any(n.split("/")[-1].startswith(".") for n in names)
    assert all(len(n.split("/")[-1]) <= cfg.max_name_length for n in names)
    for p in live.rglob("*"):
        assert p.resolve().is_relative_to(live)
    assert not result.skipped  # hidden files are not "bad", just not music


def test_sanitize_name():
    assert sanitize_name("..", 100) == ""
    assert sanitize_name(" . ", 100) == ""
    assert sanitize_name("a/b", 100) == "a_b"
    assert sanitize_name(".hidden.mp3", 100) == "hidden.mp3"
    long = sanitize_name("y" * 300 + ".flac", 50)
    assert len(long) == 50 and long.endswith(".flac")


def test_manifest_good(stick, lib, cfg):
    write_manifest(stick)
    assert run_import(stick, lib, cfg).ok


def test_manifest_mismatch_fails_whole_import(stick, lib, cfg):
    write_manifest(stick)
    make_wav(stick / "sad" / "rain.wav", freq=100)  # changed after the sums were made
    before = tree(lib.music_root)
    result = run_import(stick, lib, cfg)
    assert not result.ok and "checksum of sad/rain.wav" in result.error
    assert tree(lib.music_root) == before
    assert not [p for p in lib.library_dir.iterdir() if p.name.startswith(".staging")]


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "happy/../../x.wav"])
def test_manifest_path_escape_fails(stick, lib, cfg, name):
    write_manifest(stick, {name: "0" * 64})
    before = tree(lib.music_root)
    result = run_import(stick, lib, cfg)
    assert not result.ok and "outside the music folder" in result.error
    assert tree(lib.music_root) == before


def test_manifest_missing_file_and_unlisted_file(stick, lib, cfg):
    write_manifest(stick, {"happy/gone.wav": "a" * 64})
    result = run_import(stick, lib, cfg)
    assert not result.ok and "missing from the stick" in result.error
    write_manifest(stick)
    make_wav(stick / "sad" / "extra.wav")
    result = run_import(stick, lib, cfg)
    assert result.ok
    assert [(s.path, s.reason) for s in result.skipped] == [
        ("sad/extra.wav", "not listed in SHA256SUMS")
    ]


def test_manifest_made_with_find_lists_hidden_files(stick, lib, cfg):
    (stick / "happy" / "._sun.wav").write_bytes(b"\x00\x05\x16\x07")  # macOS metadata
    write_manifest(stick)  # like `find . -type f -exec sha256sum`: includes the hidden file
    result = run_import(stick, lib, cfg)
    assert result.ok, result.error
    assert result.files == 3


def test_manifest_parser_formats():
    d = "ab" * 32
    sums = parse_manifest(f"{d}  ./a/b.mp3\n{d} *c/d e.wav\n# comment\n\n\\{d}  x/new\\nline\n")
    assert sums == {"a/b.mp3": d, "c/d e.wav": d, "x/new\nline": d}
    with pytest.raises(Exception, match="line 1"):
        parse_manifest("nothex  a.mp3")


def test_full_target_is_refused_before_copying(stick, lib, cfg):
    before = tree(lib.music_root)
    result = run_import(stick, lib, cfg, disk_free=lambda _p: 1000)
    assert not result.ok and "not enough space" in result.error
    assert tree(lib.music_root) == before
    small = ImportConfig(min_free_mb=0, max_total_mb=0.01)
    result = run_import(stick, lib, small)
    assert not result.ok and "max_total_mb" in result.error


def test_disk_full_mid_copy_changes_nothing(stick, lib, cfg, monkeypatch):
    before = tree(lib.music_root)
    real_write = os.write
    calls = {"n": 0}

    def failing_write(fd, data):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing_write)
    result = run_import(stick, lib, cfg)
    monkeypatch.undo()
    assert not result.ok and "out of space" in result.error
    assert tree(lib.music_root) == before
    assert not [p for p in lib.library_dir.iterdir() if p.name.startswith(".staging")]


def test_file_size_limit(stick, lib):
    make_wav(stick / "happy" / "long.wav", seconds=10)  # ~160 kB
    result = run_import(stick, lib, ImportConfig(min_free_mb=0, max_file_mb=0.1))
    assert result.ok
    assert [s.path for s in result.skipped] == ["happy/long.wav"]


def test_merge_keeps_library_and_stick_wins(stick, lib, cfg):
    assert run_import(stick, lib, cfg).ok
    first = lib.music_root.resolve()
    top = stick.parent / "second" / "kiosk-music"
    make_wav(top / "happy" / "sun.wav", freq=1000)  # same name, new content
    make_wav(top / "calm" / "wave.wav")
    result = run_import(top, lib, cfg, mode="merge")
    assert result.ok, result.error
    live = tree(lib.music_root)
    assert sorted(live) == ["calm/wave.wav", "happy/beach.wav", "happy/sun.wav", "sad/rain.wav"]
    assert live["happy/sun.wav"] == (top / "happy" / "sun.wav").read_bytes()
    # Unchanged files are hard links, so a merge costs only the new bytes.
    new = lib.music_root.resolve()
    assert os.stat(new / "sad/rain.wav").st_ino == os.stat(first / "sad/rain.wav").st_ino
    # ...and the previous version was not modified through those links.
    assert (first / "happy/sun.wav").read_bytes() == (stick / "happy/sun.wav").read_bytes()


def test_unchanged_stick_is_not_copied_again(stick, lib, cfg):
    first = run_import(stick, lib, cfg)
    assert first.ok and first.files == 3
    again = run_import(stick, lib, cfg)  # a stick left plugged in, seen again at boot
    assert again.ok and again.files == 0 and again.version == first.version
    assert "nothing to do" in again.summary()
    forced = run_import(stick, lib, cfg, force=True)
    assert forced.ok and forced.files == 3 and forced.version != first.version
    make_wav(stick / "sad" / "new.wav")
    changed = run_import(stick, lib, cfg)
    assert changed.ok and changed.files == 4
    assert run_rollback(lib, cfg).ok  # after a rollback the same stick imports again
    assert run_import(stick, lib, cfg).files == 4


def test_rollback_toggles_and_old_versions_are_pruned(stick, lib, cfg):
    original = tree(lib.music_root)
    assert run_import(stick, lib, cfg).ok
    imported = tree(lib.music_root)
    r = run_rollback(lib, cfg)
    assert r.ok and tree(lib.music_root) == original
    r = run_rollback(lib, cfg)
    assert r.ok and tree(lib.music_root) == imported
    for _ in range(3):
        assert run_import(stick, lib, cfg, force=True).ok
    store = LibraryStore(lib.music_root, lib.library_dir)
    assert len(store.versions()) == 2  # live + previous only


def test_rollback_without_previous(tmp_path, cfg):
    paths = Paths(tmp_path / "music", tmp_path / "library")
    r = run_rollback(paths, cfg)
    assert not r.ok and "no previous library" in r.error


def test_keep_previous_false(stick, lib):
    cfg = ImportConfig(min_free_mb=0, keep_previous=False)
    assert run_import(stick, lib, cfg).ok
    assert len(LibraryStore(lib.music_root, lib.library_dir).versions()) == 1
    assert not run_rollback(lib, cfg).ok


def test_second_import_waits_for_lock(stick, lib, cfg):
    store = LibraryStore(lib.music_root, lib.library_dir)
    with store.locked():
        result = run_import(stick, lib, cfg)
    assert not result.ok and "another import" in result.error


def test_recovery_relinks_missing_root_and_removes_staging(stick, lib, cfg):
    assert run_import(stick, lib, cfg).ok
    store = LibraryStore(lib.music_root, lib.library_dir)
    with store.locked():
        dead = store.new_staging().path
    (dead / "half.wav").write_bytes(b"RIFF")
    lib.music_root.unlink()  # as if killed between moving the folder and linking it
    with store.locked():
        notes = store.recover()
    assert lib.music_root.is_symlink() and store.current() is not None
    assert not dead.exists()
    assert any("half-done" in n for n in notes)


def test_library_dir_inside_music_root_is_refused(tmp_path, stick, cfg):
    paths = Paths(tmp_path / "m", tmp_path / "m" / "lib")
    result = run_import(stick, paths, cfg)
    assert not result.ok and "must not be inside" in result.error


@pytest.fixture
def small_fs(tmpfs):
    """A real 2 MB tmpfs."""
    return tmpfs("2m")


def test_really_full_file_system(small_fs, stick):
    lib = Paths(small_fs / "music", small_fs / "library")
    make_wav(lib.music_root / "calm" / "old.wav")
    before = tree(lib.music_root)
    for i in range(8):  # ~1.3 MB more than fits
        make_wav(stick / "happy" / f"big{i}.wav", seconds=20, rate=8000)
    cfg = ImportConfig(min_free_mb=0)
    result = run_import(stick, lib, cfg)
    assert not result.ok and "not enough space" in result.error
    # The free-space check lies (another writer filled the disk meanwhile): real ENOSPC.
    result = run_import(stick, lib, cfg, disk_free=lambda _p: 10**12)
    assert not result.ok and "out of space" in result.error
    assert tree(lib.music_root) == before
    assert not list(lib.library_dir.glob(".staging-*"))
    assert not list(lib.library_dir.glob("*/**/*.part"))
