"""The README's first command, as a newcomer types it: `bash scripts/bootstrap.sh run`.

It installs into the checkout's .venv and runs the built-in demo for 45 s. It must exit 0
and, through the real camera demo, models, mood window and policy, switch the music by mood
when visitors come in and back to the no-audience playlist when they leave.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DURATION_S = 45
pytestmark = pytest.mark.slow


def log_records(text: str) -> list[dict[str, str]]:
    """The daemon's key=value log lines (service.log_format: text) as dicts."""
    out = []
    for line in text.splitlines():
        if not line.startswith("ts="):
            continue
        try:
            words = shlex.split(line)
        except ValueError:
            continue
        out.append(dict(w.split("=", 1) for w in words if "=" in w))
    return out


def test_bootstrap_run_shows_the_music_following_the_demo_visitors(tmp_path):
    if not (REPO / ".venv" / "bin" / "python").exists() and os.environ.get("CI") != "true":
        pytest.skip("no .venv in this checkout (CI runs this after `bootstrap.sh test`)")
    env = {
        **os.environ,
        "XDG_STATE_HOME": str(tmp_path / "state"),  # the demo music goes here
        "HOME": os.environ.get("HOME", str(tmp_path)),
    }
    r = subprocess.run(
        ["bash", "scripts/bootstrap.sh", "run", "--duration", str(DURATION_S)],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=DURATION_S + 240,  # + the pip step
    )
    output = r.stdout + r.stderr
    assert r.returncode == 0, output[-4000:]
    records = log_records(r.stderr)
    switches = [x for x in records if x.get("msg") == "playlist switch"]
    reasons = [(x.get("dst"), x.get("reason")) for x in switches]
    assert reasons[:3] == [
        ("background", "startup"),
        ("happy", "mood"),  # visitors came in: a mood-driven switch
        ("background", "no_audience"),  # they left: back to the no-audience playlist
    ], reasons
    assert switches[1]["mood"] == "happy"
    assert any(x.get("msg") == "stopping" for x in records)
    assert "demo day, morning" in r.stderr
    # LiteRT's C++ banner goes to the log at DEBUG, not onto the newcomer's terminal.
    assert "XNNPACK" not in output
    assert "ALSA lib" not in output
