"""`kiosk web passwd`: a clear answer without a terminal, and an existing file keeps its owner."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def passwd(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "kiosk", "web", "passwd", *args],
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_a_terminal_or_stdin_it_says_what_to_do(tmp_path):
    r = passwd("--file", str(tmp_path / "pw"))
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "--stdin" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "pw").exists()  # nothing changed


def test_an_existing_file_keeps_its_owner_group_and_mode(tmp_path):
    if os.geteuid() != 0:
        pytest.skip("changing a file's owner needs root")
    pw = tmp_path / "pw"
    pw.write_text("operator:old\n", encoding="utf-8")
    os.chown(pw, 65534, 65534)  # the service's user, say
    pw.chmod(0o640)
    r = passwd("--file", str(pw), "--role", "staff", "--stdin", stdin="a-long-staff-pass\n")
    assert r.returncode == 0, r.stderr
    st = pw.stat()
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (65534, 65534, 0o640)
    lines = pw.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "operator:old" and lines[1].startswith("staff:")
