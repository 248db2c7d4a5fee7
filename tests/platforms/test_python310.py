"""The whole suite on CPython 3.10, the Python of Jetson's JetPack 6.

No Ubuntu mirror is reachable here, so the interpreter is this machine's own CPython 3.10
(`python3.10` on PATH, or pyenv's); the kiosk and its test dependencies are installed into a
new venv from PyPI's wheels exactly as `bootstrap.sh` would.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Installs and emulation run for many minutes; each call has its own timeout.
pytestmark = [pytest.mark.platform, pytest.mark.timeout(4800)]

REPO = Path(__file__).resolve().parents[2]
# The whole everyday suite (platform checks excluded by pyproject's addopts).
TESTS = ["tests"]


def python310() -> str:
    # pyenv's shims answer 127 unless 3.10 is selected: use the interpreter itself.
    candidates = sorted(glob.glob(os.path.expanduser("~/.pyenv/versions/3.10*/bin/python3.10")))
    on_path = shutil.which("python3.10")
    if on_path and "/shims/" not in on_path:
        candidates.insert(0, on_path)
    if not candidates:
        pytest.fail("no CPython 3.10 here (python3.10 on PATH or pyenv's)", pytrace=False)
    return candidates[0]


def test_suite_on_python310(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([python310(), "-m", "venv", str(venv)], check=True)
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    subprocess.run([*pip, "-e", f"{REPO}[dev]"], check=True, timeout=1200)
    version = subprocess.run([py, "--version"], capture_output=True, text=True).stdout
    assert version.startswith("Python 3.10"), version
    r = subprocess.run(
        [py, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=2400,
        env={**os.environ, "CI": "true"},
    )
    print("\n".join(r.stdout.splitlines()[-5:]))
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-3000:]
