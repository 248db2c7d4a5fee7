"""The systemd units and udev rule: security score, verify, and the settings that matter."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from real_tools import require_tool

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
MAX_EXPOSURE = 3.0


@pytest.fixture(scope="module")
def analyze() -> str:
    return require_tool("systemd-analyze")


def unit_settings(path: Path) -> dict[str, list[str]]:
    settings: dict[str, list[str]] = {}
    text = re.sub(r"\\\n", "", path.read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[":
            continue
        key, _, value = line.partition("=")
        settings.setdefault(key.strip(), []).append(value.strip())
    return settings


def exposure(analyze: str, unit: Path) -> float:
    out = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", out.stdout + out.stderr)
    assert m, out.stdout + out.stderr
    return float(m.group(1))


def verify_problems(analyze: str, unit: Path) -> list[str]:
    """Every line of `systemd-analyze verify` about ``unit``; a warning counts as a failure.

    verify only warns (exit 0) on unknown keys or bad values and then ignores the line, so a
    typo silently drops a protection. Lines about other units are not ours: without systemd
    as PID 1 (containers) verify cannot load some system units.
    """
    out = subprocess.run(
        [analyze, "verify", "--man=no", str(unit)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    problems = [
        ln
        for ln in lines
        if unit.name in ln and not ("Failed to" in ln and "dev-sda1.device" in ln)
    ]
    if out.returncode != 0 and not problems:
        problems = [ln for ln in lines if "Failed to" not in ln] or problems
        if not problems and not lines:
            problems = [f"verify exited {out.returncode} without saying why"]
    return problems


def verifiable_copy(tmp_path: Path, name: str, as_name: str, edit=None) -> Path:
    """A copy whose ExecStart points at an existing program.

    verify also checks that ExecStart= exists, and /opt/kiosk/venv is not installed here.
    Everything else (keys, values, dependencies) is checked as shipped.
    """
    text = (SYSTEMD / name).read_text().replace("/opt/kiosk/venv/bin/kiosk", "/bin/true")
    if edit is not None:
        text = edit(text)
    d = tmp_path / as_name.replace("@", "_").replace(".", "_")
    d.mkdir()
    (d / as_name).write_text(text)
    return d / as_name


@pytest.mark.parametrize("name", ["kiosk.service", "kiosk-import@.service"])
def test_security_exposure(analyze, name):
    score = exposure(analyze, SYSTEMD / name)
    assert score <= MAX_EXPOSURE, f"{name}: exposure {score} > {MAX_EXPOSURE}"


@pytest.mark.parametrize(
    ("name", "as_name"),
    [("kiosk.service", "kiosk.service"), ("kiosk-import@.service", "kiosk-import@sda1.service")],
)
def test_units_verify_without_any_warning(analyze, tmp_path, name, as_name):
    problems = verify_problems(analyze, verifiable_copy(tmp_path, name, as_name))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(
    ("good", "bad"),
    [
        ("MemoryDenyWriteExecute=yes", "MemoryDenyWriteExecutee=yes"),  # unknown key
        ("SystemCallFilter=@system-service", "SystemCallFilter=@no-such-set"),  # bad value
        ("Restart=on-failure", "Restart=sometimes"),
    ],
)
def test_verify_catches_a_broken_unit(analyze, tmp_path, good, bad):
    """The check above must go red for units that systemd accepts with only a warning."""
    assert good in (SYSTEMD / "kiosk.service").read_text()
    broken = verifiable_copy(
        tmp_path, "kiosk.service", "kiosk.service", lambda t: t.replace(good, bad)
    )
    assert verify_problems(analyze, broken), f"{bad} passed verify"


def test_daemon_unit_contract():
    s = unit_settings(SYSTEMD / "kiosk.service")
    assert s["Type"] == ["notify"] and s["NotifyAccess"] == ["main"]
    assert int(s["WatchdogSec"][0]) >= 10
    assert s["Restart"] == ["on-failure"] and s["RestartSec"]
    # `kiosk run` exits 2 for a bad config or set-up: restarting cannot fix that.
    assert s["RestartPreventExitStatus"] == ["2"]
    assert s["StartLimitBurst"] and s["StartLimitIntervalSec"]
    assert s["User"] == ["kiosk"]
    assert set(s["SupplementaryGroups"][0].split()) == {"video", "audio", "render"}
    assert s["ExecReload"] == ["/bin/kill -HUP $MAINPID"]  # the daemon rescans on SIGHUP
    assert s["ProtectSystem"] == ["strict"] and s["ReadWritePaths"] == ["/var/lib/kiosk"]
    assert s["DevicePolicy"] == ["closed"]
    allowed = " ".join(s["DeviceAllow"])
    for dev in ("char-video4linux", "char-media", "char-alsa", "char-drm", "/dev/dma_heap"):
        assert dev in allowed
    assert s["CapabilityBoundingSet"] == [""]
    assert s["ExecStart"][0].startswith("/opt/kiosk/venv/bin/kiosk run --config /etc/kiosk/")


def test_import_unit_mounts_read_only_and_parses_unprivileged():
    s = unit_settings(SYSTEMD / "kiosk-import@.service")
    assert s["Type"] == ["oneshot"] and s["User"] == ["kiosk"]
    mount = s["ExecStartPre"][0]
    assert mount.startswith("+") and "ro,nosuid,nodev,noexec" in mount
    assert s["ExecStart"][0].startswith("/opt/kiosk/venv/bin/kiosk import --if-present")
    assert s["ExecStopPost"][0].startswith("-+/bin/umount")
    assert "findmnt" in mount  # never re-mounts the system's own USB boot disk
    assert s["BindsTo"] == ["dev-%i.device"]  # a pulled stick stops the import


def test_udev_rule_only_starts_the_unit():
    rule = re.sub(r"\\\n\s*", "", (SYSTEMD / "99-kiosk-usb.rules").read_text())
    lines = [ln for ln in rule.splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 1
    line = lines[0]
    for part in (
        'ACTION=="add"',
        'SUBSYSTEM=="block"',
        'ENV{ID_BUS}=="usb"',
        'ENV{ID_FS_USAGE}=="filesystem"',
        'TAG+="systemd"',
        'ENV{SYSTEMD_WANTS}+="kiosk-import@%k.service"',
    ):
        assert part in line
    assert "RUN" not in line  # udev kills long RUN jobs and forbids mounts


def test_import_unit_shell_parses():
    """The mount script as systemd hands it to sh ($$ -> $, %I -> the device)."""
    s = unit_settings(SYSTEMD / "kiosk-import@.service")
    cmd = s["ExecStartPre"][0].lstrip("+")
    assert cmd.startswith("/bin/sh -c '") and cmd.endswith("'")
    script = cmd[len("/bin/sh -c '") : -1].replace("$$", "$").replace("%I", "sda1")
    script = script.replace("%i", "sda1")
    r = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
