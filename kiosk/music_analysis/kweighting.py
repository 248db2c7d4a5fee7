"""The BS.1770 K-weighting filter (shelf + RLB high-pass), streamed, in numpy only.

The two biquads are the ones libebur128 uses, derived from the analogue prototypes for the
actual sample rate (so 44.1, 32 or 22.05 kHz files are weighted as BS.1770 intends, not with
the 48 kHz table). A per-sample Python loop would be ~1000x too slow, so the cascade runs
block-recursively, as matrix products (state-space form, 4 states per channel):

- inside a chunk of ``CHUNK`` samples, the output is the chunk times a lower-triangular
  Toeplitz matrix of the exact impulse response, plus the free response of the state the
  chunk starts in;
- the chunk-start states themselves come from a second level of the same idea over groups
  of ``GROUP`` chunks, so Python steps once per 4096 samples.

The result equals the IIR to rounding (1e-12 against a per-sample biquad), whatever the pole
radius, with no truncated tail. An FFT-convolution variant was 2-3x slower.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

CHUNK = 64  # samples per chunk: the in-chunk response is a 64x64 matrix product
GROUP = 64  # chunks per group: the Python-level recursion runs once per 4096 samples


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


def _powers(m: np.ndarray, n: int) -> np.ndarray:
    """m^0 .. m^n by plain iteration (as accurate as running the filter itself)."""
    out = np.empty((n + 1, *m.shape))
    out[0] = np.eye(m.shape[0])
    for k in range(n):
        out[k + 1] = m @ out[k]
    return out


@lru_cache(maxsize=8)
def _design(sample_rate: int) -> tuple[np.ndarray, ...]:
    """Per-rate matrices of the two-level block recursion. Built once per rate."""
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
    # Level 1, inside a chunk of L samples: y = T x + O s, s' = A^L s + Q x.
    pw = _powers(big_a, CHUNK)
    out_of_state = pw[:CHUNK].transpose(0, 2, 1) @ big_c  # row n: C A^n   (L, 4)
    a_n_b = pw[:CHUNK] @ big_b  # row n: A^n B   (L, 4)
    impulse = np.concatenate([[big_d], a_n_b[:-1] @ big_c])  # h[n] = C A^(n-1) B
    n, m = np.indices((CHUNK, CHUNK))
    toeplitz_t = np.where(n >= m, impulse[np.abs(n - m)], 0.0).T  # x @ this = T x
    into_state = a_n_b[::-1].copy()  # row m: A^(L-1-m) B
    # Level 2, over a group of G chunks: chunk-start states from the pushes u_i of the
    # group, s_j = P^j s_0 + sum_{i<j} P^(j-1-i) u_i with P = A^L, j = 0..G (G: the next
    # group's start). Both terms are one matrix product each on flattened (j, row) states.
    pp = _powers(pw[CHUNK], GROUP)
    from_pushes = np.zeros((GROUP, 4, GROUP + 1, 4))
    for j in range(1, GROUP + 1):
        for i in range(j):
            from_pushes[i, :, j, :] = pp[j - 1 - i].T
    from_start = pp.transpose(2, 0, 1).reshape(4, (GROUP + 1) * 4)  # [c, (j, r)] = P^j[r, c]
    return (
        toeplitz_t,
        out_of_state.T.copy(),
        into_state,
        from_pushes.reshape(GROUP * 4, (GROUP + 1) * 4),
        from_start,
        pw,
    )


class KWeighting:
    """Streamed K-weighting of (frames, channels) blocks; state carries across calls."""

    def __init__(self, channels: int, sample_rate: int) -> None:
        (self._toeplitz, self._out, self._in, self._group, self._start, self._pw) = _design(
            int(sample_rate)
        )
        self._state = np.zeros((channels, 4))

    def process(self, block: np.ndarray) -> np.ndarray:
        """Filter ``block`` (frames, channels); returns float64 (channels, frames)."""
        frames, channels = block.shape
        if frames == 0:
            return np.zeros((channels, 0))
        chunks = -(-frames // CHUNK)
        groups = -(-chunks // GROUP)
        # Zero padding up to whole groups: it only moves states past the end, never used.
        x = np.zeros((channels, groups * GROUP * CHUNK))
        x[:, :frames] = block.T
        # Every product is stacked per group (64 x 64 each): numpy then makes one small BLAS
        # call per group, which OpenBLAS keeps on one thread. One big 2-D product would be
        # split over threads, and on a busy Pi (or this 2-core CI box) that ran 10-50x slower.
        xc = x.reshape(channels * groups, GROUP, CHUNK)
        pushes = (xc @ self._in).reshape(channels * groups, 1, GROUP * 4)
        zero_start = (pushes @ self._group).reshape(channels, groups, (GROUP + 1) * 4)
        starts = np.empty((channels, groups, 4))
        s = self._state
        for g in range(groups):  # the only sequential step: one per GROUP * CHUNK samples
            starts[:, g] = s
            s = s @ self._start[:, GROUP * 4 :] + zero_start[:, g, GROUP * 4 :]
        states = starts @ self._start[:, : GROUP * 4] + zero_start[..., : GROUP * 4]
        states = states.reshape(channels * groups, GROUP, 4)
        y = xc @ self._toeplitz + states @ self._out
        y = y.reshape(channels, groups * GROUP * CHUNK)
        # The state after the last real sample: from the start of its (maybe partial) chunk.
        last = chunks - 1
        tail = frames - last * CHUNK
        s_last = states.reshape(channels, groups * GROUP, 4)[:, last]
        x_last = x[:, last * CHUNK : last * CHUNK + tail]
        self._state = s_last @ self._pw[tail].T + x_last @ self._in[CHUNK - tail :]
        return y[:, :frames]
