"""The corrections file is shared by the daemon and ``kiosk music retag`` (which an admin
may run as root) in a state folder the service user can write: nothing planted there may
be followed or hang a reader."""

from __future__ import annotations

import os
import stat
import threading

import pytest

from kiosk.library.sorting import CORRECTIONS_FILE, CorrectionError, Corrections


def test_a_planted_lock_symlink_is_not_followed(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    target = tmp_path / "elsewhere" / "nologin"
    target.parent.mkdir()
    (state / (CORRECTIONS_FILE + ".lock")).symlink_to(target)
    with pytest.raises(CorrectionError, match="symlink") as refused:
        Corrections(state).set("k1", "calm", "calm/a.mp3")
    assert str(tmp_path) not in str(refused.value)  # staff see this answer: no paths
    assert not target.exists()  # never created through the link


def test_a_planted_fifo_or_symlink_cannot_hang_or_leak_a_reader(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    os.mkfifo(state / CORRECTIONS_FILE)
    got: list[dict] = []
    reader = threading.Thread(target=lambda: got.append(Corrections(state).all()), daemon=True)
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "a FIFO in place of the corrections file hung the reader"
    assert got == [{}]

    secret = tmp_path / "secret.json"
    secret.write_text('{"k": {"playlist": "stolen"}}', encoding="utf-8")
    (state / CORRECTIONS_FILE).unlink(missing_ok=True)
    (state / CORRECTIONS_FILE).symlink_to(secret)
    assert Corrections(state).all() == {}  # a link is not read through
    c = Corrections(state)
    c.set("k1", "calm", "calm/a.mp3")
    assert secret.read_text(encoding="utf-8") == '{"k": {"playlist": "stolen"}}'
    assert not (state / CORRECTIONS_FILE).is_symlink()
    assert Corrections(state).get("k1") == "calm"


def test_the_file_stays_readable_by_the_daemon(tmp_path):
    """``kiosk music retag`` run as root must leave a file the service user can read."""
    Corrections(tmp_path).set("k1", "calm", "calm/a.mp3")
    mode = stat.S_IMODE((tmp_path / CORRECTIONS_FILE).stat().st_mode)
    assert mode & 0o044 == 0o044, oct(mode)
