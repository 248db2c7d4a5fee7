"""Per-track playback gain for ``player.loudness_target_lufs``.

gain = target - integrated loudness, limited so that the track's peak stays under -1 dBFS
(``PEAK_CEILING_DB``). Loudness and peak come from the analysis cache (whole-track BS.1770
measurement). A track without an analysis plays as mastered (gain 0).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

PEAK_CEILING_DB = -1.0
MAX_BOOST_DB = 20.0  # a near-silent track is not blown up past this
MAX_CUT_DB = -30.0


def track_gain_db(estimate: Mapping[str, Any] | None, target_lufs: float | None) -> float:
    """dB to apply to a track so it plays at ``target_lufs`` (0 when unknown or off)."""
    if target_lufs is None or not estimate:
        return 0.0
    lufs, peak = estimate.get("lufs"), estimate.get("peak_db")
    if not isinstance(lufs, (int, float)) or not math.isfinite(lufs):
        return 0.0
    gain = float(target_lufs) - float(lufs)
    if isinstance(peak, (int, float)) and math.isfinite(peak):
        gain = min(gain, PEAK_CEILING_DB - float(peak))
    return max(MAX_CUT_DB, min(MAX_BOOST_DB, gain))
