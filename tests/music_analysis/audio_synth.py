"""Test audio with known properties: tones at known levels, chords, click tracks, noise."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

SR = 44100


def sine(seconds: float, freq: float = 997.0, peak_db: float = -20.0, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (10 ** (peak_db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def music_like(seconds: float = 20.0, sr: int = SR, bpm: float = 120.0, seed: int = 0):
    """A major-chord pad, a bass line, kick clicks on the beat and a little noise (mono)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    x = np.zeros(n)
    for f in (261.63, 329.63, 392.0):  # C major
        x += 0.15 * np.sin(2 * np.pi * f * t)
    x += 0.2 * np.sin(2 * np.pi * 65.4 * t)
    x += click_track(seconds, bpm, sr) * 0.8
    x += 0.02 * rng.standard_normal(n)
    return (x / np.max(np.abs(x)) * 0.5).astype(np.float32)


def click_track(seconds: float, bpm: float, sr: int = SR) -> np.ndarray:
    """Short decaying 1 kHz clicks, one per beat."""
    n = int(seconds * sr)
    x = np.zeros(n)
    click = np.sin(2 * np.pi * 1000 * np.arange(int(0.03 * sr)) / sr)
    click *= np.exp(-np.arange(click.size) / (0.005 * sr))
    step = 60.0 / bpm * sr
    k = 0
    while int(k * step) + click.size < n:
        i = int(k * step)
        x[i : i + click.size] += click
        k += 1
    return x.astype(np.float32)


def write_wav(path: Path, x: np.ndarray, sr: int = SR, subtype: str = "PCM_16") -> Path:
    sf.write(os.fsencode(path), x, sr, subtype=subtype)  # bytes: any file name
    return path


def encode(src: Path, dst: Path, *args: str) -> Path:
    """Encode ``src`` to ``dst`` with ffmpeg (format from the extension)."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-i", str(src), *args, str(dst)], check=True
    )
    return dst


def ffmpeg_ebur128(path: Path) -> tuple[float, list[float]]:
    """ffmpeg's ebur128 filter (the reference meter): integrated LUFS and the short-term
    loudness of each 3 s window ending on a 100 ms boundary (index k: the window ending at
    (k + 30) * 0.1 s), read from its per-100 ms metadata to three decimals."""
    res = subprocess.run(
        ["ffmpeg", "-nostdin", "-nostats", "-i", str(path), "-af",
         "ebur128=metadata=1,ametadata=mode=print", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    integrated = re.findall(r"lavfi\.r128\.I=(-?[\d.]+)", res.stderr)
    short = [float(v) for v in re.findall(r"lavfi\.r128\.S=(-?[\d.]+)", res.stderr)]
    # The first 29 frames have no full 3 s window yet (ffmpeg reports -120.7 for them).
    return float(integrated[-1]), short[29:]


def ffmpeg_lufs(path: Path) -> float:
    """Integrated loudness from ffmpeg's ebur128 filter."""
    return ffmpeg_ebur128(path)[0]
