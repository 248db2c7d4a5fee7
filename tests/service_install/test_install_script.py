"""scripts/install.sh and uninstall.sh against a throwaway root (how CI proves they work)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import load_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

EXPECTED = [
    "etc/kiosk/config.yaml",
    "etc/systemd/system/kiosk-import@.service",
    "etc/systemd/system/kiosk.service",
    "etc/udev/rules.d/99-kiosk-usb.rules",
    "opt/kiosk/README.md",
    "opt/kiosk/models/face_detection_full_range.tflite",
    "opt/kiosk/models/fer_emotion_quantized.json",
    "opt/kiosk/models/fer_emotion_quantized.tflite",
    "opt/kiosk/venv/bin/kiosk",
]


def sh(script: str, *args: str) -> subprocess.CompletedProcess:
    python = shutil.which("python3") or "python3"
    # The test venv's own Python builds the wheel: it has the dev extra's setuptools.
    extra = ["--python", python, "--build-python", sys.executable]
    return subprocess.run(
        ["bash", str(REPO / "scripts" / script), *args, *(extra if script == "install.sh" else [])],
        capture_output=True,
        text=True,
        timeout=300,
    )


def snapshot(root: Path) -> dict[str, tuple[int, float]]:
    out = {}
    for p in root.rglob("*"):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith("opt/kiosk/venv/"):
            st = p.stat()
            out[rel] = (st.st_size, st.st_mtime_ns)
    return out


def test_install_twice_then_uninstall(tmp_path):
    root = tmp_path / "root"
    r = sh("install.sh", "--root", str(root), "--offline")
    assert r.returncode == 0, r.stderr
    for rel in EXPECTED:
        assert (root / rel).exists(), rel
    assert (root / "var/lib/kiosk/music").is_dir()
    assert "skipped: apt-get" in r.stderr and "skipped: systemctl" in r.stderr

    # The generated config is valid and every path in it is absolute (the service runs
    # with WorkingDirectory=/var/lib/kiosk and a read-only /etc).
    loaded = load_config(root / "etc/kiosk/config.yaml")
    cfg = loaded.config
    assert cfg.vision.detector.model == "/opt/kiosk/models/face_detection_full_range.tflite"
    assert cfg.vision.classifier.model == "/opt/kiosk/models/fer_emotion_quantized.tflite"
    assert cfg.mqtt.enabled is False
    assert cfg.mqtt.outbox_path.startswith("/var/lib/kiosk/")
    assert cfg.music.root == "/var/lib/kiosk/music" and cfg.usb_import.music_root is None
    assert cfg.player.aout == "alsa"  # no PulseAudio/PipeWire for a system service
    assert cfg.usb_import.library_dir == "/var/lib/kiosk/library"
    assert oct((root / "etc/kiosk/config.yaml").stat().st_mode & 0o777) == "0o640"

    # A shop owner's edit survives a re-run; unchanged files are not rewritten.
    config = root / "etc/kiosk/config.yaml"
    config.write_text(config.read_text() + "# edited by the shop\n")
    before = snapshot(root)
    r2 = sh("install.sh", "--root", str(root), "--offline")
    assert r2.returncode == 0, r2.stderr
    assert "kept existing /etc/kiosk/config.yaml" in r2.stderr
    assert "already up to date" in r2.stderr
    assert snapshot(root) == before
    # The venv holds the package itself (its dependencies come from apt or pip online).
    r = subprocess.run(
        [str(root / "opt/kiosk/venv/bin/python"), "-c", "import kiosk; print(kiosk.__file__)"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # not the checkout: python -c puts the cwd first on sys.path
    )
    assert r.returncode == 0 and "/opt/kiosk/venv/" in r.stdout, r.stdout + r.stderr

    r3 = sh("uninstall.sh", "--root", str(root))
    assert r3.returncode == 0, r3.stderr
    assert not (root / "opt/kiosk").exists()
    assert not (root / "etc/systemd/system/kiosk.service").exists()
    assert config.exists() and (root / "var/lib/kiosk/music").is_dir()  # kept without --purge
    r4 = sh("uninstall.sh", "--root", str(root), "--purge")
    assert r4.returncode == 0, r4.stderr
    assert not (root / "etc/kiosk").exists() and not (root / "var/lib/kiosk").exists()


def test_install_refuses_unknown_options_and_non_root_without_root_dir(tmp_path):
    r = subprocess.run(
        ["bash", str(REPO / "scripts/install.sh"), "--bogus"], capture_output=True, text=True
    )
    assert r.returncode == 2 and "unknown option" in r.stderr
    if os.geteuid() != 0:
        r = subprocess.run(
            ["bash", str(REPO / "scripts/install.sh")], capture_output=True, text=True
        )
        assert r.returncode == 2 and "run as root" in r.stderr
