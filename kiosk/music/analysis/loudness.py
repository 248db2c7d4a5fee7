"""Integrated loudness (ITU-R BS.1770-4 / EBU R128, via libebur128) and sample peak, streamed.

pyebur128 wraps libebur128, the meter behind ffmpeg's loudnorm/ReplayGain tools; it takes
blocks, so a three-hour file is measured in constant memory. The peak is the *sample* peak
(max |x| of the decoded samples): the true-peak mode (4x oversampling) cost four times the
CPU here (45 vs 11 ms per 30 s mono clip), and the player keeps 1 dB headroom anyway.
"""

from __future__ import annotations

import math

import numpy as np
import pyebur128


class LoudnessMeter:
    """Feed float32 blocks shaped (frames, channels); read ``lufs`` and ``peak_db`` at the end."""

    def __init__(self, channels: int, sample_rate: int) -> None:
        self.channels = channels
        self._state = pyebur128.R128State(channels, sample_rate, pyebur128.MeasurementMode.MODE_I)
        self._peak = 0.0
        self.frames = 0

    def add(self, block: np.ndarray) -> None:
        if block.size == 0:
            return
        block = np.nan_to_num(block, nan=0.0, posinf=0.0, neginf=0.0)
        self._peak = max(self._peak, float(np.max(np.abs(block))))
        flat = np.ascontiguousarray(block, dtype=np.float32).ravel()
        self._state.add_frames(flat, block.shape[0])
        self.frames += block.shape[0]

    @property
    def lufs(self) -> float | None:
        """Gated integrated loudness; None for silence (below the -70 LUFS absolute gate)."""
        value = pyebur128.get_loudness_global(self._state)
        return value if math.isfinite(value) else None

    @property
    def peak_db(self) -> float | None:
        return 20 * math.log10(self._peak) if self._peak > 0 else None
