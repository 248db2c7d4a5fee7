"""The README's commands on fresh Debian 13 (Raspberry Pi OS trixie's base), as a new user.

Each root starts as `debootstrap --variant=minbase` with git, sudo and python3 only: no
compiler, no pip, Debian's own Python 3.13. The user `shop` (sudo, no password) types the
README's commands in a clone. arm64 runs the same root under qemu-user.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from demo_log import assert_demo_story, switches
from roots import as_user, log

# Installs and emulation run for many minutes; each call has its own timeout.
pytestmark = [pytest.mark.platform, pytest.mark.timeout(4800)]

REPO = Path(__file__).resolve().parents[2]
PHOTOS = "kiosk/assets/astronaut.png kiosk/assets/cameraman.png kiosk/assets/grace_hopper.jpg"
# The parts of the suite whose behaviour depends on the Python version or the distribution:
# command JSON, TLS, the installer, music analysis and loudness, config and models.
PY313_TESTS = (
    "tests/comms/test_comms_units.py tests/comms/test_mqtt_security.py "
    "tests/comms/test_mqtt_hardening.py tests/music_analysis tests/player/test_loudness_vlc.py "
    "tests/install tests/check tests/web/test_web_security.py tests/test_config.py "
    "tests/test_emotion_model.py tests/vision tests/test_quickstart.py"
)


def _show(r: subprocess.CompletedProcess) -> str:
    return f"rc={r.returncode}\n--- stdout\n{r.stdout[-3000:]}\n--- stderr\n{r.stderr[-6000:]}"


def test_new_root_has_debian_python_and_no_compiler(amd64_root):
    r = as_user(amd64_root, "python3 --version; command -v gcc cc x86_64-linux-gnu-gcc", 60)
    assert r.stdout.startswith("Python 3.13"), _show(r)
    assert r.returncode != 0, f"a compiler is already there, the check proves nothing: {r.stdout}"


def test_readme_run_on_debian13(amd64_root):
    r = as_user(amd64_root, "cd ~/kiosk && bash scripts/bootstrap.sh run --duration 50", 1200)
    assert r.returncode == 0, _show(r)
    assert_demo_story(r.stderr)
    r2 = as_user(amd64_root, "cd ~/kiosk && .venv/bin/python --version", 60)
    assert r2.stdout.startswith("Python 3.13"), _show(r2)


def test_readme_test_command_on_python313(amd64_root):
    """The README's test command, on the version-dependent parts of the suite."""
    r = as_user(amd64_root, f"cd ~/kiosk && bash scripts/bootstrap.sh test {PY313_TESTS}", 2400)
    log("python 3.13 suite:\n" + "\n".join(r.stdout.splitlines()[-15:]))
    assert r.returncode == 0, _show(r)
    assert " passed" in r.stdout.splitlines()[-1], _show(r)


def analyze(cmd_prefix: str) -> list[dict]:
    return [json.loads(line) for line in cmd_prefix.splitlines() if line.startswith("{")]


def test_readme_run_on_arm64(arm64_root):
    """Emulation is ~100x slower than a Pi: the demo starts, samples and plays; the mood story
    itself is checked on amd64 and by the analysis comparison below."""
    r = as_user(arm64_root, "cd ~/kiosk && bash scripts/bootstrap.sh run --duration 120", 4200)
    assert r.returncode == 0, _show(r)
    assert [(x["dst"], x["reason"]) for x in switches(r.stderr)][:1] == [
        ("background", "startup")
    ], _show(r)
    r2 = as_user(arm64_root, "uname -m; cd ~/kiosk && .venv/bin/python --version", 60)
    assert r2.stdout.split() == ["aarch64", "Python", r2.stdout.split()[2]], _show(r2)
    assert r2.stdout.split()[2].startswith("3.13"), _show(r2)


def test_analyze_on_arm64_matches_x86_64(arm64_root):
    r = as_user(arm64_root, f"cd ~/kiosk && .venv/bin/kiosk analyze --json {PHOTOS}", 1800)
    assert r.returncode == 0, _show(r)
    arm = analyze(r.stdout)
    host = subprocess.run(
        [sys.executable, "-m", "kiosk", "analyze", "--json", *PHOTOS.split()],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    x86 = analyze(host.stdout)
    assert [a["image"] for a in arm] == [x["image"] for x in x86]
    worst_px, worst_p = 0.0, 0.0
    for a, x in zip(arm, x86, strict=True):
        assert len(a["faces"]) == len(x["faces"]) > 0, (a, x)
        for fa, fx in zip(a["faces"], x["faces"], strict=True):
            assert fa["emotion"] == fx["emotion"], (a["image"], fa, fx)
            boxes = zip(fa["box"], fx["box"], strict=True)
            worst_px = max(worst_px, *(abs(p - q) for p, q in boxes))
            worst_p = max(worst_p, *(abs(fa["scores"][k] - fx["scores"][k]) for k in fx["scores"]))
    log(f"arm64 vs x86-64: boxes within {worst_px:.2f} px, probabilities within {worst_p:.4f}")
    assert worst_px <= 2.0
    assert worst_p <= 0.02
