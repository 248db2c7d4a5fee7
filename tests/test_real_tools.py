"""Under CI=true a missing tool fails the run; locally it skips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from real_tools import find_tool, require_tool

HERE = Path(__file__).resolve().parent
PROBE = "KIOSK_TOOL_PROBE"


@pytest.mark.skipif(os.environ.get(PROBE) is None, reason="only run by the tests below")
def test_probe_needs_a_missing_tool():
    kind = os.environ[PROBE]
    if kind == "helper":
        require_tool("no-such-tool-kiosk")
    elif kind == "plain-skip":
        pytest.skip("frobnicator not installed")  # a skip written without the helper
    else:
        pytest.importorskip("no_such_module_kiosk")


def probe(kind: str, ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    env[PROBE] = kind
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"{HERE / 'test_real_tools.py'}::test_probe_needs_a_missing_tool",
        ],
        cwd=HERE.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("kind", ["helper", "plain-skip", "importorskip"])
def test_missing_tool_fails_under_ci_and_skips_locally(kind):
    local = probe(kind, ci=False)
    assert local.returncode == 0 and "1 skipped" in local.stdout, local.stdout
    ci = probe(kind, ci=True)
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout
    assert "CI=true" in ci.stdout


def test_sbin_tools_are_found_off_path(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    if os.path.exists("/usr/sbin/mosquitto"):
        assert find_tool("mosquitto") == "/usr/sbin/mosquitto"
    assert find_tool("no-such-tool-kiosk") is None
