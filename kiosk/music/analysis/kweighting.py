"""The BS.1770 K-weighting filter (shelf + RLB high-pass), streamed, in numpy only.

The two biquads are the ones libebur128 uses, derived from the analogue prototypes for the
actual sample rate (so 44.1, 32 or 22.05 kHz files are weighted as BS.1770 intends, not with
the 48 kHz table). A per-sample Python loop would be ~1000x too slow, so the cascade runs
block-recursively: the signal is cut into chunks of ``CHUNK`` samples; inside a chunk the
zero-state response is an FFT convolution with the (exact, chunk-long) impulse response, and
the filter state that crosses chunk boundaries is carried by the state-space recursion
(4 numbers per channel per chunk). The result equals the IIR to rounding error, whatever
the pole radius, with no truncated tail.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

CHUNK = 1024  # samples per chunk: FFT of 2048; the per-chunk Python step stays negligible


def kweighting_biquads(sample_rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(b, a) of the high-shelf pre-filter and of the RLB high-pass, ``a[0] == 1``.

    Bilinear transforms of the BS.1770 stages, with the analogue parameters (centre
    frequencies, gain, Q) that reproduce the standard's 48 kHz coefficients exactly.
    """
    # Stage 1: +4 dB high shelf around 1.68 kHz (head diffraction).
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    b1 = np.array([vh + vb * k / q + k * k, 2 * (k * k - vh), vh - vb * k / q + k * k]) / a0
    a1 = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0
    # Stage 2: the RLB (revised low-frequency B) second-order high-pass at 38 Hz.
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    b2 = np.array([1.0, -2.0, 1.0])
    a2 = np.array([a0, 2 * (k * k - 1), 1 - k / q + k * k]) / a0
    return b1, a1, b2, a2


def _biquad_state_space(b: np.ndarray, a: np.ndarray):
    """Transposed direct form II as (A, B, C, D): well conditioned for one biquad."""
    big_a = np.array([[-a[1], 1.0], [-a[2], 0.0]])
    big_b = np.array([b[1] - a[1] * b[0], b[2] - a[2] * b[0]])
    return big_a, big_b, np.array([1.0, 0.0]), b[0]


@lru_cache(maxsize=8)
def _design(sample_rate: int) -> tuple[np.ndarray, ...]:
    """Per-rate tables: chunk transfer function, state maps. Built once per rate."""
    b1, a1, b2, a2 = kweighting_biquads(sample_rate)
    a_1, b_1, c_1, d_1 = _biquad_state_space(b1, a1)
    a_2, b_2, c_2, d_2 = _biquad_state_space(b2, a2)
    # The cascade as one 4-state system; block-triangular keeps it as well conditioned
    # as its two biquads (a 4th-order companion form loses ~6 digits at low poles).
    big_a = np.zeros((4, 4))
    big_a[:2, :2] = a_1
    big_a[2:, :2] = np.outer(b_2, c_1)
    big_a[2:, 2:] = a_2
    big_b = np.concatenate([b_1, b_2 * d_1])
    big_c = np.concatenate([d_2 * c_1, c_2])
    big_d = d_2 * d_1
    # Powers A^0..A^CHUNK by plain iteration (as accurate as running the filter itself).
    powers = np.empty((CHUNK + 1, 4, 4))
    powers[0] = np.eye(4)
    for n in range(CHUNK):
        powers[n + 1] = big_a @ powers[n]
    out_of_state = powers[:CHUNK].transpose(0, 2, 1) @ big_c  # row n: C A^n   (CHUNK, 4)
    a_n_b = powers[:CHUNK] @ big_b  # row n: A^n B   (CHUNK, 4)
    impulse = np.empty(CHUNK)
    impulse[0] = big_d
    impulse[1:] = a_n_b[:-1] @ big_c  # h[n] = C A^(n-1) B
    spectrum = np.fft.rfft(impulse, 2 * CHUNK)
    into_state = a_n_b[::-1].copy()  # row m: A^(CHUNK-1-m) B
    return spectrum, out_of_state, into_state, powers


class KWeighting:
    """Streamed K-weighting of (frames, channels) blocks; state carries across calls."""

    def __init__(self, channels: int, sample_rate: int) -> None:
        self._spectrum, self._out, self._in, self._powers = _design(int(sample_rate))
        self._state = np.zeros((channels, 4))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter ``block`` (frames, channels); returns float64 (channels, frames)."""
        frames, channels = block.shape
        if frames == 0:
            return np.zeros((channels, 0))
        chunks = -(-frames // CHUNK)
        # Each chunk zero-padded to 2 * CHUNK so that the FFT product is a linear convolution.
        # float64 throughout: this numpy's float32 rfft is slower, and numpy 1.x has none.
        x = np.zeros((channels, chunks * CHUNK))
        x[:, :frames] = block.T
        x = x.reshape(channels, chunks, CHUNK)
        y = np.fft.irfft(np.fft.rfft(x, 2 * CHUNK) * self._spectrum, 2 * CHUNK)[..., :CHUNK]
        # State at each chunk start: s[k+1] = A^CHUNK s[k] + sum_m A^(CHUNK-1-m) B x[k, m].
        pushed = x @ self._in  # (channels, chunks, 4)
        starts = np.empty((channels, chunks, 4))
        step = self._powers[CHUNK].T
        s = self._state
        for k in range(chunks):
            starts[:, k] = s
            s = s @ step + pushed[:, k]
        y += starts @ self._out.T  # the free response of the carried state
        tail = frames - (chunks - 1) * CHUNK
        if tail < CHUNK:  # the last chunk is partial: the state after its real samples
            s = starts[:, -1] @ self._powers[tail].T + x[:, -1, :tail] @ self._in[CHUNK - tail :]
        self._state = s
        return y.reshape(channels, chunks * CHUNK)[:, :frames]
