"""Streaming decode: soundfile (libsndfile: WAV, FLAC, Ogg/Vorbis/Opus, MP3) first, ffmpeg after.

Blocks of at most ``BLOCK_S`` seconds come out one at a time, so an hours-long file takes
bounded memory. M4A/AAC (and whatever libsndfile refuses) goes through an ``ffmpeg``
subprocess that writes raw float32 to a pipe, at the file's own rate and channel count
(a mono file must stay mono: duplicating it into stereo would read 3 LU louder).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

BLOCK_S = 2.0
MAX_BLOCK_SAMPLES = 1 << 20  # 4 MB of float32 per block, whatever the rate and channels


def block_frames(sr: int, channels: int) -> int:
    """Frames per block: ``BLOCK_S`` seconds, fewer for many-channel high-rate files."""
    return max(1024, min(int(sr * BLOCK_S), MAX_BLOCK_SAMPLES // max(1, channels)))


EXCERPT_S = 30.0
MOOD_SR = 22050


class DecodeError(Exception):
    """The file could not be decoded as audio (damaged, empty, unknown format)."""


@dataclass
class Stream:
    """An open audio stream: rate, channels, frames when known, and its blocks."""

    sample_rate: int
    channels: int
    frames: int | None
    blocks: Iterator[np.ndarray]  # float32, shape (n, channels)
    backend: str
    exact_length: bool = False  # ``frames`` comes from a header that states it exactly


def _soundfile_stream(path: Path) -> Stream:
    import soundfile as sf

    f = sf.SoundFile(os.fsencode(path))  # bytes: names in any encoding
    sr, ch = f.samplerate, f.channels
    frames = f.frames if f.frames > 0 and f.seekable() else None

    def gen() -> Iterator[np.ndarray]:
        with f:
            yield from f.blocks(blocksize=block_frames(sr, ch), dtype="float32", always_2d=True)

    # WAV/FLAC/AIFF headers state the length; MP3/Ogg lengths may be estimates.
    exact = f.format in ("WAV", "WAVEX", "FLAC", "AIFF", "W64", "RF64", "CAF")
    return Stream(sr, ch, frames, gen(), "soundfile", exact)


def _ffprobe(path: Path) -> tuple[int, int, float | None]:
    cmd = [
        "ffprobe",
        "-v",
        "error",
        "-select_streams",
        "a:0",
        "-show_entries",
        "stream=sample_rate,channels:format=duration",
        "-of",
        "json",
        "--",
        str(path),
    ]
    try:
        res = subprocess.run(cmd, capture_output=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DecodeError(f"ffprobe failed: {exc}") from exc
    try:
        info = json.loads(res.stdout or b"{}")
        st = info["streams"][0]
        sr, ch = int(st["sample_rate"]), int(st["channels"])
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        msg = res.stderr.decode("utf-8", "replace").strip().splitlines()
        raise DecodeError(f"no audio stream ({msg[-1] if msg else 'ffprobe found none'})") from exc
    try:
        dur = float(info.get("format", {}).get("duration"))
    except (TypeError, ValueError):
        dur = None
    if sr <= 0 or not 1 <= ch <= 32:
        raise DecodeError(f"bad stream parameters: {sr} Hz, {ch} channels")
    return sr, ch, dur


def _ffmpeg_stream(path: Path) -> Stream:
    if not shutil.which("ffmpeg") or not shutil.which("ffprobe"):
        raise DecodeError("format not readable by libsndfile and ffmpeg is not installed")
    sr, ch, dur = _ffprobe(path)
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-map", "0:a:0",
           "-f", "f32le", "-acodec", "pcm_f32le", "-"]  # fmt: skip
    if str(path).startswith("-"):
        cmd[cmd.index(str(path))] = "file:" + str(path)

    def gen() -> Iterator[np.ndarray]:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        step = block_frames(sr, ch) * ch * 4
        got = 0
        try:
            assert proc.stdout is not None
            while True:
                buf = proc.stdout.read(step)
                if not buf:
                    break
                n = len(buf) // (4 * ch) * 4 * ch
                got += n
                if n:
                    yield np.frombuffer(buf[:n], "<f4").reshape(-1, ch)
        finally:
            proc.stdout.close() if proc.stdout else None
            try:
                err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
            finally:
                rc = proc.wait()
        if rc != 0 and got == 0:
            raise DecodeError(f"ffmpeg could not decode: {err.strip()[-200:] or rc}")

    frames = int(dur * sr) if dur else None
    return Stream(sr, ch, frames, gen(), "ffmpeg")


def open_stream(path: Path) -> Stream:
    """Open ``path`` for block-wise decoding; raises DecodeError when it is not audio."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise DecodeError(f"unreadable: {exc.strerror or exc}") from exc
    if size == 0:
        raise DecodeError("empty file")
    try:
        return _soundfile_stream(path)
    except Exception as sf_exc:  # libsndfile says "format not recognised": try ffmpeg
        try:
            return _ffmpeg_stream(path)
        except DecodeError as exc:
            raise DecodeError(f"{exc} (libsndfile: {str(sf_exc)[-120:]})") from None


def to_mood_rate(mono: np.ndarray, sr: int) -> np.ndarray:
    """Resample a mono float signal to ``MOOD_SR`` (libsoxr, high quality).

    soxr rather than scipy.signal: importing scipy.signal alone costs 76 MB of RSS, half
    the daemon's budget; soxr costs under 1 MB.
    """
    mono = np.ascontiguousarray(mono, dtype=np.float32)
    if sr == MOOD_SR:
        return mono
    return soxr.resample(mono, int(sr), MOOD_SR, quality="HQ").astype(np.float32)


def excerpt_window(frames: int | None, sr: int) -> tuple[int, int]:
    """Sample range of the mood excerpt: ``EXCERPT_S`` from the middle of the track."""
    n = int(EXCERPT_S * sr)
    if frames is None:
        return 0, n  # unknown length (a pipe): the first 30 s
    if frames <= n:
        return 0, frames
    start = (frames - n) // 2
    return start, start + n


def mood_excerpt(path: Path) -> np.ndarray:
    """Just the mood excerpt of a file, mono at MOOD_SR (training uses this)."""
    st = open_stream(path)
    lo, hi = excerpt_window(st.frames, st.sample_rate)
    parts, pos = [], 0
    for b in st.blocks:
        a, z = max(lo, pos), min(hi, pos + len(b))
        if z > a:
            parts.append(b[a - pos : z - pos].mean(axis=1))
        pos += len(b)
        if pos >= hi:
            break
    if not parts:
        raise DecodeError("no audio decoded")
    return to_mood_rate(np.concatenate(parts), st.sample_rate)
