"""Helpers for the music tests: real audio files, FFT, a FIFO capture of afile."""

from __future__ import annotations

import os
import threading
import time
import wave
from pathlib import Path

import numpy as np

RATE = 22050


def write_tone(path: Path, freq: float, seconds: float = 1.0, rate: int = RATE) -> Path:
    """Mono 16-bit sine WAV."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.4 * 32767 * np.sin(2 * np.pi * freq * t)).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    return path


def write_mp3(path: Path, frames: int = 40, title: str | None = None, artist: str | None = None):
    """Silent MPEG-1 Layer III frames (zeroed side info is valid), optionally ID3-tagged."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes((b"\xff\xfb\x90\x00" + bytes(413)) * frames)
    if title or artist:
        from mutagen.easyid3 import EasyID3

        tags = EasyID3()
        if title:
            tags["title"] = title
        if artist:
            tags["artist"] = artist
        tags.save(path)
    return path


def write_garbage(path: Path, size: int = 40_000, seed: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(np.random.default_rng(seed).bytes(size))
    return path


def dominant_hz(samples: np.ndarray, rate: int = RATE) -> float:
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        assert w.getsampwidth() == 2
        data = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
        return data[:: w.getnchannels()], w.getframerate()


class FifoCapture:
    """Everything VLC's afile output writes, across tracks, as one continuous byte stream.

    afile reopens (truncates) its file for every track, so a plain file only ever holds the
    last track. A FIFO read by this thread keeps the whole session, in write order.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        os.mkfifo(path)
        self.chunks: list[bytes] = []
        self._stop = threading.Event()
        # Non-blocking read end: writers can open at any time, EOF between tracks is normal.
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                data = os.read(self._fd, 65536)
            except BlockingIOError:
                data = b""
            if data:
                self.chunks.append(data)
            else:
                time.sleep(0.005)

    def samples(self) -> np.ndarray:
        raw = b"".join(self.chunks)
        return np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        os.close(self._fd)
