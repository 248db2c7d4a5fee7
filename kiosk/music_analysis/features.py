"""Mood features from a mono excerpt, numpy only (no librosa/numba, no scipy: see README.md).

Every feature is level-invariant (the excerpt is RMS-normalised first) so that a track's
mastering level does not move its mood estimate; loudness is measured separately.

Its size: one small numpy function per feature, kept together because the trained model
(models/music_mood.json) depends on exactly this set, in this order.
"""

from __future__ import annotations

import numpy as np

SR = 22050
N_FFT = 2048
HOP = 512
N_MELS = 64
N_MFCC = 20
CHROMA_FFT = 4096
CHROMA_HOP = 2048

# Krumhansl-Kessler key profiles (C major / C minor).
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _hz_to_mel(f):
    return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)


def _mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m) / 2595.0) - 1.0)


def _mel_bank(n_mels: int, n_fft: int, sr: int, fmin: float = 30.0, fmax: float | None = None):
    fmax = fmax or sr / 2
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    up = (freqs[None, :] - lo) / (mid - lo)
    down = (hi - freqs[None, :]) / (hi - mid)
    bank = np.maximum(0.0, np.minimum(up, down))
    bank *= 2.0 / (hi - lo)  # equal area (Slaney)
    return bank.astype(np.float32)


def _chroma_bank(n_fft: int, sr: int, fmin: float = 65.0, fmax: float = 4200.0):
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    bank = np.zeros((12, freqs.size), np.float32)
    ok = (freqs >= fmin) & (freqs <= fmax)
    midi = 69.0 + 12.0 * np.log2(np.where(ok, freqs, 1.0) / 440.0)
    nearest = np.round(midi)
    w = np.clip(1.0 - 2.0 * np.abs(midi - nearest), 0.0, 1.0) * ok
    pcs = (nearest.astype(int)) % 12
    for pc in range(12):
        bank[pc] = np.where(pcs == pc, w, 0.0)
    return bank


def _dct_matrix(n_out: int, n_in: int):
    k = np.arange(n_out)[:, None]
    n = np.arange(n_in)[None, :]
    m = np.cos(np.pi / n_in * (n + 0.5) * k) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


_MEL = _mel_bank(N_MELS, N_FFT, SR)
_MEL128 = _mel_bank(128, N_FFT, SR)
_CHROMA = _chroma_bank(CHROMA_FFT, SR)
_DCT = _dct_matrix(N_MFCC, N_MELS)
_FREQS = np.fft.rfftfreq(N_FFT, 1 / SR).astype(np.float32)
_WIN = np.hanning(N_FFT).astype(np.float32)
_CWIN = np.hanning(CHROMA_FFT).astype(np.float32)

# Triad templates: 12 major then 12 minor chords, root-relative pitch classes.
_TRIADS = np.zeros((24, 12), np.float32)
for _r in range(12):
    _TRIADS[_r, [_r, (_r + 4) % 12, (_r + 7) % 12]] = 1.0
    _TRIADS[12 + _r, [_r, (_r + 3) % 12, (_r + 7) % 12]] = 1.0
_TRIADS /= np.linalg.norm(_TRIADS, axis=1, keepdims=True)


