"""A root-run import against a library the service user has booby-trapped.

The service user (here uid 65534, "nobody") owns the library's folders, so it can plant
symlinks there. Whatever it plants, a root-run import or rollback must change nothing
outside the library (contents, owner, mode, mtime) and must not create files there; it
either goes on safely or fails with a message that names the planted file.

Each case runs twice: as shipped (root switches to the library's owner) and with that
switch disabled, so the no-follow file handling is proven on its own too.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from audiofiles import make_wav, tree

from kiosk.usb_import import importer
from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.importer import Paths, run_import, run_rollback
from kiosk.usb_import.privileges import OwnershipError, library_owner

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (CI runs as root)")

SERVICE = 65534  # "nobody": a real unprivileged uid on every Debian


def chown_tree(top: Path, uid: int = SERVICE) -> None:
    os.lchown(top, uid, uid)
    for p in top.rglob("*"):
        os.lchown(p, uid, uid)


def plant(link: Path, target: Path) -> None:
    """What the service user can do in its own folder."""
    if link.is_symlink() or link.exists():
        if link.is_dir() and not link.is_symlink():
            shutil.rmtree(link)
        else:
            link.unlink()
    link.symlink_to(target)
    os.lchown(link, SERVICE, SERVICE)


def snapshot(top: Path) -> dict:
    out = {}
    for p in sorted([top, *top.rglob("*")]):
        st = os.lstat(p)
        data = p.read_bytes() if p.is_file() and not p.is_symlink() else b""
        out[str(p)] = (data, st.st_uid, st.st_gid, st.st_mode, st.st_mtime_ns, st.st_nlink)
    return out


@pytest.fixture(params=["drop", "no-drop"])
def world(request, monkeypatch, stick):
    """(lib, outside, stick): a library owned by the service user; root-only files outside."""
    if request.param == "no-drop":
        monkeypatch.setattr(importer, "library_owner", lambda _paths: None)
    base = Path(tempfile.mkdtemp(prefix="kiosk-sec-", dir="/tmp"))
    os.chmod(base, 0o711)  # the service user may pass through, nothing more
    var = base / "var"
    make_wav(var / "music" / "neutral" / "old.wav", freq=330)
    chown_tree(var)
    outside = base / "outside"
    outside.mkdir(mode=0o755)
    (outside / "shadow").write_bytes(b"root:secret-hash:19000::::::\n")
    os.chmod(outside / "shadow", 0o600)
    (outside / "etc").mkdir()
    make_wav(outside / "etc" / "playlist" / "private.wav")
    os.chmod(outside / "etc" / "playlist" / "private.wav", 0o600)
    lib = Paths(var / "music", var / "library")
    yield lib, outside, stick
    shutil.rmtree(base)


CFG = ImportConfig(min_free_mb=0, notify_service="")


def first_import(lib: Paths, stick: Path):
    r = run_import(stick, lib, CFG)
    assert r.ok, r.error
    return r


def test_import_acts_as_the_library_owner(world):
    lib, _outside, stick = world
    first_import(lib, stick)
    assert os.geteuid() == 0 and os.getegid() == 0  # switched back afterwards
    live = lib.music_root.resolve()
    owners = {os.lstat(p).st_uid for p in [live, *live.rglob("*")]}
    if importer.library_owner is library_owner:
        assert owners == {SERVICE}  # written by the service user, not by root
    assert os.lstat(lib.library_dir / ".import.lock").st_uid in (0, SERVICE)


def test_planted_lock_symlink(world):
    lib, outside, stick = world
    first_import(lib, stick)
    before, live = snapshot(outside), tree(lib.music_root)
    plant(lib.library_dir / ".import.lock", outside / "shadow")
    r = run_import(stick, lib, CFG, force=True)
    assert not r.ok and ".import.lock is a symlink" in r.error
    r = run_rollback(lib, CFG)
    assert not r.ok and ".import.lock is a symlink" in r.error
    plant(lib.library_dir / ".import.lock", outside / "created-by-root")  # dangling
    assert not run_import(stick, lib, CFG, force=True).ok
    assert ".import.lock is a symlink" in run_rollback(lib, CFG).error
    assert not (outside / "created-by-root").exists()
    assert snapshot(outside) == before and tree(lib.music_root) == live


@pytest.mark.parametrize("name", [".last-import.json.tmp", ".last-import.json"])
@pytest.mark.parametrize("target", ["shadow", "created-by-root"])
def test_planted_fingerprint_symlinks(world, name, target):
    lib, outside, stick = world
    first_import(lib, stick)
    before = snapshot(outside)
    plant(lib.library_dir / name, outside / target)
    make_wav(stick / "sad" / "more.wav")
    r = run_import(stick, lib, CFG)
    assert r.ok, r.error
    assert "sad/more.wav" in tree(lib.music_root)
    assert snapshot(outside) == before
    assert not (lib.library_dir / name).is_symlink()


def test_planted_staging_and_version_links_are_never_followed(world):
    lib, outside, stick = world
    first_import(lib, stick)
    before = snapshot(outside)
    plant(lib.library_dir / ".staging-0123456789ab", outside / "etc")
    plant(lib.library_dir / ".previous.tmp-dead", outside / "etc")
    plant(lib.library_dir / "20990101T000000Z-beef", outside / "etc")
    plant(lib.library_dir / "previous", outside / "etc")
    r = run_import(stick, lib, CFG, force=True)
    assert r.ok, r.error
    r = run_rollback(lib, CFG)
    assert r.ok, r.error
    for _ in range(2):  # whichever way round, the root never leaves the library
        assert lib.music_root.resolve().parent == lib.library_dir.resolve()
        assert run_rollback(lib, CFG).ok
    assert snapshot(outside) == before


@pytest.mark.parametrize("mode", ["replace", "merge"])
def test_music_root_planted_to_point_outside(world, mode):
    lib, outside, stick = world
    first_import(lib, stick)
    before = snapshot(outside)
    plant(lib.music_root, outside / "etc")  # merge would hard-link/chown/chmod these
    make_wav(stick / "sad" / "more.wav")
    r = run_import(stick, lib, CFG, mode=mode)
    assert r.ok, r.error
    assert any("pointed outside the library" in n for n in r.notes)
    live = tree(lib.music_root)
    assert "playlist/private.wav" not in live and "sad/more.wav" in live
    assert snapshot(outside) == before


def test_library_dir_replaced_by_a_symlink(world):
    lib, outside, stick = world
    first_import(lib, stick)
    shutil.rmtree(lib.library_dir)
    plant(lib.library_dir, outside)
    before = snapshot(outside)
    r = run_import(stick, lib, CFG)
    assert not r.ok and "symlink" in r.error
    assert not run_rollback(lib, CFG).ok
    assert snapshot(outside) == before


def test_planted_lock_fifo_and_hard_link(world):
    lib, _outside, stick = world
    first_import(lib, stick)
    lock = lib.library_dir / ".import.lock"
    lock.unlink()
    os.mkfifo(lock)
    r = run_import(stick, lib, CFG, force=True)  # must not hang on the FIFO
    assert not r.ok and "not a plain file" in r.error
    lock.unlink()
    victim = lib.library_dir / "victim"
    victim.write_bytes(b"x")
    os.link(victim, lock)
    assert "not a plain file" in run_import(stick, lib, CFG, force=True).error


def test_two_owners_on_the_library_path_are_refused(tmp_path):
    (tmp_path / "var" / "library").mkdir(parents=True)
    os.chown(tmp_path / "var", SERVICE, SERVICE)
    os.chown(tmp_path / "var" / "library", SERVICE - 1, SERVICE - 1)
    with pytest.raises(OwnershipError, match="different users"):
        library_owner([tmp_path / "var" / "library", tmp_path / "var"])
    os.chmod(tmp_path / "var", 0o777)
    os.chown(tmp_path / "var" / "library", SERVICE, SERVICE)
    with pytest.raises(OwnershipError, match="writable by its group or by everybody"):
        library_owner([tmp_path / "var" / "library"])


def test_an_admins_root_owned_library_symlink_is_followed(tmp_path, stick):
    """An admin may put the library on another disk with a symlink; root made it, so it
    cannot have been planted."""
    make_wav(tmp_path / "var" / "music" / "neutral" / "old.wav")
    (tmp_path / "ssd" / "library").mkdir(parents=True)
    (tmp_path / "var" / "library").symlink_to(tmp_path / "ssd" / "library")
    lib = Paths(tmp_path / "var" / "music", tmp_path / "var" / "library")
    r = run_import(stick, lib, CFG)
    assert r.ok, r.error
    assert lib.music_root.resolve().parent == (tmp_path / "ssd" / "library")
    assert run_rollback(lib, CFG).ok
