"""End to end: real frames → real models → mood → real libvlc writing a WAV (afile).

Playlist ``background`` holds a 440 Hz tone and ``happy`` an 880 Hz tone. The camera shows
an empty room, then the (happy) astronaut. The WAV that VLC writes must end up at 880 Hz.
"""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import cv2
import numpy as np
import pytest
from real_tools import require_libvlc

from kiosk.camera.compose import background


@pytest.fixture(autouse=True)
def _libvlc():
    require_libvlc()


MODELS = Path(__file__).resolve().parents[2] / "models"


def tone(path: Path, hz: float, seconds: float = 20.0, rate: int = 22050) -> None:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.4 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2")
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())


def dominant_hz(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        rate, channels = w.getframerate(), w.getnchannels()
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float64)
    mono = data.reshape(-1, channels).mean(axis=1)[-rate:]  # the last second
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    return float(np.fft.rfftfreq(len(mono), 1 / rate)[int(np.argmax(spectrum))])


@pytest.mark.slow
def test_mood_switch_changes_what_vlc_plays(tmp_path, astronaut):
    tone(tmp_path / "music" / "background" / "a440.wav", 440.0)
    tone(tmp_path / "music" / "happy" / "a880.wav", 880.0)
    frames = tmp_path / "frames"
    frames.mkdir()
    blank = background(640, 480, seed=1)
    for i in range(60):
        cv2.imwrite(str(frames / f"{i:03d}.png"), blank if i < 2 else astronaut)
    out_wav = tmp_path / "out.wav"
    cfg = tmp_path / "config.yaml"
    cfg.write_text(
        "camera:\n  backend: folder\n  source: frames\n  interval_s: 0.5\n  loop: false\n"
        "mood:\n  window_s: 2\n"
        "policy:\n  min_dwell_s: 0\n"
        f"player:\n  backend: vlc\n  aout: afile\n  wav_path: {out_wav}\n  crossfade_s: 0\n"
        "service:\n  stop_fade_s: 0\n"
        f"vision:\n  detector:\n    model: {MODELS}/face_detection_full_range.tflite\n"
        f"  classifier:\n    model: {MODELS}/fer_emotion_quantized.tflite\n"
    )
    proc = subprocess.run(
        [sys.executable, "-m", "kiosk", "run", "--config", str(cfg), "--duration", "7"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert "dst=happy reason=mood" in proc.stderr
    assert abs(dominant_hz(out_wav) - 880.0) < 10, proc.stderr
