"""scripts/install.sh and uninstall.sh against a throwaway root (how CI proves they work)."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kiosk.config import KioskConfig, load_config

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow

EXPECTED = [
    "etc/kiosk/config.yaml",
    "etc/systemd/system/kiosk-import@.service",
    "etc/systemd/system/kiosk.service",
    "etc/udev/rules.d/99-kiosk-usb.rules",
    "opt/kiosk/README.md",
    "opt/kiosk/models/emotion_cnn_int8.json",
    "opt/kiosk/models/emotion_cnn_int8.tflite",
    "opt/kiosk/models/emotion_cnn_real_int8.json",
    "opt/kiosk/models/emotion_cnn_real_int8.tflite",
    "opt/kiosk/models/face_detection_full_range.tflite",
    "opt/kiosk/models/fer_emotion_quantized.json",
    "opt/kiosk/models/fer_emotion_quantized.tflite",
    "opt/kiosk/venv/bin/kiosk",
]


def deps_env() -> dict[str, str]:
    """--offline installs only the kiosk package: its dependencies must already be there.
    The test venv's packages stand in for them, whatever ``python3`` is on PATH."""
    paths = dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def sh(script: str, *args: str) -> subprocess.CompletedProcess:
    # The test venv's own Python makes the venv (same ABI as its packages) and builds the
    # wheel (it has the dev extra's setuptools).
    extra = ["--python", sys.executable, "--build-python", sys.executable]
    return subprocess.run(
        ["bash", str(REPO / "scripts" / script), *args, *(extra if script == "install.sh" else [])],
        capture_output=True,
        text=True,
        timeout=300,
        env=deps_env(),
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
    assert "emotion model: /opt/kiosk/models/emotion_cnn_real_int8.tflite" in r.stderr

    # The generated config is valid and every path in it is absolute (the service runs
    # with WorkingDirectory=/var/lib/kiosk and a read-only /etc).
    loaded = load_config(root / "etc/kiosk/config.yaml")
    cfg = loaded.config
    # The models are left to the package defaults (one source of truth), which the
    # installed venv resolves to the models install.sh copied to /opt/kiosk/models.
    assert cfg.vision == KioskConfig().vision
    assert installed_models(root) == [
        str(root / "opt/kiosk/models/face_detection_full_range.tflite"),
        str(root / "opt/kiosk/models/emotion_cnn_real_int8.tflite"),
    ]
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
        env=deps_env(),
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


def installed_models(root: Path) -> list[str]:
    """Detector and classifier model paths as the installed kiosk resolves its config."""
    code = (
        "import sys\n"
        "from kiosk.config import load_config\n"
        "l = load_config(sys.argv[1])\n"
        "print(l.resolve(l.config.vision.detector.model))\n"
        "print(l.resolve(l.config.vision.classifier.model))\n"
    )
    r = subprocess.run(
        [str(root / "opt/kiosk/venv/bin/python"), "-c", code, str(root / "etc/kiosk/config.yaml")],
        capture_output=True,
        text=True,
        cwd=root,  # not the checkout: the installed package must find its own models
        env=deps_env(),
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.split()


# What install.sh wrote before it left the models to the package defaults.
OLD_INSTALLER_CONFIG = """\
# mood-kiosk config written by scripts/install.sh. Every key is optional; the full list
# with defaults and explanations: /opt/kiosk/venv/bin/kiosk config example
# Check it with: kiosk config validate /etc/kiosk/config.yaml   and then: kiosk check
camera:
  backend: opencv
  source: 0
vision:
  detector:
    model: /opt/kiosk/models/face_detection_full_range.tflite
  classifier:
    model: /opt/kiosk/models/fer_emotion_quantized.tflite
music:
  root: /var/lib/kiosk/music
player:
  # A system service cannot reach PulseAudio/PipeWire: play straight to ALSA.
  # Pick the card with alsa_device (list: aplay -L), e.g. plughw:CARD=Headphones
  aout: alsa
service:
  state_dir: /var/lib/kiosk
mqtt:
  enabled: false
  outbox_path: /var/lib/kiosk/mqtt-outbox.sqlite
usb_import:
  library_dir: /var/lib/kiosk/library
"""


def test_no_apt_install_writes_a_config_that_uses_the_default_emotion_model(tmp_path):
    root = tmp_path / "root"
    r = sh("install.sh", "--root", str(root), "--no-apt", "--offline")
    assert r.returncode == 0, r.stderr
    text = (root / "etc/kiosk/config.yaml").read_text()
    assert "fer_emotion_quantized" not in text and "classifier:" not in text
    default = KioskConfig().vision.classifier.model
    assert load_config(root / "etc/kiosk/config.yaml").config.vision.classifier.model == default
    assert installed_models(root)[1] == str(root / "opt/kiosk/models/emotion_cnn_real_int8.tflite")


@pytest.mark.parametrize(
    ("name", "before", "moved"),
    [
        ("old installer config", OLD_INSTALLER_CONFIG, True),
        (
            "old installer config, quoted",
            OLD_INSTALLER_CONFIG.replace(
                "model: /opt/kiosk/models/fer_emotion_quantized.tflite",
                "model: '/opt/kiosk/models/fer_emotion_quantized.tflite'",
            ),
            True,
        ),
        # The user chose a model: it stays, even the old one written another way.
        (
            "user's float model",
            OLD_INSTALLER_CONFIG.replace("fer_emotion_quantized", "emotion_cnn_float"),
            False,
        ),
        # A config that names the previous default keeps it: only the default changed.
        (
            "user's previous default",
            OLD_INSTALLER_CONFIG.replace("fer_emotion_quantized", "emotion_cnn_int8"),
            False,
        ),
        (
            "user's own model beside the pin",
            OLD_INSTALLER_CONFIG.replace(
                "/opt/kiosk/models/fer_emotion_quantized.tflite", "/srv/my-model.tflite"
            ),
            False,
        ),
        (
            "no classifier section",
            OLD_INSTALLER_CONFIG.replace("  classifier:\n", "", 1).replace(
                "    model: /opt/kiosk/models/fer_emotion_quantized.tflite\n", ""
            ),
            False,
        ),
    ],
    ids=[
        "old-pin",
        "old-pin-quoted",
        "user-float-model",
        "user-previous-default",
        "user-own-model",
        "no-classifier",
    ],
)
def test_update_moves_the_old_pin_to_the_default_and_keeps_a_chosen_model(
    tmp_path, name, before, moved
):
    root = tmp_path / "root"
    config = root / "etc/kiosk/config.yaml"
    config.parent.mkdir(parents=True)
    config.write_text(before)
    r = sh("install.sh", "--root", str(root), "--offline")
    assert r.returncode == 0, r.stderr
    assert "kept existing /etc/kiosk/config.yaml" in r.stderr
    after = config.read_text()
    models = root / "opt/kiosk/models"
    if not moved:
        assert after == before, name  # byte for byte
        chosen = load_config(config).config.vision.classifier.model
        if chosen.startswith("/opt/"):  # the installer names the model the kiosk will run
            assert f"emotion model: {chosen}" in r.stderr
        assert "removed the old emotion model pin" not in r.stderr
        return
    assert "removed the old emotion model pin" in r.stderr
    assert "fer_emotion_quantized.tflite\n" not in after.replace("# fer_emotion", "")

    # Everything else in the file stays as it was, comments included.
    def kept(text: str) -> list[str]:
        lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("#")]
        return [ln for ln in lines if ln != "  classifier:" and "fer_emotion" not in ln]

    assert kept(after) == kept(before)
    assert len(after.splitlines()) == len(before.splitlines())  # two lines became a note
    assert "# Pick the card with alsa_device" in after
    # The classifier is now the package default as the installed kiosk resolves it; the
    # detector line the old installer wrote (the same file as the default) stays.
    assert installed_models(root)[1] == str(models / "emotion_cnn_real_int8.tflite")
    # A later update leaves it alone, and so does one after the user pins the old model
    # again on purpose.
    r = sh("install.sh", "--root", str(root), "--offline")
    assert r.returncode == 0 and config.read_text() == after, r.stderr
    repinned = after.replace(
        "  # classifier.model: removed",
        "  classifier:\n    model: /opt/kiosk/models/fer_emotion_quantized.tflite\n"
        "  # classifier.model: removed",
    )
    config.write_text(repinned)
    r = sh("install.sh", "--root", str(root), "--offline")
    assert r.returncode == 0 and config.read_text() == repinned, r.stderr
    assert installed_models(root)[1] == "/opt/kiosk/models/fer_emotion_quantized.tflite"


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
