"""One track in, one analysis out: a single streamed decode feeds loudness and the mood excerpt.

Loudness and peak cover the whole track (that is what playback levels); tempo and mood come
from a 30 s excerpt in the middle, the length of the clips the model was trained on.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from kiosk.music_analysis import features
from kiosk.music_analysis.decode import DecodeError, excerpt_window, open_stream, to_mood_rate
from kiosk.music_analysis.loudness import LoudnessMeter
from kiosk.music_analysis.mood_model import MoodModel

MIN_MOOD_S = 3.0  # shorter than this, a mood estimate means nothing
SILENCE_RMS = 1e-5  # -100 dBFS
# No beat to speak of (white noise, a steady tone): a weak onset autocorrelation peak, or an
# onset envelope that hardly moves. 99 % of the 4Q clips clear the first, all the second.
MIN_PULSE = 0.1
MIN_FLUX_STD = 0.005


@dataclass
class Analysis:
    duration_s: float
    lufs: float | None
    peak_db: float | None
    tempo_bpm: float | None
    valence: float | None
    arousal: float | None
    quadrant: str | None
    confidence: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def _r(x: float | None, nd: int) -> float | None:
    return None if x is None else round(float(x), nd)


def analyse(path: Path, model: MoodModel) -> Analysis:
    """Analyse one file; raises DecodeError when it is not readable audio."""
    st = open_stream(path)
    meter = LoudnessMeter(st.channels, st.sample_rate)
    lo, hi = excerpt_window(st.frames, st.sample_rate)
    parts: list[np.ndarray] = []
    pos = 0
    try:
        for block in st.blocks:
            meter.add(block)
            a, z = max(lo, pos), min(hi, pos + len(block))
            if z > a:
                parts.append(block[a - pos : z - pos].mean(axis=1))
            pos += len(block)
    except DecodeError:
        raise
    except Exception as exc:  # libsndfile/ffmpeg error mid-stream: a damaged file
        raise DecodeError(f"damaged after {pos / st.sample_rate:.1f} s: {exc}") from None
    if pos == 0:
        raise DecodeError("no audio frames decoded")
    duration = pos / st.sample_rate
    if st.frames and pos < 0.9 * st.frames and st.exact_length:
        raise DecodeError(
            f"truncated: decoded {duration:.1f} s of {st.frames / st.sample_rate:.1f} s"
        )
    excerpt = np.concatenate(parts) if parts else np.zeros(0, np.float32)
    tempo = valence = arousal = confidence = None
    quadrant = None
    if excerpt.size >= MIN_MOOD_S * st.sample_rate:
        x = to_mood_rate(np.nan_to_num(excerpt), st.sample_rate)
        if float(np.sqrt(np.mean(x.astype(np.float64) ** 2))) > SILENCE_RMS:
            segs = [features.extract(part) for part in np.array_split(x, model.segments)]
            mood = model.predict(segs)
            # Tempo of the segment with the clearest pulse (averaging would mix octaves).
            best = max(segs, key=lambda f: f["pulse_clarity"])
            beat = best["pulse_clarity"] > MIN_PULSE and best["flux_std"] > MIN_FLUX_STD
            tempo = best["tempo_bpm"] if beat else None
            valence, arousal = mood.valence, mood.arousal
            quadrant, confidence = mood.quadrant, mood.confidence
    return Analysis(
        duration_s=round(duration, 3),
        lufs=_r(meter.lufs, 2),
        peak_db=_r(meter.peak_db, 2),
        tempo_bpm=_r(tempo, 1),
        valence=valence,
        arousal=arousal,
        quadrant=quadrant,
        confidence=confidence,
    )
