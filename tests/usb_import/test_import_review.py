"""Hostile-review findings for the USB import: a kill inside a rollback, and a stick full
of junk that must not turn into an unbounded result, log or MQTT message."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import textwrap

from audiofiles import make_wav, tree

from kiosk.usb_import.config import ImportConfig
from kiosk.usb_import.importer import run_import, run_rollback
from kiosk.usb_import.scan import MAX_LISTED
from kiosk.usb_import.version_store import LibraryStore

CFG = ImportConfig(min_free_mb=0, notify_service="")

KILL_IN_ROLLBACK = textwrap.dedent(
    """
    import os, sys
    from pathlib import Path
    from kiosk.usb_import import version_store
    from kiosk.usb_import.config import ImportConfig
    from kiosk.usb_import.importer import Paths, run_import, run_rollback

    def die(self, version):  # power cut after `previous` moved, before the music link did
        os._exit(137)

    version_store.LibraryStore._link_root = die
    run_rollback(Paths(Path(sys.argv[1]), Path(sys.argv[2])), ImportConfig(notify_service=""))
    """
)


def two_versions(stick, lib) -> tuple[LibraryStore, dict, dict]:
    """Two imports: (store, live tree, previous tree), which differ."""
    assert run_import(stick, lib, CFG).ok
    make_wav(stick / "sad" / "more.wav")
    assert run_import(stick, lib, CFG).ok
    store = LibraryStore(lib.music_root, lib.library_dir)
    live, prev = tree(lib.music_root), tree(store.previous())
    assert live != prev
    return store, live, prev


def killed(script: str, *args) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-c", script, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def test_kill_inside_a_rollback_loses_no_version(stick, lib):
    store, live, prev = two_versions(stick, lib)
    r = killed(KILL_IN_ROLLBACK, lib.music_root, lib.library_dir)
    assert r.returncode == 137, r.stderr
    assert tree(lib.music_root) == live  # the kill hit before the switch
    # The next run (daemon start-up, import or rollback) repairs first: both versions stay.
    again = run_rollback(lib, CFG)
    assert again.ok, again.error
    assert tree(lib.music_root) == prev
    assert tree(store.previous()) == live
    assert run_rollback(lib, CFG).ok and tree(lib.music_root) == live


def test_a_stick_full_of_junk_gives_a_bounded_result(stick, lib, caplog):
    junk = stick / "happy"
    for i in range(3 * MAX_LISTED):
        (junk / f"notes{i}.txt").write_bytes(b"x")
    events: list[dict] = []
    with caplog.at_level(logging.WARNING, logger="kiosk.usb_import.importer"):
        r = run_import(stick, lib, CFG, progress=events.append)
    assert r.ok, r.error
    assert r.files == 3 and r.skipped_count == 3 * MAX_LISTED
    assert len(r.skipped) == MAX_LISTED
    final = events[-1]
    assert final["state"] == "done" and final["skipped_count"] == 3 * MAX_LISTED
    assert len(json.dumps(final)) < 200 * MAX_LISTED  # not one line per junk file
    lines = [m for m in caplog.messages if m.startswith("skipped")]
    assert len(lines) <= MAX_LISTED + 1 and "more" in lines[-1]
    assert f"{3 * MAX_LISTED} skipped" in r.summary()


def test_a_stick_with_too_many_entries_fails_before_it_eats_memory(tmp_path, lib):
    top = tmp_path / "big" / "kiosk-music"
    make_wav(top / "happy" / "a.wav")
    cfg = CFG.model_copy(update={"max_files": 10})
    for i in range(200):
        (top / "happy" / f"junk{i}.txt").write_bytes(b"x")
    before = tree(lib.music_root)
    r = run_import(top, lib, cfg)
    assert not r.ok and "entries" in r.error and "max_files" in r.error
    assert tree(lib.music_root) == before


KILL_AT_SWITCH = KILL_IN_ROLLBACK.replace(
    'run_rollback(Paths(Path(sys.argv[1]), Path(sys.argv[2])), ImportConfig(notify_service=""))',
    'cfg = ImportConfig(min_free_mb=0, notify_service="")\n'
    "run_import(Path(sys.argv[3]), Paths(Path(sys.argv[1]), Path(sys.argv[2])), cfg, force=True)",
)


def test_kill_at_the_switch_of_an_import_keeps_the_previous_version(stick, lib):
    store, live, prev = two_versions(stick, lib)
    make_wav(stick / "sad" / "third.wav")
    r = killed(KILL_AT_SWITCH, lib.music_root, lib.library_dir, stick)
    assert r.returncode == 137, r.stderr
    back = run_rollback(lib, CFG)  # repairs first, then goes back one step as always
    assert back.ok, back.error
    assert tree(lib.music_root) == prev and tree(store.previous()) == live
    assert len(store.versions()) == 2  # the version that never went live is gone


def test_a_failed_rollback_switch_leaves_both_links_as_they_were(stick, lib, monkeypatch):
    import errno

    from kiosk.usb_import import version_store

    store, live, prev = two_versions(stick, lib)

    def full(self, version):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(version_store.LibraryStore, "_link_root", full)
    r = run_rollback(lib, CFG)
    assert not r.ok and "space" in r.error
    assert tree(lib.music_root) == live and tree(store.previous()) == prev
    assert not (lib.library_dir / version_store.SWITCH_NOTE).is_symlink()
