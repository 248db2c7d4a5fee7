"""Demo music: one short generated tune per playlist, so the kiosk runs with nothing installed.

Only numpy and the stdlib ``wave`` module are used. Each playlist gets its own pitch range
(ordered by name, spread over three octaves), tempo and melody, so a switch is easy to hear
and to find by FFT. Files are written only where a playlist folder holds no audio yet.
"""

from __future__ import annotations

import hashlib
import os
import wave
from pathlib import Path

import numpy as np

from kiosk.library.names import AUDIO_EXTENSIONS

RATE = 22050
SECONDS = 8.0
# Major pentatonic steps: any order of these sounds like a tune, never like a mistake.
PENTATONIC = (0, 2, 4, 7, 9, 12)


def ensure_demo_library(root: Path, playlists: list[str]) -> None:
    """Create ``root/<name>/Kiosk demo - <Name> tune.wav`` for each playlist lacking audio."""
    root = Path(root)
    names = sorted(dict.fromkeys(playlists))
    for index, name in enumerate(names):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        if any(p.suffix.lower() in AUDIO_EXTENSIONS for p in folder.iterdir() if p.is_file()):
            continue
        base_hz = base_frequency(index, len(names))
        samples = tune(name, base_hz)
        target = folder / f"Kiosk demo - {name.replace('_', ' ').capitalize()} tune.wav"
        tmp = folder / f".{target.name}.part"
        write_wav(tmp, samples)
        os.replace(tmp, target)  # a crash never leaves half a file that looks finished


def base_frequency(index: int, count: int) -> float:
    """Lowest note of playlist ``index`` of ``count``: from A2 (110 Hz) up to about A5."""
    span = 36  # semitones
    step = span / max(1, count - 1) if count > 1 else 0
    return 110.0 * 2 ** ((index * step) / 12)


def tune(name: str, base_hz: float, seconds: float = SECONDS, rate: int = RATE) -> np.ndarray:
    """A looping melody of plucked notes, int16 mono. Tempo and notes derive from ``name``."""
    seed = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    beat = 0.18 + 0.22 * rng.random()  # 0.18-0.40 s per note
    n = int(seconds / beat)
    steps = rng.choice(PENTATONIC, size=n)
    steps[0] = steps[-1] = 0  # start and end on the tonic so the loop sounds closed
    out = np.zeros(int(seconds * rate), dtype=np.float64)
    length = int(beat * rate)
    t = np.arange(length) / rate
    envelope = np.exp(-t * (3.0 / beat)) * np.minimum(1.0, t * 200)  # soft attack, decay
    for i, step in enumerate(steps):
        f = base_hz * 2 ** (step / 12)
        note = np.sin(2 * np.pi * f * t) + 0.3 * np.sin(4 * np.pi * f * t)
        start = i * length
        out[start : start + length] += note[: len(out) - start] * envelope[: len(out) - start]
    fade = min(len(out), int(0.05 * rate))
    out[-fade:] *= np.linspace(1.0, 0.0, fade)
    return (out / max(1e-9, np.abs(out).max()) * 0.5 * 32767).astype("<i2")


def write_wav(path: Path, samples: np.ndarray, rate: int = RATE) -> None:
    """Mono 16-bit WAV."""
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.ascontiguousarray(samples, dtype="<i2").tobytes())