def median_filter(m: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Running median along one axis, edges repeated (as scipy.ndimage mode="nearest").

    Own code because importing scipy.ndimage costs 27 MB of RSS for this one call.
    """
    axis = 0 if size[0] > 1 else 1
    k = size[axis]
    pad = [(0, 0), (0, 0)]
    pad[axis] = (k // 2, k // 2)
    padded = np.pad(m, pad, mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, k, axis=axis)
    # Odd k: the median is the middle order statistic; partition is ~8x faster than median.
    return np.partition(windows, k // 2, axis=-1)[..., k // 2].astype(m.dtype)


def _frames(x: np.ndarray, n: int, hop: int) -> np.ndarray:
    if x.size < n:
        x = np.pad(x, (0, n - x.size))
    count = 1 + (x.size - n) // hop
    return np.lib.stride_tricks.as_strided(
        x, shape=(count, n), strides=(x.strides[0] * hop, x.strides[0]), writeable=False
    )


def _stft_mag(x: np.ndarray, n: int, hop: int, win: np.ndarray) -> np.ndarray:
    """Magnitude spectrogram, frames x bins, float32, computed in blocks to bound memory."""
    fr = _frames(x, n, hop)
    out = np.empty((fr.shape[0], n // 2 + 1), np.float32)
    for i in range(0, fr.shape[0], 256):
        out[i : i + 256] = np.abs(np.fft.rfft(fr[i : i + 256] * win, axis=1))
    return out


def _stats(prefix: str, m: np.ndarray, out: dict[str, float], std: bool = True) -> None:
    """Mean (and std) over time of a frames x dims (or frames) array."""
    m = np.asarray(m, np.float64)
    if m.ndim == 1:
        out[f"{prefix}_mean"] = float(m.mean())
        if std:
            out[f"{prefix}_std"] = float(m.std())
        return
    for i, (mu, sd) in enumerate(zip(m.mean(0), m.std(0), strict=True)):
        out[f"{prefix}{i}_mean"] = float(mu)
        if std:
            out[f"{prefix}{i}_std"] = float(sd)


def _key_features(chroma_mean: np.ndarray, out: dict[str, float], prefix: str) -> int:
    maj = np.array([np.corrcoef(np.roll(_KK_MAJOR, k), chroma_mean)[0, 1] for k in range(12)])
    mnr = np.array([np.corrcoef(np.roll(_KK_MINOR, k), chroma_mean)[0, 1] for k in range(12)])
    maj = np.nan_to_num(maj)
    mnr = np.nan_to_num(mnr)
    both = np.concatenate([maj, mnr])
    order = np.sort(both)
    out[f"{prefix}major_r"] = float(maj.max())
    out[f"{prefix}minor_r"] = float(mnr.max())
    out[f"{prefix}mode"] = float(maj.max() - mnr.max())
    out[f"{prefix}clarity"] = float(order[-1])
    out[f"{prefix}gap"] = float(order[-1] - order[-2])
    return int(np.argmax(both))


def tempo_from_onsets(onset: np.ndarray, fps: float) -> tuple[float, float, float]:
    """(bpm, pulse clarity, periodicity ratio) from an onset-strength envelope.

    Autocorrelation weighted by a log-normal prior around 120 BPM (as in Ellis 2007 and
    librosa), refined by parabolic interpolation.
    """
    o = onset - onset.mean()
    if o.size < 16 or not np.any(o):
        return 0.0, 0.0, 0.0
    n = 1 << int(np.ceil(np.log2(2 * o.size)))
    spec = np.fft.rfft(o, n)
    ac = np.fft.irfft(spec * np.conj(spec), n)[: o.size]
    ac /= ac[0] + 1e-12
    lags = np.arange(ac.size, dtype=np.float64)
    lo = max(1, int(fps * 60 / 220))
    hi = min(ac.size - 2, int(fps * 60 / 40))
    if hi <= lo + 2:
        return 0.0, 0.0, 0.0
    bpm_of = 60.0 * fps / np.maximum(lags, 1)
    prior = np.exp(-0.5 * (np.log2(bpm_of / 120.0) / 1.0) ** 2)
    score = ac * prior
    k = lo + int(np.argmax(score[lo:hi]))
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    denom = a - 2 * b + c
    shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    lag = k + float(np.clip(shift, -0.5, 0.5))
    clarity = float(max(0.0, ac[k]))
    valley = float(ac[lo:hi].min())
    return 60.0 * fps / lag, clarity, clarity - valley


def _dissonance(mag: np.ndarray, n_peaks: int = 10) -> np.ndarray:
    """Plomp-Levelt roughness of each frame's strongest spectral peaks (Sethares 1993)."""
    band = (_FREQS > 50) & (_FREQS < 5000)
    m = mag[:, band]
    f = _FREQS[band]
    is_peak = np.zeros_like(m, dtype=bool)
    is_peak[:, 1:-1] = (m[:, 1:-1] > m[:, :-2]) & (m[:, 1:-1] >= m[:, 2:])
    mp = np.where(is_peak, m, 0.0)
    idx = np.argpartition(-mp, n_peaks, axis=1)[:, :n_peaks]
    amps = np.take_along_axis(mp, idx, axis=1).astype(np.float64)
    fr = f[idx].astype(np.float64)
    f1, f2 = fr[:, :, None], fr[:, None, :]
    a1, a2 = amps[:, :, None], amps[:, None, :]
    fmin = np.minimum(f1, f2)
    s = 0.24 / (0.0207 * fmin + 18.96)
    d = np.abs(f2 - f1)
    rough = a1 * a2 * (np.exp(-3.5 * s * d) - np.exp(-5.75 * s * d))
    total = rough.sum(axis=(1, 2)) / 2.0
    energy = (amps**2).sum(axis=1) + 1e-12
    return total / energy


def extract(x: np.ndarray) -> dict[str, float]:
    """Named mood features of a mono float excerpt at ``SR`` Hz (a few seconds to ~30 s)."""
    x = np.asarray(x, np.float32)
    out: dict[str, float] = {}
    rms_all = float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-9)
    out["level_db"] = 20 * np.log10(rms_all)
    x = x / rms_all * 0.1

    mag = _stft_mag(x, N_FFT, HOP, _WIN)
    power = mag**2
    fps = SR / HOP

    # MFCC (+ deltas) on a log-mel spectrum.
    mel = power @ _MEL.T
    logmel = np.log10(mel + 1e-10)
    # Clip 80 dB below the loudest bin (as librosa's power_to_db): near-silent frames must not
    # dominate the statistics with -100 dB values.
    logmel = np.maximum(logmel, logmel.max() - 8.0)
    mfcc = logmel @ _DCT.T
    _stats("mfcc", mfcc, out)
    # Coarse spectral envelope: 16 log-mel bands, relative to the mean level.
    bands = logmel.reshape(logmel.shape[0], 16, -1).mean(2)
    for i, v in enumerate(bands.mean(0) - bands.mean()):
        out[f"band{i}_mean"] = float(v)
    _stats("dmfcc", np.diff(mfcc, axis=0), out, std=False)
    out.update(
        {f"dmfcc{i}_absmean": float(v) for i, v in enumerate(np.abs(np.diff(mfcc, axis=0)).mean(0))}
    )

    # Spectral shape.
    psum = power.sum(1) + 1e-12
    msum = mag.sum(1) + 1e-12
    centroid = (mag @ _FREQS) / msum
    bw = np.sqrt(((_FREQS[None, :] - centroid[:, None]) ** 2 * mag).sum(1) / msum)
    cum = np.cumsum(power, axis=1)
    rolloff = _FREQS[np.argmax(cum >= 0.85 * cum[:, -1:], axis=1)]
    flatness = np.exp(np.mean(np.log(power + 1e-12), 1)) / (np.mean(power, 1) + 1e-12)
    _stats("centroid", centroid / 1000, out)
    _stats("bandwidth", bw / 1000, out)
    _stats("rolloff", rolloff / 1000, out)
    _stats("flatness", np.log10(flatness + 1e-12), out)
    low = power[:, _FREQS < 250].sum(1) / psum
    high = power[:, _FREQS > 4000].sum(1) / psum
    _stats("low_ratio", low, out)
    _stats("high_ratio", high, out)

    # Spectral contrast in octave bands (Jiang et al. 2002).
    edges = [0, 200, 400, 800, 1600, 3200, 6400, SR / 2]
    for b in range(len(edges) - 1):
        sel = (edges[b] <= _FREQS) & (edges[b + 1] > _FREQS)
        sub = np.sort(np.log10(power[:, sel] + 1e-10), axis=1)
        q = max(1, int(0.02 * sub.shape[1]))
        peak, valley = sub[:, -q:].mean(1), sub[:, :q].mean(1)
        out[f"contrast{b}_mean"] = float((peak - valley).mean())
        out[f"valley{b}_mean"] = float(valley.mean() - logmel.mean())

    # Dynamics.
    frame_rms = np.sqrt(power.sum(1) / N_FFT + 1e-12)
    rdb = 20 * np.log10(frame_rms)
    _stats("rms_db", rdb, out)
    p10, p95 = np.percentile(rdb, [10, 95])
    out["dyn_range_db"] = float(p95 - p10)
    out["low_energy_ratio"] = float(np.mean(frame_rms < frame_rms.mean()))
    zc = _frames(x, N_FFT, HOP)
    zcr = np.mean(np.abs(np.diff(np.signbit(zc), axis=1)), axis=1)
    _stats("zcr", zcr, out)

    # Onsets, tempo, pulse.
    flux = np.maximum(0.0, np.diff(logmel, axis=0)).mean(1)
    flux = np.concatenate([[0.0], flux])
    _stats("flux", flux, out)
    # Band-wise flux (low / mid / high thirds of the mel bands) and modulation energy: how
    # much each band's level fluctuates at 0.5-2, 2-4 and 4-8 Hz (Pampalk's fluctuation
    # patterns, coarsely): drums and strumming vs sustained pads.
    thirds = np.array_split(np.arange(N_MELS), 3)
    dlog = np.maximum(0.0, np.diff(logmel, axis=0))
    mod_win = 256  # ~6 s at 43 frames/s
    mod_f = np.fft.rfftfreq(mod_win, 1 / fps)
    for name, idx in zip(("lo", "mid", "hi"), thirds, strict=True):
        bflux = dlog[:, idx].mean(1)
        out[f"flux_{name}_mean"] = float(bflux.mean())
        out[f"flux_{name}_std"] = float(bflux.std())
        env = logmel[:, idx].mean(1)
        if env.size >= mod_win:
            segs = _frames(env - env.mean(), mod_win, mod_win // 2) * np.hanning(mod_win)
            spec = np.abs(np.fft.rfft(segs, axis=1)).mean(0)
            for lo, hi in ((0.5, 2), (2, 4), (4, 8)):
                sel = (mod_f >= lo) & (mod_f < hi)
                out[f"mod_{name}_{lo:g}_{hi:g}"] = float(np.log10(spec[sel].mean() + 1e-9))
        else:
            for lo, hi in ((0.5, 2), (2, 4), (4, 8)):
                out[f"mod_{name}_{lo:g}_{hi:g}"] = -9.0
    bpm, clarity, period = tempo_from_onsets(flux, fps)
    out["tempo_bpm"] = bpm
    out["log_tempo"] = float(np.log2(max(bpm, 30.0) / 120.0))
    out["pulse_clarity"] = clarity
    out["pulse_period"] = period
    thr = flux.mean() + flux.std()
    peaks = (flux[1:-1] > flux[:-2]) & (flux[1:-1] >= flux[2:]) & (flux[1:-1] > thr)
    out["onset_rate"] = float(peaks.sum() / (x.size / SR))

    # Harmonic/percussive split (Fitzgerald 2010) on a 128-band mel spectrum.
    m128 = power @ _MEL128.T
    harm = median_filter(m128, size=(17, 1))
    perc = median_filter(m128, size=(1, 17))
    out["hp_ratio_db"] = float(10 * np.log10((harm.sum() + 1e-10) / (perc.sum() + 1e-10)))
    hmask = harm > perc
    out["harmonic_share"] = float((m128 * hmask).sum() / (m128.sum() + 1e-10))

    # Roughness (dissonance proxy), on every 4th frame.
    diss = _dissonance(mag[::4])
    _stats("dissonance", np.log10(diss + 1e-6), out)

    # Chroma, key and mode, chords, tonnetz.
    cmag = _stft_mag(x, CHROMA_FFT, CHROMA_HOP, _CWIN)
    chroma = np.sqrt(cmag**2 @ _CHROMA.T)
    cnorm = chroma / (chroma.sum(1, keepdims=True) + 1e-9)
    cmean = cnorm.mean(0)
    key = _key_features(cmean, out, "key_")
    tonic = key % 12
    rel = np.roll(cmean, -tonic)
    for i, v in enumerate(rel):
        out[f"chroma_rel{i}"] = float(v)
    _stats("chroma", cnorm, out)
    ent = -(cnorm * np.log(cnorm + 1e-9)).sum(1)
    _stats("chroma_entropy", ent, out)
    # Mode in 4-second windows, to catch songs that change key.
    win = max(1, int(4 * SR / CHROMA_HOP))
    modes = []
    for s in range(0, cnorm.shape[0] - win + 1, win):
        tmp: dict[str, float] = {}
        _key_features(cnorm[s : s + win].mean(0), tmp, "")
        modes.append(tmp["mode"])
    out["mode_win_mean"] = float(np.mean(modes)) if modes else out["key_mode"]
    out["mode_win_major_share"] = float(np.mean(np.array(modes) > 0)) if modes else 0.5
    # Chords: best triad per frame; share of major, and major-minor margin.
    cn2 = chroma / (np.linalg.norm(chroma, axis=1, keepdims=True) + 1e-9)
    tri = cn2 @ _TRIADS.T
    best = tri.argmax(1)
    out["chord_major_share"] = float(np.mean(best < 12))
    out["chord_margin"] = float(np.mean(tri[:, :12].max(1) - tri[:, 12:].max(1)))
    out["chord_fit"] = float(tri.max(1).mean())
    out["chord_change_rate"] = float(np.mean(best[1:] != best[:-1])) if best.size > 1 else 0.0
    third_major = (cnorm * np.roll(cnorm, -4, axis=1)).sum(1)
    third_minor = (cnorm * np.roll(cnorm, -3, axis=1)).sum(1)
    out["third_major_minor"] = float(
        np.log((third_major.mean() + 1e-9) / (third_minor.mean() + 1e-9))
    )
    out["tritone"] = float((cnorm * np.roll(cnorm, -6, axis=1)).sum(1).mean())
    out["semitone"] = float((cnorm * np.roll(cnorm, -1, axis=1)).sum(1).mean())
    # Peak chroma: only spectral peaks, log-compressed, so noise and drums blur the pitch
    # classes less; key/mode/chords again from it.
    is_pk = np.zeros_like(cmag, dtype=bool)
    is_pk[:, 1:-1] = (cmag[:, 1:-1] > cmag[:, :-2]) & (cmag[:, 1:-1] >= cmag[:, 2:])
    pk = np.log1p(100.0 * np.where(is_pk, cmag, 0.0) / (cmag.max() + 1e-9))
    pch = pk @ _CHROMA.T
    pnorm = pch / (pch.sum(1, keepdims=True) + 1e-9)
    _key_features(pnorm.mean(0), out, "pkey_")
    pn2 = pch / (np.linalg.norm(pch, axis=1, keepdims=True) + 1e-9)
    ptri = pn2 @ _TRIADS.T
    out["pchord_major_share"] = float(np.mean(ptri.argmax(1) < 12))
    out["pchord_margin"] = float(np.mean(ptri[:, :12].max(1) - ptri[:, 12:].max(1)))
    out["pthird_major_minor"] = float(
        np.log(
            ((pnorm * np.roll(pnorm, -4, axis=1)).sum(1).mean() + 1e-9)
            / ((pnorm * np.roll(pnorm, -3, axis=1)).sum(1).mean() + 1e-9)
        )
    )
    # Tonnetz (Harte et al. 2006).
    pc = np.arange(12)
    phi = np.stack(
        [
            np.sin(pc * 7 * np.pi / 6),
            np.cos(pc * 7 * np.pi / 6),
            np.sin(pc * 3 * np.pi / 2),
            np.cos(pc * 3 * np.pi / 2),
            0.5 * np.sin(pc * 2 * np.pi / 3),
            0.5 * np.cos(pc * 2 * np.pi / 3),
        ]
    )
    ton = cnorm @ phi.T
    _stats("tonnetz", ton, out)
    return {k: float(np.nan_to_num(v)) for k, v in out.items()}
