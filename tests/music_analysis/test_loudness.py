"""The numpy BS.1770 / EBU R128 meter against ffmpeg's ebur128 filter, EBU Tech 3341 style
reference signals and a plain per-sample biquad: integrated, short-term, gating, peak."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from audio_synth import ffmpeg_ebur128, music_like, sine, write_wav

from kiosk.music_analysis.decode import open_stream
from kiosk.music_analysis.kweighting import KWeighting, kweighting_biquads
from kiosk.music_analysis.loudness import LoudnessMeter

TOL = 0.1  # LU: the acceptance bound against ffmpeg and the Tech 3341 tolerance


def measure(x: np.ndarray, sr: int, blocks: int = 20_000) -> LoudnessMeter:
    x = x if x.ndim == 2 else x[:, None]
    meter = LoudnessMeter(x.shape[1], sr, keep_short_term=True)
    for i in range(0, len(x), blocks):
        meter.add(x[i : i + blocks])
    return meter


def measure_file(path) -> LoudnessMeter:
    """Through the kiosk's own streamed decode, as the analyser does."""
    st = open_stream(path)
    meter = LoudnessMeter(st.channels, st.sample_rate, keep_short_term=True)
    for block in st.blocks:
        meter.add(block)
    return meter


def tone(levels: list[tuple[float, float]], sr: int = 48000, channels: int = 2) -> np.ndarray:
    """1 kHz sine in sections of (seconds, peak dBFS), the same on every channel."""
    x = np.concatenate([sine(s, freq=1000.0, peak_db=db, sr=sr) for s, db in levels])
    return np.stack([x] * channels, axis=1)


# EBU Tech 3341 (v4) cases 1-5: stereo 1 kHz tones, all read -23.0 (or -33.0) LUFS ± 0.1.
TECH_3341 = {
    "case1": ([(20, -23.0)], -23.0),
    "case2": ([(20, -33.0)], -33.0),
    "case3-relative-gate": ([(10, -36.0), (60, -23.0), (10, -36.0)], -23.0),
    "case4-both-gates": ([(10, -72.0), (10, -36.0), (60, -23.0), (10, -36.0), (10, -72.0)], -23.0),
    "case5": ([(20, -26.0), (20.1, -20.0), (20, -26.0)], -23.0),
}


@pytest.mark.parametrize("sr", [48000, 44100, 32000, 22050])
@pytest.mark.parametrize("case", list(TECH_3341))
def test_tech_3341_integrated(case, sr):
    levels, expected = TECH_3341[case]
    assert measure(tone(levels, sr), sr).lufs == pytest.approx(expected, abs=TOL)


@pytest.mark.parametrize("sr", [48000, 44100])
def test_tech_3341_short_term_is_constant_over_a_3s_period(sr):
    # Case 9 style: -20 dBFS for 1.34 s then -30 dBFS for 1.66 s, five times; every full 3 s
    # window holds one period, so every short-term value reads -23.0.
    m = measure(tone([(1.34, -20.0), (1.66, -30.0)] * 5, sr), sr)
    assert m.short_term_values
    assert max(m.short_term_values) == pytest.approx(-23.0, abs=TOL)
    assert min(m.short_term_values) == pytest.approx(-23.0, abs=TOL)
    assert m.short_term == pytest.approx(-23.0, abs=TOL)


def test_channel_weights():
    # Mono reads as one front channel; in 5.1 a surround channel counts +1.5 dB, LFE nothing.
    x = sine(10, freq=1000.0, peak_db=-20.0, sr=48000)
    assert measure(x, 48000).lufs == pytest.approx(-23.01, abs=0.02)
    six = np.zeros((x.size, 6), np.float32)
    for ch, expected in [(0, -23.01), (2, -23.01), (4, -23.01 + 1.49), (5, -23.01 + 1.49)]:
        six[:] = 0
        six[:, ch] = x
        assert measure(six, 48000).lufs == pytest.approx(expected, abs=0.02), ch
    six[:] = 0
    six[:, 3] = x
    assert measure(six, 48000).lufs is None


def biquad(x: np.ndarray, b: np.ndarray, a: np.ndarray) -> np.ndarray:
    """The textbook per-sample recursion (transposed direct form II), as a reference."""
    y = np.empty_like(x)
    z1 = z2 = 0.0
    for i, v in enumerate(x.tolist()):
        y[i] = out = b[0] * v + z1
        z1 = z2 + b[1] * v - a[1] * out
        z2 = b[2] * v - a[2] * out
    return y


@pytest.mark.parametrize("sr", [48000, 44100, 22050])
def test_block_recursive_filter_equals_the_plain_iir_across_any_block_split(sr):
    x = (0.3 * np.random.default_rng(sr).standard_normal((6000, 2))).astype(np.float32)
    b1, a1, b2, a2 = kweighting_biquads(sr)
    ref = np.stack([biquad(biquad(x[:, c].astype(float), b1, a1), b2, a2) for c in range(2)])
    f = KWeighting(2, sr)
    cuts = [0, 700, 701, 1024, 3100, 6000]
    out = np.concatenate([f.process(x[a:b]) for a, b in itertools.pairwise(cuts)], axis=1)
    np.testing.assert_allclose(out, ref, atol=1e-9)


