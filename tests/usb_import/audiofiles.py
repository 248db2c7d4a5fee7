"""Real audio files for the importer tests: stdlib wave, hand-made MP3 frames, sox."""

from __future__ import annotations

import math
import shutil
import struct
import subprocess
import wave
from pathlib import Path

from real_tools import missing


def make_wav(path: Path, seconds: float = 0.5, rate: int = 8000, freq: float = 440.0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    n = int(rate * seconds)
    frames = b"".join(
        struct.pack("<h", int(12000 * math.sin(2 * math.pi * freq * i / rate))) for i in range(n)
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def make_mp3(path: Path, frames: int = 40) -> Path:
    """Silent MPEG-1 Layer III, 128 kbit/s, 44.1 kHz: zeroed side info is a valid frame."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = b"\xff\xfb\x90\x00" + bytes(417 - 4)
    path.write_bytes(frame * frames)
    return path


def make_sox(path: Path, seconds: float = 0.5) -> Path:
    """OGG/FLAC through sox (CI installs it); skips the test without it."""
    if shutil.which("sox") is None:
        missing("sox")
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["sox", "-q", "-n", "-r", "16000", str(path), "synth", str(seconds), "sine", "440"],
        check=True,
    )
    return path


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` (following the live symlink) with its bytes."""
    root = root.resolve()
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in files}
