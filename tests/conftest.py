"""Fixtures shared by the whole suite. Area-specific fixtures live in tests/<area>/conftest.py."""

from __future__ import annotations

import os

import numpy as np
import pytest
from real_tools import in_ci, require_libvlc

MISSING_TOOL_WORDS = ("not installed", "not available", "no such tool")

# LiteRT logs one INFO line per interpreter to stderr; keep test output readable.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(autouse=True, scope="session")
def _own_state_dir(tmp_path_factory):
    """No test reads or writes the user's real ~/.local/state/kiosk: a history or cache left
    there by another kiosk (a newer schema, say) must not decide a test's outcome."""
    old = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("xdg-state"))
    yield
    if old is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = old


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """The bundled real photograph (one frontal face), BGR."""
    from kiosk.camera.compose import photo

    return photo().copy()


@pytest.fixture(scope="session")
def default_loaded():
    from kiosk.config import load_config

    return load_config(None)


@pytest.fixture(scope="session")
def vlc_module():
    """Real libvlc; without it a skip that says what to install (a failure under CI=true)."""
    return require_libvlc()


@pytest.fixture(scope="session")
def pipeline(default_loaded):
    """The real models with the default config (session-wide: loading costs ~50 ms)."""
    from kiosk.vision.pipeline import Pipeline

    return Pipeline.from_config(default_loaded)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Under CI=true a skip for a missing tool fails, whoever wrote the skip.

    Tests should call ``real_tools.require_tool``; this catches any ``pytest.skip(...)`` or
    ``importorskip`` left elsewhere whose reason says something is not installed.
    """
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped and call.excinfo is not None:
        _fail_if_missing_tool(report, str(call.excinfo.value))


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module skipped at import (``pytest.importorskip`` at the top)."""
    outcome = yield
    report = outcome.get_result()
    if in_ci() and report.skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        _fail_if_missing_tool(report, reason)


def _fail_if_missing_tool(report, reason: str) -> None:
    text = reason.lower()
    if any(word in text for word in MISSING_TOOL_WORDS) or "could not import" in text:
        report.outcome = "failed"
        report.longrepr = f"CI=true: a required tool is missing: {reason}"


@pytest.fixture
def tmpfs(tmp_path):
    """``tmpfs("2m")``: a real small file system (a full disk for real; needs root, as CI
    runs; skipped elsewhere). Unmounted after the test."""
    import subprocess

    mounted = []

    def mount(size: str):
        mnt = tmp_path / f"tmpfs-{len(mounted)}"
        mnt.mkdir()
        cmd = ["mount", "-t", "tmpfs", "-o", f"size={size}", "kiosk-test", str(mnt)]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            if os.environ.get("CI") == "true" and os.geteuid() == 0:
                pytest.fail(f"cannot mount a tmpfs as root: {r.stderr.strip()}")
            pytest.skip("cannot mount a tmpfs here (not root)")
        mounted.append(mnt)
        return mnt

    yield mount
    for mnt in mounted:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