def test_48k_coefficients_are_the_standards():
    # BS.1770-4 Tables 1 and 2 (48 kHz).
    b1, a1, b2, a2 = kweighting_biquads(48000)
    np.testing.assert_allclose(b1, [1.53512485958697, -2.69169618940638, 1.19839281085285])
    np.testing.assert_allclose(a1, [1.0, -1.69065929318241, 0.73248077421585])
    np.testing.assert_allclose(b2, [1.0, -2.0, 1.0])
    np.testing.assert_allclose(a2, [1.0, -1.99004745483398, 0.99007225036621])


def dynamic_music(seconds: float, sr: int, channels: int) -> np.ndarray:
    """Music-like channels under a slow swell, so short-term loudness moves by ~10 LU."""
    chans = [music_like(seconds, sr=sr, seed=s + 1) for s in range(channels)]
    t = np.arange(chans[0].size) / sr
    swell = 0.55 + 0.45 * np.sin(2 * np.pi * t / 11.0)
    return (np.stack(chans, axis=1) * swell[:, None] * 0.8).astype(np.float32)


def assert_agrees_with_ffmpeg(path) -> LoudnessMeter:
    ref_i, ref_s = ffmpeg_ebur128(path)
    m = measure_file(path)
    assert m.lufs == pytest.approx(ref_i, abs=TOL)
    ours = m.short_term_values
    assert ours is not None
    n = min(len(ours), len(ref_s))
    assert n >= len(ref_s) - 1 and n > 0  # the same windows (ffmpeg may drop a last partial)
    finite = [(a, b) for a, b in zip(ours[:n], ref_s[:n], strict=True) if b > -70]
    assert finite
    worst = max(abs(a - b) for a, b in finite)
    assert worst < TOL, f"short-term off by {worst:.3f} LU"
    assert m.short_term_max == pytest.approx(max(ref_s), abs=TOL)
    return m


@pytest.mark.parametrize("sr", [44100, 48000])
@pytest.mark.parametrize("channels", [1, 2])
def test_music_agrees_with_ffmpeg(tmp_path, ffmpeg, sr, channels):
    path = write_wav(tmp_path / "m.wav", dynamic_music(25, sr, channels), sr=sr)
    assert_agrees_with_ffmpeg(path)


def test_quiet_passages_are_gated_like_ffmpeg(tmp_path, ffmpeg):
    # Loud, very quiet (-30 dB: below the relative gate), loud, silence: the quiet part and
    # the silence must not pull the integrated loudness down.
    sr = 48000
    loud = np.stack([music_like(12, sr=sr, seed=s) for s in (3, 4)], axis=1)
    x = np.concatenate([loud, loud[: 10 * sr] * 10 ** (-30 / 20), loud, np.zeros((5 * sr, 2))])
    path = write_wav(tmp_path / "q.wav", x.astype(np.float32), sr=sr)
    m = assert_agrees_with_ffmpeg(path)
    loud_only = measure(np.concatenate([loud, loud]), sr).lufs
    assert m.lufs == pytest.approx(loud_only, abs=0.1)  # ungated it would read ~1.5 LU less


@pytest.mark.parametrize("level_db", [None, -85.0])
def test_silence_and_sub_gate_noise_have_no_loudness(tmp_path, ffmpeg, level_db):
    sr = 44100
    n = 6 * sr
    x = np.zeros((n, 2), np.float32)
    if level_db is not None:
        x[:] = 10 ** (level_db / 20) * np.random.default_rng(0).standard_normal((n, 2))
    path = write_wav(tmp_path / "z.wav", x, sr=sr, subtype="FLOAT")
    m = measure_file(path)
    ref_i, ref_s = ffmpeg_ebur128(path)
    assert m.lufs is None and ref_i == pytest.approx(-70.0)  # ffmpeg's "nothing": its gate
    if level_db is None:
        assert m.short_term_max is None and m.short_term is None and m.peak_db is None
    else:  # short-term is not gated: it reads the noise, as ffmpeg does
        assert m.short_term_max == pytest.approx(max(ref_s), abs=TOL)
        assert m.peak_db is not None
    assert m.frames == n


def test_short_audio_has_integrated_but_no_short_term():
    m = measure(tone([(1.0, -23.0)]), 48000)
    assert m.lufs == pytest.approx(-23.0, abs=TOL)
    assert m.short_term is None and m.short_term_max is None and m.short_term_values == []


def test_memory_stays_flat_over_a_long_stream():
    # An hour of audio in 2 s blocks: no per-block state survives (the histogram is fixed).
    sr = 8000
    m = LoudnessMeter(1, sr)
    block = (0.1 * np.random.default_rng(0).standard_normal((2 * sr, 1))).astype(np.float32)
    sizes = None
    for i in range(1800):
        m.add(block)
        if i == 10:
            sizes = (m._hist_count.nbytes, len(m._recent))
    assert (m._hist_count.nbytes, len(m._recent)) == sizes
    assert m.short_term_values is None
    assert m.frames == 3600 * sr
    assert m.lufs == pytest.approx(measure(np.tile(block, (10, 1)), sr).lufs, abs=0.05)


def test_non_finite_samples_count_as_silence():
    x = tone([(5.0, -23.0)])
    bad = x.copy()
    bad[1000:1100] = np.nan
    bad[2000] = np.inf
    clean = x.copy()
    clean[1000:1100] = 0
    clean[2000] = 0
    m = measure(bad, 48000)
    assert m.lufs == pytest.approx(measure(clean, 48000).lufs, abs=1e-9)
    assert m.peak_db == pytest.approx(-23.0, abs=0.01)
