"""kiosk.music_analysis on real encoded audio: loudness, peak, tempo, formats, damage."""

from __future__ import annotations

import numpy as np
import pytest
from audio_synth import click_track, encode, ffmpeg_lufs, music_like, sine, write_wav

from kiosk.music_analysis.analyze import analyse
from kiosk.music_analysis.decode import DecodeError
from kiosk.music_analysis.mood_model import MoodModel


@pytest.fixture(scope="module")
def model() -> MoodModel:
    return MoodModel.load()


def test_lufs_of_sine_matches_bs1770(tmp_path, model):
    # BS.1770: a 997 Hz sine at peak A on one channel reads 20 log10(A) - 3.01 LUFS,
    # the same sine on both channels of a stereo file 20 log10(A).
    mono = analyse(write_wav(tmp_path / "m.wav", sine(10, peak_db=-20)), model)
    stereo_x = np.stack([sine(10, peak_db=-20)] * 2, axis=1)
    stereo = analyse(write_wav(tmp_path / "s.wav", stereo_x), model)
    assert mono.lufs == pytest.approx(-23.01, abs=0.1)
    assert stereo.lufs == pytest.approx(-20.0, abs=0.1)
    assert mono.peak_db == pytest.approx(-20.0, abs=0.05)
    assert mono.duration_s == pytest.approx(10.0, abs=0.01)


@pytest.mark.parametrize(
    ("ext", "args"),
    [
        ("wav", []),
        ("flac", []),
        ("mp3", ["-b:a", "192k"]),
        ("opus", ["-b:a", "64k"]),
        ("m4a", ["-c:a", "aac", "-b:a", "128k"]),
        ("aac", ["-c:a", "aac", "-b:a", "128k"]),
        ("ogg", ["-c:a", "libvorbis", "-q:a", "5"]),
    ],
)
def test_every_format_agrees_with_ffmpeg_ebur128(tmp_path, model, ffmpeg, ext, args):
    x = np.stack([music_like(20, seed=1), music_like(20, seed=2)], axis=1)
    src = write_wav(tmp_path / "src.wav", x * 0.5)
    path = src if ext == "wav" else encode(src, tmp_path / f"t.{ext}", *args)
    a = analyse(path, model)
    assert a.lufs == pytest.approx(ffmpeg_lufs(path), abs=0.5)
    assert a.duration_s == pytest.approx(20.0, abs=0.1)
    assert a.quadrant in {"Q1", "Q2", "Q3", "Q4"}
    assert -1 <= a.valence <= 1 and -1 <= a.arousal <= 1 and 0 < a.confidence <= 1


@pytest.mark.parametrize("bpm", [90.0, 120.0, 140.0])
def test_tempo_of_click_track(tmp_path, model, bpm):
    x = click_track(30, bpm) * 0.5 + 0.001 * np.random.default_rng(0).standard_normal(30 * 44100)
    a = analyse(write_wav(tmp_path / "c.wav", x.astype(np.float32)), model)
    assert a.tempo_bpm == pytest.approx(bpm, rel=0.02)


def test_steady_tone_has_no_tempo(tmp_path, model):
    a = analyse(write_wav(tmp_path / "t.wav", sine(20, freq=440)), model)
    assert a.tempo_bpm is None


def test_silence_has_no_loudness_and_no_mood(tmp_path, model):
    a = analyse(write_wav(tmp_path / "z.wav", np.zeros(44100 * 5, np.float32)), model)
    assert a.lufs is None and a.peak_db is None and a.quadrant is None and a.valence is None
    assert a.duration_s == pytest.approx(5.0)


def test_very_short_file_has_loudness_but_no_mood(tmp_path, model):
    a = analyse(write_wav(tmp_path / "s.wav", sine(1.0)), model)
    assert a.lufs is not None and a.quadrant is None


def test_excerpt_comes_from_the_middle(tmp_path, model):
    # Silence, then 30 s of music, then silence: a mood excerpt from the middle hears music.
    music = music_like(30)
    x = np.concatenate([np.zeros(44100 * 60, np.float32), music, np.zeros(44100 * 60, np.float32)])
    a = analyse(write_wav(tmp_path / "m.wav", x), model)
    assert a.quadrant is not None and a.tempo_bpm == pytest.approx(120, rel=0.02)


@pytest.mark.parametrize(
    "make",
    [
        lambda p: p.write_bytes(b""),
        lambda p: p.write_bytes(np.random.default_rng(0).bytes(50_000)),
        lambda p: p.write_bytes(b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(3000)),
    ],
    ids=["zero-length", "random-bytes", "id3-only"],
)
def test_damaged_files_raise_decode_error(tmp_path, model, ffmpeg, make):
    p = tmp_path / "bad.mp3"
    make(p)
    with pytest.raises(DecodeError):
        analyse(p, model)


@pytest.mark.parametrize("ext", ["mp3", "flac", "m4a", "opus"])
def test_truncated_files_do_not_crash(tmp_path, model, ffmpeg, ext):
    src = write_wav(tmp_path / "src.wav", music_like(20))
    full = encode(src, tmp_path / f"full.{ext}")
    data = full.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    try:
        a = analyse(cut, model)
    except DecodeError:
        return  # a clear error is one valid outcome
    assert 0 < a.duration_s <= 20.5  # the rest: what is there is analysed


def test_truncated_wav_header_is_reported(tmp_path, model):
    src = write_wav(tmp_path / "src.wav", music_like(20))
    cut = tmp_path / "cut.wav"
    cut.write_bytes(src.read_bytes()[:-200_000])
    try:
        a = analyse(cut, model)
    except DecodeError as exc:
        assert "truncated" in str(exc)
    else:
        assert a.duration_s < 20


@pytest.mark.slow
def test_hours_long_file_in_bounded_memory(tmp_path, model):
    import tracemalloc

    import soundfile as sf

    path = tmp_path / "long.wav"
    block = (music_like(60, sr=8000) * 0.3).astype(np.float32)
    with sf.SoundFile(str(path), "w", 8000, 1, "PCM_16") as f:
        for _ in range(120):  # two hours: 115 MB of 16-bit samples, 230 MB as float32
            f.write(block)
    tracemalloc.start()
    a = analyse(path, model)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert a.duration_s == pytest.approx(7200, abs=1)
    assert peak < 40e6, peak
