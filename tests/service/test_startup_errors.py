"""Start-up errors: one line naming the key and the fix, exit 2, never a traceback.

systemd's RestartPreventExitStatus=2 then stops restarting a kiosk whose config is wrong.
These run the real ``kiosk run`` in a subprocess, with the real libvlc where it matters.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from real_tools import require_libvlc

from kiosk.config import load_config
from kiosk.service import app as daemon_mod

MODELS = Path(__file__).resolve().parents[2] / "models"


def write_config(tmp_path: Path, player_yaml: str = "") -> Path:
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "camera:\n  interval_s: 1\nmusic:\n  root: music\n"
        f"player:\n  aout: afile\n  wav_path: out.wav\n{player_yaml}"
        f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
        f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
    )
    return cfg


def kiosk_run(cfg: Path, *extra: str, prelude: str = "") -> subprocess.CompletedProcess:
    code = (
        f"import sys\n{prelude}\nfrom kiosk.cli import main\n"
        f"sys.exit(main(['run', '--config', {str(cfg)!r}, '--duration', '2', *{list(extra)!r}]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=cfg.parent
    )


def the_error(proc: subprocess.CompletedProcess) -> str:
    """The one ``kiosk:`` line; no traceback anywhere."""
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("kiosk:")]
    assert len(lines) == 1, proc.stderr
    assert proc.stderr.rstrip().endswith(lines[0])  # the last thing said
    return lines[0]


def test_unknown_player_backend_from_the_command_line(tmp_path):
    proc = kiosk_run(write_config(tmp_path), "--player", "foo")
    assert proc.returncode == 2, proc.stderr
    line = the_error(proc)
    assert "--player 'foo'" in line and "vlc, null" in line


def test_player_option_is_validated_before_use():
    loaded = load_config(None)
    assert daemon_mod.player_config(loaded, "null").backend == "null"
    assert daemon_mod.player_config(loaded, None) is loaded.config.player
    with pytest.raises(daemon_mod.StartupError, match="unknown player backend"):
        daemon_mod.player_config(loaded, "foo")


def test_bad_vlc_args(tmp_path):
    require_libvlc()
    proc = kiosk_run(write_config(tmp_path, "  vlc_args: ['--no-such-option-xyz']\n"))
    assert proc.returncode == 2, proc.stderr
    line = the_error(proc)
    assert "player.vlc_args" in line and "--no-such-option-xyz" in line
    assert "fix or remove" in line
    assert "Try `vlc" not in proc.stderr  # libvlc's own lines are folded into ours


@pytest.mark.parametrize("where", ["a-directory", "under-a-file"])
def test_unwritable_wav_path(tmp_path, where):
    require_libvlc()
    if where == "a-directory":
        (tmp_path / "out.wav").mkdir()
        expect = "is not writable"
    else:
        (tmp_path / "blocker").write_text("x")
        expect = "cannot create the folder"
    wav = "out.wav" if where == "a-directory" else "blocker/out.wav"
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace("wav_path: out.wav", f"wav_path: {wav}"))
    proc = kiosk_run(cfg)
    assert proc.returncode == 2, proc.stderr
    line = the_error(proc)
    assert "player.wav_path" in line and expect in line


def test_missing_libvlc(tmp_path):
    # python-vlc hidden: the same as a machine without libvlc
    proc = kiosk_run(write_config(tmp_path), prelude="sys.modules['vlc'] = None")
    assert proc.returncode == 2, proc.stderr
    line = the_error(proc)
    assert "libvlc is not available" in line
    assert "apt install libvlc5" in line and "player.backend: null" in line


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (daemon_mod.StartupError("music.root: bad"), 2),
        (PermissionError(13, "Permission denied", "/var/lib/kiosk"), 2),
        (RuntimeError("boom\nsecond line"), 1),
    ],
)
def test_any_startup_exception_is_one_line(exc, code, capsys):
    def broken_build(self):
        raise exc

    d = daemon_mod.Daemon(load_config(None), simulate=True)
    d._build = broken_build.__get__(d)
    assert d.run() == code
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and err.startswith("kiosk: "), err
    assert "Traceback" not in err
