"""The kiosk hears its own music: loudness, tempo and a mood estimate per track.

``analyse`` decodes an excerpt (``decode``), measures EBU R128 loudness (``loudness``,
``kweighting``), extracts features (``features``) and estimates valence/arousal
(``mood_model``). ``Analyzer`` caches results by content (``cache``); in the daemon
``AnalysisWorker`` runs it on one niced thread. The results feed the library's
self-sorting playlists and the player's loudness levelling; nothing here plays or sorts.
"""

from kiosk.exports import lazy_exports

__all__ = [
    "Analysis",
    "AnalysisCache",
    "AnalysisWorker",
    "Analyzer",
    "DecodeError",
    "LoudnessMeter",
    "MoodModel",
    "analyse",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "analyse": "analyze",
        "Analysis": "analyze",
        "AnalysisCache": "cache",
        "MoodModel": "mood_model",
        "LoudnessMeter": "loudness",
        "Analyzer": "service",
        "AnalysisWorker": "worker",
        "DecodeError": "decode",
    },
)
