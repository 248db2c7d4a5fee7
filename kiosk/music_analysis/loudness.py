"""Loudness per ITU-R BS.1770-4 / EBU R128 (integrated, short-term) and sample peak, streamed.

Our own meter in numpy (libebur128's Python wrapper has no wheel for Python 3.13, and the
kiosk must install without a compiler). The signal is K-weighted (``kweighting``), squared,
summed over channels with the BS.1770 weights and reduced to 100 ms mean squares; a
momentary block is four of them (400 ms, 75 % overlap), a short-term window thirty (3 s).
Integrated loudness gates the momentary blocks at -70 LUFS, then 10 LU below their mean.
The blocks go into a histogram of 0.01 LU bins holding exact energy sums, so a three-hour
file takes the same memory as a song and the gate costs at most a 0.01 LU bin's worth.

The peak is the *sample* peak (max |x| of the decoded samples): the true-peak mode (4x
oversampling) would cost four times the CPU, and the player keeps 1 dB headroom anyway.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np

from kiosk.music_analysis.kweighting import KWeighting

ABSOLUTE_GATE = -70.0  # LUFS
RELATIVE_GATE = -10.0  # LU below the absolutely gated mean
SEGMENT_S = 0.1  # the hop of momentary and short-term measurements
MOMENTARY_SEGMENTS = 4  # 400 ms
SHORT_TERM_SEGMENTS = 30  # 3 s
_BIN_LU = 0.01
_TOP = 10.0  # LUFS; louder blocks share the top bin (their energies are still summed exactly)
_BINS = round((_TOP - ABSOLUTE_GATE) / _BIN_LU) + 1
# Surround channels count 1.41x (+1.5 dB); LFE not at all. Order as libebur128's default
# map for 3-6 channels (L R C LFE Ls Rs, or L R Ls Rs / L R C Ls Rs), then side channels.
_SURROUND = 1.41


def channel_weights(channels: int) -> np.ndarray:
    """BS.1770 weight of each channel, in the file's channel order."""
    if channels <= 3:
        return np.ones(channels)
    if channels == 4:
        return np.array([1.0, 1.0, _SURROUND, _SURROUND])
    if channels == 5:
        return np.array([1.0, 1.0, 1.0, _SURROUND, _SURROUND])
    w = np.full(channels, _SURROUND)  # 7.1: the back and side pairs are both surround
    w[:3] = 1.0
    w[3] = 0.0  # LFE
    return w


def energy_to_lufs(energy: float) -> float:
    """BS.1770 loudness of a weighted mean square; -inf for silence."""
    return -0.691 + 10 * math.log10(energy) if energy > 0 else -math.inf


class LoudnessMeter:
    """Feed float32 blocks shaped (frames, channels); read ``lufs``, ``short_term_max``, ...

    ``keep_short_term=True`` also keeps every short-term value (one per 100 ms once 3 s have
    passed, -inf for digital silence) in ``short_term_values``, for comparisons; off by
    default to keep memory flat.
    """

    def __init__(self, channels: int, sample_rate: int, keep_short_term: bool = False) -> None:
        self.channels = channels
        self.sample_rate = sample_rate
        self.frames = 0
        self._filter = KWeighting(channels, sample_rate)
        self._weights = channel_weights(channels)
        self._segment = max(1, round(sample_rate * SEGMENT_S))  # libebur128 rounds the same
        self._partial_sum = 0.0  # weighted K-filtered energy of the unfinished segment
        self._partial_len = 0
        self._recent: deque[float] = deque(maxlen=SHORT_TERM_SEGMENTS)  # last segment means
        self._hist_count = np.zeros(_BINS, np.int64)
        self._hist_energy = np.zeros(_BINS)
        self._peak = 0.0
        self._short_term_max = -math.inf
        self._short_term = -math.inf  # the latest 3 s window
        self.short_term_values: list[float] | None = [] if keep_short_term else None

    def add(self, block: np.ndarray) -> None:
        """Measure the next (frames, channels) block of the stream."""
        if block.size == 0:
            return
        peak = float(np.max(np.abs(block)))
        if not math.isfinite(peak):  # a damaged frame: count it as silence (rarely taken)
            block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
            peak = float(np.max(np.abs(block)))
        self._peak = max(self._peak, peak)
        self.frames += block.shape[0]
        y = self._filter.process(block)
        # Weighted sum over channels of the squared K-weighted signal, per sample.
        power = np.einsum("c,cn,cn->n", self._weights, y, y)
        self._add_power(power)

    def _add_power(self, power: np.ndarray) -> None:
        seg = self._segment
        head = min(seg - self._partial_len, power.size)
        self._partial_sum += float(power[:head].sum())
        self._partial_len += head
        if self._partial_len < seg:
            return
        rest = power[head:]
        whole = rest.size // seg
        means = np.empty(1 + whole)
        means[0] = self._partial_sum / seg
        means[1:] = rest[: whole * seg].reshape(whole, seg).mean(axis=1)
        tail = rest[whole * seg :]
        self._partial_sum, self._partial_len = float(tail.sum()), tail.size
        self._add_segments(means)

    def _add_segments(self, means: np.ndarray) -> None:
        """Fold finished 100 ms mean squares into the momentary gate and short-term window."""
        history = np.array(self._recent)
        seq = np.concatenate([history, means])
        csum = np.concatenate([[0.0], np.cumsum(seq)])
        ends = np.arange(history.size + 1, seq.size + 1)  # window ends at each new segment

        def windows(n: int) -> np.ndarray:
            e = ends[ends >= n]
            return (csum[e] - csum[e - n]) / n

        momentary = windows(MOMENTARY_SEGMENTS)
        lufs = -0.691 + 10 * np.log10(np.maximum(momentary, 1e-300))
        keep = lufs > ABSOLUTE_GATE
        idx = np.minimum(((lufs[keep] - ABSOLUTE_GATE) / _BIN_LU).astype(np.int64), _BINS - 1)
        np.add.at(self._hist_count, idx, 1)
        np.add.at(self._hist_energy, idx, momentary[keep])
        short = windows(SHORT_TERM_SEGMENTS)
        if short.size:
            values = [energy_to_lufs(float(e)) for e in short]
            self._short_term = values[-1]
            self._short_term_max = max(self._short_term_max, *values)
            if self.short_term_values is not None:
                self.short_term_values.extend(values)
        self._recent.extend(means.tolist())

    @property
    def lufs(self) -> float | None:
        """Gated integrated loudness; None for silence (below the -70 LUFS absolute gate)."""
        count = self._hist_count
        total = int(count.sum())
        if total == 0:
            return None
        threshold = energy_to_lufs(self._hist_energy.sum() / total) + RELATIVE_GATE
        # Bins whose centre clears the relative gate (its own bin decided by the centre).
        first = max(0, math.ceil((threshold - ABSOLUTE_GATE) / _BIN_LU - 0.5))
        n = int(count[first:].sum())
        return energy_to_lufs(self._hist_energy[first:].sum() / n) if n else None

    @property
    def short_term(self) -> float | None:
        """The latest 3 s window (LUFS); None before 3 s have passed, or in silence."""
        return self._short_term if math.isfinite(self._short_term) else None

    @property
    def short_term_max(self) -> float | None:
        """The loudest 3 s window (LUFS); None for shorter or silent audio."""
        return self._short_term_max if math.isfinite(self._short_term_max) else None

    @property
    def peak_db(self) -> float | None:
        return 20 * math.log10(self._peak) if self._peak > 0 else None
