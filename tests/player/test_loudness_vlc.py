"""Loudness levelling on real libvlc: two tracks 12 LU apart, rendered through the real
player (afile into a FIFO), come out within 1 LU of each other and of the target, measured
with the kiosk's BS.1770 meter on the output. The tracks are analysed by the real analyser
into the real cache and reach the player through the real views."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest
from music_helpers import RATE, dominant_hz

from kiosk.library.names import AUDIO_EXTENSIONS
from kiosk.library.views import MusicViews
from kiosk.music_analysis.loudness import LoudnessMeter
from kiosk.music_analysis.service import Analyzer
from kiosk.player.config import PlayerConfig
from kiosk.player.player import create_player

pytestmark = pytest.mark.usefixtures("vlc_module")
TARGET = -18.0


def write_level(path: Path, freq: float, amp: float, seconds: float) -> Path:
    """A tone with two harmonics (so it is not a bare sine) at amplitude ``amp``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * RATE)) / RATE
    x = np.sin(2 * np.pi * freq * t) + 0.3 * np.sin(4 * np.pi * freq * t)
    x = amp * x / np.max(np.abs(x))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes((x * 32767).astype("<i2").tobytes())
    return path


def lufs(x: np.ndarray) -> float:
    meter = LoudnessMeter(1, RATE)
    meter.add((x.astype(np.float32) / 32768.0)[:, None])
    assert meter.lufs is not None
    return meter.lufs


def file_lufs(path: Path) -> float:
    with wave.open(str(path), "rb") as w:
        return lufs(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"))


def segments(samples: np.ndarray, freqs: tuple[float, float], win_s: float = 0.1):
    """The output's windows by dominant frequency (edges and mixed windows dropped)."""
    n = int(RATE * win_s)
    parts: dict[float, list[np.ndarray]] = {f: [] for f in freqs}
    for i in range(0, len(samples) - n + 1, n):
        w = samples[i : i + n]
        if np.max(np.abs(w)) < 50:
            continue
        hz = dominant_hz(w)
        for f in freqs:
            if abs(hz - f) < 15:
                parts[f].append(w)
    return {f: np.concatenate(p[3:-3]) if len(p) > 8 else None for f, p in parts.items()}


@pytest.mark.parametrize("target", [TARGET, None], ids=["levelled", "off"])
def test_two_tracks_12_lu_apart_play_level(tmp_path: Path, fifo_capture, target) -> None:
    root, state = tmp_path / "music", tmp_path / "state"
    loud = write_level(root / "a" / "loud.wav", 440, 0.9, 4.0)
    probe = write_level(tmp_path / "probe.wav", 1000, 0.1, 4.0)
    # K-weighting counts 1 kHz and its harmonic differently: scale to exactly 12 LU under.
    amp = 0.1 * 10 ** ((file_lufs(loud) - 12 - file_lufs(probe)) / 20)
    quiet = write_level(root / "b" / "quiet.wav", 1000, amp, 4.0)
    analyzer = Analyzer(state)
    est = {p: analyzer.analyse_path(p) for p in (loud, quiet)}
    analyzer.close()
    assert est[loud]["lufs"] - est[quiet]["lufs"] == pytest.approx(12, abs=0.2)
    views = MusicViews(root, AUDIO_EXTENSIONS, state)
    cfg = PlayerConfig(
        aout="afile", wav_path=str(fifo_capture.path), crossfade_s=0.5, loudness_target_lufs=target
    )
    player = create_player(cfg)
    player.estimate = lambda t: views.estimate(t.path)
    try:
        player.play_playlist("a", views.tracks("a"), 0.5)
        end = time.monotonic() + 2.5
        while time.monotonic() < end:
            player.poll()
            time.sleep(0.05)
        player.play_playlist("b", views.tracks("b"), 0.5)  # a crossfade, each deck its gain
        end = time.monotonic() + 3.0
        while time.monotonic() < end:
            player.poll()
            time.sleep(0.05)
        player.stop()
    finally:
        player.close()
    seg = segments(fifo_capture.samples(), (440.0, 1000.0))
    assert seg[440.0] is not None and seg[1000.0] is not None
    out_loud, out_quiet = lufs(seg[440.0]), lufs(seg[1000.0])
    print(f"target {target}: output {out_loud:.2f} / {out_quiet:.2f} LUFS")
    if target is None:  # as mastered: the 12 LU difference comes through
        assert out_loud - out_quiet == pytest.approx(12, abs=1.0)
        return
    assert abs(out_loud - out_quiet) <= 1.0
    assert out_loud == pytest.approx(TARGET, abs=1.0)
    assert out_quiet == pytest.approx(TARGET, abs=1.0)
    assert np.max(np.abs(seg[440.0])) / 32768 < 10 ** (-1 / 20)  # peak under -1 dBFS
